/* srv: per-thread database connections, admission (queue bound and rate
 * limit) and the grading workers that drain the durable queue. */
#include "srv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asg_install.h"
#include "auth.h"
#include "grader_proc.h"
#include "lti.h"

const double srv_duration_bounds[SRV_DURATION_BUCKETS] = {
    0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60,
};

const char *const srv_outcome_names[SRV_OUT_COUNT] = {
#define SRV_OUT_NAME_(id, name) name,
    SRV_OUTCOMES(SRV_OUT_NAME_)
#undef SRV_OUT_NAME_
};

/* ---- per-thread connections ---------------------------------------------- */

static pthread_key_t db_key;
static __thread int db_open_failed; /* this thread's last srv_db could not open */
static bool db_key_made;

/* Connections opened before the HTTP process dropped its privileges: the
 * database's folder may be one only root can enter, so threads take an
 * open connection from here rather than open the path again. */
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static db **pool;
static int npool, pool_cap;

static void db_key_close(void *p)
{
    pthread_mutex_lock(&pool_mu);
    if (p && pool && npool < pool_cap) {
        pool[npool++] = p; /* back to the pool for the next thread */
        p = NULL;
    }
    pthread_mutex_unlock(&pool_mu);
    db_close(p);
}

int srv_db_pool(srv *s, int n)
{
    char err[256];
    pthread_mutex_lock(&pool_mu);
    db **np = realloc(pool, (size_t)(pool_cap + n) * sizeof *np);
    int rc = np ? 0 : -1;
    if (np) {
        pool = np;
        pool_cap += n;
    }
    while (!rc && npool < pool_cap) {
        db *d = db_open(s->cfg.db_path, err, sizeof err);
        if (!d) {
            fprintf(stderr, "memgrade: %s\n", err);
            rc = -1;
            break;
        }
        pool[npool++] = d;
    }
    pthread_mutex_unlock(&pool_mu);
    return rc;
}

void srv_db_pool_free(void)
{
    pthread_mutex_lock(&pool_mu);
    for (int i = 0; i < npool; i++)
        db_close(pool[i]);
    free(pool);
    pool = NULL;
    npool = pool_cap = 0;
    pthread_mutex_unlock(&pool_mu);
}

int srv_db_init(srv *s)
{
    (void)s;
    int rc = -pthread_key_create(&db_key, db_key_close);
    db_key_made = rc == 0;
    return rc;
}

void srv_db_release(void)
{
    if (!db_key_made)
        return; /* never made: key 0 may be another library's */
    db_close(pthread_getspecific(db_key));
    pthread_setspecific(db_key, NULL);
}

db *srv_db(srv *s)
{
    db *d = pthread_getspecific(db_key);
    if (d)
        return d;
    pthread_mutex_lock(&pool_mu);
    if (npool > 0)
        d = pool[--npool];
    pthread_mutex_unlock(&pool_mu);
    if (d) {
        pthread_setspecific(db_key, d);
        return d;
    }
    char err[256];
    d = db_open(s->cfg.db_path, err, sizeof err);
    db_open_failed = !d && db_is_url(s->cfg.db_path); /* a server out of reach */
    if (!d) {
        fprintf(stderr, "memgrade: %s\n", err);
        return NULL;
    }
    pthread_setspecific(db_key, d);
    return d;
}

int srv_db_unavailable(void)
{
    db *d = db_key_made ? pthread_getspecific(db_key) : NULL;
    return d ? db_lost(d) : db_open_failed;
}

/* ---- rate limit ------------------------------------------------------------ */

/* Sliding window per user: the times of their last per_minute accepted
 * submissions in a ring; a new one is allowed when the oldest of those is
 * more than a minute old. Users are few (a course), so a flat array. */
typedef struct {
    int64_t user_id;
    int head;
    int64_t *times; /* per_minute entries, ms; 0 = unused */
} rl_user;

struct srv_ratelimit {
    int per_minute;
    size_t n, cap;
    rl_user *users;
};

srv_ratelimit *srv_ratelimit_new(int per_minute)
{
    srv_ratelimit *rl = calloc(1, sizeof *rl);
    if (rl)
        rl->per_minute = per_minute;
    return rl;
}

void srv_ratelimit_free(srv_ratelimit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < rl->n; i++)
        free(rl->users[i].times);
    free(rl->users);
    free(rl);
}

static rl_user *rl_find(srv_ratelimit *rl, int64_t user_id, bool create)
{
    for (size_t i = 0; i < rl->n; i++)
        if (rl->users[i].user_id == user_id)
            return &rl->users[i];
    if (!create)
        return NULL;
    if (rl->n == rl->cap) {
        size_t cap = rl->cap ? rl->cap * 2 : 64;
        rl_user *nu = realloc(rl->users, cap * sizeof *nu);
        if (!nu)
            return NULL;
        rl->users = nu;
        rl->cap = cap;
    }
    int64_t *times = calloc((size_t)rl->per_minute, sizeof *times);
    if (!times)
        return NULL;
    rl->users[rl->n] = (rl_user){user_id, 0, times};
    return &rl->users[rl->n++];
}

/* 0 when user may submit now, else seconds until they may. */
static int rl_wait(srv_ratelimit *rl, int64_t user_id, int64_t now)
{
    if (rl->per_minute <= 0)
        return 0;
    rl_user *u = rl_find(rl, user_id, false);
    if (!u)
        return 0;
    int64_t oldest = u->times[u->head];
    if (!oldest || oldest + 60000 <= now)
        return 0;
    return (int)((oldest + 60000 - now + 999) / 1000);
}

/* Records a submission; -1 when out of memory. */
static int rl_take(srv_ratelimit *rl, int64_t user_id, int64_t now)
{
    if (rl->per_minute <= 0)
        return 0;
    rl_user *u = rl_find(rl, user_id, true);
    if (!u)
        return -1;
    u->times[u->head] = now;
    u->head = (u->head + 1) % rl->per_minute;
    return 0;
}

/* Gives back the most recent slot (the submission was not stored). */
static void rl_refund(srv_ratelimit *rl, int64_t user_id)
{
    if (rl->per_minute <= 0)
        return;
    rl_user *u = rl_find(rl, user_id, false);
    if (!u)
        return;
    u->head = (u->head + rl->per_minute - 1) % rl->per_minute;
    u->times[u->head] = 0;
}

/* ---- admission -------------------------------------------------------------- */

/* Seconds a client should wait when the queue is full: roughly the time the
 * workers need to drain a tenth of it, at least one. */
static int queue_retry_after(const srv *s)
{
    int w = s->cfg.workers > 0 ? s->cfg.workers : 1;
    int r = s->cfg.queue_max / (10 * w);
    return r < 1 ? 1 : r > 60 ? 60 : r;
}

static int admit_locked(srv *s, int64_t user_id, bool instructor, int *retry_after)
{
    if (s->stopping || atomic_load(&s->draining)) {
        *retry_after = 5;
        return 503;
    }
    if (s->queued + s->reserved >= s->cfg.queue_max) {
        *retry_after = queue_retry_after(s);
        return 503;
    }
    if (!instructor) {
        int w = rl_wait(s->rl, user_id, db_now_ms());
        if (w) {
            *retry_after = w;
            return 429;
        }
    }
    return 0;
}

int srv_admit_check(srv *s, int64_t user_id, bool instructor, int *retry_after)
{
    pthread_mutex_lock(&s->mu);
    int rc = admit_locked(s, user_id, instructor, retry_after);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int srv_admit(srv *s, int64_t user_id, bool instructor, int *retry_after)
{
    pthread_mutex_lock(&s->mu);
    int rc = admit_locked(s, user_id, instructor, retry_after);
    if (!rc && !instructor && rl_take(s->rl, user_id, db_now_ms())) {
        *retry_after = 1;
        rc = 503;
    }
    if (!rc)
        s->reserved++;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void srv_admit_done(srv *s, int64_t user_id, bool instructor, bool stored)
{
    pthread_mutex_lock(&s->mu);
    s->reserved--;
    if (stored) {
        s->queued++;
        pthread_cond_signal(&s->cv);
    } else if (!instructor) {
        rl_refund(s->rl, user_id);
    }
    pthread_mutex_unlock(&s->mu);
}

void srv_queue_stats(srv *s, int64_t *queued, int64_t *running)
{
    pthread_mutex_lock(&s->mu);
    *queued = s->queued;
    *running = s->running;
    pthread_mutex_unlock(&s->mu);
}

/* ---- workers ----------------------------------------------------------------- */

static pthread_t *workers;
static int nworkers;

/* The document stored when our own machinery could not grade a submission
 * even after retries: the student sees an honest internal_error. */
static json_t *internal_error_doc(const char *assignment, double max_score,
                                  const char *why, int64_t ms)
{
    return json_pack("{s:s, s:s, s:f, s:f, s:{s:b, s:s}, s:[], s:[], s:I, s:s}",
                     "assignment", assignment, "status", "internal_error",
                     "score", 0.0, "max_score", max_score,
                     "compile", "ok", 0, "output", "",
                     "tests", "memory_errors", "duration_ms", (json_int_t)ms,
                     "error", why);
}

static void observe_duration(srv *s, double secs)
{
    int b = 0;
    while (b < SRV_DURATION_BUCKETS && secs > srv_duration_bounds[b])
        b++;
    atomic_fetch_add(&s->duration_buckets[b], 1);
    atomic_fetch_add(&s->duration_count, 1);
    atomic_fetch_add(&s->duration_sum_us, (uint_fast64_t)(secs * 1e6));
}

static double mono_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Withholds every test whose visibility is not "visible", or only the
 * "hidden" ones once the due date has passed (after_due false). */
static json_t *student_view(const json_t *doc, int after_due);

json_t *srv_student_view(const json_t *doc)
{
    return student_view(doc, 0);
}

json_t *srv_student_view_after_due(const json_t *doc)
{
    return student_view(doc, 1);
}

static json_t *student_view(const json_t *doc, int after_due)
{
    json_t *view = json_deep_copy(doc);
    json_t *tests = view ? json_object_get(view, "tests") : NULL;
    if (!view || !json_is_array(tests))
        return view;
    json_t *kept = json_array();
    size_t i, n = 0;
    double score = 0, max = 0;
    json_t *t;
    if (!kept)
        goto fail;
    json_array_foreach(tests, i, t) {
        const char *vis = json_string_value(json_object_get(t, "visibility"));
        if (!vis || !strcmp(vis, "visible") || (after_due && !strcmp(vis, "after_due_date"))) {
            if (json_array_append(kept, t))
                goto fail;
            continue;
        }
        n++;
        score += json_number_value(json_object_get(t, "score"));
        max += json_number_value(json_object_get(t, "max_score"));
    }
    if (json_object_set_new(view, "tests", kept)) {
        kept = NULL;
        goto fail;
    }
    if (json_object_set_new(view, "hidden_tests",
                            json_pack("{s:I, s:f, s:f}", "count", (json_int_t)n,
                                      "score", score, "max_score", max)))
        goto fail;
    return view;
fail:
    json_decref(kept);
    json_decref(view);
    return NULL;
}

static pthread_mutex_t swap_mu = PTHREAD_MUTEX_INITIALIZER;

int srv_catalog_swap(srv *s, grd_catalog *c)
{
    pthread_mutex_lock(&swap_mu);
    grd_catalog **nr = realloc(s->retired, (s->nretired + 1) * sizeof *nr);
    if (nr) {
        s->retired = nr;
        s->retired[s->nretired++] = atomic_exchange(&s->catalog, c);
    }
    pthread_mutex_unlock(&swap_mu);
    return nr ? 0 : -1;
}

/* The whole folder's version: each assignment's name and version
 * (asg_version), in name order, hashed. */
static int folder_stamp(const char *dir, char out[65])
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        return -1;
    char *buf = malloc((size_t)n * 130 + 1);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        char v[65];
        const char *nm = ents[i]->d_name;
        if (buf && nm[0] != '.' && strlen(nm) <= 64 && !asg_version(dir, nm, v))
            len += (size_t)sprintf(buf + len, "%s %s\n", nm, v);
        free(ents[i]);
    }
    free(ents);
    if (!buf)
        return -1;
    uint8_t h[AUTH_HASH_LEN];
    auth_sha256(buf, len, h);
    free(buf);
    for (int i = 0; i < AUTH_HASH_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
    return 0;
}

static void log_left_out(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "memgrade: assignments: left out: %s\n", msg);
}

int srv_catalog_refresh(srv *s)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char last[65];
    char stamp[65], err[256];
    if (folder_stamp(s->cfg.assignments, stamp))
        return -1;
    pthread_mutex_lock(&mu);
    int rc = 0;
    if (last[0] && strcmp(stamp, last)) {
        grd_catalog *c = grd_catalog_open(s->cfg.assignments, log_left_out, NULL, err, sizeof err);
        if (!c || srv_catalog_swap(s, c)) {
            fprintf(stderr, "memgrade: assignments changed on disk; reloading them failed: %s\n",
                    c ? "out of memory" : err);
            grd_catalog_free(c);
            rc = -1;
        } else {
            fprintf(stderr, "memgrade: assignments changed on disk (%zu now): reloaded\n",
                    grd_catalog_count(c));
            rc = 1;
        }
    }
    if (rc >= 0)
        memcpy(last, stamp, sizeof last);
    pthread_mutex_unlock(&mu);
    return rc;
}

void srv_catalogs_free(srv *s)
{
    grd_catalog_free(atomic_exchange(&s->catalog, NULL));
    for (size_t i = 0; i < s->nretired; i++)
        grd_catalog_free(s->retired[i]);
    free(s->retired);
    s->retired = NULL;
    s->nretired = 0;
}

void srv_regrade_added(srv *s, int64_t n)
{
    pthread_mutex_lock(&s->mu);
    s->regrade_queued += n;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Puts a claimed job or regrade item back in its queue and wakes a worker. */
static int requeue(srv *s, db *d, const db_job *j)
{
    int rc = j->regrade ? db_regrade_requeue(d, j->job_id, s->owner)
                        : db_job_requeue(d, j->job_id, s->owner);
    if (rc == DB_OK) {
        pthread_mutex_lock(&s->mu);
        if (j->regrade)
            s->regrade_queued++;
        else
            s->queued++;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    return rc;
}

/* Which worker this thread is: its channel to the grader process. */
static _Thread_local int worker_index;
static int next_worker_index;

/* The priority a job is graded at (a nice increment, see sandbox/sbx.h):
 * the claim already takes students in turn, this shares the CPUs the same
 * way once their jobs run side by side. A student with other submissions
 * waiting or being graded (one who keeps the queue full, say with programs
 * that loop until their time limit) gives way a level for each, down to
 * the last; a regrade, which nobody is waiting for, gives way to every
 * live submission. No limit changes (limits are CPU time), only who runs
 * first. */
static int job_nice(const db_job *j)
{
    if (j->regrade)
        return 10;
    return j->backlog >= 3 ? 15 : 5 * j->backlog;
}

/* Grades one claimed job and stores its result. */
static void grade_job(srv *s, db *d, db_job *j)
{
    char err[512] = "";
    json_t *doc = NULL;
    char *text = NULL;
    const grd_catalog *cat = s->catalog; /* one catalog for the whole job */
    const grd_assignment *a = grd_catalog_find(cat, j->assignment);
    double t0 = mono_secs();
    char version[65] = "";
    int rc = -1;
    if (!a) {
        snprintf(err, sizeof err, "assignment '%s' is no longer offered", j->assignment);
    } else {
        grd_file *files = calloc(j->nfiles ? j->nfiles : 1, sizeof *files);
        if (!files) {
            snprintf(err, sizeof err, "out of memory");
        } else {
            for (size_t i = 0; i < j->nfiles; i++)
                files[i] = (grd_file){j->files[i].name, j->files[i].data, j->files[i].len};
            /* Under `serve` the grader process grades (it has the
             * privileges the sandbox needs); in-process otherwise. */
            int nice = job_nice(j);
            atomic_fetch_add(&s->started_by_nice[nice / 5], 1);
            rc = gp_active() ? gp_grade(worker_index, j->assignment, files, j->nfiles, nice,
                                        &doc, version, err, sizeof err)
                             : grd_grade_niced(nice, cat, a, files, j->nfiles, &doc, err,
                                               sizeof err);
            free(files);
        }
    }
    double secs = mono_secs() - t0;
    if (rc != 0 || !doc) {
        fprintf(stderr, "memgrade: grading submission %lld failed (attempt %d): %s\n",
                (long long)j->submission_id, j->attempts, err);
        if (a && j->attempts < s->cfg.retries && !atomic_load(&s->draining)) {
            atomic_fetch_add(&s->outcomes[SRV_OUT_RETRIED], 1);
            requeue(s, d, j);
            return;
        }
        json_decref(doc);
        doc = internal_error_doc(j->assignment, a ? grd_assignment_max_score(a) : 0, err,
                                 (int64_t)(secs * 1000));
    }
    observe_duration(s, secs);
    const char *status = json_string_value(json_object_get(doc, "status"));
    if (!status)
        status = "internal_error";
    double score = json_number_value(json_object_get(doc, "score"));
    double max_score = json_number_value(json_object_get(doc, "max_score"));
    text = json_dumps(doc, JSON_COMPACT);
    json_t *view = srv_student_view(doc);
    char *view_text = view ? json_dumps(view, JSON_COMPACT) : NULL;
    json_decref(view);
    if (!gp_active() && (!a || asg_version(s->cfg.assignments, j->assignment,
                                                      version)))
        version[0] = '\0';
    db_set_assignment_version(d, a && version[0] ? version : NULL);
    /* A regrade that our machinery could not grade keeps the result the
     * submission has and counts as failed in its batch. */
    int failed = rc != 0 || !strcmp(status, "internal_error");
    int frc = !text || !view_text ? DB_ERROR
              : j->regrade ? db_regrade_finish(d, j->job_id, s->owner, failed, status, score,
                                               max_score, (int64_t)(secs * 1000), text,
                                               view_text)
                           : db_job_finish(d, j->job_id, s->owner, status, score,
                                           max_score, (int64_t)(secs * 1000), text,
                                           view_text);
    if (frc == DB_OK && j->regrade)
        atomic_fetch_add(&s->views_epoch, 1);
    if (frc == DB_OK)
        lti_outbox_wake(); /* its passback and webhook were queued with it */
    free(view_text);
    if (frc == DB_OK) {
        srv_outcome o = !strcmp(status, "compile_error")    ? SRV_OUT_COMPILE_ERROR
                        : !strcmp(status, "internal_error") ? SRV_OUT_INTERNAL_ERROR
                                                             : SRV_OUT_GRADED;
        atomic_fetch_add(&s->outcomes[o], 1);
    } else if (frc == DB_NOT_FOUND) {
        /* Our lease ran out (this process froze, or lost the database for
         * longer than it): the job went to another process, whose result
         * counts. Ours is dropped, so it is stored once. */
        fprintf(stderr, "memgrade: submission %lld went to another process (our lease on it ran "
                        "out); this result is dropped\n", (long long)j->submission_id);
    } else {
        /* The result did not reach the disk: leave the job to be graded
         * again rather than lose it. */
        fprintf(stderr, "memgrade: storing the result of submission %lld failed\n",
                (long long)j->submission_id);
        /* Putting it back is a write too and may fail for the same reason
         * (a full disk): keep trying, so the job is not left 'running'
         * until the next restart. A stopping server leaves that to the
         * next start, which requeues every running job. */
        while (frc == DB_ERROR) {
            if (requeue(s, d, j) == DB_OK) {
                atomic_fetch_add(&s->outcomes[SRV_OUT_REQUEUED], 1);
                break;
            }
            if (atomic_load(&s->draining))
                break;
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
        }
    }
    free(text);
    json_decref(doc);
}

static void *worker_main(void *arg)
{
    srv *s = arg;
    pthread_mutex_lock(&s->mu);
    worker_index = next_worker_index++;
    pthread_mutex_unlock(&s->mu);
    db *d = srv_db(s);
    for (;;) {
        pthread_mutex_lock(&s->mu);
        /* Jobs of students at their bound of running jobs (capped) wait
         * until one of theirs finishes: no worker spins on them. */
        while (!s->stopping && s->queued - s->capped <= 0 && s->regrade_queued <= 0)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stopping) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        /* New submissions first: a regrade batch only fills idle time. */
        bool regrade = s->queued - s->capped <= 0;
        if (regrade)
            s->regrade_queued--;
        else
            s->queued--;
        s->running++;
        pthread_mutex_unlock(&s->mu);

        db_job j;
        int rc = !d ? DB_ERROR : regrade ? db_regrade_claim(d, s->owner, &j)
                                         : db_job_claim_fair(d, s->owner, s->cfg.running_max_user, &j);
        if (rc == DB_OK) {
            grade_job(s, d, &j);
            db_job_clear(&j);
        }
        pthread_mutex_lock(&s->mu);
        s->running--;
        bool idle = s->running == 0 && s->queued <= 0 && s->regrade_queued <= 0;
        if (rc == DB_NOT_FOUND) {
            /* The queued jobs left all belong to students at their bound of
             * running jobs (or our count drifted from the table): trust the
             * table, and wait for a change rather than claim again. */
            int64_t n = 0;
            if (!regrade && db_queue_depth(d, &n) == DB_OK)
                s->queued = s->capped = n;
            if (regrade && db_regrade_depth(d, &n) == DB_OK)
                s->regrade_queued = n;
        } else if (rc == DB_OK) {
            /* A job ended: a capped student may run the next one now. */
            s->capped = 0;
            pthread_cond_broadcast(&s->cv);
        }
        pthread_mutex_unlock(&s->mu);
        /* Grading bursts leave freed memory in every thread's malloc arena;
         * hand it back to the kernel once the queue is empty so an idle
         * server stays small. */
        if (idle)
            malloc_trim(0);
        if (rc == DB_ERROR) {
            /* The database is failing; do not spin on it. */
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&s->mu);
            if (regrade)
                s->regrade_queued++;
            else
                s->queued++;
            pthread_mutex_unlock(&s->mu);
            if (!d)
                d = srv_db(s);
        }
    }
    return NULL;
}

int srv_workers_start(srv *s)
{
    if (s->cfg.workers == 0) /* serve --workers 0: worker processes grade */
        return 0;
    workers = calloc((size_t)s->cfg.workers, sizeof *workers);
    if (!workers)
        return -ENOMEM;
    for (nworkers = 0; nworkers < s->cfg.workers; nworkers++) {
        int rc = pthread_create(&workers[nworkers], NULL, worker_main, s);
        if (rc) {
            srv_workers_stop(s);
            return -rc;
        }
    }
    return 0;
}

void srv_workers_stop(srv *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < nworkers; i++)
        pthread_join(workers[i], NULL);
    free(workers);
    workers = NULL;
    nworkers = 0;
}
