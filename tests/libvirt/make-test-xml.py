#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write a libvirt test-driver node file with N running domains.

    make-test-xml.py N OUT.xml [--max-mib M] [--cur-mib C]
                               [--min-every K] [--nosharepages-every K]
                               [--tune-every K]

Load it with the URI test:///ABS/PATH/OUT.xml (the path must be absolute).
The test driver runs inside the client process and every connection starts
again from this file, so tests and the benchmark can rely on its content:

  * names vm0001 .. vmNNNN; uuid 6d6f6d64-0000-4000-8000-NNNNNNNNNNNN
    (NNNN... the domain number in decimal, zero-padded to 12 digits);
  * <memory> and <currentMemory> in KiB; domain i (1-based) has
    max = MAX_MIB * 1024 and cur = CUR_MIB * 1024 - (i % 8) * 1024, so not
    every guest looks the same to a policy;
  * every MIN_EVERY-th domain has <memtune><min_guarantee> = cur / 4 KiB;
  * every NOSHARE_EVERY-th domain has <memoryBacking><nosharepages/>;
  * every domain has a virtio <memballoon>; odd domains carry
    <stats period='2'/>, even ones none (momd then sets the period);
  * every TUNE_EVERY-th domain (0, the default: none) carries momd's tuning
    metadata (docs/metadata.md): <momd:balloon min-kib=cur/2 weight=200/>
    and <momd:vcpu limit=50/>.

With --json the same facts are printed on stdout, one object per domain,
for tests that want to compare without re-deriving the rules.
"""
import argparse
import json
import os
import sys


def domain_facts(i, args):
    max_kib = args.max_mib * 1024
    cur_kib = args.cur_mib * 1024 - (i % 8) * 1024
    return {
        "name": "vm%04d" % i,
        "uuid": "6d6f6d64-0000-4000-8000-%012d" % i,
        "max_kib": max_kib,
        "cur_kib": cur_kib,
        "min_kib": cur_kib // 4 if args.min_every and i % args.min_every == 0 else 0,
        "nosharepages": bool(args.nosharepages_every and i % args.nosharepages_every == 0),
        "stats_period": 2 if i % 2 else 0,
        "tune": bool(args.tune_every and i % args.tune_every == 0),
    }


def domain_xml(f):
    lines = [
        "  <domain type='test'>",
        "    <name>%s</name>" % f["name"],
        "    <uuid>%s</uuid>" % f["uuid"],
        "    <memory unit='KiB'>%d</memory>" % f["max_kib"],
        "    <currentMemory unit='KiB'>%d</currentMemory>" % f["cur_kib"],
    ]
    if f["min_kib"]:
        lines += [
            "    <memtune>",
            "      <min_guarantee unit='KiB'>%d</min_guarantee>" % f["min_kib"],
            "    </memtune>",
        ]
    if f["nosharepages"]:
        lines += ["    <memoryBacking>", "      <nosharepages/>", "    </memoryBacking>"]
    if f["tune"]:
        lines += [
            "    <metadata>",
            "      <momd:tune xmlns:momd='urn:momd:tune:1'>",
            "        <momd:balloon min-kib='%d' weight='200'/>" % (f["cur_kib"] // 2),
            "        <momd:vcpu limit='50'/>",
            "      </momd:tune>",
            "    </metadata>",
        ]
    lines += [
        "    <vcpu>1</vcpu>",
        "    <os><type arch='x86_64'>hvm</type></os>",
        "    <devices>",
    ]
    if f["stats_period"]:
        lines.append("      <memballoon model='virtio'><stats period='%d'/></memballoon>"
                     % f["stats_period"])
    else:
        lines.append("      <memballoon model='virtio'/>")
    lines += ["    </devices>", "  </domain>"]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int)
    p.add_argument("out")
    p.add_argument("--max-mib", type=int, default=1024)
    p.add_argument("--cur-mib", type=int, default=768)
    p.add_argument("--min-every", type=int, default=3)
    p.add_argument("--nosharepages-every", type=int, default=5)
    p.add_argument("--tune-every", type=int, default=0)
    p.add_argument("--json", action="store_true", help="also print the facts on stdout")
    args = p.parse_args()
    if args.n < 1 or args.n > 99999:
        p.error("N must be within 1..99999")
    if args.cur_mib * 1024 - 7 * 1024 <= 0 or args.cur_mib > args.max_mib:
        p.error("--cur-mib must be above 7 and at most --max-mib")

    facts = [domain_facts(i, args) for i in range(1, args.n + 1)]
    parts = [
        "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>",
        "  <cpu><mhz>2000</mhz><model>x86_64</model><active>2</active><nodes>1</nodes>"
        "<sockets>1</sockets><cores>2</cores><threads>1</threads></cpu>",
        "  <memory>%d</memory>" % (64 * 1024 * 1024),
    ]
    parts += [domain_xml(f) for f in facts]
    parts.append("</node>\n")
    # written next to OUT and renamed, so a reader never sees half a file
    tmp = "%s.tmp.%d" % (args.out, os.getpid())
    with open(tmp, "w") as out:
        out.write("\n".join(parts))
    os.replace(tmp, args.out)
    if args.json:
        json.dump(facts, sys.stdout)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
