/* srv: the grading service's shared state and its lifecycle: configuration,
 * the catalog, per-thread database connections, the bounded queue and its
 * workers, the per-user rate limit and the metrics. api.c serves HTTP on top
 * of it; srv_main.c starts and stops it. */
#ifndef MEMGRADE_SRV_H
#define MEMGRADE_SRV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "grd.h"

/* Every limit of the service; each is a `serve` option (srv_main.c). */
typedef struct {
    const char *bind;        /* listen address, 127.0.0.1 unless told */
    int port;
    const char *db_path;
    const char *assignments;
    int workers;             /* grading threads; default: online CPUs */
    int http_threads;        /* request threads; default: online CPUs */
    int queue_max;           /* queued jobs before 503 */
    int rate_limit;          /* accepted submissions per student per minute; 0: off */
    size_t max_file;         /* bytes per submitted file */
    size_t max_request;      /* bytes per request body */
    int max_connections;
    int retries;             /* grading attempts when our machinery fails */
    const char *access_log;  /* path, "-" for stderr, "off" */
    int login_limit;         /* failed web logins per user name per 15 min */
    int trust_proxy;         /* 1: X-Forwarded-Proto/-For from a TLS proxy count */
    const char *user;        /* the HTTP process's user once it dropped root */
    size_t body_budget;      /* request body bytes held at once, in total */
    size_t body_budget_user; /* ... by one user */
    int max_conn_per_ip;     /* connections from one address; 0: no limit */
    int queue_max_user;      /* a student's submissions waiting or grading; 0: no limit */
    int running_max_user;    /* a student's submissions graded at once */
    const char *public_url;  /* the tool's address as LMSs and browsers see it
                              * (LTI redirect and launch URLs); NULL:
                              * http://BIND:PORT */
    int webhook_private;     /* 1: webhooks may go to loopback/private addresses */
    int outbox_threads;      /* deliveries (passbacks, webhooks) at a time */
    int outbox_max_attempts; /* tries before a delivery is failed */
    int outbox_retry_base_ms;/* the first retry's delay (x3 each time, at most 1 h) */
    int lease_s;             /* a claimed job's lease, renewed every third of it */
} srv_config;

/* Grading-duration histogram bucket bounds, seconds (Prometheus le=). */
#define SRV_DURATION_BUCKETS 10
extern const double srv_duration_bounds[SRV_DURATION_BUCKETS];

/* Job outcomes counted in /metrics. */
#define SRV_OUTCOMES(X)                         \
    X(SRV_OUT_GRADED, "graded")                 \
    X(SRV_OUT_COMPILE_ERROR, "compile_error")   \
    X(SRV_OUT_INTERNAL_ERROR, "internal_error") \
    X(SRV_OUT_RETRIED, "retried")               \
    X(SRV_OUT_REQUEUED, "requeued")

typedef enum {
#define SRV_OUT_ENUM_(id, name) id,
    SRV_OUTCOMES(SRV_OUT_ENUM_)
#undef SRV_OUT_ENUM_
    SRV_OUT_COUNT
} srv_outcome;
extern const char *const srv_outcome_names[SRV_OUT_COUNT];

typedef struct srv_ratelimit srv_ratelimit;

typedef struct {
    srv_config cfg;
    grd_catalog *_Atomic catalog;  /* swapped whole when an upload changes
                                    * the folder (srv_catalog_swap) */
    grd_catalog **retired;         /* earlier catalogs, freed at exit */
    size_t nretired;
    char owner[96];                /* who claims jobs: this process */
    int64_t started_ms;

    pthread_mutex_t mu;            /* guards queued, running, stopping */
    pthread_cond_t cv;
    int64_t queued;                /* mirrors jobs in state 'queued' */
    int64_t regrade_queued;        /* mirrors regrade items 'queued': served
                                    * only when no submission waits */
    int64_t running;
    int64_t capped;                /* of queued, those whose students are at
                                    * --running-max-user: no worker claims
                                    * them until a job ends */
    int64_t reserved;              /* accepted requests not yet committed */
    bool stopping;
    atomic_bool draining;          /* shutting down: admit nothing new */
    atomic_uint_fast64_t views_epoch; /* bumped when a stored result or a
                                    * deadline changes (api.c's view cache) */

    srv_ratelimit *rl;
    int access_fd;                 /* -1: no access log */

    /* metrics */
    atomic_uint_fast64_t outcomes[SRV_OUT_COUNT];
    atomic_uint_fast64_t started_by_nice[4]; /* jobs begun at nice 0, 5, 10, 15 */
    atomic_uint_fast64_t duration_buckets[SRV_DURATION_BUCKETS + 1];
    atomic_uint_fast64_t duration_count;
    atomic_uint_fast64_t duration_sum_us;
} srv;

/* Starts renewing this process's job leases and reporting it in the
 * workers table as role ("serve" or "worker"), and on PostgreSQL waking
 * idle workers for jobs other processes queue (srv_lease.c). Stop it
 * after the workers: their jobs keep their leases while they finish. */
int srv_lease_start(srv *s, const char *role);
void srv_lease_stop(void);

/* The calling thread's connection to the service database, opened on first
 * use and closed when the thread exits. NULL if it cannot be opened. */
db *srv_db(srv *s);
/* 1 when the calling thread's database is out of reach: its connection
 * could not be opened or lost its server (the API answers 503, not 500). */
int srv_db_unavailable(void);
/* Opens n more connections now, for threads to take later (srv_db): the
 * HTTP process opens them before it drops its privileges. 0 or -1. */
int srv_db_pool(srv *s, int n);
void srv_db_pool_free(void);
/* Sets up the thread-local connection key; once, before any srv_db. */
int srv_db_init(srv *s);
/* Closes the calling thread's connection now (the main thread, at exit). */
void srv_db_release(void);

/* ---- admission: queue bound and rate limit ------------------------------ */

/* Whether a new submission could be admitted now (a cheap early check made
 * before reading the body). 0 when yes; else the HTTP status (429 or 503)
 * with *retry_after seconds. Instructors skip the rate limit. */
int srv_admit_check(srv *s, int64_t user_id, bool instructor, int *retry_after);
/* Takes a queue slot and a rate-limit slot for one submission atomically;
 * same answers as srv_admit_check. On 0 the caller must call srv_admit_done
 * once the submission is stored (stored true) or failed (false). */
int srv_admit(srv *s, int64_t user_id, bool instructor, int *retry_after);
void srv_admit_done(srv *s, int64_t user_id, bool instructor, bool stored);

srv_ratelimit *srv_ratelimit_new(int per_minute);
void srv_ratelimit_free(srv_ratelimit *rl);

/* What the author of a submission may see of its result document: tests
 * whose visibility is not "visible" ("hidden", and "after_due_date" as long
 * as there are no due dates) are withheld, summed up in "hidden_tests":
 * {count, score, max_score} so the total still adds up. The top-level
 * memory errors stay: they are in the student's own code. New reference;
 * NULL on out of memory. */
json_t *srv_student_view(const json_t *doc);
/* The same once the author's due date has passed: "after_due_date" tests
 * are shown too, only "hidden" ones withheld. */
json_t *srv_student_view_after_due(const json_t *doc);

/* ---- workers ------------------------------------------------------------- */

/* Starts cfg.workers grading threads. 0 or -errno. */
int srv_workers_start(srv *s);
/* Lets running jobs finish, then joins every worker. */
void srv_workers_stop(srv *s);
/* Puts catalog c in service (an assignment was uploaded). The one it
 * replaces stays allocated until srv_catalogs_free: request threads and
 * workers may still hold its assignments. -1 when out of memory (c is then
 * not used; the caller frees it). */
int srv_catalog_swap(srv *s, grd_catalog *c);
/* Reloads the catalog when the assignments folder changed since the last
 * call (another API process installed an upload into a folder they share):
 * 1 reloaded, 0 unchanged (or the first call), -1 on failure (logged). */
int srv_catalog_refresh(srv *s);
/* Frees the catalog in service and every retired one (at exit). */
void srv_catalogs_free(srv *s);

/* n regrade items were queued: wakes workers for them. */
void srv_regrade_added(srv *s, int64_t n);

/* Queue depth and jobs running, for /metrics and /healthz. */
void srv_queue_stats(srv *s, int64_t *queued, int64_t *running);


#endif
