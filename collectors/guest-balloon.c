/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GuestBalloon and GuestBalloonOptional: the guest's balloon, as libvirt
 * describes the domain.  The guest manager fills MomGuestData once per
 * cycle; these collectors only copy it out.
 *
 * Fields, all mandatory in GuestBalloon (MOM's getFields()), all optional
 * in GuestBalloonOptional (for guests without a balloon device):
 *   balloon_cur  current memory, KiB (virDomainInfo memory, libvirt's
 *                "balloon.current")
 *   balloon_max  maximum memory, KiB (virDomainInfo maxMem)
 *   balloon_min  <memtune><min_guarantee>, KiB, 0 when the domain has
 *                none.  MOM passed the XML text through, so policies got
 *                a string when the element existed and 0 otherwise; momd
 *                always gives an integer, which is what policies compare
 *                it with.
 * A value the hypervisor did not report (-1) is nil, which leaves a
 * GuestBalloon sample incomplete rather than failing the collection.
 */
#include "config.h"

#include <glib.h>

#include "mom-collector.h"
#include "collector-priv.h"

typedef struct {
    const MomGuestData *guest; /* owned by the guest manager, refreshed in place */
} GuestBalloon;

static const char *const guest_balloon_fields[] = {
    "balloon_cur",
    "balloon_max",
    "balloon_min",
    NULL,
};

/* GuestBalloonOptional: an empty mandatory list rather than NULL, so code
 * walking .fields needs no special case. */
static const char *const guest_balloon_no_fields[] = {NULL};

static gpointer
guest_balloon_new(const MomCollectorConfig *cfg, const char *name, GError **error)
{
    GuestBalloon *gb;

    if (!mom_collector_require_guest(cfg, name, error))
        return NULL;
    gb = g_new0(GuestBalloon, 1);
    gb->guest = cfg->guest;
    return gb;
}

static gpointer
guest_balloon_init(const MomCollectorConfig *cfg, GError **error)
{
    return guest_balloon_new(cfg, "GuestBalloon", error);
}

static gpointer
guest_balloon_optional_init(const MomCollectorConfig *cfg, GError **error)
{
    return guest_balloon_new(cfg, "GuestBalloonOptional", error);
}

static void
guest_balloon_free(gpointer state)
{
    g_free(state);
}

static gboolean
guest_balloon_collect(gpointer state, MomSample *out, GError **error)
{
    const MomGuestData *g = ((GuestBalloon *)state)->guest;

    mom_sample_set_reported(out, "balloon_cur", g->balloon_cur);
    mom_sample_set_reported(out, "balloon_max", g->balloon_max);
    mom_sample_set_reported(out, "balloon_min", g->tune.balloon_min);
    return TRUE;
}

const MomCollectorClass mom_collector_guest_balloon = {
    .name = "GuestBalloon",
    .fields = guest_balloon_fields,
    .optional_fields = NULL,
    .init = guest_balloon_init,
    .collect = guest_balloon_collect,
    .free = guest_balloon_free,
};

const MomCollectorClass mom_collector_guest_balloon_optional = {
    .name = "GuestBalloonOptional",
    .fields = guest_balloon_no_fields,
    .optional_fields = guest_balloon_fields,
    .init = guest_balloon_optional_init,
    .collect = guest_balloon_collect,
    .free = guest_balloon_free,
};
