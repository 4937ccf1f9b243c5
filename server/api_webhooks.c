/* api_webhooks: a course's webhook target and its delivery log (SPEC §8):
 * PUT/GET/DELETE /api/v1/courses/C/webhook, GET .../deliveries (every
 * passback and webhook event of the course with its state) and POST
 * .../deliveries/ID/retry. The deliveries themselves are lti_outbox.c's. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_int.h"
#include "clock.h"
#include "lti.h"

#define SECRET_MIN 16
#define SECRET_MAX 256
#define URL_MAX 2048
#define LIST_DEFAULT 100
#define LIST_MAX 1000

/* 0 when the caller may act on course params[0]: a TA or instructor there
 * (or a global instructor), and an instructor when instructor is set; else
 * the status already replied: 404 for an unknown course and for one they
 * are not in alike (as api_courses.c), 403 for a student or a TA changing
 * a setting. Changing the target is an instructor's: a webhook receives
 * every student's results, so a TA cannot send them elsewhere. */
static int webhook_access(api_req *r, int instructor)
{
    const char *course = r->params[0];
    db *d = srv_db(r->s);
    if (!d)
        return reply_error(r, 500, "the database is unavailable");
    if (!db_course_id_valid(course))
        return reply_error(r, 404, "no such course '%.64s'", course);
    if (is_instructor(r)) {
        int rc = db_course_get(d, course, NULL, 0);
        if (rc == DB_NOT_FOUND)
            return reply_error(r, 404, "no such course '%.64s'", course);
        return rc == DB_OK ? 0 : reply_error(r, 500, "the database is unavailable");
    }
    db_crole role;
    int rc = db_course_role(d, course, r->user.id, &role);
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "no such course '%.64s'", course);
    if (rc != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    if (role == DB_CROLE_STUDENT || (instructor && role != DB_CROLE_INSTRUCTOR))
        return reply_error(r, 403, "only the course's %s may do this",
                           instructor ? "instructors" : "TAs and instructors");
    return 0;
}

static json_t *time_or_null(int64_t ms)
{
    if (!ms)
        return json_null();
    char t[32];
    clk_format(ms, t);
    return json_string(t);
}

/* ---- the target ------------------------------------------------------------------ */

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static int h_webhook_put(api_req *r)
{
    if (webhook_access(r, 1))
        return r->status;
    if (r->pending)
        return reply_error(r, r->pending, "%s", r->pending_msg);
    json_error_t e;
    json_t *o = json_loadb(r->json ? r->json : "", r->json_len, JSON_REJECT_DUPLICATES, &e);
    if (!o)
        return reply_error(r, 400, "invalid JSON at line %d column %d: %s", e.line, e.column,
                           e.text);
    int st = 0;
    const char *key;
    json_t *v;
    if (!json_is_object(o))
        st = reply_error(r, 400, "the body must be a JSON object");
    json_object_foreach(o, key, v) {
        if (!st && strcmp(key, "url") && strcmp(key, "secret"))
            st = reply_error(r, 400, "unknown field '%.64s'", key);
    }
    const char *url = json_string_value(json_object_get(o, "url"));
    const char *secret = json_string_value(json_object_get(o, "secret"));
    char why[320];
    if (st) {
    } else if (!url || !*url || strlen(url) > URL_MAX || !printable(url)) {
        st = reply_error(r, 400, "url must be a URL of at most %d characters", URL_MAX);
    } else if (!secret || strlen(secret) < SECRET_MIN || strlen(secret) > SECRET_MAX ||
               !printable(secret)) {
        st = reply_error(r, 400, "secret must be %d to %d printable characters", SECRET_MIN,
                         SECRET_MAX);
    } else if (lti_url_check(url, LTI_URL_WEBHOOK, why, sizeof why)) {
        st = reply_error(r, 400, "%s", why);
    } else {
        db *d = srv_db(r->s);
        int rc = d ? db_webhook_put(d, r->params[0], url, secret, db_now_ms()) : DB_ERROR;
        if (rc == DB_NOT_FOUND)
            st = reply_error(r, 404, "no such course '%.64s'", r->params[0]);
        else if (rc != DB_OK)
            st = reply_error(r, 500, "the database is unavailable");
        else
            st = reply_json(r, 200, json_pack("{s:s, s:s, s:b}", "course", r->params[0],
                                              "url", url, "secret_set", 1));
    }
    json_decref(o);
    return st;
}

static int h_webhook_get(api_req *r)
{
    if (webhook_access(r, 0))
        return r->status;
    char url[URL_MAX + 1];
    int64_t at = 0;
    int rc = db_webhook_get(srv_db(r->s), r->params[0], url, sizeof url, &at);
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "course '%.64s' has no webhook", r->params[0]);
    if (rc != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    /* The secret is never shown again: whoever needs it has it. */
    return reply_json(r, 200, json_pack("{s:s, s:s, s:b, s:o}", "course", r->params[0], "url",
                                        url, "secret_set", 1, "updated_at", time_or_null(at)));
}

static int h_webhook_delete(api_req *r)
{
    if (webhook_access(r, 1))
        return r->status;
    int rc = db_webhook_delete(srv_db(r->s), r->params[0]);
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "course '%.64s' has no webhook", r->params[0]);
    if (rc != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    return reply_json(r, 200, json_pack("{s:s, s:b}", "course", r->params[0], "deleted", 1));
}

/* ---- the delivery log --------------------------------------------------------------- */

json_t *api_delivery_json(const db_delivery *dl)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                          (json_int_t)dl->id, "kind", dl->kind, "state", dl->state, "attempts",
                          (json_int_t)dl->attempts, "next_at",
                          strcmp(dl->state, "pending") ? json_null() : time_or_null(dl->next_at),
                          "last_status",
                          dl->has_status ? json_integer(dl->last_status) : json_null(),
                          "last_error", dl->last_error ? json_string(dl->last_error) : json_null(),
                          "created_at", time_or_null(dl->created_at), "updated_at",
                          time_or_null(dl->updated_at), "delivered_at",
                          time_or_null(dl->delivered_at));
    if (!o)
        return NULL;
    json_object_set_new(o, "submission",
                        dl->submission_id ? json_integer(dl->submission_id) : json_null());
    json_object_set_new(o, "user", dl->user ? json_string(dl->user) : json_null());
    json_object_set_new(o, "line_item", dl->line_item ? json_string(dl->line_item) : json_null());
    return o;
}

typedef struct {
    json_t *list;
    int failed;
} list_ctx;

static void list_one(void *ctx, const db_delivery *dl)
{
    list_ctx *c = ctx;
    json_t *o = api_delivery_json(dl);
    if (!o || json_array_append_new(c->list, o))
        c->failed = 1;
}

static int h_deliveries(api_req *r)
{
    if (webhook_access(r, 0))
        return r->status;
    const char *kind = query(r, "kind"), *state = query(r, "state");
    const char *limit_s = query(r, "limit"), *before_s = query(r, "before");
    if (kind && strcmp(kind, "score") && strcmp(kind, "webhook"))
        return reply_error(r, 400, "kind must be score or webhook");
    if (state && strcmp(state, "pending") && strcmp(state, "delivered") && strcmp(state, "failed"))
        return reply_error(r, 400, "state must be pending, delivered or failed");
    int64_t limit = limit_s ? parse_id(limit_s) : LIST_DEFAULT;
    if (limit < 1 || limit > LIST_MAX)
        return reply_error(r, 400, "limit must be 1 to %d", LIST_MAX);
    int64_t before = before_s ? parse_id(before_s) : 0;
    if (before_s && !before)
        return reply_error(r, 400, "before must be a delivery id");
    list_ctx c = {json_array(), 0};
    if (!c.list || db_outbox_each(srv_db(r->s), r->params[0], kind, state, (int)limit, before,
                                  list_one, &c) != DB_OK ||
        c.failed) {
        json_decref(c.list);
        return reply_error(r, 500, "the database is unavailable");
    }
    return reply_json(r, 200, json_pack("{s:s, s:o}", "course", r->params[0], "deliveries",
                                        c.list));
}

int api_delivery_retry(api_req *r)
{
    if (webhook_access(r, 0))
        return r->status;
    int64_t id = parse_id(r->params[1]);
    int rc = id ? db_outbox_retry(srv_db(r->s), r->params[0], id, db_now_ms()) : DB_NOT_FOUND;
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "no delivery %.32s in %.64s", r->params[1], r->params[0]);
    if (rc == DB_EXISTS)
        return reply_error(r, 409, "delivery %" PRId64 " was delivered already", id);
    if (rc != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    lti_outbox_wake();
    return reply_json(r, 202, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "pending"));
}

/* ---- /metrics ----------------------------------------------------------------------- */

typedef struct {
    int64_t n[2][3];
} counts_ctx;

static void count_one(void *ctx, const char *kind, const char *state, int64_t n)
{
    counts_ctx *c = ctx;
    int k = !strcmp(kind, "webhook");
    int s = !strcmp(state, "pending") ? 0 : !strcmp(state, "delivered") ? 1 : 2;
    c->n[k][s] += n;
}

void api_outbox_metrics(api_req *r, tbuf *b)
{
    static const char *const kinds[] = {"score", "webhook"};
    static const char *const states[] = {"pending", "delivered", "failed"};
    counts_ctx c = {0};
    db *d = srv_db(r->s);
    if (!d || db_outbox_counts(d, count_one, &c) != DB_OK)
        return;
    tb_printf(b, "# HELP memgrade_outbox_deliveries Grade passbacks (score) and webhook events "
                 "in the outbox, by state.\n# TYPE memgrade_outbox_deliveries gauge\n");
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < 3; s++)
            tb_printf(b, "memgrade_outbox_deliveries{kind=\"%s\",state=\"%s\"} %" PRId64 "\n",
                      kinds[k], states[s], c.n[k][s]);
}

const api_route api_webhook_routes[] = {
    {"PUT", "/api/v1/courses/*/webhook", h_webhook_put, AUTH_USER, api_json_begin},
    {"GET", "/api/v1/courses/*/webhook", h_webhook_get, AUTH_USER, NULL},
    {"DELETE", "/api/v1/courses/*/webhook", h_webhook_delete, AUTH_USER, NULL},
    {"GET", "/api/v1/courses/*/deliveries", h_deliveries, AUTH_USER, NULL},
    {"POST", "/api/v1/courses/*/deliveries/*/retry", api_delivery_retry, AUTH_USER, NULL},
};
const size_t api_webhook_nroutes = sizeof api_webhook_routes / sizeof api_webhook_routes[0];
