/* api: HTTP routing, authentication, handlers and per-request bookkeeping
 * (metrics, access log) on libmicrohttpd. A request's state is created on
 * its first callback and freed in the completion callback. */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api_cache.h"
#include "api_int.h"
#include "api_submit.h"
#include "auth.h"
#include "clock.h"
#include "sbx.h"
#include "web.h"

/* The statuses we answer with, once: metrics count per entry. */
#define API_STATUSES(X) \
    X(200) X(201) X(202) X(303) X(400) X(401) X(403) X(404) X(405) X(409) X(413) X(414) X(415) X(422) X(429) X(431) X(500) X(503)

static const int api_status_codes[] = {
#define API_CODE_(n) n,
    API_STATUSES(API_CODE_)
#undef API_CODE_
};
#define API_NSTATUS (sizeof api_status_codes / sizeof api_status_codes[0])
/* The last slot counts anything not in the table. */
static atomic_uint_fast64_t http_requests[API_NSTATUS + 1];

static int status_index(int code)
{
    for (size_t i = 0; i < API_NSTATUS; i++)
        if (api_status_codes[i] == code)
            return (int)i;
    return (int)API_NSTATUS;
}

/* Graded submissions' JSON (immutable once stored) and token lookups are
 * served from memory: a class polling for results must not cost a SQLite
 * read transaction per poll. A token lookup is trusted for AUTH_TTL_MS. */
#define AUTH_TTL_MS 10000
static api_cache *sub_cache, *auth_cache;

typedef struct {
    uint8_t hash[AUTH_HASH_LEN];
    db_user user;
} auth_entry;

/* Upload bytes we read and throw away after refusing a request, before we
 * hang up on the client instead. */
#define API_DISCARD_FACTOR 8

/* Requests between their first callback and their completion: a graceful
 * stop waits for these, not for idle keep-alive connections. */
static atomic_int api_inflight;

/* Seconds of silence before a connection is closed: a request in progress
 * gets API_TIMEOUT_S, an idle keep-alive connection (holding one of the
 * --max-connections slots) API_IDLE_S to start its next request. */
#define API_CONN_MEMORY (64 * 1024)
#define API_TIMEOUT_S 30
#define API_IDLE_S 10

/* The most body bytes read and thrown away once a request is refused. */
static size_t discard_max(const api_req *r)
{
    return API_DISCARD_FACTOR * (r->body_max ? r->body_max : r->s->cfg.max_request);
}

/* ---- responses ----------------------------------------------------------- */

int reply(api_req *r, int status, const char *ctype, char *body, size_t len)
{
    free(r->body);
    r->status = status;
    r->ctype = ctype;
    r->body = body;
    r->body_len = len;
    return status;
}

/* Steals doc. */
int reply_json(api_req *r, int status, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return reply(r, 500, "application/json", strdup("{\"error\":\"out of memory\"}"),
                     25);
    size_t n = strlen(text);
    return reply(r, status, "application/json", text, n);
}

__attribute__((format(printf, 3, 4)))
int reply_error(api_req *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A database server that went away (PostgreSQL restarting) makes the
     * service unavailable, not broken: the client may retry. */
    if (status == 500 && srv_db_unavailable())
        return reply_json(r, 503, json_pack("{s:s}", "error", "the database is unavailable"));
    return reply_json(r, status, json_pack("{s:s}", "error", msg));
}

static enum MHD_Result send_reply(api_req *r)
{
    if (!r->status)
        reply_error(r, 500, "no response");
    if (!r->body)
        r->body_len = 0;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->body_len, r->body ? r->body : "", r->body ? MHD_RESPMEM_MUST_FREE
                                                    : MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    r->body = NULL; /* now MHD's */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->ctype ? r->ctype : "application/json");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->headers) /* the pages' own: CSP, cookies, caching of assets */
        r->headers(r, resp);
    if (!MHD_get_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (r->retry_after[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, r->retry_after);
    if (r->location[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
    if (r->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->replayed)
        MHD_add_response_header(resp, "Idempotent-Replayed", "true");
    if (r->status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    /* While draining for shutdown, ask keep-alive clients to go away; a
     * request whose framing cannot be trusted ends its connection. */
    if (atomic_load(&r->s->draining) || r->close_conn)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    r->queued = 1;
    guard_answering(r);
    return ok;
}

/* ---- helpers --------------------------------------------------------------- */

void iso_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

const char *query(api_req *r, const char *key)
{
    if (r->qargs) { /* an internal call from a page: its own query only */
        for (const char *const *q = r->qargs; q[0]; q += 2)
            if (!strcmp(q[0], key))
                return q[1];
        return NULL;
    }
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* A strictly positive decimal id; 0 when s is not one. */
int64_t parse_id(const char *s)
{
    int64_t v = 0;
    if (!*s || *s == '0')
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* A non-negative integer query parameter within [0, max]; def when absent;
 * -1 when malformed. */
static int query_int(api_req *r, const char *key, int def, int max)
{
    const char *v = query(r, key);
    if (!v)
        return def;
    if (!*v || strlen(v) > 9 || strspn(v, "0123456789") != strlen(v))
        return -1;
    int n = atoi(v);
    return n > max ? max : n;
}

/* ---- authentication --------------------------------------------------------- */

/* 0 when the request carries a valid token (r->user filled), else a status. */
static int authenticate(api_req *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    /* The web session cookie works too (SPEC §6); a state-changing request
     * made with it must carry the session's CSRF token. */
    if (!h && !web_api_cookie_auth(r))
        return web_api_csrf(r);
    if (!h)
        return reply_error(r, 401, "authentication required: send Authorization: Bearer TOKEN");
    if (strncasecmp(h, "Bearer ", 7))
        return reply_error(r, 401, "only Bearer tokens are accepted");
    h += 7;
    while (*h == ' ')
        h++;
    size_t len = strlen(h);
    while (len && h[len - 1] == ' ')
        len--;
    if (len == 0 || len > 256)
        return reply_error(r, 401, "invalid token");
    uint8_t hash[AUTH_HASH_LEN];
    auth_token_hash(h, len, hash);
    uint64_t key;
    memcpy(&key, hash, sizeof key);
    char *hit = NULL;
    size_t hlen = 0;
    if (!api_cache_get(auth_cache, key, &hit, &hlen)) {
        auth_entry e;
        int same = hlen == sizeof e && (memcpy(&e, hit, sizeof e), !memcmp(e.hash, hash, sizeof e.hash));
        free(hit);
        if (same) {
            r->user = e.user;
            r->authed = 1;
            return 0;
        }
    }
    db *d = srv_db(r->s);
    int rc = d ? db_user_by_token(d, hash, &r->user) : DB_ERROR;
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 401, "invalid token");
    if (rc != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    auth_entry e;
    memset(&e, 0, sizeof e);
    memcpy(e.hash, hash, sizeof e.hash);
    e.user = r->user;
    api_cache_put(auth_cache, key, &e, sizeof e);
    r->authed = 1;
    return 0;
}

int is_instructor(const api_req *r)
{
    return r->authed && r->user.role == DB_ROLE_INSTRUCTOR;
}

/* ---- handlers ------------------------------------------------------------------ */

static int h_healthz(api_req *r)
{
    int64_t q, run;
    srv_queue_stats(r->s, &q, &run);
    db *d = srv_db(r->s);
    int64_t depth;
    int db_ok = d && db_queue_depth(d, &depth) == DB_OK;
    int ok = db_ok && !atomic_load(&r->s->draining);
    sbx_cgroup_info cg;
    sbx_cgroup_status(&cg);
    return reply_json(r, ok ? 200 : 503,
                      json_pack("{s:s, s:b, s:I, s:I, s:i, s:I, s:{s:i, s:b, s:b, s:s}}",
                                "status", atomic_load(&r->s->draining) ? "stopping" : ok ? "ok" : "degraded",
                                "database", db_ok, "queued", (json_int_t)q,
                                "running", (json_int_t)run, "workers", r->s->cfg.workers,
                                "uptime_s", (json_int_t)((db_now_ms() - r->s->started_ms) / 1000),
                                "sandbox", "cgroup", cg.version, "box_memory_limit",
                                cg.memory_limit, "box_cpu_accounting", cg.cpu_accounting,
                                "limits", cg.summary));
}

__attribute__((format(printf, 2, 3)))
void tb_printf(tbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->p && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *np = cap <= b->max ? realloc(b->p, cap) : NULL;
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

static int h_metrics(api_req *r)
{
    srv *s = r->s;
    tbuf b = {.max = 1 << 20};
    int64_t q, run;
    srv_queue_stats(s, &q, &run);
    tb_printf(&b, "# HELP memgrade_queue_depth Submissions waiting for a grading worker.\n"
                  "# TYPE memgrade_queue_depth gauge\nmemgrade_queue_depth %" PRId64 "\n",
              q);
    pthread_mutex_lock(&s->mu);
    int64_t rq = s->regrade_queued;
    pthread_mutex_unlock(&s->mu);
    tb_printf(&b, "# HELP memgrade_regrade_queue_depth Regrade items waiting (served after "
                  "new submissions).\n"
                  "# TYPE memgrade_regrade_queue_depth gauge\nmemgrade_regrade_queue_depth %" PRId64
                  "\n", rq);
    tb_printf(&b, "# HELP memgrade_jobs_running Submissions being graded now.\n"
                  "# TYPE memgrade_jobs_running gauge\nmemgrade_jobs_running %" PRId64 "\n",
              run);
    tb_printf(&b, "# HELP memgrade_request_body_bytes Request body bytes held in memory now.\n"
                  "# TYPE memgrade_request_body_bytes gauge\nmemgrade_request_body_bytes %zu\n"
                  "# HELP memgrade_http_deadline_closes_total Connections closed because a "
                  "request's headers or body did not arrive in time.\n"
                  "# TYPE memgrade_http_deadline_closes_total counter\n"
                  "memgrade_http_deadline_closes_total %" PRIu64 "\n",
              guard_body_total(), guard_deadline_closes());
    sbx_cgroup_info cg;
    sbx_cgroup_status(&cg);
    tb_printf(&b, "# HELP memgrade_sandbox_cgroup_version The cgroup version boxes use (0: none).\n"
                  "# TYPE memgrade_sandbox_cgroup_version gauge\n"
                  "memgrade_sandbox_cgroup_version %d\n"
                  "# HELP memgrade_sandbox_limit_enforced Whether a box-wide limit is enforced.\n"
                  "# TYPE memgrade_sandbox_limit_enforced gauge\n"
                  "memgrade_sandbox_limit_enforced{limit=\"box_memory\"} %d\n"
                  "memgrade_sandbox_limit_enforced{limit=\"box_cpu\"} %d\n",
              cg.version, cg.memory_limit ? 1 : 0, cg.cpu_accounting ? 1 : 0);
    tb_printf(&b, "# HELP memgrade_workers Grading worker threads.\n"
                  "# TYPE memgrade_workers gauge\nmemgrade_workers %d\n", s->cfg.workers);
    tb_printf(&b, "# HELP memgrade_jobs_total Grading jobs finished, by outcome.\n"
                  "# TYPE memgrade_jobs_total counter\n");
    for (int i = 0; i < SRV_OUT_COUNT; i++)
        tb_printf(&b, "memgrade_jobs_total{outcome=\"%s\"} %" PRIuFAST64 "\n",
                  srv_outcome_names[i], atomic_load(&s->outcomes[i]));
    tb_printf(&b, "# HELP memgrade_jobs_started_total Grading jobs begun, by the nice they "
                  "began at (a student with other submissions waiting gives way).\n"
                  "# TYPE memgrade_jobs_started_total counter\n");
    for (int i = 0; i < 4; i++)
        tb_printf(&b, "memgrade_jobs_started_total{nice=\"%d\"} %" PRIuFAST64 "\n", 5 * i,
                  atomic_load(&s->started_by_nice[i]));
    tb_printf(&b, "# HELP memgrade_grading_duration_seconds Time to grade one submission.\n"
                  "# TYPE memgrade_grading_duration_seconds histogram\n");
    uint_fast64_t cum = 0;
    for (int i = 0; i < SRV_DURATION_BUCKETS; i++) {
        cum += atomic_load(&s->duration_buckets[i]);
        tb_printf(&b, "memgrade_grading_duration_seconds_bucket{le=\"%g\"} %" PRIuFAST64 "\n",
                  srv_duration_bounds[i], cum);
    }
    cum += atomic_load(&s->duration_buckets[SRV_DURATION_BUCKETS]);
    tb_printf(&b, "memgrade_grading_duration_seconds_bucket{le=\"+Inf\"} %" PRIuFAST64 "\n"
                  "memgrade_grading_duration_seconds_sum %.6f\n"
                  "memgrade_grading_duration_seconds_count %" PRIuFAST64 "\n",
              cum, atomic_load(&s->duration_sum_us) / 1e6, atomic_load(&s->duration_count));
    tb_printf(&b, "# HELP memgrade_http_requests_total HTTP requests answered, by status.\n"
                  "# TYPE memgrade_http_requests_total counter\n");
    for (size_t i = 0; i < API_NSTATUS; i++)
        tb_printf(&b, "memgrade_http_requests_total{status=\"%d\"} %" PRIuFAST64 "\n",
                  api_status_codes[i], atomic_load(&http_requests[i]));
    tb_printf(&b, "memgrade_http_requests_total{status=\"other\"} %" PRIuFAST64 "\n",
              atomic_load(&http_requests[API_NSTATUS]));
    api_outbox_metrics(r, &b);
    api_workers_metrics(r, &b);
    if (b.failed) {
        free(b.p);
        return reply_error(r, 500, "out of memory");
    }
    return reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
}

static int h_openapi(api_req *r)
{
    char *doc = strdup(api_openapi_json);
    if (!doc)
        return reply_error(r, 500, "out of memory");
    return reply(r, 200, "application/json", doc, strlen(doc));
}

static int h_me(api_req *r)
{
    return reply_json(r, 200, json_pack("{s:I, s:s, s:s}", "id", (json_int_t)r->user.id,
                                        "name", r->user.name,
                                        "role", db_role_name(r->user.role)));
}

static int h_assignments(api_req *r)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < grd_catalog_count(r->s->catalog); i++)
        if (json_array_append_new(list, grd_assignment_json(grd_catalog_at(r->s->catalog, i))))
            json_decref(list), list = NULL;
    if (!list)
        return reply_error(r, 500, "out of memory");
    return reply_json(r, 200, json_pack("{s:o}", "assignments", list));
}

static void submission_url(int64_t id, char out[64])
{
    snprintf(out, 64, "/api/v1/submissions/%" PRId64, id);
}

/* Points a late submission loses: late_pct of max_score per late day,
 * never more than it scored. */
static double late_penalty(const db_submission *sub)
{
    if (sub->late_days <= 0 || !sub->has_score)
        return 0;
    double p = sub->max_score * sub->late_pct / 100.0 * (double)sub->late_days;
    return p > sub->score ? sub->score : p;
}

/* The JSON of a submission without its result document. */
static json_t *submission_json(const db_submission *sub)
{
    char created[32], url[64];
    iso_time(sub->created_at, created);
    submission_url(sub->id, url);
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o*}",
                          "id", (json_int_t)sub->id, "assignment", sub->assignment,
                          "course", sub->course, "user", sub->user, "status", sub->status,
                          "created_at", created, "url", url,
                          "files", json_loads(sub->files, 0, NULL));
    if (o && sub->late_days > 0)
        json_object_set_new(o, "late_days", json_integer(sub->late_days));
    if (o && sub->result_status) {
        char graded[32];
        iso_time(sub->graded_at, graded);
        json_object_set_new(o, "result_status", json_string(sub->result_status));
        json_object_set_new(o, "score", json_real(sub->score));
        json_object_set_new(o, "max_score", json_real(sub->max_score));
        json_object_set_new(o, "final_score", json_real(sub->score - late_penalty(sub)));
        json_object_set_new(o, "graded_at", json_string(graded));
    }
    return o;
}

/* Whether the caller sees submission sub in full: a global instructor, or
 * a TA or instructor of its course. */
static int sees_all_of(api_req *r, const db_submission *sub)
{
    return is_instructor(r) || api_course_staff(r, sub->course);
}

/* Loads submission params[0] if the caller may see it: 404 for a missing
 * one and for someone else's alike, so ids reveal nothing. */
static int load_visible(api_req *r, int with_document, db_submission *sub)
{
    int64_t id = parse_id(r->params[0]);
    if (!id)
        return reply_error(r, 404, "no such submission");
    db *d = srv_db(r->s);
    int rc = d ? db_submission_get(d, id, with_document, sub) : DB_ERROR;
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "no such submission");
    if (rc != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    if (sub->user_id != r->user.id && !sees_all_of(r, sub)) {
        db_submission_clear(sub);
        return reply_error(r, 404, "no such submission");
    }
    return 0;
}

/* Graded submissions are cached in two views: key 2*id for the author's
 * when no due date applies to it, 2*id+1 for a global instructor's full
 * one. The value is the owner's id and the views epoch it was made in,
 * then the JSON; an entry from an older epoch (a regrade, a new deadline
 * since) is not served. Other views (a TA's, a student's once due dates
 * apply) are built from the database every time. 0 when served, -1 on a
 * miss. */
void api_views_changed(api_req *r)
{
    atomic_fetch_add(&r->s->views_epoch, 1);
}

typedef struct {
    int64_t owner;
    uint64_t epoch;
} view_head;

static uint64_t view_key(api_req *r, int64_t id)
{
    return (uint64_t)id * 2 + (is_instructor(r) ? 1 : 0);
}

static int cached_submission(api_req *r)
{
    int64_t id = parse_id(r->params[0]);
    view_head h;
    char *v = NULL;
    size_t len = 0;
    if (!id || query(r, "history") ||
        api_cache_get(sub_cache, view_key(r, id), &v, &len) || len < sizeof h) {
        free(v);
        return -1;
    }
    memcpy(&h, v, sizeof h);
    if (h.epoch != atomic_load(&r->s->views_epoch) || (!is_instructor(r) && h.owner != r->user.id)) {
        free(v);
        return -1; /* stale, or someone else's: the database decides */
    }
    memmove(v, v + sizeof h, len - sizeof h);
    reply(r, 200, "application/json", v, len - sizeof h);
    return 0;
}

static void cache_submission(uint64_t key, int64_t owner, uint64_t epoch, const char *body,
                             size_t len)
{
    view_head h = {owner, epoch};
    char *v = malloc(sizeof h + len);
    if (!v)
        return;
    memcpy(v, &h, sizeof h);
    memcpy(v + sizeof h, body, len);
    api_cache_put(sub_cache, key, v, sizeof h + len);
    free(v);
}

/* One stored result as the caller may see it: staff the full document,
 * the author the student view (derived here for rows stored before it
 * existed), with the tests shown after the due date once it has passed
 * (revealed). A late submission's document gains late_days, late_penalty
 * and final_score. malloc'd text, or NULL on out of memory. */
static char *visible_document(const db_submission *sub, int full, int revealed,
                              const char *document, const char *student_document)
{
    json_t *doc = NULL, *view = NULL;
    char *text = NULL;
    if (sub->late_days <= 0 && full)
        return strdup(document);
    if (sub->late_days <= 0 && !revealed && student_document)
        return strdup(student_document);
    if (!(doc = json_loads(document, 0, NULL)))
        goto out;
    view = full ? json_incref(doc) : revealed ? srv_student_view_after_due(doc)
                                              : srv_student_view(doc);
    if (!view)
        goto out;
    if (sub->late_days > 0) {
        double score = json_number_value(json_object_get(doc, "score"));
        double max = json_number_value(json_object_get(doc, "max_score"));
        double p = max * sub->late_pct / 100.0 * (double)sub->late_days;
        if (p > score)
            p = score;
        json_object_set_new(view, "late_days", json_integer(sub->late_days));
        json_object_set_new(view, "late_penalty", json_real(p));
        json_object_set_new(view, "final_score", json_real(score - p));
    }
    text = json_dumps(view, JSON_COMPACT);
out:
    json_decref(view);
    json_decref(doc);
    return text;
}

typedef struct {
    const db_submission *sub;
    int full, revealed;
    json_t *list;
    int failed;
} history_ctx;

static void history_one(void *ctx, const char *document, const char *student_document,
                        const char *version, int64_t graded_at)
{
    history_ctx *h = ctx;
    char *text = visible_document(h->sub, h->full, h->revealed, document, student_document);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    char when[32];
    iso_time(graded_at, when);
    json_t *o = doc ? json_pack("{s:s, s:s?, s:o}", "graded_at", when, "assignment_version",
                                version, "result", doc)
                    : NULL;
    if (!o || json_array_append_new(h->list, o))
        h->failed = 1;
}

static int h_submission(api_req *r)
{
    if (!cached_submission(r))
        return r->status;
    uint64_t epoch = atomic_load(&r->s->views_epoch);
    db_submission sub;
    int st = load_visible(r, 1, &sub);
    if (st)
        return st;
    int full = sees_all_of(r, &sub);
    /* after_due_date tests: shown to the author once their own (extended)
     * due date has passed; never while there is none. */
    int64_t due = full ? 0 : api_course_due(r, sub.course, sub.assignment, sub.user_id);
    int revealed = due && clk_now_ms() >= due;
    int cacheable = is_instructor(r) || (sub.user_id == r->user.id && !due && !full);
    json_t *o = submission_json(&sub);
    if (o && sub.assignment_version)
        json_object_set_new(o, "assignment_version", json_string(sub.assignment_version));
    const char *hist = query(r, "history");
    if (o && hist && strcmp(hist, "0")) {
        history_ctx hc = {&sub, full, revealed, json_array(), 0};
        db *d = srv_db(r->s);
        if (!hc.list || !d || db_result_history(d, sub.id, history_one, &hc) != DB_OK ||
            hc.failed) {
            json_decref(hc.list);
            json_decref(o);
            db_submission_clear(&sub);
            return reply_error(r, 500, "the database is unavailable");
        }
        json_object_set_new(o, "history", hc.list);
        cacheable = 0;
    }
    char *meta = o ? json_dumps(o, JSON_COMPACT) : NULL;
    char *doc = sub.document ? visible_document(&sub, full, revealed, sub.document,
                                                sub.student_document)
                             : NULL;
    json_decref(o);
    if (!meta || (sub.document && !doc)) {
        free(meta);
        free(doc);
        db_submission_clear(&sub);
        return reply_error(r, 500, "out of memory");
    }
    if (!doc) {
        db_submission_clear(&sub);
        return reply(r, 200, "application/json", meta, strlen(meta));
    }
    /* Splice the stored document in as text: re-parsing it on every poll
     * would cost more than the rest of the request. */
    size_t ml = strlen(meta), dl = strlen(doc);
    static const char key[] = ",\"result\":";
    char *body = malloc(ml + sizeof key + dl + 1);
    if (!body) {
        free(meta);
        free(doc);
        db_submission_clear(&sub);
        return reply_error(r, 500, "out of memory");
    }
    size_t n = ml - 1; /* drop the closing brace */
    memcpy(body, meta, n);
    memcpy(body + n, key, sizeof key - 1);
    n += sizeof key - 1;
    memcpy(body + n, doc, dl);
    n += dl;
    body[n++] = '}';
    body[n] = '\0';
    if (cacheable)
        cache_submission(view_key(r, sub.id), sub.user_id, epoch, body, n);
    free(meta);
    free(doc);
    db_submission_clear(&sub);
    return reply(r, 200, "application/json", body, n);
}

static int h_submission_file(api_req *r)
{
    db_submission sub;
    int st = load_visible(r, 0, &sub);
    if (st)
        return st;
    int64_t id = sub.id;
    db_submission_clear(&sub);
    char *data = NULL;
    size_t len = 0;
    db *d = srv_db(r->s);
    int rc = d ? db_submission_file(d, id, r->params[1], &data, &len) : DB_ERROR;
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "no such file in this submission");
    if (rc != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    return reply(r, 200, "text/plain; charset=utf-8", data, len);
}

static void list_one(void *ctx, const db_submission *sub)
{
    json_t *o = submission_json(sub);
    if (o)
        json_array_append_new(ctx, o);
}

static int h_submission_list(api_req *r)
{
    const char *assignment = query(r, "assignment");
    if (assignment && !grd_catalog_find(r->s->catalog, assignment))
        return reply_error(r, 404, "no such assignment");
    int limit = query_int(r, "limit", 100, 1000);
    int offset = query_int(r, "offset", 0, 1000000000);
    if (limit < 0 || offset < 0)
        return reply_error(r, 400, "limit and offset must be non-negative integers");
    /* ?user=NAME narrows an instructor's view to one student; a student
     * may only name themselves. */
    db *d = srv_db(r->s);
    if (!d)
        return reply_error(r, 500, "the database is unavailable");
    /* ?course=C narrows to one course, where its TAs and instructors see
     * everyone's submissions; a student only ever sees their own. */
    const char *course = query(r, "course");
    int staff = is_instructor(r);
    if (course) {
        db_crole role;
        int crc = db_course_role(d, course, r->user.id, &role);
        if (crc == DB_ERROR)
            return reply_error(r, 500, "the database is unavailable");
        if (crc == DB_NOT_FOUND && !staff)
            return reply_error(r, 404, "no such course");
        if (crc == DB_OK && role != DB_CROLE_STUDENT)
            staff = 1;
        if (staff && db_course_get(d, course, NULL, 0) == DB_NOT_FOUND)
            return reply_error(r, 404, "no such course");
    }
    int64_t who = staff ? 0 : r->user.id;
    const char *user = query(r, "user");
    if (user && !staff && strcmp(user, r->user.name))
        return reply_error(r, 403, "students see only their own submissions");
    if (user && staff) {
        int rc = db_user_id(d, user, &who);
        if (rc == DB_NOT_FOUND)
            return reply_error(r, 404, "no such user");
        if (rc != DB_OK)
            return reply_error(r, 500, "the database is unavailable");
    }
    json_t *list = json_array();
    if (!list ||
        db_submission_each(d, who, assignment, course, limit, offset, list_one, list) != DB_OK) {
        json_decref(list);
        return reply_error(r, 500, "the database is unavailable");
    }
    return reply_json(r, 200, json_pack("{s:o, s:i, s:i}", "submissions", list,
                                        "limit", limit, "offset", offset));
}

typedef struct {
    json_t *rows;
    tbuf *csv;
    double max_score;
} grades_ctx;

static void grade_one(void *ctx, const db_grade *g)
{
    grades_ctx *c = ctx;
    if (c->csv) {
        if (g->has_best)
            tb_printf(c->csv, "%s,%g,%g,%" PRId64 "\r\n", g->user, g->best_score, c->max_score,
                      g->submissions);
        else
            tb_printf(c->csv, "%s,,%g,%" PRId64 "\r\n", g->user, c->max_score, g->submissions);
        return;
    }
    json_t *o = json_pack("{s:s, s:I}", "user", g->user, "submissions",
                          (json_int_t)g->submissions);
    if (!o)
        return;
    json_object_set_new(o, "best_score", g->has_best ? json_real(g->best_score) : json_null());
    if (g->has_best) {
        char url[64];
        submission_url(g->best_submission, url);
        json_object_set_new(o, "best_submission", json_integer(g->best_submission));
        json_object_set_new(o, "best_url", json_string(url));
    }
    if (g->submissions) {
        char last[32];
        iso_time(g->last_submitted_at, last);
        json_object_set_new(o, "last_submitted_at", json_string(last));
    }
    json_array_append_new(c->rows, o);
}

static int h_grades(api_req *r)
{
    const grd_assignment *a = grd_catalog_find(r->s->catalog, r->params[0]);
    if (!a)
        return reply_error(r, 404, "no such assignment");
    const char *format = query(r, "format");
    int csv = format && !strcmp(format, "csv");
    if (format && !csv && strcmp(format, "json"))
        return reply_error(r, 400, "format must be json or csv");
    tbuf b = {.max = 64u << 20};
    grades_ctx c = {.rows = csv ? NULL : json_array(), .csv = csv ? &b : NULL,
                    .max_score = grd_assignment_max_score(a)};
    if (csv)
        tb_printf(&b, "user,best_score,max_score,submissions\r\n");
    db *d = srv_db(r->s);
    if ((!csv && !c.rows) || !d || db_grades(d, r->params[0], grade_one, &c) != DB_OK ||
        b.failed) {
        json_decref(c.rows);
        free(b.p);
        return reply_error(r, 500, "the database is unavailable");
    }
    if (csv)
        return reply(r, 200, "text/csv; charset=utf-8", b.p, b.len);
    return reply_json(r, 200, json_pack("{s:s, s:f, s:o}", "assignment", r->params[0],
                                        "max_score", c.max_score, "students", c.rows));
}

/* ---- submitting ------------------------------------------------------------------ */

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *content_type,
                                 const char *transfer_encoding, const char *data,
                                 uint64_t off, size_t size)
{
    api_req *r = cls;
    (void)kind, (void)content_type, (void)transfer_encoding;
    return api_sub_part(r->sub, key, filename, data, (size_t)off, size) ? MHD_NO : MHD_YES;
}

static int admission_refusal(api_req *r, int st, int retry_after)
{
    snprintf(r->retry_after, sizeof r->retry_after, "%d", retry_after);
    if (st == 429)
        return reply_error(r, 429, "too many submissions: try again in %d s", retry_after);
    return reply_error(r, 503, atomic_load(&r->s->draining) ? "the server is shutting down"
                                              : "the grading queue is full: try again in %d s",
                       retry_after);
}

/* Before the body: everything that can be refused without reading it. */
static int submit_begin(api_req *r)
{
    srv *s = r->s;
    int retry_after = 0;
    /* A retry under an Idempotency-Key already stored is let through to be
     * answered with its submission (h_submit), limited or not. */
    const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Idempotency-Key");
    int64_t prior = 0;
    db *kd = key && *key && strlen(key) <= 128 ? srv_db(s) : NULL;
    if (!kd || db_submission_by_key(kd, r->user.id, key, &prior) != DB_OK) {
        int st = srv_admit_check(s, r->user.id, is_instructor(r), &retry_after);
        if (st)
            return admission_refusal(r, st, retry_after);
    }
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > s->cfg.max_request)
        return reply_error(r, 413, "the request is larger than %zu bytes", s->cfg.max_request);
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct)
        return reply_error(r, 415, "send application/json or multipart/form-data");
    size_t base = strcspn(ct, ";");
    while (base && ct[base - 1] == ' ')
        base--;
    if (!(r->sub = api_sub_new(s->catalog, s->cfg.max_file, s->cfg.max_request)))
        return reply_error(r, 500, "out of memory");
    if (base == 16 && !strncasecmp(ct, "application/json", 16))
        return 0;
    if (base == 19 && !strncasecmp(ct, "multipart/form-data", 19)) {
        r->pp = MHD_create_post_processor(r->conn, 16 * 1024, post_iter, r);
        if (!r->pp)
            return reply_error(r, 400, "multipart/form-data without a boundary");
        return 0;
    }
    return reply_error(r, 415, "send application/json or multipart/form-data");
}

int api_json_begin(api_req *r)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t base = ct ? strcspn(ct, ";") : 0;
    while (base && ct[base - 1] == ' ')
        base--;
    if (!ct || base != 16 || strncasecmp(ct, "application/json", 16))
        return reply_error(r, 415, "send application/json");
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > r->s->cfg.max_request)
        return reply_error(r, 413, "the request is larger than %zu bytes", r->s->cfg.max_request);
    return 0;
}

__attribute__((format(printf, 3, 4)))
static void set_pending(api_req *r, int status, const char *fmt, ...)
{
    if (r->pending)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->pending_msg, sizeof r->pending_msg, fmt, ap);
    va_end(ap);
    r->pending = status;
}

static const char *budget_message(int status)
{
    return status == 429 ? "too many of your requests are still sending their bodies: "
                           "finish those first"
                         : "the server is receiving too much at once: try again in a few "
                           "seconds";
}

static void budget_refusal(api_req *r, int status)
{
    snprintf(r->retry_after, sizeof r->retry_after, "%d", status == 429 ? 10 : 5);
    reply_error(r, status, "%s", budget_message(status));
}

/* One piece of the body. 0 to go on, -1 to hang up on the client. */
static int submit_data(api_req *r, const char *data, size_t size)
{
    size_t max = r->body_max ? r->body_max : r->s->cfg.max_request;
    r->raw += size;
    if (r->pending)
        return r->raw > discard_max(r) ? -1 : 0;
    if (r->raw > max) {
        set_pending(r, 413, "the request is larger than %zu bytes", max);
        return 0;
    }
    int over = r->body_reserved ? 0 : guard_body_take(r, size); /* chunked: as it comes */
    if (over) {
        snprintf(r->retry_after, sizeof r->retry_after, "%d", over == 429 ? 10 : 5);
        set_pending(r, over, "%s", budget_message(over));
        return 0;
    }
    if (r->pp) {
        if (MHD_post_process(r->pp, data, size) != MHD_YES) {
            if (r->sub && api_sub_status(r->sub))
                set_pending(r, api_sub_status(r->sub), "%s", api_sub_error(r->sub));
            else
                set_pending(r, 400, "malformed multipart body");
        }
        return 0;
    }
    char *nj = realloc(r->json, r->json_len + size + 1);
    if (!nj) {
        set_pending(r, 500, "out of memory");
        return 0;
    }
    r->json = nj;
    memcpy(r->json + r->json_len, data, size);
    r->json_len += size;
    return 0;
}

static int h_submit(api_req *r)
{
    srv *s = r->s;
    if (r->pending)
        return reply_error(r, r->pending, "%s", r->pending_msg);
    if (r->pp) {
        enum MHD_Result ok = MHD_destroy_post_processor(r->pp);
        r->pp = NULL;
        if (ok != MHD_YES && !api_sub_status(r->sub))
            return reply_error(r, 400, "malformed multipart body");
    } else if (api_sub_json(r->sub, r->json ? r->json : "", r->json_len)) {
        return reply_error(r, api_sub_status(r->sub), "%s", api_sub_error(r->sub));
    }
    if (api_sub_finish(r->sub))
        return reply_error(r, api_sub_status(r->sub), "%s", api_sub_error(r->sub));

    /* Idempotency-Key: a retry of a submission whose 202 was lost gets the
     * same id instead of a second grading. */
    const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Idempotency-Key");
    if (key && (!*key || strlen(key) > 128))
        return reply_error(r, 400, "Idempotency-Key must be 1 to 128 characters");
    uint8_t digest[AUTH_HASH_LEN];
    if (api_sub_digest(r->sub, digest))
        return reply_error(r, 500, "out of memory");

    const grd_assignment *a = api_sub_assignment(r->sub);
    db_sub_ctx ctx;
    char course[64] = DB_DEFAULT_COURSE;
    /* A retry of a submission stored before the deadline (its 202 lost)
     * is a replay, not a new submission: the deadline does not apply. */
    int64_t prior = 0;
    db *kd = key ? srv_db(s) : NULL;
    if (kd && db_submission_by_key(kd, r->user.id, key, &prior) == DB_OK)
        memset(&ctx, 0, sizeof ctx);
    else if (api_course_admit(r, api_sub_course(r->sub), grd_assignment_name(a), &ctx, course))
        return r->status;

    /* A retry of a stored submission asks for nothing new: it is answered
     * even when the student is rate-limited or the queue is full (the
     * unique key makes the store below a replay or a 409, never a row). */
    int retry_after = 0;
    bool instr = is_instructor(r);
    if (!prior) {
        /* One student cannot fill the queue everyone shares: a bound on
         * their own submissions waiting or being graded. */
        int64_t active = 0;
        db *ad = s->cfg.queue_max_user && !instr ? srv_db(s) : NULL;
        if (ad && db_user_active_jobs(ad, r->user.id, &active) == DB_OK &&
            active >= s->cfg.queue_max_user) {
            snprintf(r->retry_after, sizeof r->retry_after, "%d", 10);
            return reply_error(r, 429, "you have %lld submissions waiting to be graded; the "
                                       "next is accepted when one of them is graded",
                               (long long)active);
        }
        /* Several API processes on one database: the rate limit counts
         * what the student submitted through any of them (each process's
         * own limiter, srv_admit, sees only its share). */
        int64_t recent = 0, oldest = 0;
        db *rd = s->cfg.rate_limit && !instr && db_is_url(s->cfg.db_path) ? srv_db(s) : NULL;
        if (rd && db_user_recent_submissions(rd, r->user.id, db_now_ms() - 60000, &recent,
                                             &oldest) == DB_OK &&
            recent >= s->cfg.rate_limit) {
            int64_t wait = (oldest + 60000 - db_now_ms() + 999) / 1000;
            return admission_refusal(r, 429, wait > 0 ? (int)wait : 1);
        }
        int st = srv_admit(s, r->user.id, instr, &retry_after);
        if (st)
            return admission_refusal(r, st, retry_after);
    }
    int64_t id = 0;
    int replayed = 0;
    db *d = srv_db(s);
    int rc = d ? db_submission_create_in(d, r->user.id, grd_assignment_name(a),
                                         api_sub_files(r->sub), api_sub_file_count(r->sub), key,
                                         digest, &ctx, &id, &replayed)
               : DB_ERROR;
    if (!prior)
        srv_admit_done(s, r->user.id, instr, rc == DB_OK && !replayed);
    if (rc == DB_LIMIT)
        return reply_error(r, 429, "no submissions left: %s in %s takes at most %lld",
                           grd_assignment_name(a), course, (long long)ctx.max_submissions);
    if (rc == DB_EXISTS)
        return reply_error(r, 409, "Idempotency-Key '%.128s' was used for a different submission (%lld)",
                           key, (long long)id);
    if (rc != DB_OK) {
        /* Storage trouble (a full disk, say) passes: tell the client to
         * come back rather than that it did something wrong. */
        snprintf(r->retry_after, sizeof r->retry_after, "%d", 10);
        return reply_error(r, 503, "the submission could not be stored, nothing was queued: "
                                   "try again later");
    }
    char url[64];
    submission_url(id, url);
    snprintf(r->location, sizeof r->location, "%s", url);
    r->replayed = replayed;
    db_submission sub;
    int known = replayed && db_submission_get(d, id, 0, &sub) == DB_OK;
    json_t *doc = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id,
                            "status", known ? sub.status : "queued", "url", url);
    if (known)
        db_submission_clear(&sub);
    return reply_json(r, 202, doc);
}

/* ---- routing ------------------------------------------------------------------------ */

static const api_route routes[] = {
    {"GET", "/healthz", h_healthz, AUTH_NONE, NULL},
    {"GET", "/metrics", h_metrics, AUTH_NONE, NULL},
    {"GET", "/api/v1/openapi.json", h_openapi, AUTH_NONE, NULL},
    {"GET", "/api/v1/me", h_me, AUTH_USER, NULL},
    {"GET", "/api/v1/assignments", h_assignments, AUTH_USER, NULL},
    {"GET", "/api/v1/assignments/*/grades", h_grades, AUTH_INSTRUCTOR, NULL},
    {"GET", "/api/v1/submissions", h_submission_list, AUTH_USER, NULL},
    {"POST", "/api/v1/submissions", h_submit, AUTH_USER, submit_begin},
    {"GET", "/api/v1/submissions/*", h_submission, AUTH_USER, NULL},
    {"GET", "/api/v1/submissions/*/files/*", h_submission_file, AUTH_USER, NULL},
};
static const size_t api_nroutes = sizeof routes / sizeof routes[0];

/* Whether path matches pattern; captures the '*' segments into params. */
static int match(const char *pattern, const char *path, char params[][API_PARAM_LEN])
{
    int np = 0;
    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t n = strcspn(path, "/");
            if (n == 0 || n >= API_PARAM_LEN || np == API_MAX_PARAMS)
                return 0;
            memcpy(params[np], path, n);
            params[np++][n] = '\0';
            path += n;
            pattern++;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return !*pattern && !*path;
}

/* The route families, each a table of its own. */
static const struct {
    const api_route *rows;
    const size_t *n;
} route_tables[] = {
    {routes, &api_nroutes},
    {api_course_routes, &api_course_nroutes},
    {api_webhook_routes, &api_webhook_nroutes},
    {api_worker_routes, &api_worker_nroutes},
    {api_upload_routes, &api_upload_nroutes},
    {web_routes, &web_nroutes},
    {web_auth_routes, &web_auth_nroutes},
    {web_student_routes, &web_student_nroutes},
    {web_deliveries_routes, &web_deliveries_nroutes},
    {web_dashboard_routes, &web_dashboard_nroutes},
    {lti_nrps_routes, &lti_nrps_nroutes},
    {lti_routes, &lti_nroutes},
};

/* Picks the route; a status (404/405) when none fits. Allow lists the
 * methods the path has, computed from the tables. */
static int route(api_req *r, const char *url)
{
    const char *method = strcmp(r->method, "HEAD") ? r->method : "GET";
    static const char *const allows[16] = {
        "", "GET, HEAD", "POST", "GET, HEAD, POST",
        "PUT", "GET, HEAD, PUT", "POST, PUT", "GET, HEAD, POST, PUT",
        "DELETE", "GET, HEAD, DELETE", "POST, DELETE", "GET, HEAD, POST, DELETE",
        "PUT, DELETE", "GET, HEAD, PUT, DELETE", "POST, PUT, DELETE", "GET, HEAD, POST, PUT, DELETE",
    };
    unsigned have = 0;
    for (size_t t = 0; t < sizeof route_tables / sizeof route_tables[0]; t++) {
        for (size_t i = 0; i < *route_tables[t].n; i++) {
            const api_route *rt = &route_tables[t].rows[i];
            char params[API_MAX_PARAMS][API_PARAM_LEN];
            if (!match(rt->pattern, url, params))
                continue;
            if (!strcmp(rt->method, method)) {
                r->route = rt;
                memcpy(r->params, params, sizeof params);
                return 0;
            }
            have |= !strcmp(rt->method, "GET")    ? 1u
                    : !strcmp(rt->method, "POST") ? 2u
                    : !strcmp(rt->method, "PUT")  ? 4u
                                                  : 8u;
        }
    }
    if (have) {
        r->allow = allows[have & 15];
        if (web_is_page_path(url)) /* a page: a readable answer */
            return web_error(r, 405, "This address does not take %s requests.", r->method);
        return reply_error(r, 405, "method %s is not allowed here", r->method);
    }
    if (web_is_page_path(url))
        return web_not_found(r);
    return reply_error(r, 404, "no such resource");
}

/* Whether the client waits for "100 Continue" before sending its body. */
static int expects_continue(struct MHD_Connection *c)
{
    const char *e = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return e && !strcasecmp(e, "100-continue");
}

/* The Content-Length the client declared; 0 when none (or chunked). */
static unsigned long long declared_length(struct MHD_Connection *c)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    return cl ? strtoull(cl, NULL, 10) : 0;
}

typedef struct {
    int content_length, transfer_encoding, differ;
    const char *first_cl;
} framing;

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    framing *f = cls;
    (void)kind;
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
        if (f->content_length++ && strcmp(f->first_cl, value ? value : ""))
            f->differ = 1;
        else if (!f->first_cl)
            f->first_cl = value ? value : "";
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        f->transfer_encoding++;
    }
    return MHD_YES;
}

/* RFC 9112 §6.3: a request with both Content-Length and Transfer-Encoding,
 * or with Content-Lengths that differ, has no trustworthy end; behind a
 * proxy that reads it the other way it smuggles a second request. It is a
 * 400 and its connection closes. NULL when the framing is sound. */
static const char *framing_problem(struct MHD_Connection *c)
{
    framing f = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
    if (f.content_length && f.transfer_encoding)
        return "a request may not carry both Content-Length and Transfer-Encoding";
    if (f.differ)
        return "the request's Content-Length headers disagree";
    if (f.transfer_encoding > 1)
        return "the request carries Transfer-Encoding more than once";
    return NULL;
}

/* A request line libmicrohttpd would choke on: past API_URI_MAX bytes, or
 * with more than API_ARGS_MAX query arguments, its per-connection memory
 * runs out while it records the arguments and it then fails to send its
 * own 431, holding the connection until the timeout. Such a request gets
 * a JSON 414 written straight to the socket, which is then shut, before
 * libmicrohttpd parses the arguments (URI log callback). Nothing of the
 * connection has been answered yet at this point of a request. */
#define API_URI_MAX 8192
#define API_ARGS_MAX 256
static const char uri_refusal[] =
    "HTTP/1.1 414 URI Too Long\r\nContent-Type: application/json\r\n"
    "Connection: close\r\nContent-Length: 71\r\n\r\n"
    "{\"error\":\"the request line is too long or has too many query arguments\"}";

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    size_t n = 0, args = 0;
    for (; uri[n] && n <= API_URI_MAX; n++)
        args += uri[n] == '&' || uri[n] == ';';
    if (n <= API_URI_MAX && args < API_ARGS_MAX)
        return NULL;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
        ssize_t w = send(ci->connect_fd, uri_refusal, sizeof uri_refusal - 1,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w;
        shutdown(ci->connect_fd, SHUT_RDWR);
    }
    atomic_fetch_add(&http_requests[status_index(414)], 1);
    return NULL;
}

/* Copies s into out for the access log, escaping anything not printable so
 * a request cannot forge log lines. */
static void log_escape(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 5 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x21 || c >= 0x7f || c == '"' || c == '\\')
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", c);
        else
            out[n++] = (char)c;
    }
    out[n] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    srv *s = cls;
    api_req *r = *con_cls;
    (void)version; /* MHD refuses versions it does not speak */
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        *con_cls = r;
        atomic_fetch_add(&api_inflight, 1);
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)API_TIMEOUT_S);
        r->s = s;
        r->conn = c;
        clock_gettime(CLOCK_MONOTONIC, &r->t0);
        log_escape(r->method, sizeof r->method, method);
        log_escape(r->path, sizeof r->path, url);
        guard_headers_done(r);
        const char *bad_framing = framing_problem(c);
        if (bad_framing) {
            r->close_conn = 1;
            reply_error(r, 400, "%s", bad_framing);
            return send_reply(r);
        }
        if (!route(r, url)) {
            const api_route *rt = r->route;
            if (rt->auth != AUTH_NONE && authenticate(r))
                ;
            else if (rt->auth == AUTH_INSTRUCTOR && !is_instructor(r))
                reply_error(r, 403, "instructors only");
            else if (rt->begin)
                rt->begin(r); /* checks before the body; a refusal sets r->status */
            /* A declared body is counted against the budget whole, now: it
             * is refused before it is sent, never halfway through. */
            unsigned long long cl = declared_length(c);
            if (rt->begin && !r->status && cl) {
                int over = guard_body_take(r, (size_t)cl);
                if (over)
                    budget_refusal(r, over);
                else
                    r->body_reserved = 1;
            }
        }
        /* Every answer waits for the end of the request, a refusal too (its
         * body read and thrown away): libmicrohttpd closes the connection
         * after a response queued before the body, so keep-alive and
         * pipelining would end there, and a client still sending its body
         * would see a reset instead of our answer. Two refusals go at once:
         * to a client waiting for "100 Continue" (it has sent no body yet),
         * and for a declared body too large to be worth reading. */
        if (r->status && (expects_continue(c) || declared_length(c) > discard_max(r)))
            return send_reply(r);
        return MHD_YES;
    }
    if (r->queued) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->status || !r->route->begin) { /* refused, or a body where none belongs */
            r->raw += n;
            return r->raw > discard_max(r) ? MHD_NO : MHD_YES;
        }
        return submit_data(r, upload_data, n) ? MHD_NO : MHD_YES;
    }
    if (!r->status)
        r->route->fn(r);
    return send_reply(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    srv *s = cls;
    api_req *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    atomic_fetch_sub(&api_inflight, 1);
    guard_body_release(r);
    guard_request_done(c);
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)API_IDLE_S);
    if (r->status)
        atomic_fetch_add(&http_requests[status_index(r->status)], 1);
    if (s->access_fd >= 0) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (t1.tv_sec - r->t0.tv_sec) * 1e3 + (t1.tv_nsec - r->t0.tv_nsec) / 1e6;
        char when[32], addr[INET6_ADDRSTRLEN] = "-", line[512];
        iso_time(db_now_ms(), when);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof addr);
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr,
                          sizeof addr);
        }
        int n = snprintf(line, sizeof line, "%s %s %s \"%s %s\" %d %zu %.3fms%s\n", when, addr,
                         r->authed ? r->user.name : "-", r->method, r->path, r->status,
                         r->body_len, ms,
                         toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
        if (n > 0) {
            /* One write(2) per line on an O_APPEND descriptor: lines from
             * several threads never interleave. */
            ssize_t w = write(s->access_fd, line, (size_t)n < sizeof line ? (size_t)n
                                                                            : sizeof line - 1);
            (void)w;
        }
    }
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    api_sub_free(r->sub);
    if (r->web.ctx_free)
        r->web.ctx_free(r->web.ctx);
    free(r->json);
    free(r->body);
    free(r);
}

/* ---- for the pages (web*.c) ------------------------------------------------ */

int api_internal_get(api_req *r, const char *path, const char *const *qargs, char **body,
                     size_t *len)
{
    api_req *q = calloc(1, sizeof *q);
    if (!q)
        return 500;
    q->s = r->s;
    q->conn = r->conn;
    q->t0 = r->t0;
    snprintf(q->method, sizeof q->method, "GET");
    q->user = r->user;
    q->authed = r->authed;
    static const char *const none[] = {NULL};
    q->qargs = qargs ? qargs : none;
    if (!route(q, path)) {
        if (q->route->auth != AUTH_NONE && !q->authed)
            reply_error(q, 401, "authentication required");
        else if (q->route->auth == AUTH_INSTRUCTOR && !is_instructor(q))
            reply_error(q, 403, "instructors only");
        else
            q->route->fn(q);
    }
    int st = q->status ? q->status : 500;
    *body = q->body;
    *len = q->body ? q->body_len : 0;
    free(q);
    return st;
}

int api_submit_begin(api_req *r)
{
    return submit_begin(r);
}

int api_submit(api_req *r)
{
    return h_submit(r);
}

/* What libmicrohttpd says goes to stderr as ours do, except its bind
 * failures: serve retries a busy port and says so once, with the reason. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (!strncmp(fmt, "Failed to bind", 14))
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    fprintf(stderr, "memgrade serve: http: %s\n", msg);
}

struct MHD_Daemon *api_start(srv *s, int listen, char *err, size_t errlen)
{
    struct sockaddr_in6 sin6 = {0};
    struct sockaddr_in sin = {0};
    const struct sockaddr *sa = NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
    if (listen)
        flags |= MHD_USE_ERROR_LOG;
    /* Without a listening socket connections are socketpairs handed in by
     * the fuzzer, where MHD's TCP tuning fails and would log every time. */
    if (!listen) {
        flags |= MHD_USE_NO_LISTEN_SOCKET;
    } else if (inet_pton(AF_INET, s->cfg.bind, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)s->cfg.port);
        sa = (const struct sockaddr *)&sin;
    } else if (inet_pton(AF_INET6, s->cfg.bind, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)s->cfg.port);
        sa = (const struct sockaddr *)&sin6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "--bind: '%s' is not an IPv4 or IPv6 address", s->cfg.bind);
        return NULL;
    }
    if (!sub_cache)
        /* A minute: a deadline set with `memgrade course offer` (another
         * process, no epoch bump here) reaches cached views that soon. */
        sub_cache = api_cache_new(4096, 16u << 20, 60000);
    if (!auth_cache)
        auth_cache = api_cache_new(1024, 1u << 20, AUTH_TTL_MS);
    if (!sub_cache || !auth_cache) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)s->cfg.port, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->cfg.http_threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->cfg.max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_TIMEOUT_S,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONN_MEMORY,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, guard_notify, NULL,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)s->cfg.max_conn_per_ip,
        sa ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, sa,
        MHD_OPTION_END);
    if (d && guard_start()) {
        MHD_stop_daemon(d);
        d = NULL;
        errno = ENOMEM;
    }
    if (!d) {
        int e = errno; /* for the caller: EADDRINUSE is worth a retry */
        snprintf(err, errlen, "cannot listen on %s port %d: %s", s->cfg.bind, s->cfg.port,
                 strerror(e));
        errno = e;
    }
    return d;
}

int api_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : -1;
}

void api_stop(struct MHD_Daemon *d, srv *s, int grace_ms)
{
    (void)s; /* draining is already flagged in s; responses read it */
    if (!d)
        return;
    guard_stop();
    MHD_socket ls = MHD_quiesce_daemon(d);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    /* Requests in progress finish (their answers say Connection: close);
     * idle keep-alive connections would wait for their client, so
     * MHD_stop_daemon closes them. */
    for (int waited = 0; waited < grace_ms; waited += 20) {
        if (atomic_load(&api_inflight) == 0)
            break;
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(d);
    api_cache_free(sub_cache);
    api_cache_free(auth_cache);
    sub_cache = auth_cache = NULL;
}
