/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "mom-test-log.h"

static GPtrArray *logged;

static GLogWriterOutput
capture(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
    for (gsize i = 0; i < n_fields; i++)
        if (strcmp(fields[i].key, "MESSAGE") == 0)
            g_ptr_array_add(logged, g_strdup(fields[i].value));
    return G_LOG_WRITER_HANDLED;
}

void
mom_test_log_capture(void)
{
    logged = g_ptr_array_new_with_free_func(g_free);
    /* GLib takes a writer once per process: check forks one per test */
    g_log_set_writer_func(capture, NULL, NULL);
}

void
mom_test_log_release(void)
{
    g_clear_pointer(&logged, g_ptr_array_unref);
}

guint
mom_test_log_count(const char *fragment)
{
    guint n = 0;

    for (guint i = 0; logged && i < logged->len; i++)
        n += strstr(logged->pdata[i], fragment) != NULL;
    return n;
}
