/* db_lease: what processes sharing one database need of it (SPEC §9): the
 * leases that fence grading between them, the table in which grading
 * processes report themselves, and the rate limit's count. A claim
 * (db.c: claim) sets a job's lease_until; its holder renews it every third
 * of the lease; a job whose lease ran out goes back to the queue (any
 * process may do that), and db_job_finish stores a result only while the
 * claim is its finisher's, so each job's result is stored once. */
#include <stdio.h>
#include <string.h>

#include "db_int.h"

static int64_t lease_ms = 30000;

void db_set_lease_ms(int64_t ms)
{
    if (ms > 0)
        lease_ms = ms;
}

int64_t db_lease_ms(void) { return lease_ms; }

/* An UPDATE of both tables of claims: SET and WHERE after the name. */
#define CLAIMS(rest) {"UPDATE jobs " rest, "UPDATE regrade_items " rest}

/* Runs sql[0] (jobs) and sql[1] (regrade items) with ?1 the text given,
 * or num when text is NULL; *count receives the rows changed in all. One
 * transaction, under the process's write lock; the jobs put back are
 * announced to the processes waiting for work. */
static int each_queue(db *d, const char *const sql[2], const char *text, int64_t num,
                      int64_t *count)
{
    int rc = DB_ERROR;
    *count = 0;
    db_write_lock();
    if (db_tx_begin(d))
        goto out;
    for (int i = 0; i < 2; i++) {
        dbs *s = db_prepare(d, sql[i]);
        if (!s)
            goto out;
        if (text)
            dbs_bind_text(s, 1, text);
        else
            dbs_bind_int64(s, 1, num);
        int st = dbs_step(s);
        dbs_finalize(s);
        if (st != DBS_DONE)
            goto out;
        *count += db_changes(d);
    }
    if (*count && db_notify_jobs(d))
        goto out;
    if (db_tx_commit(d))
        goto out;
    rc = DB_OK;
out:
    if (rc != DB_OK) {
        db_tx_rollback(d);
        db_log_error(d, "putting jobs back in the queue");
    }
    db_write_unlock();
    return rc;
}

int db_job_renew(db *d, const char *owner, int64_t *held)
{
    /* No notification: nothing became claimable. */
    static const char *const sql[2] =
        CLAIMS("SET lease_until = ?2 WHERE claimed_by = ?1 AND state = 'running'");
    int rc = DB_OK;
    *held = 0;
    db_write_lock();
    for (int i = 0; rc == DB_OK && i < 2; i++) {
        dbs *s = db_prepare(d, sql[i]);
        if (!s) {
            rc = DB_ERROR;
            break;
        }
        dbs_bind_text(s, 1, owner);
        dbs_bind_int64(s, 2, db_now_ms() + lease_ms);
        if (dbs_step(s) != DBS_DONE)
            rc = DB_ERROR;
        else
            *held += db_changes(d);
        dbs_finalize(s);
    }
    db_write_unlock();
    if (rc != DB_OK)
        db_log_error(d, "renewing job leases");
    return rc;
}

int db_job_requeue_expired(db *d, int64_t *count)
{
    /* A row claimed before leases existed has none: expired. On
     * PostgreSQL a row another process has locked is skipped: a process
     * frozen in the middle of storing that job's result must not stall
     * every other process's lease thread behind its lock (the server ends
     * such a transaction after a minute: db_pg.c). */
    static const char *const sql[2] =
        CLAIMS("SET state = 'queued', claimed_by = NULL, lease_until = NULL"
               " WHERE state = 'running' AND COALESCE(lease_until, 0) < ?1");
    static const char *const sql_pg[2] = {
        "UPDATE jobs SET state = 'queued', claimed_by = NULL, lease_until = NULL"
        " WHERE id IN (SELECT id FROM jobs WHERE state = 'running'"
        " AND COALESCE(lease_until, 0) < ?1 FOR UPDATE SKIP LOCKED)",
        "UPDATE regrade_items SET state = 'queued', claimed_by = NULL, lease_until = NULL"
        " WHERE id IN (SELECT id FROM regrade_items WHERE state = 'running'"
        " AND COALESCE(lease_until, 0) < ?1 FOR UPDATE SKIP LOCKED)"};
    return each_queue(d, db_backend_is_pg(d) ? sql_pg : sql, NULL, db_now_ms(), count);
}

int db_job_release(db *d, const char *owner, int64_t *count)
{
    static const char *const sql[2] =
        CLAIMS("SET state = 'queued', claimed_by = NULL, lease_until = NULL"
               " WHERE state = 'running' AND claimed_by = ?1");
    return each_queue(d, sql, owner, 0, count);
}

int db_wait_jobs(db *d, int timeout_ms)
{
    return db_wait_notify(d, "memgrade_jobs", timeout_ms);
}

/* ---- what several API processes share -------------------------------------------- */

int db_user_recent_submissions(db *d, int64_t user_id, int64_t since_ms, int64_t *count,
                               int64_t *oldest)
{
    dbs *s = db_prepare(d, "SELECT COUNT(*), MIN(created_at) FROM submissions"
                           " WHERE user_id = ?1 AND created_at >= ?2");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, user_id);
    dbs_bind_int64(s, 2, since_ms);
    int st = dbs_step(s);
    if (st == DBS_ROW) {
        *count = dbs_col_int64(s, 0);
        *oldest = dbs_col_type(s, 1) == DBS_NULL ? since_ms : dbs_col_int64(s, 1);
    }
    dbs_finalize(s);
    return st == DBS_ROW ? DB_OK : DB_ERROR;
}

/* ---- grading processes -------------------------------------------------------- */

#define WORKER_COLS "name, role, host, pid, threads, running, done, started_at, last_seen"

int db_worker_beat(db *d, const db_worker *w)
{
    int64_t now = db_now_ms();
    db_write_lock();
    dbs *s = db_prepare(d, "INSERT INTO workers(" WORKER_COLS ")"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                           " ON CONFLICT(name) DO UPDATE SET threads = excluded.threads,"
                           " running = excluded.running, done = excluded.done,"
                           " last_seen = excluded.last_seen");
    int rc = DB_ERROR;
    if (s) {
        dbs_bind_text(s, 1, w->name);
        dbs_bind_text(s, 2, w->role);
        dbs_bind_text(s, 3, w->host);
        dbs_bind_int64(s, 4, w->pid);
        dbs_bind_int64(s, 5, w->threads);
        dbs_bind_int64(s, 6, w->running);
        dbs_bind_int64(s, 7, w->done);
        dbs_bind_int64(s, 8, w->started_at);
        dbs_bind_int64(s, 9, now);
        rc = dbs_step(s) == DBS_DONE ? DB_OK : DB_ERROR;
        dbs_finalize(s);
    }
    /* Processes gone for a day are forgotten. */
    if (rc == DB_OK && (s = db_prepare(d, "DELETE FROM workers WHERE last_seen < ?1"))) {
        dbs_bind_int64(s, 1, now - 24 * 3600 * 1000LL);
        dbs_step(s);
        dbs_finalize(s);
    }
    db_write_unlock();
    if (rc != DB_OK)
        db_log_error(d, "recording this process in the workers table");
    return rc;
}

int db_workers_each(db *d, int64_t max_age_ms, void (*fn)(void *ctx, const db_worker *w),
                    void *ctx)
{
    dbs *s = db_prepare(d, "SELECT " WORKER_COLS " FROM workers WHERE last_seen >= ?1"
                           " ORDER BY last_seen DESC, name");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, db_now_ms() - max_age_ms);
    int st;
    while ((st = dbs_step(s)) == DBS_ROW) {
        db_worker w = {0};
        const char *t;
        if ((t = dbs_col_text(s, 0)))
            snprintf(w.name, sizeof w.name, "%s", t);
        if ((t = dbs_col_text(s, 1)))
            snprintf(w.role, sizeof w.role, "%s", t);
        if ((t = dbs_col_text(s, 2)))
            snprintf(w.host, sizeof w.host, "%s", t);
        w.pid = (int)dbs_col_int64(s, 3);
        w.threads = (int)dbs_col_int64(s, 4);
        w.running = dbs_col_int64(s, 5);
        w.done = dbs_col_int64(s, 6);
        w.started_at = dbs_col_int64(s, 7);
        w.last_seen = dbs_col_int64(s, 8);
        fn(ctx, &w);
    }
    dbs_finalize(s);
    return st == DBS_DONE ? DB_OK : DB_ERROR;
}
