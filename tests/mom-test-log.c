/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "mom-test-log.h"

typedef struct {
    GLogLevelFlags level;
    char *text;
} Line;

static GMutex lock;
static GArray *kept; /* of Line; NULL: not capturing */
static char *only_domain;
static GStrv field_keys; /* NULL: the message alone */

static const char *
level_name(GLogLevelFlags level)
{
    if (level & G_LOG_LEVEL_ERROR)
        return "ERROR";
    if (level & G_LOG_LEVEL_CRITICAL)
        return "CRITICAL";
    if (level & G_LOG_LEVEL_WARNING)
        return "WARNING";
    if (level & G_LOG_LEVEL_MESSAGE)
        return "MESSAGE";
    if (level & G_LOG_LEVEL_INFO)
        return "INFO";
    return "DEBUG";
}

static const char *
field(const GLogField *fields, gsize n_fields, const char *key)
{
    for (gsize i = 0; i < n_fields; i++)
        if (strcmp(fields[i].key, key) == 0)
            return fields[i].value;
    return NULL;
}

static char *
format_line(GLogLevelFlags level, const GLogField *fields, gsize n_fields, const char *message)
{
    if (!field_keys)
        return g_strdup(message);

    GString *s = g_string_new(level_name(level));
    for (guint k = 0; field_keys[k]; k++) {
        const char *value = field(fields, n_fields, field_keys[k]);
        g_string_append_printf(s, "|%s", value ? value : "");
    }
    g_string_append_printf(s, "|%s", message);
    return g_string_free(s, FALSE);
}

static GLogWriterOutput
capture(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
    gboolean bug = (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) != 0;
    const char *message = field(fields, n_fields, "MESSAGE");
    const char *domain = field(fields, n_fields, "GLIB_DOMAIN");
    gboolean capturing;

    g_mutex_lock(&lock);
    capturing = kept != NULL;
    if (capturing && message && (!only_domain || g_strcmp0(domain, only_domain) == 0)) {
        Line l = {level & G_LOG_LEVEL_MASK, format_line(level, fields, n_fields, message)};
        g_array_append_val(kept, l);
    }
    g_mutex_unlock(&lock);
    if (bug || !capturing)
        return g_log_writer_default(level, fields, n_fields, user_data);
    return G_LOG_WRITER_HANDLED;
}

static void
clear_line(gpointer l)
{
    g_free(((Line *)l)->text);
}

static void
start(const char *domain, const char *const *keys)
{
    static gsize installed;

    mom_test_log_release();
    g_mutex_lock(&lock);
    kept = g_array_new(FALSE, FALSE, sizeof(Line));
    g_array_set_clear_func(kept, clear_line);
    only_domain = g_strdup(domain);
    field_keys = g_strdupv((char **)keys);
    g_mutex_unlock(&lock);
    /* GLib takes a writer once per process: check forks one per test, but
     * CK_FORK=no runs them all in this one */
    if (g_once_init_enter(&installed)) {
        g_log_set_writer_func(capture, NULL, NULL);
        g_once_init_leave(&installed, 1);
    }
}

void
mom_test_log_capture(void)
{
    start(NULL, NULL);
}

void
mom_test_log_capture_fields(const char *domain, const char *const *keys)
{
    start(domain, keys);
}

void
mom_test_log_release(void)
{
    g_mutex_lock(&lock);
    g_clear_pointer(&kept, g_array_unref);
    g_clear_pointer(&only_domain, g_free);
    g_clear_pointer(&field_keys, g_strfreev);
    g_mutex_unlock(&lock);
}

void
mom_test_log_clear(void)
{
    g_mutex_lock(&lock);
    if (kept)
        g_array_set_size(kept, 0);
    g_mutex_unlock(&lock);
}

guint
mom_test_log_count_at(GLogLevelFlags levels, const char *fragment)
{
    guint n = 0;

    g_mutex_lock(&lock);
    for (guint i = 0; kept && i < kept->len; i++) {
        const Line *l = &g_array_index(kept, Line, i);
        n += (l->level & levels) && strstr(l->text, fragment) != NULL;
    }
    g_mutex_unlock(&lock);
    return n;
}

guint
mom_test_log_count(const char *fragment)
{
    return mom_test_log_count_at(G_LOG_LEVEL_MASK, fragment);
}

GStrv
mom_test_log_lines(const char *fragment)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();

    g_mutex_lock(&lock);
    for (guint i = 0; kept && i < kept->len; i++) {
        const char *text = g_array_index(kept, Line, i).text;
        if (strstr(text, fragment))
            g_strv_builder_add(b, text);
    }
    g_mutex_unlock(&lock);
    return g_strv_builder_end(b);
}

char *
mom_test_log_dump(void)
{
    GString *s = g_string_new(NULL);

    g_mutex_lock(&lock);
    for (guint i = 0; kept && i < kept->len; i++) {
        const Line *l = &g_array_index(kept, Line, i);
        /* lines with fields start with their level already */
        g_string_append_printf(s, "\n  %s%s%s", field_keys ? "" : level_name(l->level),
                               field_keys ? "" : " ", l->text);
    }
    g_mutex_unlock(&lock);
    return g_string_free(s, FALSE);
}
