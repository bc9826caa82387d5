/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * momctl plot: an SVG chart of the host's free memory and each guest's
 * balloon over time, with the policy's decisions as markers.
 *
 * With --dir it reads a plot directory ([main] plot-dir, or one of its
 * momplot-NNN runs): HostMonitor.dat (mem_free), GuestMonitor-NAME.dat
 * (balloon_cur) and decisions.tsv, each FILE.1 first when momd rotated it.
 * The files are MOM's:
 *
 *     # time\t anon_pages\t mem_available\t mem_free\t ...
 *     1733470000.25\t1024\t16384000\t8123456\t...
 *
 * a header naming the columns (read, not assumed: MOM orders them by
 * name, and collectors add some), then one tab-separated row per sample,
 * "None" for a value the sample lacked.  decisions.tsv has the header
 * "# time\tcycle\tentity\tcontrol\tbefore\trequested\toutcome\torigin".
 *
 * Without --dir it asks momd: getHistory's decisions (a balloon_target
 * decision carries the balloon's size at that time, "before") and
 * getStatistics' newest samples, now.
 *
 * Bounds: files are streamed a line at a time (at most 64 KiB a line; a
 * longer one is skipped and said), and at most the newest 100 000 points
 * of each series and 10 000 decisions are kept, so a huge file costs time,
 * not memory.  The SVG is written by hand: polylines, text, no scripts.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mom-log.h"
#include "mom-plot-format.h"
#include "momctl-priv.h"

#define PLOT_MAX_LINE (64 * 1024)
#define PLOT_MAX_POINTS 100000
#define PLOT_MAX_MARKERS 10000
#define PLOT_MAX_LEGEND 24

/* The chart's layout, in SVG user units (px). */
#define SVG_W 960
#define SVG_H 540
#define SVG_LEFT 90
#define SVG_RIGHT 250
#define SVG_TOP 56
#define SVG_BOTTOM 60

/* The host's series key: a tab, which no guest's key (an escaped name)
 * has, so that a guest named "host" is a guest. */
#define HOST_KEY "\thost"

/* What a plot line may say and still be drawn: a Unix time after 1970 and
 * before the year 5000, a size below 2^60 KiB.  A corrupt file's 1e300
 * would otherwise make the chart's span 0 or its scale infinite. */
#define PLOT_MAX_TIME 1e11
#define PLOT_MAX_VALUE 1152921504606846976.0

/* A series' name as the SVG and messages say it: "host" for the host
 * (data-kind tells it from a guest of that name). */
static const char *
series_name(const char *key)
{
    return strcmp(key, HOST_KEY) == 0 ? "host" : key;
}

static gboolean
plausible(double t, double v)
{
    return t > 0 && t < PLOT_MAX_TIME && v >= 0 && v < PLOT_MAX_VALUE;
}

typedef struct {
    double t; /* Unix time, seconds */
    double v; /* KiB */
} PlotPoint;

typedef struct {
    char *key;   /* "host", or the guest's name as in its file name (escaped) */
    GArray *pts; /* PlotPoint */
    guint64 dropped;
} PlotSeries;

typedef struct {
    double t;
    char *entity; /* escaped as a series key */
    char *control;
    char *before;
    char *requested;
    char *outcome;
    char *origin;
} PlotMarker;

typedef struct {
    GHashTable *series; /* key -> PlotSeries */
    GArray *markers;    /* PlotMarker */
    guint64 markers_dropped;
    char *source; /* what the title says the data came from */
} PlotData;

static void
series_free(gpointer p)
{
    PlotSeries *s = p;

    g_free(s->key);
    g_array_unref(s->pts);
    g_free(s);
}

static void
marker_clear(gpointer p)
{
    PlotMarker *m = p;

    g_free(m->entity);
    g_free(m->control);
    g_free(m->before);
    g_free(m->requested);
    g_free(m->outcome);
    g_free(m->origin);
}

static PlotData *
plot_data_new(const char *source)
{
    PlotData *d = g_new0(PlotData, 1);

    d->series = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, series_free);
    d->markers = g_array_new(FALSE, TRUE, sizeof(PlotMarker));
    g_array_set_clear_func(d->markers, marker_clear);
    d->source = g_strdup(source);
    return d;
}

static void
plot_data_free(PlotData *d)
{
    if (!d)
        return;
    g_hash_table_destroy(d->series);
    g_array_unref(d->markers);
    g_free(d->source);
    g_free(d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PlotData, plot_data_free)

static PlotSeries *
plot_series(PlotData *d, const char *key)
{
    PlotSeries *s = g_hash_table_lookup(d->series, key);

    if (!s) {
        s = g_new0(PlotSeries, 1);
        s->key = g_strdup(key);
        s->pts = g_array_new(FALSE, FALSE, sizeof(PlotPoint));
        g_hash_table_insert(d->series, s->key, s);
    }
    return s;
}

/* Keeps the newest @cap elements of @a, counting the others in *@dropped. */
static void
cut_to(GArray *a, guint cap, guint64 *dropped)
{
    if (a->len > cap) {
        *dropped += a->len - cap;
        g_array_remove_range(a, 0, a->len - cap);
    }
}

/* While reading: at most twice @cap, so that a cut costs O(1) an element. */
static void
keep_newest(GArray *a, guint cap, guint64 *dropped)
{
    if (a->len >= 2 * cap)
        cut_to(a, cap, dropped);
}

static void
add_point(PlotData *d, const char *key, double t, double v)
{
    if (!plausible(t, v))
        return;
    PlotSeries *s = plot_series(d, key);
    PlotPoint p = {t, v};

    g_array_append_val(s->pts, p);
    keep_newest(s->pts, PLOT_MAX_POINTS, &s->dropped);
}

/* Takes @m's strings; a marker at an implausible time is dropped. */
static void
add_marker(PlotData *d, PlotMarker *m)
{
    if (!plausible(m->t, 0)) {
        marker_clear(m);
        return;
    }
    g_array_append_val(d->markers, *m);
    keep_newest(d->markers, PLOT_MAX_MARKERS, &d->markers_dropped);
}

/* The end of reading: the caps applied exactly, and said. */
static void
plot_data_trim(PlotData *d)
{
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, d->series);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        PlotSeries *s = v;
        cut_to(s->pts, PLOT_MAX_POINTS, &s->dropped);
        if (s->dropped)
            fprintf(stderr,
                    "momctl: %s has %" G_GUINT64_FORMAT " more samples than the %d the chart "
                    "keeps per series; it shows the newest (--since chooses a shorter time).\n",
                    series_name(s->key), s->dropped, PLOT_MAX_POINTS);
    }
    cut_to(d->markers, PLOT_MAX_MARKERS, &d->markers_dropped);
    if (d->markers_dropped)
        fprintf(stderr,
                "momctl: there are %" G_GUINT64_FORMAT " more decisions than the %d the chart "
                "keeps; it shows the newest.\n",
                d->markers_dropped, PLOT_MAX_MARKERS);
}

/* ---- reading plot files --------------------------------------------------------- */

/* A number as the files write it; FALSE for "None" and anything else. */
static gboolean
parse_number(const char *text, double *out)
{
    char *end = NULL;

    if (!*text)
        return FALSE;
    *out = g_ascii_strtod(text, &end);
    return end != text && *end == '\0' && isfinite(*out);
}

/* What one file's reader looks for, and hands each row to. */
typedef struct {
    const char *const *want;                  /* column names; NULL-terminated; "time" first */
    void (*row)(gpointer data, char **cells); /* the cells of @want, in its order */
    gpointer data;
} PlotReader;

/* One file's complaints: the first said in full, the rest counted. */
typedef struct {
    const char *path;
    guint64 n;
    char *first;
} Complaints;

static void complain(Complaints *c, guint64 line, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void
complain(Complaints *c, guint64 line, const char *fmt, ...)
{
    if (c->n++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        g_autofree char *msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        c->first = g_strdup_printf("%s:%" G_GUINT64_FORMAT ": %s", c->path, line, msg);
    }
}

static void
complaints_print(Complaints *c)
{
    if (c->n == 1)
        fprintf(stderr, "momctl: %s That line is left out.\n", c->first);
    else if (c->n > 1)
        fprintf(stderr, "momctl: %s That line and %" G_GUINT64_FORMAT " more are left out.\n",
                c->first, c->n - 1);
    g_free(c->first);
}

/* The columns of a header line "# time\t mem_free\t ..." → indices of
 * @want, or FALSE with @error naming the missing one. */
static gboolean
parse_header(const char *path, char *line, const char *const *want, int *index, GError **error)
{
    g_auto(GStrv) names = NULL;
    guint n;

    if (line[0] != '#') {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s:1: expected a header line starting with '#', such as '# time\\t "
                    "mem_free', got '%.40s'; is it a plot file of momd or MOM?",
                    path, line);
        return FALSE;
    }
    names = g_strsplit(line + 1, "\t", -1);
    n = g_strv_length(names);
    for (guint i = 0; i < n; i++)
        g_strstrip(names[i]);
    for (guint w = 0; want[w]; w++) {
        index[w] = -1;
        for (guint i = 0; i < n; i++)
            if (strcmp(names[i], want[w]) == 0)
                index[w] = (int)i;
        if (index[w] < 0) {
            g_autofree char *has = g_strjoinv(", ", names);
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s:1: the header has no column '%s'; it has %s.", path, want[w], has);
            return FALSE;
        }
    }
    return TRUE;
}

/* Skips what is left of an overlong line; FALSE at the end of the file. */
static gboolean
skip_rest_of_line(FILE *f)
{
    int c;

    while ((c = getc(f)) != EOF)
        if (c == '\n')
            return TRUE;
    return FALSE;
}

/*
 * Streams @path through @r, a line at a time.  A missing file is no error
 * (FILE.1 exists only after a rotation): *@found says whether it was
 * there.  A last line without its newline is one momd was writing, and
 * is left out without a word; a bad row is said once per file.
 */
static gboolean
read_plot_file(const char *path, const PlotReader *r, gboolean *found, GError **error)
{
    g_autofree char *buf = g_malloc(PLOT_MAX_LINE);
    int index[8];
    guint n_want = g_strv_length((char **)r->want);
    Complaints bad = {path, 0, NULL};
    FILE *f = fopen(path, "re");
    guint64 line_no = 0;
    gboolean ok = TRUE, header = FALSE;

    g_assert(n_want <= G_N_ELEMENTS(index));
    *found = f != NULL;
    if (!f) {
        int err = errno;
        if (err == ENOENT)
            return TRUE;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "Cannot read %s: %s.", path,
                    g_strerror(err));
        return FALSE;
    }
    while (fgets(buf, PLOT_MAX_LINE, f)) {
        gsize len = strlen(buf);
        line_no++;
        if (len == 0 || buf[len - 1] != '\n') {
            if (feof(f))
                break; /* the truncated last line */
            if (!header) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                            "%s:1: the header line is longer than %d bytes; is it a plot file?",
                            path, PLOT_MAX_LINE);
                ok = FALSE;
                break;
            }
            complain(&bad, line_no, "the line is longer than %d bytes.", PLOT_MAX_LINE);
            if (!skip_rest_of_line(f))
                break;
            continue;
        }
        buf[--len] = '\0';
        if (!header) {
            if (!parse_header(path, buf, r->want, index, error)) {
                ok = FALSE;
                break;
            }
            header = TRUE;
            continue;
        }
        if (len == 0)
            continue;
        g_auto(GStrv) cells = g_strsplit(buf, "\t", -1);
        guint n = g_strv_length(cells);
        char *picked[8] = {NULL};
        gboolean fits = TRUE;
        for (guint w = 0; w < n_want; w++) {
            if ((guint)index[w] >= n) {
                complain(&bad, line_no, "the row has %u columns; the header has '%s' at %d.", n,
                         r->want[w], index[w] + 1);
                fits = FALSE;
                break;
            }
            picked[w] = cells[index[w]];
        }
        double t;
        if (fits && !parse_number(picked[0], &t)) {
            complain(&bad, line_no, "the time '%.40s' is not a number.", picked[0]);
            fits = FALSE;
        }
        if (fits)
            r->row(r->data, picked);
    }
    if (ok && ferror(f)) {
        int err = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "Cannot read %s: %s.", path,
                    g_strerror(err));
        ok = FALSE;
    }
    if (ok && line_no == 0)
        fprintf(stderr, "momctl: %s is empty.\n", path);
    fclose(f);
    complaints_print(&bad);
    return ok;
}

/* Reads NAME.1 then NAME in @dir: a rotated pair, in time order. */
static gboolean
read_plot_pair(const char *dir, const char *name, const PlotReader *r, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *older = g_strdup_printf("%s.1", path);
    gboolean found;

    return read_plot_file(older, r, &found, error) && read_plot_file(path, r, &found, error);
}

typedef struct {
    PlotData *d;
    const char *key;
} SampleRow;

static void
sample_row(gpointer data, char **cells)
{
    SampleRow *s = data;
    double t, v;

    /* "None": the sample lacked it; the line goes on past the gap */
    if (parse_number(cells[0], &t) && parse_number(cells[1], &v))
        add_point(s->d, s->key, t, v);
}

/* A decision's entity as a series key: the guest files escape '/' too. */
static char *
entity_key(const char *escaped)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (const char *p = escaped; *p; p++) {
        if (*p == '/')
            g_string_append(s, "\\x2f");
        else
            g_string_append_c(s, *p);
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* Whether a decision is the host's: "host" is the host for the host's own
 * controls (KSM's); a balloon, CPU or I/O control of "host" is a guest's. */
static gboolean
host_decision(const char *entity, const char *control)
{
    return strcmp(entity, "host") == 0 && g_str_has_prefix(control, "ksm_");
}

/* A decision's series key, from plot files (names escaped there already). */
static char *
decision_key(const char *entity, const char *control)
{
    return host_decision(entity, control) ? g_strdup(HOST_KEY) : entity_key(entity);
}

static void
decision_row(gpointer data, char **cells)
{
    PlotData *d = data;
    PlotMarker m = {0};

    if (!parse_number(cells[0], &m.t))
        m.t = 0; /* dropped by add_marker */
    m.entity = decision_key(cells[1], cells[2]);
    m.control = g_strdup(cells[2]);
    m.before = g_strdup(cells[3]);
    m.requested = g_strdup(cells[4]);
    m.outcome = g_strdup(cells[5]);
    m.origin = g_strdup(cells[6]);
    add_marker(d, &m);
}

static gboolean
is_plot_file(const char *name)
{
    return g_str_has_prefix(name, "HostMonitor.dat") || g_str_has_prefix(name, "GuestMonitor-") ||
           g_str_has_prefix(name, "decisions.tsv");
}

/*
 * The directory to read: @dir itself when it holds plot files, else its
 * newest momplot-NNN run (momd makes one per start in [main] plot-dir).
 * Returns: (transfer full) the directory, or NULL with @error.
 */
static char *
plot_dir_resolve(const char *dir, GError **error)
{
    DIR *probe = opendir(dir);
    const char *name;
    int newest = -1;

    /* opendir, not g_dir_open: its errno says it in one sentence */
    if (!probe) {
        int err = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
                    "Cannot read the plot directory %s: %s.", dir, g_strerror(err));
        return NULL;
    }
    closedir(probe);
    g_autoptr(GDir) gd = g_dir_open(dir, 0, error);
    if (!gd)
        return NULL;
    while ((name = g_dir_read_name(gd))) {
        int n;
        char end;

        if (is_plot_file(name))
            return g_strdup(dir);
        if (sscanf(name, "momplot-%d%c", &n, &end) == 1 && n > newest)
            newest = n;
    }
    if (newest >= 0) {
        g_autofree char *run = g_strdup_printf("momplot-%03d", newest);
        g_autofree char *path = g_build_filename(dir, run, NULL);
        g_autoptr(GDir) sub = g_dir_open(path, 0, NULL);
        while (sub && (name = g_dir_read_name(sub)))
            if (is_plot_file(name))
                return g_steal_pointer(&path);
    }
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                "The plot directory %s holds no plot files (HostMonitor.dat, "
                "GuestMonitor-NAME.dat, decisions.tsv)%s; it should be momd's [main] plot-dir or "
                "one of its momplot-NNN runs.",
                dir, newest >= 0 ? ", nor does its newest momplot-NNN run" : "");
    return NULL;
}

/* "GuestMonitor-vm1.dat" or "GuestMonitor-vm1.dat.1" → "vm1"; NULL for other names. */
static char *
guest_of_file(const char *name)
{
    const char *start = name + strlen("GuestMonitor-");
    const char *end;

    if (!g_str_has_prefix(name, "GuestMonitor-"))
        return NULL;
    if (g_str_has_suffix(name, ".dat"))
        end = name + strlen(name) - 4;
    else if (g_str_has_suffix(name, ".dat.1"))
        end = name + strlen(name) - 6;
    else
        return NULL;
    return end > start ? g_strndup(start, end - start) : NULL;
}

static PlotData *
plot_read_dir(const char *given, GError **error)
{
    g_autofree char *dir = plot_dir_resolve(given, error);
    static const char *const sample_cols[] = {"time", "mem_free", NULL};
    static const char *const guest_cols[] = {"time", "balloon_cur", NULL};
    static const char *const decision_cols[] = {"time",      "entity",  "control", "before",
                                                "requested", "outcome", "origin",  NULL};

    if (!dir)
        return NULL;
    g_autoptr(PlotData) d = plot_data_new(dir);
    g_autoptr(GDir) gd = g_dir_open(dir, 0, error);
    if (!gd)
        return NULL;
    g_autoptr(GHashTable) guests = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    const char *name;
    while ((name = g_dir_read_name(gd))) {
        char *guest = guest_of_file(name);
        if (guest)
            g_hash_table_add(guests, guest);
    }

    SampleRow host = {d, HOST_KEY};
    PlotReader hr = {sample_cols, sample_row, &host};
    if (!read_plot_pair(dir, "HostMonitor.dat", &hr, error))
        return NULL;
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, guests);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        g_autofree char *file = g_strdup_printf("GuestMonitor-%s.dat", (char *)key);
        SampleRow g = {d, key};
        PlotReader gr = {guest_cols, sample_row, &g};
        if (!read_plot_pair(dir, file, &gr, error))
            return NULL;
    }
    PlotReader dr = {decision_cols, decision_row, d};
    if (!read_plot_pair(dir, MOM_PLOT_DECISIONS_FILE, &dr, error))
        return NULL;
    return g_steal_pointer(&d);
}

/* ---- reading momd ---------------------------------------------------------------- */

static const char *
string_or(JsonObject *o, const char *member, const char *fallback)
{
    const char *s = momctl_obj_string(o, member);
    return s ? s : fallback;
}

/* getHistory's decisions (the balloon before each, and the markers), then
 * getStatistics' newest samples, now. */
static PlotData *
plot_read_daemon(gint64 since_s, int *status)
{
    g_autofree char *source = g_strdup_printf("momd at %s", momctl_socket_path());
    g_autoptr(PlotData) d = plot_data_new(source);
    g_autoptr(JsonArray) params = json_array_new();
    g_autoptr(GError) error = NULL;

    json_array_add_string_element(params, "");
    if (since_s >= 0)
        json_array_add_int_element(params, since_s);
    g_autoptr(JsonNode) history = momctl_call("getHistory", params, &error);
    if (!history) {
        fprintf(stderr, "momctl: %s\n", error->message);
        *status = momctl_error_status(error);
        return NULL;
    }
    JsonArray *a = JSON_NODE_HOLDS_ARRAY(history) ? json_node_get_array(history) : NULL;
    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        JsonNode *n = json_array_get_element(a, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
        const char *time = momctl_obj_string(o, "time");
        g_autoptr(GDateTime) dt = time ? g_date_time_new_from_iso8601(time, NULL) : NULL;
        g_autofree char *key = NULL;
        PlotMarker m = {0};
        double before;

        if (!dt)
            continue;
        const char *entity = string_or(o, "entity", "-");
        const char *control = string_or(o, "control", "-");
        key = host_decision(entity, control)
                  ? g_strdup(HOST_KEY)
                  : mom_log_escape(entity, MOM_LOG_ESCAPE_NAME | MOM_LOG_ESCAPE_SLASH);
        m.t = (double)g_date_time_to_unix(dt);
        m.entity = g_strdup(key);
        m.control = g_strdup(string_or(o, "control", "-"));
        m.before = g_strdup(string_or(o, "before", "-"));
        m.requested = g_strdup(string_or(o, "requested", "-"));
        m.outcome = g_strdup(string_or(o, "outcome", "-"));
        m.origin = g_strdup(string_or(o, "origin", "-"));
        if (strcmp(m.control, "balloon_target") == 0 && strcmp(key, HOST_KEY) != 0 &&
            parse_number(m.before, &before))
            add_point(d, key, m.t, before);
        add_marker(d, &m);
    }

    g_autoptr(JsonNode) stats = momctl_call_object("getStatistics", NULL, status);
    if (!stats)
        return NULL;
    JsonObject *so = json_node_get_object(stats);
    double now = (double)g_get_real_time() / G_USEC_PER_SEC, v;
    if (momctl_obj_number(momctl_obj_object(so, "host"), "mem_free", &v))
        add_point(d, HOST_KEY, now, v);
    JsonObject *guests = momctl_obj_object(so, "guests");
    g_autoptr(GList) names = guests ? json_object_get_members(guests) : NULL;
    for (GList *l = names; l; l = l->next) {
        g_autofree char *key = mom_log_escape(l->data, MOM_LOG_ESCAPE_NAME | MOM_LOG_ESCAPE_SLASH);
        if (momctl_obj_number(momctl_obj_object(guests, l->data), "balloon_cur", &v))
            add_point(d, key, now, v);
    }
    return g_steal_pointer(&d);
}

/* ---- the SVG ---------------------------------------------------------------------- */

/* Series colours: the host black, the guests from a palette that stays
 * apart on white (Tableau 10). */
static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

typedef struct {
    double t0, t1; /* the time shown */
    double vmax;   /* KiB at the top */
} Frame;

static double
x_of(const Frame *f, double t)
{
    return SVG_LEFT + (t - f->t0) / (f->t1 - f->t0) * (SVG_W - SVG_LEFT - SVG_RIGHT);
}

static double
y_of(const Frame *f, double v)
{
    double y = SVG_H - SVG_BOTTOM - v / f->vmax * (SVG_H - SVG_TOP - SVG_BOTTOM);
    return CLAMP(y, SVG_TOP, SVG_H - SVG_BOTTOM);
}

/* Text for an SVG attribute or element: XML's five characters escaped. */
static void
append_xml(GString *out, const char *text)
{
    g_autofree char *e = g_markup_escape_text(text, -1);
    g_string_append(out, e);
}

/* A step of 1, 2 or 5 times a power of ten just above @raw. */
static double
nice_step(double raw)
{
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;

    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* The memory axis: ticks on round numbers of the unit that suits the top
 * (KiB, MiB, GiB...), so that momctl_format_size() labels them exactly. */
static double
size_step(double vmax, double *top)
{
    double unit = 1;

    while (vmax / unit >= 1024 && unit < 1024.0 * 1024 * 1024 * 1024)
        unit *= 1024;
    double step = nice_step(MAX(vmax / unit / 5, 1)) * unit;
    *top = ceil(vmax / step) * step;
    return step;
}

static double
time_step(double span)
{
    static const double steps[] = {1,     2,     5,     10,    15,     30,     60,
                                   120,   300,   600,   900,   1800,   3600,   7200,
                                   10800, 21600, 43200, 86400, 172800, 604800, 2592000};

    for (guint i = 0; i < G_N_ELEMENTS(steps); i++)
        if (span / steps[i] <= 8)
            return steps[i];
    return steps[G_N_ELEMENTS(steps) - 1];
}

static char *
format_time(double t, double span, double step)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local((gint64)floor(t));

    if (!dt)
        return g_strdup("?");
    return g_date_time_format(dt, span >= 86400 ? "%m-%d %H:%M"
                                  : step >= 60  ? "%H:%M"
                                                : "%H:%M:%S");
}

static void
svg_axes(GString *out, const Frame *f, double step)
{
    double x0 = SVG_LEFT, x1 = SVG_W - SVG_RIGHT, y0 = SVG_TOP, y1 = SVG_H - SVG_BOTTOM;

    g_string_append(out, "<g class=\"axis-y\" stroke=\"#ddd\">\n");
    for (double v = 0, n = 0; v <= f->vmax + step / 2 && n < 100; v += step, n++) {
        g_autofree char *label = momctl_format_size(v);
        g_string_append_printf(out,
                               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                               "<text x=\"%.1f\" y=\"%.1f\" stroke=\"none\" fill=\"#333\" "
                               "text-anchor=\"end\">%s</text>\n",
                               x0, y_of(f, v), x1, y_of(f, v), x0 - 6, y_of(f, v) + 4, label);
    }
    g_string_append(out, "</g>\n<g class=\"axis-x\" stroke=\"#333\">\n");
    double span = f->t1 - f->t0, ts = time_step(span);
    for (double t = ceil(f->t0 / ts) * ts, n = 0; t <= f->t1 && n < 100; t += ts, n++) {
        g_autofree char *label = format_time(t, span, ts);
        g_string_append_printf(out,
                               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                               "<text x=\"%.1f\" y=\"%.1f\" stroke=\"none\" fill=\"#333\" "
                               "text-anchor=\"middle\">%s</text>\n",
                               x_of(f, t), y1, x_of(f, t), y1 + 5, x_of(f, t), y1 + 18, label);
    }
    g_string_append_printf(out,
                           "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                           "fill=\"none\"/>\n</g>\n",
                           x0, y0, x1 - x0, y1 - y0);
    g_string_append_printf(out,
                           "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">time (local)</text>\n"
                           "<text transform=\"translate(16 %.1f) rotate(-90)\" "
                           "text-anchor=\"middle\">memory (binary prefixes: 1 MiB = 1024 "
                           "KiB)</text>\n",
                           (x0 + x1) / 2, SVG_H - 16, (y0 + y1) / 2);
}

static int
compare_keys(gconstpointer a, gconstpointer b)
{
    const PlotSeries *sa = *(PlotSeries *const *)a, *sb = *(PlotSeries *const *)b;
    gboolean ha = strcmp(sa->key, HOST_KEY) == 0, hb = strcmp(sb->key, HOST_KEY) == 0;

    /* the host first, then the guests by name; a guest named "host" has
     * its own file and key, "host" is only the HostMonitor's */
    if (ha != hb)
        return ha ? -1 : 1;
    return strcmp(sa->key, sb->key);
}

/* The series with points in the frame's time, the host first. */
static GPtrArray *
visible_series(PlotData *d, double since)
{
    GPtrArray *out = g_ptr_array_new();
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, d->series);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        PlotSeries *s = v;
        for (guint i = 0; i < s->pts->len; i++)
            if (g_array_index(s->pts, PlotPoint, i).t >= since) {
                g_ptr_array_add(out, s);
                break;
            }
    }
    g_ptr_array_sort(out, compare_keys);
    return out;
}

static const char *
series_colour(GPtrArray *shown, const char *key)
{
    guint guest = 0;

    if (strcmp(key, HOST_KEY) == 0)
        return "#000";
    for (guint i = 0; i < shown->len; i++) {
        PlotSeries *s = shown->pdata[i];
        if (strcmp(s->key, key) == 0)
            return palette[guest % G_N_ELEMENTS(palette)];
        guest += strcmp(s->key, HOST_KEY) != 0;
    }
    return NULL;
}

/* A series as a tooltip says it, or, with @legend, as the legend does:
 * under a heading for the guests, a long name cut (the legend is 250 px). */
static char *
series_label(const char *key, gboolean legend)
{
    if (strcmp(key, HOST_KEY) == 0)
        return g_strdup("host: free memory");
    if (!legend)
        return g_strdup_printf("%s: balloon", key);
    if (g_utf8_strlen(key, -1) > 28) {
        g_autofree char *head = g_utf8_substring(key, 0, 27);
        return g_strdup_printf("%s…", head);
    }
    return g_strdup(key);
}

/* "12345" for a control in KiB → "12.1 MiB"; anything else as it is. */
static char *
marker_value(const char *control, const char *text)
{
    double v;

    if (momctl_field_is_kib(control) && parse_number(text, &v))
        return momctl_format_size(v);
    return g_strdup(text);
}

static void
svg_markers(GString *out, PlotData *d, const Frame *f, GPtrArray *shown)
{
    double bottom = SVG_H - SVG_BOTTOM;

    g_string_append(out, "<g class=\"decisions\">\n");
    for (guint i = 0; i < d->markers->len; i++) {
        PlotMarker *m = &g_array_index(d->markers, PlotMarker, i);
        const char *colour = series_colour(shown, m->entity);
        double x = x_of(f, m->t), v;
        g_autofree char *before = marker_value(m->control, m->before);
        g_autofree char *asked = marker_value(m->control, m->requested);
        g_autofree char *when = format_time(m->t, 0, 1);
        g_autofree char *tip = g_strdup_printf("%s %s %s: %s → %s, %s (%s)", when, m->entity,
                                               m->control, before, asked, m->outcome, m->origin);

        if (m->t < f->t0 || m->t > f->t1)
            continue;
        if (strcmp(m->control, "balloon_target") == 0 && colour && parse_number(m->requested, &v)) {
            /* a triangle where the policy asked the balloon to go */
            double y = y_of(f, v);
            g_string_append_printf(out,
                                   "<path class=\"decision\" d=\"M%.1f %.1f l-4 7 h8 z\" "
                                   "fill=\"%s\" fill-opacity=\"0.6\">",
                                   x, y - 4, colour);
        } else {
            /* any other decision: a tick on the time axis */
            g_string_append_printf(out,
                                   "<path class=\"decision\" d=\"M%.1f %.1f v-8\" stroke=\"%s\" "
                                   "stroke-width=\"2\">",
                                   x, bottom, colour ? colour : "#555");
        }
        g_string_append(out, "<title>");
        append_xml(out, tip);
        g_string_append(out, "</title></path>\n");
    }
    g_string_append(out, "</g>\n");
}

static void
svg_legend(GString *out, GPtrArray *shown)
{
    double x = SVG_W - SVG_RIGHT + 16;
    double y = SVG_TOP + 6;
    gboolean heading = FALSE;

    g_string_append(out, "<g class=\"legend\">\n");
    for (guint i = 0; i < shown->len && i < PLOT_MAX_LEGEND; i++, y += 18) {
        PlotSeries *s = shown->pdata[i];
        g_autofree char *label = series_label(s->key, TRUE);
        if (strcmp(s->key, HOST_KEY) != 0 && !heading) {
            g_string_append_printf(out,
                                   "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555\">guests' balloons "
                                   "(balloon_cur):</text>\n",
                                   x, y + 4);
            y += 18;
            heading = TRUE;
        }
        g_string_append_printf(out,
                               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                               "stroke=\"%s\" stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\">",
                               x, y, x + 20, y, series_colour(shown, s->key), x + 26, y + 4);
        append_xml(out, label);
        g_string_append(out, "</text>\n");
    }
    if (shown->len > PLOT_MAX_LEGEND) {
        g_string_append_printf(out, "<text x=\"%.1f\" y=\"%.1f\">and %u more guests</text>\n", x,
                               y + 4, shown->len - PLOT_MAX_LEGEND);
        y += 18;
    }
    y += 8;
    g_string_append_printf(out,
                           "<path d=\"M%.1f %.1f l-4 7 h8 z\" fill=\"#555\"/>"
                           "<text x=\"%.1f\" y=\"%.1f\">balloon target asked</text>\n"
                           "<path d=\"M%.1f %.1f v-8\" stroke=\"#555\" stroke-width=\"2\"/>"
                           "<text x=\"%.1f\" y=\"%.1f\">other decision</text>\n</g>\n",
                           x + 10, y - 4, x + 26, y + 4, x + 10, y + 22, x + 26, y + 22);
}

/* The frame: the time of the data (the last @since_s seconds of it), and
 * the largest value shown. */
static gboolean
plot_frame(PlotData *d, gint64 since_s, Frame *f)
{
    GHashTableIter it;
    gpointer v;
    double tmin = INFINITY, tmax = -INFINITY, vmax = 0;

    g_hash_table_iter_init(&it, d->series);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        PlotSeries *s = v;
        for (guint i = 0; i < s->pts->len; i++) {
            PlotPoint *p = &g_array_index(s->pts, PlotPoint, i);
            tmin = MIN(tmin, p->t);
            tmax = MAX(tmax, p->t);
        }
    }
    for (guint i = 0; i < d->markers->len; i++) {
        double t = g_array_index(d->markers, PlotMarker, i).t;
        tmin = MIN(tmin, t);
        tmax = MAX(tmax, t);
    }
    if (tmax < tmin)
        return FALSE;
    if (since_s >= 0)
        tmin = MAX(tmin, tmax - (double)since_s);
    g_hash_table_iter_init(&it, d->series);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        PlotSeries *s = v;
        for (guint i = 0; i < s->pts->len; i++) {
            PlotPoint *p = &g_array_index(s->pts, PlotPoint, i);
            if (p->t >= tmin)
                vmax = MAX(vmax, p->v);
        }
    }
    for (guint i = 0; i < d->markers->len; i++) {
        PlotMarker *m = &g_array_index(d->markers, PlotMarker, i);
        double asked;
        if (m->t >= tmin && strcmp(m->control, "balloon_target") == 0 &&
            parse_number(m->requested, &asked))
            vmax = MAX(vmax, asked);
    }
    f->t0 = tmin;
    f->t1 = tmax;
    if (f->t1 - f->t0 < 1) {
        /* one instant (momd's newest samples alone): a minute around it */
        f->t0 -= 30;
        f->t1 += 30;
    }
    f->vmax = vmax > 0 ? vmax : 1024;
    return TRUE;
}

/**
 * plot_svg:
 * Returns: (transfer full) the chart of @d, or NULL when it has nothing
 * to show in the last @since_s seconds (-1: all).
 */
static char *
plot_svg(PlotData *d, gint64 since_s)
{
    Frame f;

    if (!plot_frame(d, since_s, &f))
        return NULL;
    g_autoptr(GPtrArray) shown = visible_series(d, f.t0);
    double top;
    double step = size_step(f.vmax, &top);
    f.vmax = top;
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GDateTime) t0 = g_date_time_new_from_unix_local((gint64)floor(f.t0));
    g_autoptr(GDateTime) t1 = g_date_time_new_from_unix_local((gint64)floor(f.t1));
    g_autofree char *from = t0 ? g_date_time_format(t0, "%Y-%m-%d %H:%M:%S") : g_strdup("?");
    g_autofree char *to = t1 ? g_date_time_format(t1, "%Y-%m-%d %H:%M:%S") : g_strdup("?");

    g_string_append_printf(out,
                           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                           "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
                           "<title>momd: host free memory and guest balloons</title>\n"
                           "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
                           "<text x=\"%d\" y=\"22\" font-size=\"16\">Host free memory and guest "
                           "balloons</text>\n<text x=\"%d\" y=\"40\" fill=\"#555\">",
                           SVG_W, SVG_H, SVG_W, SVG_H, SVG_W, SVG_H, SVG_LEFT, SVG_LEFT);
    append_xml(out, d->source);
    g_string_append_printf(out, ", %s to %s</text>\n", from, to);
    svg_axes(out, &f, step);
    g_string_append(out, "<g class=\"series\" fill=\"none\" stroke-width=\"1.5\">\n");
    for (guint i = 0; i < shown->len; i++) {
        PlotSeries *s = shown->pdata[i];
        g_autofree char *label = series_label(s->key, FALSE);
        double lx = 0, ly = 0;

        g_string_append(out, "<polyline data-series=\"");
        append_xml(out, series_name(s->key));
        g_string_append_printf(out, "\" data-kind=\"%s\" stroke=\"%s\" points=\"",
                               strcmp(s->key, HOST_KEY) == 0 ? "host" : "guest",
                               series_colour(shown, s->key));
        const char *sep = "";
        for (guint k = 0; k < s->pts->len; k++) {
            PlotPoint *p = &g_array_index(s->pts, PlotPoint, k);
            if (p->t < f.t0)
                continue;
            lx = x_of(&f, p->t);
            ly = y_of(&f, p->v);
            g_string_append_printf(out, "%s%.1f,%.1f", sep, lx, ly);
            sep = " ";
        }
        g_string_append(out, "\"><title>");
        append_xml(out, label);
        /* the newest point as a dot: a series of one point shows too */
        g_string_append_printf(out,
                               "</title></polyline>\n<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" "
                               "fill=\"%s\"/>\n",
                               lx, ly, series_colour(shown, s->key));
    }
    g_string_append(out, "</g>\n");
    svg_markers(out, d, &f, shown);
    svg_legend(out, shown);
    g_string_append(out, "</svg>\n");
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* ---- the command ------------------------------------------------------------------ */

int
momctl_cmd_plot(int argc, char **argv)
{
    char *dir = NULL, *since = NULL, *output = NULL;
    GOptionEntry entries[] = {
        {"dir", 0, 0, G_OPTION_ARG_FILENAME, &dir,
         "Read this plot directory ([main] plot-dir, or a momplot-NNN run in it)", "DIR"},
        {"since", 's', 0, G_OPTION_ARG_STRING, &since,
         "Only the last DURATION of the data (90, 90s, 15m, 2h, 1d)", "DURATION"},
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write the SVG to FILE, not stdout",
         "FILE"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = momctl_command_context(
        "- draw memory over time as SVG",
        "Draws the host's free memory and each guest's balloon (balloon_cur) over\n"
        "time, with the policy's decisions as markers, as an SVG chart.  With --dir,\n"
        "from momd's plot files (the newest momplot-NNN run of a [main] plot-dir);\n"
        "without, from momd: its decision history (getHistory) and newest samples.",
        entries);
    int status = momctl_parse_command(ctx, &argc, &argv, 0, 0, NULL);
    g_autofree char *dir_owned = dir, *since_owned = since, *output_owned = output;
    if (status >= 0)
        return status;
    gint64 since_s = since ? momctl_parse_duration(since) : -1;
    if (since && since_s < 0)
        return momctl_usage_error(ctx, "--since '%s' is not a duration such as 90s, 15m, 2h or 1d.",
                                  since);

    g_autoptr(GError) error = NULL;
    g_autoptr(PlotData) d = NULL;
    if (dir) {
        d = plot_read_dir(dir, &error);
        if (!d) {
            fprintf(stderr, "momctl: %s\n", error->message);
            return MOMCTL_EXIT_USAGE;
        }
    } else {
        d = plot_read_daemon(since_s, &status);
        if (!d)
            return status;
    }
    plot_data_trim(d);
    g_autofree char *svg = plot_svg(d, since_s);
    if (!svg) {
        fprintf(stderr, "momctl: %s has no samples and no decisions%s to plot.\n", d->source,
                dir ? "" : " yet");
        return dir ? MOMCTL_EXIT_USAGE : MOMCTL_EXIT_FAIL;
    }
    if (!output) {
        fputs(svg, stdout);
        return fflush(stdout) == 0 ? MOMCTL_EXIT_OK : MOMCTL_EXIT_USAGE;
    }
    FILE *f = fopen(output, "we");
    int err = f ? 0 : errno;
    if (f && fputs(svg, f) < 0)
        err = errno;
    if (f && fclose(f) != 0 && !err)
        err = errno;
    if (err) {
        fprintf(stderr, "momctl: cannot write the chart to %s: %s.\n", output, g_strerror(err));
        return MOMCTL_EXIT_USAGE;
    }
    return MOMCTL_EXIT_OK;
}
