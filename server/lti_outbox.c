/* lti_outbox: the delivery threads of `memgrade serve`. They take due rows
 * of the durable outbox (db_outbox.c; queued in the transaction that stores
 * each result) in id order and deliver them: grade passback through AGS
 * (lti_ags.c) and signed webhook POSTs, with exponential backoff on failure.
 *
 * Ordering. A course's deliveries of one kind go out one at a time, in id
 * order as they fall due, so a receiver that hangs for lti_http's whole
 * timeout holds up only its own course, never the others (several threads
 * serve different courses at once). A webhook event that fails does not
 * hold the later events of its course: each is retried on its own, as
 * GitHub's and Stripe's webhooks do, and receivers order events by their
 * signed timestamp and delivery id. A passback is one row per line item and
 * student whose seq grows with each newer result: the score sent is read
 * when it is sent, and a row is marked delivered only if no newer result
 * came meanwhile, so an older score never follows a newer one. */
#include "lti.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define BACKOFF_CAP_MS (3600LL * 1000)
/* How long an idle thread sleeps before looking again without a wake-up
 * (a row queued by another process sharing the database, clock changes). */
#define IDLE_MAX_MS (60LL * 1000)
#define MAX_THREADS 64

typedef struct {
    char course[40];
    int kind;
    int used;
} busy_slot;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started, stopping;
    uint64_t gen;          /* bumped by every wake-up and finished delivery */
    lti_outbox_config cfg;
    pthread_t th[MAX_THREADS];
    int nth;
    busy_slot busy[MAX_THREADS];
    db *dbs[MAX_THREADS];  /* each thread's connection, opened by lti_outbox_start */
} ob = {.mu = PTHREAD_MUTEX_INITIALIZER};

void lti_outbox_wake(void)
{
    pthread_mutex_lock(&ob.mu);
    ob.gen++;
    if (ob.started)
        pthread_cond_broadcast(&ob.cv);
    pthread_mutex_unlock(&ob.mu);
}

int64_t lti_outbox_backoff_ms(int retry_base_ms, int64_t attempts, int retry_after_s, double rnd)
{
    double d = retry_base_ms > 0 ? retry_base_ms : 1;
    for (int64_t i = 1; i < attempts && d < BACKOFF_CAP_MS; i++)
        d *= 3;
    d *= 0.8 + 0.4 * rnd;
    if (d > BACKOFF_CAP_MS)
        d = BACKOFF_CAP_MS;
    if (retry_after_s >= 0 && retry_after_s * 1000.0 > d)
        d = retry_after_s * 1000.0 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : retry_after_s * 1000.0;
    return (int64_t)d;
}

/* ---- one delivery ---------------------------------------------------------------- */

static void iso_ms(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

/* "sha256=" and the hex HMAC-SHA256 of body under secret. */
static int sign(const char *secret, const char *body, size_t len, char out[8 + 64 + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac,
              &n) || n != 32)
        return -1;
    memcpy(out, "sha256=", 7);
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

static lti_outcome send_webhook(const db_outbox_item *it, int64_t now, lti_send_result *res)
{
    if (!it->url || !it->secret) {
        snprintf(res->err, sizeof res->err, "the course has no webhook any more");
        return LTI_GIVE_UP;
    }
    if (!it->payload) {
        snprintf(res->err, sizeof res->err, "the event has no payload");
        return LTI_GIVE_UP;
    }
    /* A URL that the policy no longer allows (--webhook-private 0 now)
     * will not become allowed by waiting. */
    if (lti_url_check(it->url, LTI_URL_WEBHOOK, res->err, sizeof res->err))
        return LTI_GIVE_UP;
    char ts[32], sig[8 + 64 + 1], h_sig[128], h_del[64], h_ts[64];
    iso_ms(now, ts);
    size_t cap = strlen(it->payload) + 160;
    char *body = malloc(cap);
    if (!body) {
        snprintf(res->err, sizeof res->err, "out of memory");
        return LTI_RETRY;
    }
    /* The payload is JSON made by SQLite when the row was queued; the
     * envelope's timestamp is signed with it, so a receiver can refuse a
     * replayed delivery. */
    int len = snprintf(body, cap,
                       "{\"event\":\"submission.graded\",\"delivery\":%" PRId64
                       ",\"timestamp\":\"%s\",\"submission\":%s}",
                       it->id, ts, it->payload);
    if (len < 0 || (size_t)len >= cap || sign(it->secret, body, (size_t)len, sig)) {
        free(body);
        snprintf(res->err, sizeof res->err, "cannot sign the event");
        return LTI_RETRY;
    }
    snprintf(h_sig, sizeof h_sig, "X-Memgrade-Signature: %s", sig);
    snprintf(h_del, sizeof h_del, "X-Memgrade-Delivery: %" PRId64, it->id);
    snprintf(h_ts, sizeof h_ts, "X-Memgrade-Timestamp: %s", ts);
    const char *headers[] = {"Content-Type: application/json",
                             "X-Memgrade-Event: submission.graded", h_sig, h_del, h_ts, NULL};
    lti_http_resp resp;
    int hrc = lti_http("POST", it->url, LTI_URL_WEBHOOK, headers, body, (size_t)len, &resp,
                       res->err, sizeof res->err);
    free(body);
    if (hrc)
        return LTI_RETRY; /* no answer: down, refused, timed out */
    res->status = resp.status;
    res->retry_after = resp.retry_after;
    lti_http_resp_clear(&resp);
    if (res->status >= 200 && res->status < 300)
        return LTI_SENT;
    /* SPEC §8: retried until a 2xx, whatever the receiver answered. */
    snprintf(res->err, sizeof res->err, "the receiver answered HTTP %ld", res->status);
    return LTI_RETRY;
}

static lti_outcome send_score(db *d, const db_outbox_item *it, lti_send_result *res)
{
    db_outbox_score sc;
    int rc = db_outbox_score_of(d, it->submission_id, &sc);
    if (rc == DB_NOT_FOUND) {
        snprintf(res->err, sizeof res->err, "the student has no graded submission");
        return LTI_GIVE_UP;
    }
    if (rc != DB_OK) {
        snprintf(res->err, sizeof res->err, "the database is unavailable");
        return LTI_RETRY;
    }
    return lti_ags_send_score(d, it->link_id, it->user_id, sc.final, sc.max, sc.graded_at, res);
}

static uint64_t rnd_state;

/* A number in [0, 1) for jitter (not for secrets). */
static double jitter_rnd(void)
{
    pthread_mutex_lock(&ob.mu);
    uint64_t x = rnd_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rnd_state = x;
    pthread_mutex_unlock(&ob.mu);
    return (double)(x >> 11) / 9007199254740992.0;
}

static void deliver(db *d, const db_outbox_item *it)
{
    lti_send_result res = {.retry_after = -1};
    int64_t now = db_now_ms();
    lti_outcome o = it->kind == DB_OUTBOX_WEBHOOK ? send_webhook(it, now, &res)
                                                  : send_score(d, it, &res);
    int64_t attempts = it->attempts + 1, next_at = db_now_ms();
    db_outbox_state st = DB_OUTBOX_DELIVERED;
    char err[320];
    snprintf(err, sizeof err, "%s", o == LTI_SENT ? "" : res.err);
    if (o == LTI_GIVE_UP) {
        st = DB_OUTBOX_FAILED;
    } else if (o == LTI_RETRY && attempts >= ob.cfg.max_attempts) {
        st = DB_OUTBOX_FAILED;
        snprintf(err, sizeof err, "gave up after %" PRId64 " attempts: %s", attempts, res.err);
    } else if (o == LTI_RETRY) {
        st = DB_OUTBOX_PENDING;
        next_at += lti_outbox_backoff_ms(ob.cfg.retry_base_ms, attempts, res.retry_after,
                                         jitter_rnd());
    }
    int superseded = 0;
    if (db_outbox_record(d, it->id, it->seq, st, next_at, res.status, err, db_now_ms(),
                         &superseded) == DB_ERROR)
        fprintf(stderr, "memgrade serve: outbox: cannot record delivery %" PRId64 "\n", it->id);
    if (st == DB_OUTBOX_FAILED && !superseded)
        fprintf(stderr, "memgrade serve: outbox: %s %" PRId64 " of course %s failed: %s\n",
                it->kind == DB_OUTBOX_WEBHOOK ? "webhook" : "passback", it->id, it->course,
                err);
}

/* ---- the threads ------------------------------------------------------------------- */

/* Whether a delivery of kind for course is in flight (ob.mu held). */
static int is_busy(void *ctx, const char *course, int kind)
{
    (void)ctx;
    for (int i = 0; i < ob.nth; i++)
        if (ob.busy[i].used && ob.busy[i].kind == kind && !strcmp(ob.busy[i].course, course))
            return 1;
    return 0;
}

static void wait_until(int64_t wall_ms, uint64_t gen)
{
    int64_t now = db_now_ms(), wait = wall_ms ? wall_ms - now : IDLE_MAX_MS;
    if (wait > IDLE_MAX_MS)
        wait = IDLE_MAX_MS;
    if (wait <= 0)
        wait = 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += wait / 1000;
    ts.tv_nsec += (long)(wait % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    while (!ob.stopping && ob.gen == gen)
        if (pthread_cond_timedwait(&ob.cv, &ob.mu, &ts) == ETIMEDOUT)
            break;
}

static void *outbox_main(void *arg)
{
    int slot = (int)(intptr_t)arg;
    db *d = ob.dbs[slot];
    pthread_mutex_lock(&ob.mu);
    while (!ob.stopping) {
        uint64_t gen = ob.gen;
        db_outbox_item it;
        int64_t next_at = 0;
        int blocked = 0;
        /* Claimed under ob.mu: no two threads take the same course and
         * kind. The row stays pending in the database meanwhile, so a
         * crash leaves it to the next start. */
        int rc = db_outbox_next(d, db_now_ms(), is_busy, NULL, &it, &next_at, &blocked);
        if (rc == DB_OK) {
            snprintf(ob.busy[slot].course, sizeof ob.busy[slot].course, "%s", it.course);
            ob.busy[slot].kind = (int)it.kind;
            ob.busy[slot].used = 1;
            pthread_mutex_unlock(&ob.mu);
            deliver(d, &it);
            db_outbox_item_clear(&it);
            pthread_mutex_lock(&ob.mu);
            ob.busy[slot].used = 0;
            ob.gen++;
            pthread_cond_broadcast(&ob.cv);
            continue;
        }
        if (rc == DB_ERROR)
            next_at = db_now_ms() + 1000; /* the database is busy or failing: later */
        /* Rows held back behind a busy course wait for its delivery to
         * end (it bumps gen); others for their time or a wake-up. */
        wait_until(next_at, gen);
    }
    pthread_mutex_unlock(&ob.mu);
    return NULL;
}

int lti_outbox_start(const lti_outbox_config *cfg, char *err, size_t errlen)
{
    pthread_condattr_t ca;
    pthread_mutex_lock(&ob.mu);
    ob.cfg = *cfg;
    if (ob.cfg.threads < 1)
        ob.cfg.threads = 1;
    if (ob.cfg.threads > MAX_THREADS)
        ob.cfg.threads = MAX_THREADS;
    if (ob.cfg.max_attempts < 1)
        ob.cfg.max_attempts = 1;
    rnd_state = (uint64_t)db_now_ms() * 0x9E3779B97F4A7C15ull | 1;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ob.cv, &ca);
    pthread_condattr_destroy(&ca);
    ob.stopping = 0;
    ob.started = 1;
    ob.nth = 0;
    memset(ob.busy, 0, sizeof ob.busy);
    int rc = 0;
    /* Connections are opened here, in the caller: `memgrade serve` drops
     * its privileges once it listens, and may not open the database after
     * that (srv_db_pool). */
    for (int i = 0; i < ob.cfg.threads; i++) {
        if (!(ob.dbs[i] = db_open(ob.cfg.db_path, err, errlen))) {
            for (int k = 0; k < i; k++)
                db_close(ob.dbs[k]), ob.dbs[k] = NULL;
            ob.started = 0;
            pthread_cond_destroy(&ob.cv);
            pthread_mutex_unlock(&ob.mu);
            return -1;
        }
    }
    for (int i = 0; i < ob.cfg.threads; i++) {
        rc = pthread_create(&ob.th[i], NULL, outbox_main, (void *)(intptr_t)i);
        if (rc) {
            snprintf(err, errlen, "cannot start delivery threads: %s", strerror(rc));
            break;
        }
        ob.nth++;
    }
    pthread_mutex_unlock(&ob.mu);
    if (rc) {
        lti_outbox_stop();
        return -1;
    }
    return 0;
}

void lti_outbox_stop(void)
{
    pthread_mutex_lock(&ob.mu);
    if (!ob.started) {
        pthread_mutex_unlock(&ob.mu);
        return;
    }
    ob.stopping = 1;
    pthread_cond_broadcast(&ob.cv);
    int n = ob.nth;
    pthread_mutex_unlock(&ob.mu);
    lti_http_abort_all(); /* a receiver that hangs does not hold up the stop */
    for (int i = 0; i < n; i++)
        pthread_join(ob.th[i], NULL);
    pthread_mutex_lock(&ob.mu);
    for (int i = 0; i < MAX_THREADS; i++)
        if (ob.dbs[i])
            db_close(ob.dbs[i]), ob.dbs[i] = NULL;
    ob.started = 0;
    ob.nth = 0;
    pthread_cond_destroy(&ob.cv);
    pthread_mutex_unlock(&ob.mu);
}
