/* web_dashboard: the staff pages of SPEC §7. /dashboard lists the courses a
 * user teaches with each offered assignment at a glance; /dashboard/C/A is
 * one assignment (score histogram, memory-error kinds, the students' table,
 * CSV, regrade) and /dashboard/C/A/students/U one student's submissions and
 * extension. Figures come from db_dash_rows (a few numbers per submission,
 * stored with each result), never from result documents, so a course of
 * 1,000 students x 20 submissions renders in tens of ms. Extensions and
 * regrades run the API's own handlers, so a form and a JSON request follow
 * the same rules and recompute the same late figures. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "web.h"

/* The memory-error kinds of SPEC §4 in the lecture's words (LECTURE.md
 * §2.5, "Common Memory Errors"), in the SPEC's order. */
static const struct {
    const char *kind, *words;
} kinds[] = {
    {"heap_overflow", "Not allocating enough memory (reading or writing past the end of a block)"},
    {"use_after_free", "Freeing memory too early (a dangling pointer)"},
    {"double_free", "Freeing memory twice (double free)"},
    {"invalid_free", "Freeing a pointer malloc never returned"},
    {"leak", "Forgetting to free memory (memory leak)"},
    {"uninitialized_read", "Forgetting to initialize allocated memory"},
    {"null_dereference", "Dereferencing NULL (a missing NULL check)"},
    {"wild_access", "Forgetting to allocate memory (an uninitialized pointer)"},
    {"unchecked_alloc_failure", "Not handling malloc returning NULL"},
    {"stack_overflow", "Stack overflow (runaway recursion or a huge local)"},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* Score histogram: this many equal ranges of the maximum score. */
#define NBINS 10

/* ---- the figures of one assignment -------------------------------------------- */

typedef struct {
    int64_t id, created_at, late_days;
    double score; /* after the late penalty */
    int graded;
    char status; /* 'g' graded, 'c' compile_error, 'i' internal_error, 0 not yet */
    unsigned kinds; /* bit k: kinds[k] */
} dsub;

typedef struct {
    char *name;
    int64_t user_id;
    size_t first, n; /* submissions sub[first .. first + n) */
    int has_best, has_last, has_final;
    double best, last, final;
    int64_t best_id, last_id, best_late, last_late, late;
    unsigned kinds_any, kinds_latest; /* of any graded submission; of the latest graded */
    int64_t ext_due, ext_until;
    int has_ext;
} dstudent;

typedef struct {
    dstudent *st;
    size_t nst, capst;
    dsub *sub;
    size_t nsub, capsub;
    double max_score; /* the largest stored one, when the catalog has none */
    int failed;
} dash;

static unsigned kinds_mask(const char *text)
{
    unsigned m = 0;
    while (*text) {
        size_t n = strcspn(text, " ");
        for (size_t k = 0; k < NKINDS; k++)
            if (strlen(kinds[k].kind) == n && !memcmp(kinds[k].kind, text, n))
                m |= 1u << k;
        text += n;
        text += strspn(text, " ");
    }
    return m;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *np = realloc(*p, cap2 * size);
    if (!np)
        return -1;
    *p = np;
    *cap = cap2;
    return 0;
}

/* Folds rows as db_course_grades does (api_courses.c's gradebook): best is
 * the highest score after penalty, the earliest of equals; last is the
 * newest submission, graded or not. */
static void dash_row(void *ctx, const db_dash_row *row)
{
    dash *D = ctx;
    if (D->failed)
        return;
    if (!D->nst || D->st[D->nst - 1].user_id != row->user_id) {
        if (grow((void **)&D->st, &D->capst, D->nst + 1, sizeof *D->st)) {
            D->failed = 1;
            return;
        }
        dstudent *s = &D->st[D->nst];
        memset(s, 0, sizeof *s);
        s->user_id = row->user_id;
        s->first = D->nsub;
        if (!(s->name = strdup(row->user))) {
            D->failed = 1;
            return;
        }
        D->nst++;
    }
    if (!row->id)
        return;
    if (grow((void **)&D->sub, &D->capsub, D->nsub + 1, sizeof *D->sub)) {
        D->failed = 1;
        return;
    }
    dstudent *s = &D->st[D->nst - 1];
    dsub *u = &D->sub[D->nsub++];
    u->id = row->id;
    u->created_at = row->created_at;
    u->late_days = row->late_days;
    u->score = row->score;
    u->graded = row->graded;
    u->kinds = row->graded ? kinds_mask(row->error_kinds) : 0;
    u->status = !row->status                          ? 0
                : !strcmp(row->status, "compile_error")  ? 'c'
                : !strcmp(row->status, "internal_error") ? 'i'
                                                         : 'g';
    s->n++;
    s->last_id = row->id;
    s->has_last = row->graded;
    s->last = row->score;
    s->last_late = row->late_days;
    if (!row->graded)
        return;
    if (row->max_score > D->max_score)
        D->max_score = row->max_score;
    s->kinds_any |= u->kinds;
    s->kinds_latest = u->kinds;
    if (!s->has_best || row->score > s->best) {
        s->has_best = 1;
        s->best = row->score;
        s->best_id = row->id;
        s->best_late = row->late_days;
    }
}

static void dash_free(dash *D)
{
    for (size_t i = 0; i < D->nst; i++)
        free(D->st[i].name);
    free(D->st);
    free(D->sub);
    memset(D, 0, sizeof *D);
}

static void ext_one(void *ctx, const char *user, int64_t due, int64_t accept_until)
{
    dash *D = ctx;
    /* The students are few enough (and the extensions fewer) to search. */
    for (size_t i = 0; i < D->nst; i++)
        if (!strcmp(D->st[i].name, user)) {
            D->st[i].has_ext = 1;
            D->st[i].ext_due = due;
            D->st[i].ext_until = accept_until;
        }
}

/* Loads one assignment's figures (of one student when user_id is not 0)
 * and settles each student's final score by the offer's policy. */
static int dash_load(db *d, const char *course, const db_offer *o, int64_t user_id, dash *D)
{
    memset(D, 0, sizeof *D);
    if (db_dash_rows(d, course, o->assignment, user_id, dash_row, D) != DB_OK || D->failed ||
        db_extension_each(d, course, o->assignment, ext_one, D) != DB_OK) {
        dash_free(D);
        return -1;
    }
    for (size_t i = 0; i < D->nst; i++) {
        dstudent *s = &D->st[i];
        s->has_final = o->policy_last ? s->has_last : s->has_best;
        s->final = o->policy_last ? s->last : s->best;
        s->late = s->has_final ? (o->policy_last ? s->last_late : s->best_late) : 0;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    size_t submissions, graded, submitted, with_final; /* students submitted, with a final */
    double mean, median;
} dash_summary;

static int dash_summarize(const dash *D, dash_summary *out)
{
    memset(out, 0, sizeof *out);
    double *finals = malloc((D->nst ? D->nst : 1) * sizeof *finals);
    if (!finals)
        return -1;
    double sum = 0;
    for (size_t i = 0; i < D->nst; i++) {
        const dstudent *s = &D->st[i];
        out->submissions += s->n;
        out->submitted += s->n > 0;
        if (s->has_final) {
            finals[out->with_final++] = s->final;
            sum += s->final;
        }
    }
    for (size_t i = 0; i < D->nsub; i++)
        out->graded += D->sub[i].graded != 0;
    if (out->with_final) {
        size_t n = out->with_final;
        qsort(finals, n, sizeof *finals, cmp_double);
        out->mean = sum / (double)n;
        out->median = n % 2 ? finals[n / 2] : (finals[n / 2 - 1] + finals[n / 2]) / 2;
    }
    free(finals);
    return 0;
}

/* ---- small pieces of HTML ------------------------------------------------------- */

/* A score as people write it: 7.5, 10, 6.67. */
static void fmt_score(double v, char out[32])
{
    snprintf(out, 32, "%.2f", v);
    char *dot = strchr(out, '.');
    if (dot) {
        char *e = out + strlen(out) - 1;
        while (e > dot && *e == '0')
            *e-- = '\0';
        if (e == dot)
            *e = '\0';
    }
}

/* A compiled-in asset's URL with its version (web/ via web_assets.c), the
 * way the page shell links app.js. */
extern const web_asset web_assets[];
extern const size_t web_nassets;
static void asset_url(web_buf *b, const char *name)
{
    const char *etag = "0";
    for (size_t i = 0; i < web_nassets; i++)
        if (!strcmp(web_assets[i].name, name))
            etag = web_assets[i].etag;
    web_printf(b, "/static/%s?v=%s", name, etag);
}

static void dash_assets(web_buf *b)
{
    web_raw(b, "<link rel=\"stylesheet\" href=\"");
    asset_url(b, "dashboard.css");
    web_raw(b, "\">\n<script src=\"");
    asset_url(b, "dashboard.js");
    web_raw(b, "\" defer></script>\n");
}

static void dash_href(web_buf *b, const char *course, const char *assignment)
{
    web_raw(b, "/dashboard/");
    web_url(b, course);
    web_raw(b, "/");
    web_url(b, assignment);
}

static const char *assignment_title(api_req *r, const char *name)
{
    const grd_assignment *a = grd_catalog_find(r->s->catalog, name);
    return a ? grd_assignment_title(a) : name;
}

static double assignment_max(api_req *r, const char *name, const dash *D)
{
    const grd_assignment *a = grd_catalog_find(r->s->catalog, name);
    double m = a ? grd_assignment_max_score(a) : 0;
    return m > 0 ? m : D->max_score;
}

/* ---- access ---------------------------------------------------------------------------- */

/* The page's course (params[0]) and assignment (params[1]) when the user
 * is staff there: 0 with o filled; else the answer already given (a login
 * redirect, or 404 for a course that is not theirs, as the API does, so a
 * course id reveals nothing). */
static int dash_access(api_req *r, char title[256], db_offer *o)
{
    if (web_require_user(r))
        return r->status;
    const char *course = r->params[0];
    db *d = srv_db(r->s);
    if (!d)
        return web_error(r, 503, "The database is unavailable; try again in a moment.");
    if (!db_course_id_valid(course) || !web_is_staff(r, course) ||
        db_course_get(d, course, title, 256) != DB_OK)
        return web_not_found(r);
    int rc = api_course_offer(r, course, r->params[1], o);
    if (rc == DB_NOT_FOUND)
        return web_not_found(r);
    if (rc != DB_OK)
        return web_error(r, 503, "The database is unavailable; try again in a moment.");
    return 0;
}

static int is_course_instructor(api_req *r, const char *course)
{
    db_crole role;
    db *d = srv_db(r->s);
    return is_instructor(r) ||
           (d && db_course_role(d, course, r->user.id, &role) == DB_OK &&
            role == DB_CROLE_INSTRUCTOR);
}

/* ---- /dashboard ----------------------------------------------------------------------- */

typedef struct {
    char id[40], title[256];
    db_crole role;
} course_item;

typedef struct {
    course_item *c;
    size_t n, cap;
    int failed;
} course_list;

static void course_collect(void *ctx, const char *id, const char *title, db_crole role)
{
    course_list *l = ctx;
    if (role == DB_CROLE_STUDENT || l->failed)
        return;
    if (grow((void **)&l->c, &l->cap, l->n + 1, sizeof *l->c)) {
        l->failed = 1;
        return;
    }
    course_item *c = &l->c[l->n++];
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->title, sizeof c->title, "%s", title);
    c->role = role;
}

typedef struct {
    db_offer *o;
    size_t n, cap;
    int failed;
} offer_list;

static void offer_collect(void *ctx, const db_offer *o)
{
    offer_list *l = ctx;
    if (l->failed || grow((void **)&l->o, &l->cap, l->n + 1, sizeof *l->o)) {
        l->failed = 1;
        return;
    }
    l->o[l->n++] = *o;
}

/* The assignments course offers: its stored offers, and for the default
 * course every catalog assignment (api_course_offer decides each). */
static int offers_of(api_req *r, db *d, const char *course, offer_list *l)
{
    memset(l, 0, sizeof *l);
    if (!strcmp(course, DB_DEFAULT_COURSE)) {
        for (size_t i = 0; i < grd_catalog_count(r->s->catalog); i++) {
            db_offer o;
            const char *name = grd_assignment_name(grd_catalog_at(r->s->catalog, i));
            if (api_course_offer(r, course, name, &o) == DB_OK)
                offer_collect(l, &o);
        }
    } else if (db_offer_each(d, course, offer_collect, l) != DB_OK) {
        l->failed = 1;
    }
    return l->failed ? -1 : 0;
}

static int h_dashboard(api_req *r)
{
    if (web_require_user(r))
        return r->status;
    db *d = srv_db(r->s);
    course_list cl = {0};
    if (!d || db_course_each(d, is_instructor(r) ? 0 : r->user.id, course_collect, &cl) ||
        cl.failed) {
        free(cl.c);
        return web_error(r, 503, "The database is unavailable; try again in a moment.");
    }
    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, "Dashboard");
    dash_assets(&b);
    web_raw(&b, "<h1>Dashboard</h1>\n");
    if (!cl.n)
        web_raw(&b, "<p>You are not a TA or instructor of any course, so there is nothing to "
                    "show here. An instructor adds staff with <code>memgrade course enrol "
                    "COURSE USER --role ta</code>.</p>\n");
    int failed = 0;
    for (size_t i = 0; i < cl.n && !failed; i++) {
        const course_item *c = &cl.c[i];
        offer_list ol;
        if (offers_of(r, d, c->id, &ol)) {
            free(ol.o);
            failed = 1;
            break;
        }
        web_printf(&b, "<section class=\"course\" aria-labelledby=\"course-%s\">\n"
                       "<h2 id=\"course-%s\">%s <span class=\"course-id\">(%s, you are %s)</span></h2>\n",
                   c->id, c->id, c->title, c->id,
                   c->role == DB_CROLE_TA ? "a TA" : "an instructor");
        if (!ol.n) {
            web_raw(&b, "<p>No assignment is offered here yet.</p>\n");
        } else {
            web_printf(&b, "<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" "
                           "aria-labelledby=\"course-%s-cap\"><table class=\"overview\">\n"
                           "<caption id=\"course-%s-cap\">Assignments offered in %s</caption>\n<thead><tr>"
                           "<th scope=\"col\">Assignment</th><th scope=\"col\">Due</th>"
                           "<th scope=\"col\" class=\"num\">Submissions</th>"
                           "<th scope=\"col\" class=\"num\">Students submitted</th>"
                           "<th scope=\"col\" class=\"num\">Mean final score</th>"
                           "<th scope=\"col\" class=\"num\">Median final score</th>"
                           "</tr></thead>\n<tbody>\n", c->id, c->id, c->title);
            for (size_t k = 0; k < ol.n; k++) {
                const db_offer *o = &ol.o[k];
                dash D;
                dash_summary sm;
                if (dash_load(d, c->id, o, 0, &D)) {
                    failed = 1;
                    break;
                }
                if (dash_summarize(&D, &sm)) {
                    dash_free(&D);
                    failed = 1;
                    break;
                }
                double max = assignment_max(r, o->assignment, &D);
                char mean[32], median[32], maxs[32];
                fmt_score(sm.mean, mean);
                fmt_score(sm.median, median);
                fmt_score(max, maxs);
                web_raw(&b, "<tr><th scope=\"row\"><a href=\"");
                dash_href(&b, c->id, o->assignment);
                web_printf(&b, "\">%s</a> <code>%s</code></th><td>",
                           assignment_title(r, o->assignment), o->assignment);
                web_time(&b, o->due, "no deadline");
                web_printf(&b, "</td><td class=\"num\">%zu</td><td class=\"num\">%zu of %zu</td>",
                           sm.submissions, sm.submitted, D.nst);
                if (sm.with_final)
                    web_printf(&b, "<td class=\"num\">%s / %s</td><td class=\"num\">%s / %s</td>",
                               mean, maxs, median, maxs);
                else
                    web_raw(&b, "<td class=\"num\">no scores yet</td>"
                                "<td class=\"num\">no scores yet</td>");
                web_raw(&b, "</tr>\n");
                dash_free(&D);
            }
            web_raw(&b, "</tbody></table></div>\n");
        }
        web_raw(&b, "<p><a href=\"/dashboard/");
        web_url(&b, c->id);
        web_raw(&b, "/deliveries\">Grade passbacks and webhook deliveries</a></p>\n");
        web_raw(&b, "</section>\n");
        free(ol.o);
    }
    free(cl.c);
    if (failed) {
        free(b.p);
        return web_error(r, 503, "The database is unavailable; try again in a moment.");
    }
    web_page_end(&b);
    return web_send(r, 200, &b);
}

/* ---- /dashboard/C/A ------------------------------------------------------------------- */

/* The students' table columns that sort, the key of ?sort=KEY (ascending)
 * or ?sort=-KEY, as dashboard.js sorts them too. */
enum { COL_NAME, COL_BEST, COL_LAST, COL_FINAL, COL_ATTEMPTS, COL_LATE, NCOLS };
static const struct {
    const char *key, *label;
} cols[NCOLS] = {
    {"name", "Student"},  {"best", "Best"},         {"last", "Last"},
    {"final", "Final"},   {"attempts", "Attempts"}, {"late", "Late days"},
};

/* A student's value in column c: what the table shows and sorts by
 * (no score sorts below zero). */
static double sort_value(const dstudent *s, int c)
{
    switch (c) {
    case COL_BEST: return s->has_best ? s->best : -1;
    case COL_LAST: return s->has_last ? s->last : -1;
    case COL_FINAL: return s->has_final ? s->final : -1;
    case COL_ATTEMPTS: return (double)s->n;
    case COL_LATE: return (double)s->late;
    default: return 0;
    }
}

typedef struct {
    int col, desc;
} sort_spec;

static int cmp_students(const void *a, const void *b, void *ctx)
{
    const sort_spec *sp = ctx;
    const dstudent *x = a, *y = b;
    int c = 0;
    if (sp->col != COL_NAME) {
        double u = sort_value(x, sp->col), v = sort_value(y, sp->col);
        c = (u > v) - (u < v);
    } else {
        c = strcmp(x->name, y->name);
    }
    if (sp->desc)
        c = -c;
    return c ? c : strcmp(x->name, y->name); /* ties by name, always ascending */
}

/* ?sort=KEY or -KEY; the name column ascending when absent or unknown. */
static sort_spec parse_sort(api_req *r)
{
    sort_spec sp = {COL_NAME, 0};
    const char *v = query(r, "sort");
    if (!v)
        return sp;
    int desc = *v == '-';
    for (int c = 0; c < NCOLS; c++)
        if (!strcmp(v + desc, cols[c].key)) {
            sp.col = c;
            sp.desc = desc;
        }
    return sp;
}

static void histogram(web_buf *b, const dash *D, double max)
{
    size_t count[NBINS] = {0}, n = 0, top = 0;
    for (size_t i = 0; i < D->nst; i++) {
        if (!D->st[i].has_final)
            continue;
        double f = max > 0 ? D->st[i].final / max : 0;
        int k = (int)floor(f * NBINS);
        if (k < 0)
            k = 0;
        if (k >= NBINS)
            k = NBINS - 1;
        count[k]++;
        n++;
    }
    for (int k = 0; k < NBINS; k++)
        if (count[k] > top)
            top = count[k];
    char maxs[32];
    fmt_score(max, maxs);
    /* Geometry in viewBox units; CSS scales the whole to the page width. */
    const int W = 640, H = 280, left = 44, right = 8, topm = 24, bottom = 56;
    const double bw = (double)(W - left - right) / NBINS, ph = H - topm - bottom;
    web_printf(b, "<figure class=\"histogram\">\n<svg id=\"histogram\" viewBox=\"0 0 %d %d\" "
                  "role=\"img\" aria-labelledby=\"hist-title hist-desc\" "
                  "data-students=\"%zu\" data-max-score=\"%s\">\n"
                  "<title id=\"hist-title\">Final scores of %zu student%s, out of %s</title>\n"
                  "<desc id=\"hist-desc\">",
               W, H, n, maxs, n, n == 1 ? "" : "s", maxs);
    for (int k = 0; k < NBINS; k++) {
        char lo[32], hi[32];
        fmt_score(max * k / NBINS, lo);
        fmt_score(max * (k + 1) / NBINS, hi);
        web_printf(b, "%s%d to %s%d%% (%s to %s%s points): %zu student%s.", k ? " " : "",
                   k * 100 / NBINS, k == NBINS - 1 ? "" : "under ", (k + 1) * 100 / NBINS, lo,
                   k == NBINS - 1 ? "" : "under ", hi, count[k], count[k] == 1 ? "" : "s");
    }
    web_raw(b, "</desc>\n");
    web_printf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", left,
               topm + ph, W - right, topm + ph);
    web_printf(b, "<text class=\"axis-label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
                  "final score, %% of the %s points</text>\n", left + (W - left - right) / 2,
               H - 6, maxs);
    web_printf(b, "<text class=\"axis-label\" x=\"4\" y=\"%d\">students</text>\n", topm - 8);
    for (int k = 0; k < NBINS; k++) {
        char lo[32], hi[32];
        fmt_score(max * k / NBINS, lo);
        fmt_score(max * (k + 1) / NBINS, hi);
        double h = top ? ph * (double)count[k] / (double)top : 0;
        double x = left + k * bw;
        web_printf(b, "<g class=\"bar\" data-from=\"%s\" data-to=\"%s\" data-count=\"%zu\">"
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
                      "<text class=\"count\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%zu</text>"
                      "<text class=\"range\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d–%d%%</text>"
                      "</g>\n",
                   lo, hi, count[k], x + 3, topm + ph - h, bw - 6, h, x + bw / 2,
                   topm + ph - h - 5, count[k], x + bw / 2, topm + ph + 18, k * 100 / NBINS,
                   (k + 1) * 100 / NBINS);
    }
    web_raw(b, "</svg>\n<figcaption>Each bar counts the students whose final score (after late "
               "penalties; best or last submission as the assignment's policy says) falls in "
               "its range of the maximum: from the first percentage up to but not including "
               "the second, the last bar including full marks.</figcaption>\n</figure>\n");
}

static void share(web_buf *b, size_t k, size_t of)
{
    double s = of ? (double)k / (double)of : 0;
    web_printf(b, "<td class=\"num\" data-count=\"%zu\" data-of=\"%zu\" data-share=\"%.4f\">"
                  "<span class=\"pct\">%.0f%%</span> <span class=\"of\">(%zu of %zu)</span>"
                  "<meter min=\"0\" max=\"1\" value=\"%.4f\" aria-hidden=\"true\"></meter></td>",
               k, of, s, s * 100, k, of, s);
}

static void kinds_table(web_buf *b, const dash *D, const dash_summary *sm)
{
    size_t subs[NKINDS] = {0}, studs[NKINDS] = {0}, latest[NKINDS] = {0}, graded_students = 0;
    for (size_t i = 0; i < D->nsub; i++)
        for (size_t k = 0; k < NKINDS; k++)
            subs[k] += (D->sub[i].kinds >> k) & 1;
    for (size_t i = 0; i < D->nst; i++) {
        const dstudent *s = &D->st[i];
        graded_students += s->has_best;
        for (size_t k = 0; k < NKINDS; k++) {
            studs[k] += (s->kinds_any >> k) & 1;
            latest[k] += (s->kinds_latest >> k) & 1;
        }
    }
    /* Most common first; the SPEC's order among equals. */
    size_t order[NKINDS], n = 0;
    for (size_t k = 0; k < NKINDS; k++)
        if (subs[k])
            order[n++] = k;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && subs[order[j]] > subs[order[j - 1]]; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    web_printf(b, "<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" "
                  "aria-labelledby=\"kinds-cap\"><table id=\"kinds\" data-graded-submissions=\"%zu\" "
                  "data-graded-students=\"%zu\">\n"
                  "<caption id=\"kinds-cap\">Memory errors in the %zu graded submissions of %zu students, most "
                  "common first: the share of submissions showing each, of students who showed "
                  "it at least once, and of students whose latest graded submission still "
                  "does</caption>\n"
                  "<thead><tr><th scope=\"col\">Error</th>"
                  "<th scope=\"col\" class=\"num\">Submissions</th>"
                  "<th scope=\"col\" class=\"num\">Students</th>"
                  "<th scope=\"col\" class=\"num\">Still in latest</th>"
                  "</tr></thead>\n<tbody>\n", sm->graded, graded_students, sm->graded,
               graded_students);
    for (size_t i = 0; i < n; i++) {
        size_t k = order[i];
        web_printf(b, "<tr data-kind=\"%s\"><th scope=\"row\">%s <code>%s</code></th>",
                   kinds[k].kind, kinds[k].words, kinds[k].kind);
        share(b, subs[k], sm->graded);
        share(b, studs[k], graded_students);
        share(b, latest[k], graded_students);
        web_raw(b, "</tr>\n");
    }
    if (!n)
        web_printf(b, "<tr><td colspan=\"4\">%s</td></tr>\n",
                   sm->graded ? "No graded submission showed a memory error."
                              : "No submission is graded yet.");
    web_raw(b, "</tbody></table></div>\n");
}

static void score_cell(web_buf *b, int has, double v, int64_t sub_id, const char *what)
{
    char s[32];
    fmt_score(v, s);
    if (!has) {
        web_raw(b, "<td class=\"num\" data-v=\"-1\"><span class=\"none\">none</span></td>");
        return;
    }
    web_printf(b, "<td class=\"num\" data-v=\"%s\">", s);
    if (sub_id)
        web_printf(b, "<a href=\"/submissions/%lld\" aria-label=\"%s %s: submission %lld\">%s</a>",
                   (long long)sub_id, what, s, (long long)sub_id, s);
    else
        web_printf(b, "%s", s);
    web_raw(b, "</td>");
}

static void students_table(web_buf *b, api_req *r, dash *D, const char *course,
                           const char *assignment, double max)
{
    sort_spec sp = parse_sort(r);
    qsort_r(D->st, D->nst, sizeof *D->st, cmp_students, &sp);
    char maxs[32];
    fmt_score(max, maxs);
    web_raw(b, "<form method=\"get\" action=\"");
    dash_href(b, course, assignment);
    web_printf(b, "#students\" class=\"sorter\">\n<div class=\"table-wrap\" "
                  "tabindex=\"0\" role=\"region\" aria-labelledby=\"students-cap\">"
                  "<table id=\"students\" data-sort=\"%s%s\">\n<caption id=\"students-cap\">Students (%zu), scores "
                  "out of %s after late penalties. Sort by a column with its header button."
                  "</caption>\n<thead><tr>",
               sp.desc ? "-" : "", cols[sp.col].key, D->nst, maxs);
    for (int c = 0; c < NCOLS; c++) {
        int on = c == sp.col;
        /* The button asks for the other direction when this column is the
         * sorted one, ascending otherwise (names) or descending (numbers,
         * the highest first being what one looks for). */
        int next_desc = on ? !sp.desc : c != COL_NAME;
        /* Markup goes through web_raw: web_printf escapes every %s. */
        web_raw(b, c == COL_NAME ? "<th scope=\"col\"" : "<th scope=\"col\" class=\"num\"");
        if (on)
            web_raw(b, sp.desc ? " aria-sort=\"descending\"" : " aria-sort=\"ascending\"");
        web_printf(b, "><button type=\"submit\" name=\"sort\" value=\"%s%s\" data-key=\"%s\">"
                      "%s<span class=\"arrow\" aria-hidden=\"true\">%s</span></button></th>",
                   next_desc ? "-" : "", cols[c].key, cols[c].key, cols[c].label,
                   on ? (sp.desc ? " ▼" : " ▲") : "");
    }
    web_raw(b, "<th scope=\"col\">Extension</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < D->nst; i++) {
        const dstudent *s = &D->st[i];
        web_printf(b, "<tr><th scope=\"row\" data-v=\"%s\"><a href=\"", s->name);
        dash_href(b, course, assignment);
        web_raw(b, "/students/");
        web_url(b, s->name);
        web_printf(b, "\">%s</a></th>", s->name);
        score_cell(b, s->has_best, s->best, s->best_id, "best");
        score_cell(b, s->has_last, s->last, s->last_id, "last");
        score_cell(b, s->has_final, s->final, 0, "final");
        web_printf(b, "<td class=\"num\" data-v=\"%zu\">%zu</td>"
                      "<td class=\"num\" data-v=\"%lld\">%lld</td><td>",
                   s->n, s->n, (long long)s->late, (long long)s->late);
        if (s->has_ext && s->ext_due) {
            web_raw(b, "due ");
            web_time(b, s->ext_due, "");
        } else if (s->has_ext) {
            web_raw(b, "accepted until ");
            web_time(b, s->ext_until, "");
        }
        web_raw(b, "</td></tr>\n");
    }
    if (!D->nst)
        web_raw(b, "<tr><td colspan=\"7\">No student is enrolled in this course yet.</td></tr>\n");
    web_raw(b, "</tbody></table></div>\n</form>\n");
}

/* The regrade panel: the button (instructors) and, with ?regrade=ID, that
 * regrade's progress, which dashboard.js keeps polling. */
static void regrade_panel(web_buf *b, api_req *r, const char *course, const char *assignment,
                          size_t graded, int instructor)
{
    web_raw(b, "<section id=\"regrade\" aria-labelledby=\"regrade-h\">\n"
               "<h2 id=\"regrade-h\">Regrade</h2>\n");
    const char *q = query(r, "regrade");
    int64_t id = q ? parse_id(q) : 0;
    db_regrade g;
    db *d = srv_db(r->s);
    if (id && d && db_regrade_get(d, id, &g) == DB_OK && !strcmp(g.course, course)) {
        web_printf(b, "<div class=\"progress\" data-poll=\"/api/v1/courses/%s/regrades/%lld\">"
                      "<label for=\"regrade-progress\">Regrade %lld</label> "
                      "<progress id=\"regrade-progress\" max=\"%lld\" value=\"%lld\">%lld of %lld"
                      "</progress>\n<p id=\"regrade-status\" role=\"status\" aria-live=\"polite\" "
                      "data-status=\"%s\">%s: %lld of %lld done, %lld failed.</p>",
                   course, (long long)id, (long long)id, (long long)(g.total ? g.total : 1),
                   (long long)g.done, (long long)g.done, (long long)g.total, g.status,
                   !strcmp(g.status, "done") ? "Done" : !strcmp(g.status, "running") ? "Running"
                                                                                    : "Queued",
                   (long long)g.done, (long long)g.total, (long long)g.failed);
        web_raw(b, " <p class=\"reload\"><a href=\"");
        dash_href(b, course, assignment);
        web_printf(b, "?regrade=%lld#regrade\">Refresh the figures</a></p></div>\n", (long long)id);
    }
    if (instructor) {
        web_raw(b, "<form method=\"post\" action=\"");
        dash_href(b, course, assignment);
        web_raw(b, "/regrade\">");
        web_csrf_field(b, r);
        web_printf(b, "<p>Grade every submission again against the assignment's current tests "
                      "(after a test changed); earlier results stay in each submission's "
                      "history. New submissions go first.</p>"
                      "<button type=\"submit\">Regrade all %zu graded submissions</button></form>\n",
                   graded);
    } else {
        web_raw(b, "<p>Only the course's instructors start a regrade.</p>\n");
    }
    web_raw(b, "</section>\n");
}

static int h_dash_assignment(api_req *r)
{
    char title[256];
    db_offer o;
    if (dash_access(r, title, &o))
        return r->status;
    const char *course = r->params[0], *assignment = o.assignment;
    db *d = srv_db(r->s);
    dash D;
    dash_summary sm;
    if (dash_load(d, course, &o, 0, &D))
        return web_error(r, 503, "The database is unavailable; try again in a moment.");
    if (dash_summarize(&D, &sm)) {
        dash_free(&D);
        return web_error(r, 500, "Out of memory.");
    }
    double max = assignment_max(r, assignment, &D);
    int instructor = is_course_instructor(r, course);
    char pagetitle[400], maxs[32], mean[32], median[32];
    snprintf(pagetitle, sizeof pagetitle, "%.100s in %.200s", assignment_title(r, assignment), title);
    fmt_score(max, maxs);
    fmt_score(sm.mean, mean);
    fmt_score(sm.median, median);

    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, pagetitle);
    dash_assets(&b);
    web_printf(&b, "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><ol><li><a href=\"/dashboard\">"
                   "Dashboard</a></li><li>%s</li><li aria-current=\"page\">%s</li></ol></nav>\n"
                   "<h1>%s <span class=\"sub\">in %s</span></h1>\n",
               title, assignment_title(r, assignment), assignment_title(r, assignment), title);
    web_raw(&b, "<ul class=\"facts\"><li>Due ");
    web_time(&b, o.due, "never (no deadline)");
    if (o.accept_until) {
        web_raw(&b, ", accepted until ");
        web_time(&b, o.accept_until, "");
    }
    char pen[32];
    fmt_score(o.late_penalty_per_day, pen);
    web_printf(&b, "</li><li>Late penalty %s%% of the maximum per started day</li>"
                   "<li>The %s submission counts</li>"
                   "<li>%zu submissions (%zu graded) from %zu of %zu students</li>",
               pen, o.policy_last ? "last" : "best", sm.submissions, sm.graded, sm.submitted,
               D.nst);
    if (sm.with_final)
        web_printf(&b, "<li>Final score: mean %s, median %s, out of %s</li>", mean, median, maxs);
    web_raw(&b, "</ul>\n<p class=\"actions\"><a class=\"button\" href=\"/api/v1/courses/");
    web_url(&b, course);
    web_raw(&b, "/assignments/");
    web_url(&b, assignment);
    web_printf(&b, "/grades?format=csv\" download=\"%s-%s-grades.csv\">Download the grades (CSV)"
                   "</a></p>\n", course, assignment);

    web_raw(&b, "<section aria-labelledby=\"scores-h\"><h2 id=\"scores-h\">Scores</h2>\n");
    if (sm.with_final)
        histogram(&b, &D, max);
    else
        web_raw(&b, "<p>No student has a graded submission yet.</p>\n");
    web_raw(&b, "</section>\n<section aria-labelledby=\"kinds-h\"><h2 id=\"kinds-h\">"
                "What the class struggles with</h2>\n");
    kinds_table(&b, &D, &sm);
    web_raw(&b, "</section>\n<section aria-labelledby=\"students-h\"><h2 id=\"students-h\">"
                "Students</h2>\n<p>A student's name opens their submissions");
    web_raw(&b, instructor ? " and their extension" : "");
    web_raw(&b, "; a score opens that submission as the student sees it, with the hidden "
                "tests.</p>\n");
    students_table(&b, r, &D, course, assignment, max);
    web_raw(&b, "</section>\n");
    regrade_panel(&b, r, course, assignment, sm.graded, instructor);
    web_page_end(&b);
    dash_free(&D);
    return web_send(r, 200, &b);
}

/* ---- /dashboard/C/A/students/U ---------------------------------------------------------- */

/* A <input type="datetime-local"> value of a time (UTC), "" for none. */
static void local_value(int64_t ms, char out[32])
{
    out[0] = '\0';
    if (!ms)
        return;
    clk_format(ms, out);   /* 2026-12-01T23:59:00Z */
    out[16] = '\0';        /* 2026-12-01T23:59 */
}

static int h_dash_student(api_req *r)
{
    char title[256];
    db_offer o;
    if (dash_access(r, title, &o))
        return r->status;
    const char *course = r->params[0], *assignment = o.assignment, *name = r->params[2];
    db *d = srv_db(r->s);
    int64_t uid;
    db_crole role;
    if (db_user_id(d, name, &uid) != DB_OK || db_course_role(d, course, uid, &role) != DB_OK ||
        role != DB_CROLE_STUDENT)
        return web_not_found(r);
    dash D;
    if (dash_load(d, course, &o, uid, &D))
        return web_error(r, 503, "The database is unavailable; try again in a moment.");
    if (D.nst != 1) {
        dash_free(&D);
        return web_not_found(r);
    }
    const dstudent *s = &D.st[0];
    int instructor = is_course_instructor(r, course);
    double max = assignment_max(r, assignment, &D);
    char pagetitle[400], maxs[32];
    fmt_score(max, maxs);
    snprintf(pagetitle, sizeof pagetitle, "%.64s: %.100s in %.200s", name, assignment_title(r, assignment),
             title);
    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, pagetitle);
    dash_assets(&b);
    web_printf(&b, "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><ol><li><a href=\"/dashboard\">"
                   "Dashboard</a></li><li><a href=\"");
    dash_href(&b, course, assignment);
    web_printf(&b, "\">%s in %s</a></li><li aria-current=\"page\">%s</li></ol></nav>\n"
                   "<h1>%s <span class=\"sub\">%s in %s</span></h1>\n",
               assignment_title(r, assignment), title, name, name,
               assignment_title(r, assignment), title);
    if (query(r, "extended"))
        web_raw(&b, "<p class=\"notice\" role=\"status\">The extension is saved; the late days "
                    "of this student's submissions were recomputed.</p>\n");
    char best[32], last[32], fin[32];
    fmt_score(s->best, best);
    fmt_score(s->last, last);
    fmt_score(s->final, fin);
    web_printf(&b, "<ul class=\"facts\" id=\"summary\"><li>%zu attempt%s</li>"
                   "<li>Best <span id=\"best\">%s</span></li><li>Last <span id=\"last\">%s</span></li>"
                   "<li>Final <span id=\"final\">%s</span> of %s</li>"
                   "<li>Late days <span id=\"late\">%lld</span></li><li>Due ",
               s->n, s->n == 1 ? "" : "s", s->has_best ? best : "none",
               s->has_last ? last : "none", s->has_final ? fin : "none", maxs,
               (long long)s->late);
    int64_t due = s->has_ext && s->ext_due ? s->ext_due : o.due;
    web_time(&b, due, "never (no deadline)");
    web_raw(&b, s->has_ext ? " (extended)" : "");
    web_raw(&b, "</li></ul>\n");

    web_printf(&b, "<section aria-labelledby=\"subs-h\"><h2 id=\"subs-h\">Submissions</h2>\n"
                   "<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" "
                   "aria-labelledby=\"subs-cap\"><table id=\"submissions\">\n<caption id=\"subs-cap\">%s's "
                   "submissions, newest first; scores after late penalties</caption>\n"
                   "<thead><tr><th scope=\"col\">Submission</th><th scope=\"col\">Submitted</th>"
                   "<th scope=\"col\" class=\"num\">Score</th>"
                   "<th scope=\"col\" class=\"num\">Late days</th>"
                   "<th scope=\"col\">Memory errors</th></tr></thead>\n<tbody>\n", name);
    for (size_t i = s->n; i-- > 0;) {
        const dsub *u = &D.sub[s->first + i];
        char sc[32];
        fmt_score(u->score, sc);
        web_printf(&b, "<tr><th scope=\"row\"><a href=\"/submissions/%lld\">Attempt %zu</a> "
                       "<span class=\"id\">(#%lld)</span></th><td>",
                   (long long)u->id, i + 1, (long long)u->id);
        web_time(&b, u->created_at, "");
        web_printf(&b, "</td><td class=\"num\">%s%s</td><td class=\"num\">%lld</td><td>",
                   u->graded ? sc : "not graded yet",
                   u->status == 'c' ? " (did not compile)" : u->status == 'i' ? " (grading failed)" : "",
                   (long long)u->late_days);
        int any = 0;
        for (size_t k = 0; k < NKINDS; k++)
            if ((u->kinds >> k) & 1)
                web_printf(&b, "%s<span data-kind=\"%s\">%s</span>", any++ ? "; " : "",
                           kinds[k].kind, kinds[k].words);
        if (!any)
            web_raw(&b, u->status == 'g' ? "none" : "—");
        web_raw(&b, "</td></tr>\n");
    }
    if (!s->n)
        web_raw(&b, "<tr><td colspan=\"5\">No submission yet.</td></tr>\n");
    web_raw(&b, "</tbody></table></div></section>\n");

    web_raw(&b, "<section aria-labelledby=\"ext-h\"><h2 id=\"ext-h\">Extension</h2>\n");
    if (s->has_ext) {
        web_raw(&b, "<p>Extended: due ");
        web_time(&b, s->ext_due, "as the assignment says");
        if (s->ext_until) {
            web_raw(&b, ", accepted until ");
            web_time(&b, s->ext_until, "");
        }
        web_raw(&b, ".</p>\n");
    }
    if (instructor) {
        char dv[32], uv[32];
        local_value(s->has_ext ? s->ext_due : 0, dv);
        local_value(s->has_ext ? s->ext_until : 0, uv);
        web_raw(&b, "<form method=\"post\" class=\"extension\" action=\"");
        dash_href(&b, course, assignment);
        web_raw(&b, "/extensions/");
        web_url(&b, name);
        web_raw(&b, "\">");
        web_csrf_field(&b, r);
        web_printf(&b, "<input type=\"hidden\" name=\"tz\" value=\"0\" class=\"tz\">"
                       "<p class=\"hint\">Times are in <span class=\"tzname\">UTC</span>. The "
                       "late days of the work already submitted are recomputed.</p>"
                       "<p><label for=\"ext-due\">New due date</label> "
                       "<input type=\"datetime-local\" id=\"ext-due\" name=\"due\" value=\"%s\">"
                       "</p><p><label for=\"ext-until\">Accept submissions until "
                       "(optional)</label> <input type=\"datetime-local\" id=\"ext-until\" "
                       "name=\"accept_until\" value=\"%s\"></p>"
                       "<p><button type=\"submit\">Save the extension for %s</button></p></form>\n",
                   dv, uv, name);
    } else {
        web_raw(&b, "<p>Only the course's instructors grant extensions.</p>\n");
    }
    web_raw(&b, "</section>\n");
    web_page_end(&b);
    dash_free(&D);
    return web_send(r, 200, &b);
}

/* ---- the forms --------------------------------------------------------------------------- */

/* The message of the API's JSON error in r->body, for a page. */
static void api_message(api_req *r, char *out, size_t cap)
{
    json_t *j = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(j, "error"));
    snprintf(out, cap, "%s", m ? m : "the request failed");
    json_decref(j);
}

/* A datetime-local field (the reader's time, tz minutes behind UTC as
 * JavaScript's getTimezoneOffset says; 0 without JavaScript: UTC) as an ISO
 * 8601 UTC time into iso; "" for an empty field. -1 when malformed. */
static int form_time(const char *v, long tz, char iso[32])
{
    iso[0] = '\0';
    if (!*v)
        return 0;
    char t[40];
    size_t n = strlen(v);
    if (n == 16)
        snprintf(t, sizeof t, "%s:00Z", v);
    else if (n == 19)
        snprintf(t, sizeof t, "%sZ", v);
    else
        return -1;
    int64_t ms;
    if (clk_parse(t, &ms))
        return -1;
    clk_format(ms + (int64_t)tz * 60000, iso);
    return 0;
}

static int h_dash_extension(api_req *r)
{
    char title[256], csrf[128], due[40] = "", until[40] = "", tzs[16] = "0";
    db_offer o;
    if (r->pending)
        return web_error(r, r->pending, "%s", r->pending_msg);
    if (dash_access(r, title, &o))
        return r->status;
    if (web_form_get(r, "csrf", csrf, sizeof csrf))
        csrf[0] = '\0';
    if (web_require_csrf(r, csrf))
        return r->status;
    /* An absent field (or one too long to be a date) is an empty one. */
    if (web_form_get(r, "due", due, sizeof due))
        due[0] = '\0';
    if (web_form_get(r, "accept_until", until, sizeof until))
        until[0] = '\0';
    if (web_form_get(r, "tz", tzs, sizeof tzs))
        snprintf(tzs, sizeof tzs, "0");
    char *end;
    long tz = strtol(tzs, &end, 10);
    char idue[32], iuntil[32];
    if (*end || tz < -1440 || tz > 1440 || form_time(due, tz, idue) ||
        form_time(until, tz, iuntil))
        return web_error(r, 400, "Give the dates as the date fields write them "
                                 "(2026-12-01T23:59).");
    /* The API's handler, on the JSON body it takes: the same checks (an
     * instructor, a student of the course, due before accept_until) and the
     * same recomputing of late days. */
    json_t *body = json_pack("{s:o, s:o}", "due", idue[0] ? json_string(idue) : json_null(),
                             "accept_until", iuntil[0] ? json_string(iuntil) : json_null());
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return web_error(r, 500, "Out of memory.");
    free(r->json);
    r->json = text;
    r->json_len = strlen(text);
    int st = api_extension_put(r);
    r->location[0] = '\0'; /* the API's Location is not this page's */
    if (st != 200) {
        char msg[512];
        api_message(r, msg, sizeof msg);
        return web_error(r, st, "The extension was not saved: %s.", msg);
    }
    web_buf u = WEB_BUF_INIT;
    dash_href(&u, r->params[0], o.assignment);
    web_raw(&u, "/students/");
    web_url(&u, r->params[2]);
    web_raw(&u, "?extended=1");
    return web_redirect_buf(r, &u);
}

static int h_dash_regrade(api_req *r)
{
    char title[256], csrf[128];
    db_offer o;
    if (r->pending)
        return web_error(r, r->pending, "%s", r->pending_msg);
    if (dash_access(r, title, &o))
        return r->status;
    if (web_form_get(r, "csrf", csrf, sizeof csrf))
        csrf[0] = '\0';
    if (web_require_csrf(r, csrf))
        return r->status;
    int st = api_regrade_start(r);
    r->location[0] = '\0'; /* the API's Location is not this page's */
    if (st != 202) {
        char msg[512];
        api_message(r, msg, sizeof msg);
        return web_error(r, st, "The regrade did not start: %s.", msg);
    }
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    long long id = (long long)json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    web_buf u = WEB_BUF_INIT;
    dash_href(&u, r->params[0], o.assignment);
    web_printf(&u, "?regrade=%lld#regrade", id);
    return web_redirect_buf(r, &u);
}

const api_route web_dashboard_routes[] = {
    {"GET", "/dashboard", h_dashboard, AUTH_NONE, NULL},
    {"GET", "/dashboard/*/*", h_dash_assignment, AUTH_NONE, NULL},
    {"GET", "/dashboard/*/*/students/*", h_dash_student, AUTH_NONE, NULL},
    {"POST", "/dashboard/*/*/regrade", h_dash_regrade, AUTH_NONE, web_form_begin},
    {"POST", "/dashboard/*/*/extensions/*", h_dash_extension, AUTH_NONE, web_form_begin},
};
const size_t web_dashboard_nroutes = sizeof web_dashboard_routes / sizeof web_dashboard_routes[0];
