/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-policy: a libFuzzer target for the policy parser and evaluator.
 *
 * Each input is parsed as one policy.  When it parses, it is evaluated
 * twice against a small host and two guests: the second run puts the guest
 * with the other field layout first, so the evaluator's per-node schema
 * cache is exercised on a layout change, and it sees the variables the
 * first run stored with SetVar.  Every diagnostic, debug line, result and
 * control is formatted, so the printing paths run on hostile data too.
 *
 * Limits are small (100 000 steps, 200 nested calls) so that one input
 * stays in the millisecond range and a slow input means a real bug, not a
 * policy that legitimately loops for ten million steps.
 *
 * Build with clang (see tests/fuzz/meson.build) and run with
 * tests/fuzz/run-fuzz.sh.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "mom-policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const host_fields[] = {"mem_available", "mem_free", "ksm_pages_to_scan",
                                          "ksm_shareable"};
static const char *const guest_fields[] = {"balloon_cur", "balloon_min", "balloon_max",
                                           "mem_unused"};
/* A second guest layout: as the state loader builds it for a guest whose
 * agent reports nothing, and in another order. */
static const char *const bare_fields[] = {"balloon_max", "balloon_cur", "balloon_min", "rss"};

/* Schemas are immutable, so they are made once for the whole process. */
static MomSchema *host_schema, *guest_schema, *bare_schema;

static void
push_ints(MomEntity *e, const gint64 *row, guint n)
{
    MomValue v[8];

    g_assert(n <= G_N_ELEMENTS(v));
    for (guint i = 0; i < n; i++)
        v[i] = row[i] < 0 ? mom_value_nil() : mom_value_int(row[i]);
    mom_entity_push_sample(e, v);
}

static void
set_name(MomEntity *e, const char *name)
{
    MomValue v = mom_value_string(name, -1);

    mom_entity_set_prop(e, "name", &v);
    mom_value_clear(&v);
}

/*
 * Entities are rebuilt for every input (from the static schemas) rather
 * than kept across inputs: SetVar variables persist in an entity, so a
 * shared entity would make an input's behaviour depend on the inputs run
 * before it, and a crash would not reproduce from its file alone.
 */
static MomEntity *
make_host(void)
{
    static const gint64 rows[][4] = {
        {16777216, 2100000, 100, 14680064},
        {16777216, 2050000, 100, 14680064},
        {16777216, 1990000, 100, -1},
    };
    MomEntity *host = mom_entity_new(MOM_ENTITY_HOST, "Host", host_schema, 3);

    for (guint i = 0; i < G_N_ELEMENTS(rows); i++)
        push_ints(host, rows[i], 4);
    return host;
}

static GPtrArray *
make_guests(void)
{
    static const gint64 full[][4] = {
        {4194304, 2097152, 4194304, 1200000},
        {4194304, 2097152, 4194304, 1150000},
    };
    static const gint64 bare[][4] = {
        {2097152, 1900000, 1048576, -1},
    };
    GPtrArray *guests = g_ptr_array_new_with_free_func((GDestroyNotify)mom_entity_free);
    MomEntity *g = mom_entity_new(MOM_ENTITY_GUEST, "web1", guest_schema, 3);

    set_name(g, "web1");
    for (guint i = 0; i < G_N_ELEMENTS(full); i++)
        push_ints(g, full[i], 4);
    g_ptr_array_add(guests, g);

    g = mom_entity_new(MOM_ENTITY_GUEST, "db1", bare_schema, 3);
    set_name(g, "db1");
    for (guint i = 0; i < G_N_ELEMENTS(bare); i++)
        push_ints(g, bare[i], 4);
    g_ptr_array_add(guests, g);
    return guests;
}

/* Formats every diagnostic of @diags, both ways, into @out. */
static void
format_diags(const GPtrArray *diags, GString *out)
{
    for (guint i = 0; i < diags->len; i++) {
        g_autofree char *full = mom_policy_diag_format(diags->pdata[i]);
        g_autofree char *line = mom_policy_diag_format_line(diags->pdata[i]);
        g_string_append(out, full);
        g_string_append(out, line);
    }
}

static void
format_entity(const MomEntity *e, GString *out)
{
    for (guint i = 0; i < mom_entity_n_controls(e); i++) {
        const MomControl *c = mom_entity_control(e, i);
        g_string_append(out, c->name);
        mom_value_repr(&c->value, TRUE, out);
    }
    if (mom_entity_error(e))
        g_string_append(out, mom_entity_error(e));
}

static void
evaluate(MomPolicySet *set, MomEntity *host, GPtrArray *guests)
{
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(
        set, host, guests, MOM_POLICY_EVAL_KEEP_RESULTS | MOM_POLICY_EVAL_KEEP_DEBUG);
    g_autoptr(GString) out = g_string_new(NULL);

    format_diags(run->errors, out);
    format_diags(run->debug, out);
    for (guint i = 0; i < run->results->len; i++) {
        mom_value_repr(&g_array_index(run->results, MomValue, i), TRUE, out);
        mom_value_repr(&g_array_index(run->results, MomValue, i), FALSE, out);
        g_string_truncate(out, 0);
    }
    format_entity(host, out);
    for (guint i = 0; i < guests->len; i++)
        format_entity(guests->pdata[i], out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const MomPolicyLimits limits = {.max_depth = 200, .max_steps = 100000};

    if (!host_schema) {
        host_schema = mom_schema_new(host_fields, G_N_ELEMENTS(host_fields));
        guest_schema = mom_schema_new(guest_fields, G_N_ELEMENTS(guest_fields));
        bare_schema = mom_schema_new(bare_fields, G_N_ELEMENTS(bare_fields));
    }

    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    g_autoptr(GPtrArray) diags =
        g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) out = g_string_new(NULL);

    mom_policy_set_set_limits(set, &limits);
    if (mom_policy_set_add_string(set, "50_fuzz", "fuzz.policy", (const char *)data, (gssize)size,
                                  diags, &error)) {
        g_autoptr(MomEntity) host = make_host();
        g_autoptr(GPtrArray) guests = make_guests();

        evaluate(set, host, guests);
        /* db1 (the other layout) first: the per-node field caches must
         * notice that the schema changed under them. */
        g_ptr_array_add(guests, g_ptr_array_steal_index(guests, 0));
        evaluate(set, host, guests);
    }
    format_diags(diags, out);
    return 0;
}
