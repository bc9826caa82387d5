# SPDX-License-Identifier: GPL-2.0-or-later
"""timeline.svg for scripts/scenario.py: a chart a person can read.

Two panels over the same time axis (seconds since the first sample):
  - the host: MemAvailable against the headroom the host workload leaves,
    and MemFree+Buffers+Cached;
  - the guests: each guest's balloon (actual, solid) and QEMU's resident
    memory (rss, dashed), with every balloon change libvirt reported as a
    tick on the time axis, and, from the wake-up on, the balloon the waking
    guest needs for its working set (dotted, in its colour).
Phases are marked as vertical lines across both panels.  No plotting
library: plain SVG, so the benchmark needs nothing more than python3.
"""
from xml.sax.saxutils import escape

W, H = 960, 640
LEFT, RIGHT = 70, 20
PANELS = [(40, 270), (340, 570)]  # (top, bottom) of each panel's plot area
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]


def _scale(lo, hi, a, b):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) * (b - a) / span


def _polyline(points, color, dash=None, width=1.5):
    if len(points) < 2:
        return ""
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<polyline fill="none" stroke="{color}" stroke-width="{width}"{d} '
            f'points="{pts}"/>\n')


def _axis(top, bottom, ymax, label):
    sy = _scale(0, ymax, bottom, top)
    out = [f'<text x="12" y="{(top + bottom) / 2:.0f}" font-size="12" '
           f'transform="rotate(-90 12 {(top + bottom) / 2:.0f})" text-anchor="middle">'
           f'{escape(label)}</text>\n']
    step = _nice_step(ymax)
    v = 0.0
    while v <= ymax + 1e-9:
        y = sy(v)
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#eee"/>\n<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="10" '
                   f'text-anchor="end">{v:.0f}</text>\n')
        v += step
    return "".join(out), sy


def _nice_step(span):
    for s in (1, 2, 5, 10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if span / s <= 8:
            return s
    return span / 8


def write(path, samples, events, marks, headroom_mib, names, summary):
    if not samples:
        return
    t0 = samples[0]["t"]
    tmax = max(samples[-1]["t"] - t0, 1.0)
    sx = _scale(0, tmax, LEFT, W - RIGHT)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
             f'font-family="sans-serif">\n<rect width="{W}" height="{H}" fill="white"/>\n']
    title = (f"manager {summary.get('manager')}: OOM kills {summary.get('oom_kills')}, "
             f"host workload killed {summary.get('host_workload_killed')}, "
             f"reaction {summary.get('reaction_s')} s, "
             f"active guests ok {summary.get('active_guest_ok')}, "
             f"wake-up ok {summary.get('wake_guest_ok')}, back in {summary.get('wake_back_s')} s")
    parts.append(f'<text x="{LEFT}" y="20" font-size="12">{escape(title)}</text>\n')

    # host panel
    top, bottom = PANELS[0]
    hmax = max(max(s["host_available_mib"], s["host_free_mib"]) for s in samples)
    grid, sy = _axis(top, bottom, hmax * 1.05, "host MiB")
    parts.append(grid)
    parts.append(_polyline([(sx(s["t"] - t0), sy(s["host_available_mib"])) for s in samples],
                           COLORS[0], width=2))
    parts.append(_polyline([(sx(s["t"] - t0), sy(s["host_free_mib"])) for s in samples],
                           "#7f7f7f", dash="4 3"))
    y = sy(headroom_mib)
    parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                 f'stroke="#d62728" stroke-dasharray="2 2"/>\n')
    parts.append(f'<text x="{W - RIGHT - 4}" y="{y - 4:.1f}" font-size="10" text-anchor="end" '
                 f'fill="#d62728">headroom {headroom_mib} MiB</text>\n')
    parts.append(f'<text x="{LEFT + 6}" y="{top + 12}" font-size="11" fill="{COLORS[0]}">'
                 'MemAvailable</text>\n<text x="{0}" y="{1}" font-size="11" fill="#7f7f7f">'
                 'MemFree+Buffers+Cached (dashed)</text>\n'.format(LEFT + 100, top + 12))

    # guest panel
    top, bottom = PANELS[1]
    gmax = max([g.get(k, 0) for s in samples for g in s["guests"].values()
                for k in ("actual", "rss")] + [1])
    grid, sy = _axis(top, bottom, gmax * 1.05, "guest MiB")
    parts.append(grid)
    for i, n in enumerate(names):
        c = COLORS[(i + 1) % len(COLORS)]
        for key, dash in (("actual", None), ("rss", "4 3")):
            pts = [(sx(s["t"] - t0), sy(s["guests"][n][key])) for s in samples
                   if n in s["guests"] and key in s["guests"][n]]
            parts.append(_polyline(pts, c, dash=dash))
        parts.append(f'<text x="{LEFT + 6 + 150 * i}" y="{top + 12}" font-size="11" '
                     f'fill="{c}">{escape(n)}</text>\n')
        wake = summary.get("wake") or {}
        start = next((m["t"] for m in marks if m["phase"] == f"wake:{n}"), None)
        if wake.get("guest") == n and wake.get("need_mib") and start is not None:
            y = sy(wake["need_mib"])
            parts.append(f'<line x1="{sx(start - t0):.1f}" x2="{W - RIGHT}" y1="{y:.1f}" '
                         f'y2="{y:.1f}" stroke="{c}" stroke-dasharray="1 2"/>\n')
    for e in events:
        x = sx(e["t"] - t0)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 8}" '
                     f'stroke="#000"/>\n')
    parts.append(f'<text x="{LEFT}" y="{bottom + 22}" font-size="10">balloon solid, QEMU rss '
                 f'dashed; ticks: balloon changes ({len(events)})</text>\n')

    # phases across both panels
    for m in marks:
        if m["t"] < t0:
            continue  # before the first sample (the lab's start)
        x = sx(m["t"] - t0)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{PANELS[0][0]}" '
                     f'y2="{PANELS[1][1]}" stroke="#999" stroke-dasharray="1 3"/>\n'
                     f'<text x="{x + 2:.1f}" y="{PANELS[0][1] + 30}" font-size="10" '
                     f'transform="rotate(45 {x + 2:.1f} {PANELS[0][1] + 30})">'
                     f'{escape(m["phase"])}</text>\n')
    parts.append(f'<text x="{(LEFT + W - RIGHT) / 2:.0f}" y="{H - 8}" font-size="12" '
                 f'text-anchor="middle">seconds</text>\n')
    for v in range(0, int(tmax) + 1, int(_nice_step(tmax))):
        parts.append(f'<text x="{sx(v):.1f}" y="{PANELS[1][1] + 40}" font-size="10" '
                     f'text-anchor="middle">{v}</text>\n')
    parts.append("</svg>\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(parts))
