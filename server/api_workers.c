/* api_workers: the processes that grade (SPEC §9), as they report
 * themselves in the workers table (srv_lease.c): GET /api/v1/workers for
 * instructors, and their gauges in /metrics. A process not seen for three
 * of its leases is listed as gone, and dropped after an hour. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api_int.h"
#include "clock.h"

#define LIST_AGE_MS (3600 * 1000LL)

typedef struct {
    srv *s;
    int64_t now;
    json_t *list;
    tbuf *b;
    int alive, failed;
} each_ctx;

/* Seen within three leases (renewed every third of one). */
static int alive(const each_ctx *c, const db_worker *w)
{
    return c->now - w->last_seen <= 3LL * c->s->cfg.lease_s * 1000;
}

static void add_json(void *ctx, const db_worker *w)
{
    each_ctx *c = ctx;
    char seen[32], started[32];
    iso_time(w->last_seen, seen);
    iso_time(w->started_at, started);
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:s, s:s, s:b}", "name", w->name,
                          "role", w->role, "host", w->host, "pid", w->pid, "threads", w->threads,
                          "running", (json_int_t)w->running, "graded", (json_int_t)w->done,
                          "started_at", started, "last_seen", seen, "alive", alive(c, w));
    if (!o || json_array_append_new(c->list, o))
        c->failed = 1;
}

static int h_workers(api_req *r)
{
    db *d = srv_db(r->s);
    each_ctx c = {.s = r->s, .now = db_now_ms(), .list = json_array()};
    if (!c.list)
        return reply_error(r, 500, "out of memory");
    if (!d || db_workers_each(d, LIST_AGE_MS, add_json, &c) != DB_OK) {
        json_decref(c.list);
        return reply_error(r, 503, "the database is unavailable");
    }
    if (c.failed) {
        json_decref(c.list);
        return reply_error(r, 500, "out of memory");
    }
    return reply_json(r, 200, json_pack("{s:o, s:i}", "workers", c.list, "lease_seconds",
                                        r->s->cfg.lease_s));
}

/* A label value: \, " and newlines escaped (Prometheus text format). */
static void label(char *out, size_t cap, const char *v)
{
    size_t n = 0;
    for (; *v && n + 3 < cap; v++) {
        if (*v == '\\' || *v == '"')
            out[n++] = '\\', out[n++] = *v;
        else if (*v == '\n')
            out[n++] = '\\', out[n++] = 'n';
        else
            out[n++] = *v;
    }
    out[n] = '\0';
}

static void add_metric(void *ctx, const db_worker *w)
{
    each_ctx *c = ctx;
    char name[200], host[140];
    if (!alive(c, w) || !w->threads) /* serve --workers 0 grades nothing */
        return;
    c->alive++;
    label(name, sizeof name, w->name);
    label(host, sizeof host, w->host);
    tb_printf(c->b,
              "memgrade_grader_last_seen_seconds{name=\"%s\",role=\"%s\",host=\"%s\"} %.3f\n"
              "memgrade_grader_jobs_running{name=\"%s\",role=\"%s\",host=\"%s\"} %" PRId64 "\n"
              "memgrade_grader_jobs_graded{name=\"%s\",role=\"%s\",host=\"%s\"} %" PRId64 "\n",
              name, w->role, host, (c->now - w->last_seen) / 1000.0, name, w->role, host,
              w->running, name, w->role, host, w->done);
}

void api_workers_metrics(api_req *r, tbuf *b)
{
    db *d = srv_db(r->s);
    each_ctx c = {.s = r->s, .now = db_now_ms(), .b = b};
    tb_printf(b, "# HELP memgrade_grader_last_seen_seconds Seconds since each grading process "
                 "(serve or worker) last renewed its leases.\n"
                 "# TYPE memgrade_grader_last_seen_seconds gauge\n"
                 "# HELP memgrade_grader_jobs_running Jobs each grading process grades now.\n"
                 "# TYPE memgrade_grader_jobs_running gauge\n"
                 "# HELP memgrade_grader_jobs_graded Jobs each grading process graded since it "
                 "started.\n# TYPE memgrade_grader_jobs_graded gauge\n");
    if (!d || db_workers_each(d, LIST_AGE_MS, add_metric, &c) != DB_OK)
        return;
    tb_printf(b, "# HELP memgrade_graders_alive Processes with grading threads seen within "
                 "three leases.\n"
                 "# TYPE memgrade_graders_alive gauge\nmemgrade_graders_alive %d\n", c.alive);
}

const api_route api_worker_routes[] = {
    {"GET", "/api/v1/workers", h_workers, AUTH_INSTRUCTOR, NULL},
};
const size_t api_worker_nroutes = sizeof api_worker_routes / sizeof api_worker_routes[0];
