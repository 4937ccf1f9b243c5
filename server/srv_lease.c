/* srv_lease: what keeps a grading process's claims alive and tells the
 * others about it (SPEC §9). One thread renews the lease on every job this
 * process is grading and records the process in the workers table (host,
 * pid, jobs running and done, last seen), every third of the lease, and
 * puts back in the queue the jobs of any process whose lease ran out. On
 * PostgreSQL, where other processes accept submissions too, a second
 * thread waits for their notifications (LISTEN) and refreshes this
 * process's picture of the queue, so idle workers wake for new work
 * without polling the jobs table. */
#include "srv.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
    const char *role;
    pthread_t renew, feed;
    int renewing, feeding;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
} L = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Sleeps ms or until srv_lease_stop; 1 when stopping. */
static int nap(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&L.mu);
    while (!L.stop && pthread_cond_timedwait(&L.cv, &L.mu, &ts) == 0)
        ;
    int stop = L.stop;
    pthread_mutex_unlock(&L.mu);
    return stop;
}

static void beat(srv *s, db *d)
{
    db_worker w = {.pid = (int)getpid(), .started_at = s->started_ms};
    snprintf(w.name, sizeof w.name, "%s", s->owner);
    snprintf(w.role, sizeof w.role, "%s", L.role);
    gethostname(w.host, sizeof w.host - 1);
    w.threads = s->cfg.workers;
    pthread_mutex_lock(&s->mu);
    w.running = s->running;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < SRV_OUT_COUNT; i++)
        if (i != SRV_OUT_REQUEUED && i != SRV_OUT_RETRIED)
            w.done += (int64_t)atomic_load(&s->outcomes[i]);
    if (db_worker_beat(d, &w) != DB_OK)
        fprintf(stderr, "memgrade %s: cannot record this process in the workers table\n",
                L.role);
}

static void *renew_main(void *arg)
{
    srv *s = arg;
    long period = s->cfg.lease_s * 1000L / 3;
    int warned = 0;
    do {
        db *d = srv_db(s);
        int64_t held = 0;
        if (!d || db_job_renew(d, s->owner, &held) != DB_OK) {
            /* Lost, for now: the jobs we grade may go to another worker
             * when their leases run out; their results are then refused
             * here (db_job_finish), so nothing is stored twice. */
            if (!warned++)
                fprintf(stderr, "memgrade %s: cannot renew the leases on running jobs "
                                "(database unreachable); retrying\n", L.role);
            continue;
        }
        if (warned)
            fprintf(stderr, "memgrade %s: leases renewed again\n", L.role);
        warned = 0;
        beat(s, d);
        srv_catalog_refresh(s);
        /* Any process may take back the jobs of one that died or froze:
         * whichever comes first, the others find nothing to do. */
        int64_t back = 0;
        if (db_job_requeue_expired(d, &back) == DB_OK && back) {
            fprintf(stderr, "memgrade %s: requeued %lld job(s) whose lease ran out (a process "
                            "that holds them died or stopped)\n", L.role, (long long)back);
            int64_t q = 0, r = 0;
            if (db_queue_depth(d, &q) == DB_OK && db_regrade_depth(d, &r) == DB_OK) {
                pthread_mutex_lock(&s->mu);
                s->queued = q;
                s->capped = 0;
                s->regrade_queued = r;
                pthread_cond_broadcast(&s->cv);
                pthread_mutex_unlock(&s->mu);
            }
        }
    } while (!nap(warned ? 1000 : period));
    return NULL;
}

/* PostgreSQL: another process's submission or regrade wakes us. The
 * picture is refreshed at least every few seconds too, so a notification
 * lost while the connection was down costs only that. */
static void *feed_main(void *arg)
{
    srv *s = arg;
    db *d = NULL;
    int64_t last_q = -1, last_r = -1;
    while (!nap(0)) {
        if (!d && !(d = db_open(s->cfg.db_path, (char[256]){0}, 256))) {
            nap(1000);
            continue;
        }
        int w = db_wait_jobs(d, 2000);
        if (w == DB_ERROR && db_lost(d)) {
            db_close(d); /* a new connection LISTENs anew */
            d = NULL;
            continue;
        }
        int64_t q = 0, r = 0;
        if (db_queue_depth(d, &q) != DB_OK || db_regrade_depth(d, &r) != DB_OK)
            continue;
        pthread_mutex_lock(&s->mu);
        /* A change, or a notification: what is capped may have changed
         * too (another process's job of that student ended). */
        if (q != last_q || r != last_r || w == DB_OK) {
            s->queued = q;
            s->capped = 0;
            s->regrade_queued = r;
            pthread_cond_broadcast(&s->cv);
        }
        pthread_mutex_unlock(&s->mu);
        last_q = q;
        last_r = r;
    }
    db_close(d);
    return NULL;
}

int srv_lease_start(srv *s, const char *role)
{
    L.role = role;
    L.stop = 0;
    if (pthread_create(&L.renew, NULL, renew_main, s))
        return -1;
    L.renewing = 1;
    if (db_is_url(s->cfg.db_path)) {
        if (pthread_create(&L.feed, NULL, feed_main, s))
            return -1;
        L.feeding = 1;
    }
    return 0;
}

void srv_lease_stop(void)
{
    pthread_mutex_lock(&L.mu);
    L.stop = 1;
    pthread_cond_broadcast(&L.cv);
    pthread_mutex_unlock(&L.mu);
    if (L.feeding)
        pthread_join(L.feed, NULL);
    if (L.renewing)
        pthread_join(L.renew, NULL);
    L.feeding = L.renewing = 0;
}
