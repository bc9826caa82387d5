/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HostTime: the host's local wall-clock time, for time-of-day policies.
 * Fields (all mandatory, as in MOM): time_year, time_month (1-12),
 * time_day (1-31), time_hour (0-23), time_minute, time_second (0-59) and
 * time_microsecond (0-999999), the components of Python's
 * datetime.datetime.now().
 */
#include "config.h"

#include <glib.h>

#include "mom-collector.h"
#include "collector-priv.h"

typedef struct {
    MomHostTimeNowFunc now;
    gpointer user_data;
} HostTime;

static const char *const host_time_fields[] = {
    "time_year",   "time_month",  "time_day",         "time_hour",
    "time_minute", "time_second", "time_microsecond", NULL,
};

static GDateTime *
host_time_now_local(gpointer user_data)
{
    return g_date_time_new_now_local();
}

static gpointer
host_time_init(const MomCollectorConfig *cfg, GError **error)
{
    HostTime *ht = g_new0(HostTime, 1);

    ht->now = host_time_now_local;
    return ht;
}

static void
host_time_free(gpointer state)
{
    g_free(state);
}

void
mom_host_time_set_clock(gpointer state, MomHostTimeNowFunc now, gpointer user_data)
{
    HostTime *ht = state;

    ht->now = now ? now : host_time_now_local;
    ht->user_data = user_data;
}

static gboolean
host_time_collect(gpointer state, MomSample *out, GError **error)
{
    HostTime *ht = state;
    g_autoptr(GDateTime) now = ht->now(ht->user_data);

    /* Only fails when the local time zone cannot represent the time,
     * which a broken TZ database or clock can cause. */
    if (!now) {
        g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_READ,
                    "Cannot read the local time: check /etc/localtime and the system clock");
        return FALSE;
    }
    mom_sample_set_int(out, "time_year", g_date_time_get_year(now));
    mom_sample_set_int(out, "time_month", g_date_time_get_month(now));
    mom_sample_set_int(out, "time_day", g_date_time_get_day_of_month(now));
    mom_sample_set_int(out, "time_hour", g_date_time_get_hour(now));
    mom_sample_set_int(out, "time_minute", g_date_time_get_minute(now));
    mom_sample_set_int(out, "time_second", g_date_time_get_second(now));
    mom_sample_set_int(out, "time_microsecond", g_date_time_get_microsecond(now));
    return TRUE;
}

const MomCollectorClass mom_collector_host_time = {
    .name = "HostTime",
    .fields = host_time_fields,
    .optional_fields = NULL,
    .init = host_time_init,
    .collect = host_time_collect,
    .free = host_time_free,
};
