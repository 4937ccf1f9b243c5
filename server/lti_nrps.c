/* lti_nrps: roster sync from the LMS (Names and Role Provisioning 2.0,
 * SPEC §8). Course staff ask (POST /api/v1/courses/C/roster/sync); memgrade
 * reads the memberships of every LTI context mapped to C, page by page,
 * then enrols, updates or drops the members as their launches would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api_int.h"
#include "lti.h"
#include "lti_int.h"

#define NRPS_SCOPE "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
#define NRPS_ACCEPT "Accept: application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
/* Bounds on what one sync reads: a platform that pages forever, or lists
 * more members than any course has, is cut off with a clear error rather
 * than holding an HTTP thread and memory without end. */
#define NRPS_MAX_CONTEXTS 16
#define NRPS_MAX_PAGES 500
#define NRPS_MAX_MS (60 * 1000)   /* a whole sync; each request has lti_http's 10 s */
#define NRPS_MAX_MEMBERS 50000
#define NRPS_URL_MAX 2048

/* Whether an NRPS member has a role a course has (the LIS membership
 * roles a launch maps, or an institution Administrator, whom a launch
 * makes an instructor). Mentors, observers and the like are skipped: a
 * sync should not enrol parents as students. Roles are URIs whose
 * fragment names the role, or bare names. */
static int member_has_course_role(const json_t *roles)
{
    static const char *const names[] = {"Learner", "Instructor", "TeachingAssistant",
                                        "Administrator", "ContentDeveloper"};
    size_t i;
    const json_t *v;
    json_array_foreach(roles, i, v) {
        const char *s = json_string_value(v);
        if (!s)
            continue;
        const char *h = strrchr(s, '#');
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (!strcmp(h ? h + 1 : s, names[k]))
                return 1;
    }
    return 0;
}

/* ---- reading the memberships --------------------------------------------------- */

typedef struct {
    char *sub;
    char name[65];
    int role;              /* db_crole, or -1: no role memgrade maps */
    int active;
} member;

typedef struct {
    int64_t platform_id;
    char deployment_id[256];
    char context_id[256];
    char url[NRPS_URL_MAX];
    member *m;
    size_t n, cap;
} context;

typedef struct {
    context c[NRPS_MAX_CONTEXTS];
    size_t n;
    int too_many;
    int oom;
} contexts;

static void context_one(void *ctx, const db_nrps_context *c)
{
    contexts *cs = ctx;
    if (cs->n == NRPS_MAX_CONTEXTS) {
        cs->too_many = 1;
        return;
    }
    context *x = &cs->c[cs->n];
    if (strlen(c->nrps_url) >= sizeof x->url ||
        strlen(c->deployment_id) >= sizeof x->deployment_id ||
        strlen(c->context_id) >= sizeof x->context_id)
        return;  /* a launch could not have stored these; skip rather than truncate */
    memset(x, 0, sizeof *x);
    x->platform_id = c->platform_id;
    snprintf(x->deployment_id, sizeof x->deployment_id, "%s", c->deployment_id);
    snprintf(x->context_id, sizeof x->context_id, "%s", c->context_id);
    snprintf(x->url, sizeof x->url, "%s", c->nrps_url);
    cs->n++;
}

static void contexts_free(contexts *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        for (size_t j = 0; j < cs->c[i].n; j++)
            free(cs->c[i].m[j].sub);
        free(cs->c[i].m);
    }
}

/* Adds one page's members to x, named and given roles as a launch would
 * (lti_map_roles, lti_user_name). 0, or -1 with err. */
static int add_members(context *x, const json_t *members, char *err, size_t errlen)
{
    size_t i;
    const json_t *m;
    json_array_foreach(members, i, m) {
        const char *sub = json_string_value(json_object_get(m, "user_id"));
        if (!json_is_object(m) || !sub || !*sub || strlen(sub) > 255) {
            snprintf(err, errlen, "member %zu has no user_id (a string of 1 to 255 characters)",
                     i + 1);
            return -1;
        }
        const char *status = json_string_value(json_object_get(m, "status"));
        const json_t *roles = json_object_get(m, "roles");
        if (x->n == NRPS_MAX_MEMBERS) {
            snprintf(err, errlen, "more than %d members", NRPS_MAX_MEMBERS);
            return -1;
        }
        if (x->n == x->cap) {
            size_t cap = x->cap ? x->cap * 2 : 64;
            member *p = realloc(x->m, cap * sizeof *p);
            if (!p) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            x->m = p;
            x->cap = cap;
        }
        member *o = &x->m[x->n];
        if (!(o->sub = strdup(sub))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        lti_user_name(m, x->platform_id, sub, o->name);
        o->role = json_is_array(roles) && member_has_course_role(roles)
                      ? (int)lti_map_roles(roles) : -1;
        /* NRPS 2.0: status Active (the default), Inactive or Deleted */
        o->active = !status || !strcmp(status, "Active");
        x->n++;
    }
    return 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fetches every page of x's memberships into x->m, until deadline
 * (mono_ms). 0; otherwise the HTTP
 * status to answer with (502, or 503 when trying later may help, with
 * *retry_after the seconds the LMS asked for, or -1) and the reason in err. */
static int fetch_context(db *d, context *x, int64_t deadline, int *retry_after, char *err,
                         size_t errlen)
{
    /* checked at launch too; the platform's URLs may have changed since */
    db_lti_platform p;
    int prc = db_lti_platform_get(d, x->platform_id, &p);
    if (prc != DB_OK) {
        snprintf(err, errlen, prc == DB_NOT_FOUND ? "the LMS is no longer registered"
                                                  : "the database is unavailable");
        return prc == DB_NOT_FOUND ? 409 : 500;
    }
    if (!lti_platform_host_ok(&p, x->url)) {
        snprintf(err, errlen, "the roster URL %.200s is not on a host of the registered LMS %.200s",
                 x->url, p.issuer);
        return 502;
    }
    char token[4096], auth[4200], msg[256] = "";
    int temporary = 0, renewed = 0;
    const char *const headers[] = {auth, NRPS_ACCEPT, NULL};
    const char *const first[] = {x->url, NULL};
    char *url = strdup(x->url);
    int st = 502;
    if (!url) {
        snprintf(err, errlen, "out of memory");
        return 500;
    }
    for (int page = 1;; page++) {
        if (page == 1 || renewed == 1) {
            if (lti_access_token(d, x->platform_id, NRPS_SCOPE, token, sizeof token, &temporary,
                                 msg, sizeof msg)) {
                snprintf(err, errlen, "the LMS gave no access token for the roster: %s", msg);
                st = temporary ? 503 : 502;
                goto out;
            }
            snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        }
        lti_http_resp resp;
        if (lti_http("GET", url, LTI_URL_PLATFORM, headers, NULL, 0, &resp, msg, sizeof msg)) {
            snprintf(err, errlen, "the roster could not be read from %.200s: %s", url, msg);
            st = 503;
            lti_http_resp_clear(&resp);
            goto out;
        }
        if (resp.status == 401 && !renewed) {
            /* the cached token was revoked or expired early: one new one */
            lti_http_resp_clear(&resp);
            lti_tokens_forget();
            renewed = 1;
            page--;
            continue;
        }
        if (renewed == 1)
            renewed = 2;
        if (resp.status != 200) {
            snprintf(err, errlen, "the LMS answered %ld to the roster request %.200s", resp.status,
                     url);
            st = resp.status >= 500 || resp.status == 429 ? 503 : 502;
            *retry_after = resp.retry_after;
            lti_http_resp_clear(&resp);
            goto out;
        }
        json_error_t je;
        json_t *doc = json_loadb(resp.body, resp.len, 0, &je);
        json_t *members = json_object_get(doc, "members");
        int bad = !json_is_array(members);
        if (bad)
            snprintf(err, errlen, "the LMS's roster page %d is not a membership container", page);
        else if (add_members(x, members, msg, sizeof msg)) {
            snprintf(err, errlen, "the LMS's roster page %d: %s", page, msg);
            bad = 1;
        }
        json_decref(doc);
        char *next = resp.link_next;
        resp.link_next = NULL;
        lti_http_resp_clear(&resp);
        if (bad) {
            free(next);
            goto out;
        }
        if (!next)
            break;
        /* The next page must stay where the signed claim pointed: a
         * membership page cannot send memgrade to another host. */
        if (!lti_url_same_host(next, first)) {
            snprintf(err, errlen, "the LMS's next roster page %.200s is not on the host of %.200s;"
                     " not followed", next, x->url);
            free(next);
            goto out;
        }
        if (page == NRPS_MAX_PAGES) {
            snprintf(err, errlen, "the roster has more than %d pages", NRPS_MAX_PAGES);
            free(next);
            goto out;
        }
        if (mono_ms() > deadline) {
            snprintf(err, errlen, "the LMS took more than %d s to list the roster (%d pages so "
                     "far); try again later", NRPS_MAX_MS / 1000, page);
            st = 503;
            free(next);
            goto out;
        }
        free(url);
        url = next;
    }
    st = 0;
out:
    free(url);
    return st;
}

/* ---- applying them ------------------------------------------------------------------ */

typedef struct {
    int64_t members, added, updated, removed, skipped;
} tally;

/* One member of x into course, as a launch maps it: the user of the sub
 * (made when new), their course role; an inactive one leaves the course. */
static int apply_member(db *d, const char *course, const char *title, const context *x,
                        const member *m, int64_t now, tally *t)
{
    int64_t uid = 0;
    db_crole before;
    int rc = db_nrps_user_of(d, x->platform_id, m->sub, &uid);
    if (rc == DB_ERROR)
        return -1;
    int known = rc == DB_OK;
    int was = known ? db_course_role(d, course, uid, &before) : DB_NOT_FOUND;
    if (was == DB_ERROR)
        return -1;
    if (!m->active) {
        if (was == DB_OK && strcmp(course, DB_DEFAULT_COURSE)) {
            if (db_course_drop(d, course, uid) == DB_ERROR)
                return -1;
            t->removed++;
        }
        return 0;
    }
    if (m->role < 0) {
        t->skipped++;
        return 0;
    }
    db_lti_launch_in in = {
        .platform_id = x->platform_id,
        .deployment_id = x->deployment_id,
        .context_id = x->context_id,
        .course_id = course,
        .course_title = title,
        .sub = m->sub,
        .user_name = m->name,
        .role = (db_crole)m->role,
        .now = now,
    };
    db_lti_launch_out out;
    if (db_lti_launch_store(d, &in, &out) != DB_OK)
        return -1;
    if (was != DB_OK)
        t->added++;
    else if (before != (db_crole)m->role)
        t->updated++;
    return 0;
}

static int h_roster_sync(api_req *r)
{
    const char *course = r->params[0];
    db *d = srv_db(r->s);
    if (!d)
        return reply_error(r, 500, "the database is unavailable");
    char title[256];
    int rc = db_course_get(d, course, title, sizeof title);
    if (rc == DB_ERROR)
        return reply_error(r, 500, "the database is unavailable");
    db_crole mine;
    int in_course = rc == DB_OK ? db_course_role(d, course, r->user.id, &mine) : DB_NOT_FOUND;
    if (in_course == DB_ERROR)
        return reply_error(r, 500, "the database is unavailable");
    /* as the other course routes: a course one is not in does not exist */
    if (rc == DB_NOT_FOUND || (in_course == DB_NOT_FOUND && !is_instructor(r)))
        return reply_error(r, 404, "no such course '%.64s'", course);
    if (!api_course_staff(r, course))
        return reply_error(r, 403, "only the course's TAs and instructors may do this");

    contexts *cs = calloc(1, sizeof *cs);
    if (!cs)
        return reply_error(r, 500, "out of memory");
    int st;
    char err[512] = "";
    if (db_nrps_contexts(d, course, context_one, cs) != DB_OK) {
        st = reply_error(r, 500, "the database is unavailable");
        goto out;
    }
    if (!cs->n) {
        st = reply_error(r, 409, "course '%.64s' was never launched from an LMS that offers"
                                 " its roster (Names and Role Provisioning)", course);
        goto out;
    }
    int64_t deadline = mono_ms() + NRPS_MAX_MS;
    for (size_t i = 0; i < cs->n; i++) {
        int after = -1;
        int fst = fetch_context(d, &cs->c[i], deadline, &after, err, sizeof err);
        if (fst) {
            if (fst == 503)
                snprintf(r->retry_after, sizeof r->retry_after, "%d",
                         after > 0 && after < 3600 ? after : 30);
            st = reply_error(r, fst, "%s", err);
            goto out;
        }
    }
    tally t = {0};
    int64_t now = db_now_ms();
    for (size_t i = 0; i < cs->n; i++) {
        const context *x = &cs->c[i];
        t.members += (int64_t)x->n;
        for (size_t j = 0; j < x->n; j++) {
            if (apply_member(d, course, title, x, &x->m[j], now, &t)) {
                st = reply_error(r, 500, "the database is unavailable");
                goto out;
            }
        }
        if (db_nrps_synced(d, x->platform_id, x->deployment_id, x->context_id, now) == DB_ERROR) {
            st = reply_error(r, 500, "the database is unavailable");
            goto out;
        }
    }
    if (t.added || t.updated || t.removed)
        api_views_changed(r);
    char when[32];
    iso_time(now, when);
    st = reply_json(r, 200, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s}", "course", course,
                                      "members", (json_int_t)t.members, "added",
                                      (json_int_t)t.added, "updated", (json_int_t)t.updated,
                                      "removed", (json_int_t)t.removed, "skipped",
                                      (json_int_t)t.skipped, "synced_at", when));
out:
    contexts_free(cs);
    free(cs);
    return st;
}

const api_route lti_nrps_routes[] = {
    {"POST", "/api/v1/courses/*/roster/sync", h_roster_sync, AUTH_USER, NULL},
};
const size_t lti_nrps_nroutes = sizeof lti_nrps_routes / sizeof lti_nrps_routes[0];
