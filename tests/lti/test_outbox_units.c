/* Units of the outbox (db_outbox.c, lti_outbox.c) on a real database: the
 * backoff schedule as a table; a passback row queued with each stored
 * result and superseded (seq) by a newer one, never marked delivered with
 * the older score; the busy filter; and the delivery threads end to end
 * with a scripted AGS (this file's lti_ags_send_score, a test double: the
 * real one is tested against the test platform in test_outbox_passback.py). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db_int.h"
#include "lti.h"

static int failures;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) {                                                            \
            printf("ok   ");                                                   \
        } else {                                                               \
            printf("FAIL ");                                                   \
            failures++;                                                        \
        }                                                                      \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
    } while (0)

/* ---- the scripted AGS ------------------------------------------------------------ */

static pthread_mutex_t ags_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int64_t link_id, user_id, ts;
    double given, max;
} ags_calls[16];
static int ags_n;
static lti_outcome ags_script[16];   /* what call i answers; LTI_SENT past the end */
static int ags_script_n;

lti_outcome lti_ags_send_score(db *d, int64_t link_id, int64_t user_id, double score_given,
                               double score_max, int64_t timestamp_ms, lti_send_result *out)
{
    (void)d;
    memset(out, 0, sizeof *out);
    out->retry_after = -1;
    pthread_mutex_lock(&ags_mu);
    int i = ags_n < 16 ? ags_n++ : 15;
    ags_calls[i].link_id = link_id;
    ags_calls[i].user_id = user_id;
    ags_calls[i].given = score_given;
    ags_calls[i].max = score_max;
    ags_calls[i].ts = timestamp_ms;
    lti_outcome o = i < ags_script_n ? ags_script[i] : LTI_SENT;
    pthread_mutex_unlock(&ags_mu);
    out->status = o == LTI_SENT ? 200 : 503;
    if (o != LTI_SENT)
        snprintf(out->err, sizeof out->err, "scripted failure %d", i);
    return o;
}

static int ags_count(void)
{
    pthread_mutex_lock(&ags_mu);
    int n = ags_n;
    pthread_mutex_unlock(&ags_mu);
    return n;
}

/* ---- the backoff ------------------------------------------------------------------- */

static void test_backoff(void)
{
    static const struct {
        int base;
        int64_t attempts;
        int retry_after;
        double rnd;
        int64_t want;
    } t[] = {
        {2000, 1, -1, 0.5, 2000},       /* the first retry: about 2 s */
        {2000, 1, -1, 0.0, 1600},       /* -20% */
        {2000, 1, -1, 0.999999, 2399},  /* +20% */
        {2000, 2, -1, 0.5, 6000},       /* x3 */
        {2000, 3, -1, 0.5, 18000},
        {2000, 7, -1, 0.5, 1458000},
        {2000, 8, -1, 0.5, 3600000},    /* capped at 1 h */
        {2000, 30, -1, 0.999, 3600000}, /* also with the jitter */
        {2000, 1000000, -1, 0.5, 3600000},
        {2000, 1, 30, 0.5, 30000},      /* Retry-After when larger */
        {2000, 3, 5, 0.5, 18000},       /* not when smaller */
        {2000, 1, 86400, 0.5, 3600000}, /* capped at 1 h too */
        {300, 2, -1, 0.5, 900},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int64_t got = lti_outbox_backoff_ms(t[i].base, t[i].attempts, t[i].retry_after, t[i].rnd);
        CHECK(got == t[i].want || (got - t[i].want <= 1 && t[i].want - got <= 1),
              "backoff(base %d, attempt %lld, Retry-After %d, rnd %.2f) = %lld ms (want %lld)",
              t[i].base, (long long)t[i].attempts, t[i].retry_after, t[i].rnd, (long long)got,
              (long long)t[i].want);
    }
}

/* ---- the database side -------------------------------------------------------------- */

static int exec_sql(db *d, const char *sql)
{
    return db_exec(d, sql);
}

/* Stores a graded submission of stu's with score/10, as a worker does. */
static int64_t graded(db *d, int64_t uid, double score)
{
    static const char src[] = "int x;\n";
    db_file f = {"mystr.c", src, sizeof src - 1};
    uint8_t digest[AUTH_HASH_LEN] = {0};
    db_sub_ctx ctx = {.course = "c1", .now = db_now_ms()};
    int64_t id = 0;
    int replayed = 0;
    db_job j;
    char doc[128];
    snprintf(doc, sizeof doc, "{\"status\":\"graded\",\"score\":%g,\"max_score\":10,"
                              "\"tests\":[],\"memory_errors\":[]}", score);
    if (db_submission_create_in(d, uid, "mystr", &f, 1, NULL, digest, &ctx, &id, &replayed) ||
        db_job_claim(d, "unit", &j))
        return 0;
    int rc = db_job_finish(d, j.job_id, "unit", "graded", score, 10, 1, doc, doc);
    db_job_clear(&j);
    return rc == DB_OK ? id : 0;
}

typedef struct {
    int n;
    db_delivery last;
    char state[16];
} rows_ctx;

static void row_one(void *ctx, const db_delivery *dl)
{
    rows_ctx *c = ctx;
    if (c->n++ == 0) {
        c->last = *dl;
        snprintf(c->state, sizeof c->state, "%s", dl->state);
        c->last.kind = c->last.state = c->last.last_error = c->last.user = NULL;
        c->last.line_item = NULL;
    }
}

static rows_ctx rows(db *d)
{
    rows_ctx c = {0};
    db_outbox_each(d, "c1", "score", NULL, 10, 0, row_one, &c);
    return c;
}

static int busy_all(void *ctx, const char *course, int kind)
{
    (void)ctx, (void)course, (void)kind;
    return 1;
}

static void test_db(db *d, int64_t uid)
{
    int64_t s1 = graded(d, uid, 5);
    rows_ctx r = rows(d);
    CHECK(s1 && r.n == 1 && !strcmp(r.state, "pending") && r.last.submission_id == s1,
          "a stored result queues one passback row for the launch (%d rows, %s)", r.n, r.state);
    db_outbox_item it;
    int64_t next_at;
    int blocked;
    int rc = db_outbox_next(d, db_now_ms(), busy_all, NULL, &it, &next_at, &blocked);
    CHECK(rc == DB_NOT_FOUND && blocked, "a busy course's row is passed over (blocked %d)",
          blocked);
    rc = db_outbox_next(d, db_now_ms(), NULL, NULL, &it, &next_at, &blocked);
    CHECK(rc == DB_OK && it.kind == DB_OUTBOX_SCORE && it.seq == 1 && it.link_id == 1 &&
              it.user_id == uid && !strcmp(it.course, "c1"),
          "it is due: seq %lld, link %lld", (long long)it.seq, (long long)it.link_id);
    /* A newer result while that one is "in flight". */
    int64_t s2 = graded(d, uid, 8);
    db_outbox_score sc;
    CHECK(db_outbox_score_of(d, it.submission_id, &sc) == DB_OK && sc.final == 8 &&
              sc.max == 10 && !sc.policy_last,
          "the score is read when sent: best %g of %g", sc.final, sc.max);
    int superseded = 0;
    rc = db_outbox_record(d, it.id, it.seq, DB_OUTBOX_DELIVERED, db_now_ms(), 200, NULL,
                          db_now_ms(), &superseded);
    r = rows(d);
    CHECK(rc == DB_OK && superseded && r.n == 1 && !strcmp(r.state, "pending") &&
              r.last.attempts == 0 && r.last.submission_id == s2,
          "sent with the older seq: still pending for the newer one (%s, attempts %lld)",
          r.state, (long long)r.last.attempts);
    db_outbox_item_clear(&it);
    rc = db_outbox_next(d, db_now_ms(), NULL, NULL, &it, &next_at, &blocked);
    CHECK(rc == DB_OK && it.seq == 2, "it goes next, seq %lld", (long long)it.seq);
    int64_t row = it.id;
    rc = db_outbox_record(d, it.id, it.seq, DB_OUTBOX_PENDING, db_now_ms() + 60000, 503,
                          "down", db_now_ms(), &superseded);
    r = rows(d);
    CHECK(rc == DB_OK && !superseded && !strcmp(r.state, "pending") && r.last.attempts == 1 &&
              r.last.last_status == 503,
          "a failure: attempts 1, HTTP 503, later");
    rc = db_outbox_next(d, db_now_ms(), NULL, NULL, &it, &next_at, &blocked);
    CHECK(rc == DB_NOT_FOUND && next_at > db_now_ms() + 50000,
          "nothing due before its next_at (in %lld ms)", (long long)(next_at - db_now_ms()));
    /* A newer result keeps the backoff of a pending row. */
    graded(d, uid, 2);
    r = rows(d);
    CHECK(r.last.attempts == 1 && r.last.next_at > db_now_ms() + 50000,
          "a newer result does not hammer a platform that is down");
    CHECK(db_outbox_retry(d, "c1", row, db_now_ms()) == DB_OK &&
              db_outbox_retry(d, "c2", row, db_now_ms()) == DB_NOT_FOUND,
          "staff bring it forward; another course cannot");
    db_outbox_item_clear(&it);
    rc = db_outbox_next(d, db_now_ms(), NULL, NULL, &it, &next_at, &blocked);
    rc = rc == DB_OK ? db_outbox_record(d, it.id, it.seq, DB_OUTBOX_DELIVERED, db_now_ms(), 200,
                                        NULL, db_now_ms(), &superseded)
                     : rc;
    r = rows(d);
    CHECK(rc == DB_OK && !superseded && !strcmp(r.state, "delivered") && r.last.delivered_at,
          "sent with the current seq: delivered");
    CHECK(db_outbox_retry(d, "c1", row, db_now_ms()) == DB_EXISTS,
          "a delivered row is not retried");
    db_outbox_item_clear(&it);
    exec_sql(d, "UPDATE course_assignments SET policy = 'last'");
    CHECK(db_outbox_score_of(d, s1, &sc) == DB_OK && sc.final == 2 && sc.policy_last,
          "policy last: the newest graded result (%g)", sc.final);
}

/* ---- the threads ----------------------------------------------------------------------- */

static int wait_for(int (*pred)(db *), db *d, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (pred(d))
            return 1;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    return pred(d);
}

static int delivered(db *d)
{
    rows_ctx r = rows(d);
    return r.n == 1 && !strcmp(r.state, "delivered");
}

static int failed(db *d)
{
    rows_ctx r = rows(d);
    return r.n == 1 && !strcmp(r.state, "failed");
}

static void test_threads(db *d, const char *path, int64_t uid)
{
    char err[256];
    ags_script[0] = LTI_RETRY;
    ags_script[1] = LTI_RETRY;
    ags_script[2] = LTI_SENT;
    ags_script[3] = LTI_GIVE_UP;
    ags_script_n = 4;
    lti_outbox_config cfg = {path, 2, 5, 20};
    CHECK(lti_outbox_start(&cfg, err, sizeof err) == 0, "the threads start: %s", err);
    int64_t s = graded(d, uid, 7);
    lti_outbox_wake();
    int ok = wait_for(delivered, d, 5000);
    rows_ctx r = rows(d);
    CHECK(ok && r.last.attempts == 3 && ags_count() == 3,
          "two scripted failures, then sent: delivered after %lld attempts, %d calls",
          (long long)r.last.attempts, ags_count());
    db_outbox_score sc;
    db_outbox_score_of(d, s, &sc);
    CHECK(ags_calls[2].given == 7 && ags_calls[2].max == 10 && ags_calls[2].ts == sc.graded_at &&
              ags_calls[2].link_id == 1 && ags_calls[2].user_id == uid,
          "it sent the last result (policy last) %g/%g at its graded_at", ags_calls[2].given,
          ags_calls[2].max);
    graded(d, uid, 9);
    lti_outbox_wake();
    ok = wait_for(failed, d, 5000);
    r = rows(d);
    CHECK(ok && ags_count() == 4 && r.last.attempts == 1,
          "a refusal (GIVE_UP) fails the row at once (%d calls)", ags_count());
    lti_outbox_stop();
    CHECK(1, "the threads stop");
}

int main(void)
{
    char dir[] = "/tmp/mgoutbox.XXXXXX", path[256], err[256];
    test_backoff();
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/t.db", dir);
    db *d = db_open(path, err, sizeof err);
    CHECK(d != NULL, "database: %s", d ? "" : err);
    if (!d)
        return 1;
    uint8_t hash[AUTH_HASH_LEN] = {1};
    int64_t uid = 0;
    db_offer o = {.assignment = "mystr"};
    int setup = db_user_add(d, "stu", DB_ROLE_STUDENT, hash, &uid) ||
                db_course_add(d, "c1", "C1") || db_course_enrol(d, "c1", uid, DB_CROLE_STUDENT) ||
                db_offer_put(d, "c1", &o) ||
                exec_sql(d, "INSERT INTO lti_platforms(id, issuer, client_id, auth_url,"
                            " token_url, jwks_url, created_at) VALUES (1, 'https://lms.example', 'cid',"
                            " 'https://lms.example/a', 'https://lms.example/t',"
                            " 'https://lms.example/j', 0);"
                            "INSERT INTO lti_links VALUES (1, 1, 'dep', 'rl', 'c1', 'mystr',"
                            " 'https://lms.example/li/1?x=y');") ||
                exec_sql(d, "INSERT INTO lti_launches SELECT 1, id, 'sub-1', 0 FROM users");
    CHECK(!setup, "a course with a launched student");
    if (!setup) {
        test_db(d, uid);
        test_threads(d, path, uid);
    }
    db_close(d);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (!failures && system(cmd)) {
    }
    printf("test_outbox_units: %d failure(s)\n", failures);
    return failures ? 1 : 0;
}
