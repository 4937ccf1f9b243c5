/* db_outbox: the durable outbox of grade passbacks and webhook events
 * (SPEC §8). A row is queued in the transaction that
 * stores the result it reports, so a crash between grading and delivery
 * loses nothing. */
#include "db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row per (line item, student) the submitter launched from with the
 * submission's course and assignment: a newer result bumps seq of a row
 * still pending (keeping its backoff: a platform that is down is not
 * hammered by every new result) or requeues a delivered one. */
#define OUTBOX_SCORE_SQL                                                       \
    "INSERT INTO outbox(kind, course_id, link_id, user_id, submission_id,"     \
    " next_at, created_at, updated_at)"                                        \
    " SELECT 'score', s.course, l.id, s.user_id, s.id, ?2, ?2, ?2"             \
    " FROM submissions s JOIN lti_links l ON l.course_id = s.course"           \
    "  AND l.assignment = s.assignment AND l.lineitem_url IS NOT NULL"         \
    " JOIN lti_launches la ON la.link_id = l.id AND la.user_id = s.user_id"    \
    " WHERE s.id = ?1"                                                         \
    " ON CONFLICT(link_id, user_id) WHERE kind = 'score' DO UPDATE SET"        \
    "  seq = outbox.seq + 1, submission_id = excluded.submission_id,"          \
    "  next_at = CASE WHEN outbox.state = 'pending' THEN outbox.next_at"       \
    "   ELSE excluded.next_at END,"                                            \
    "  attempts = CASE WHEN outbox.state = 'pending' THEN outbox.attempts"     \
    "   ELSE 0 END,"                                                           \
    "  state = 'pending', updated_at = excluded.updated_at"

/* ms since the epoch as ISO 8601 UTC with milliseconds, as the API's
 * iso_time writes it (integer arithmetic: no rounding through a REAL). */
#define ISO_MS(x)                                                              \
    "(strftime('%Y-%m-%dT%H:%M:%S', (" x ") / 1000, 'unixepoch')"              \
    " || printf('.%03dZ', (" x ") % 1000))"
/* Points a late result loses, as api.c's late_penalty: never more than
 * it scored. */
#define PENALTY "MIN(r.score, r.max_score * s.late_pct * s.late_days / 100.0)"

/* The same in PostgreSQL's words (its JSON and time functions). */
#define ISO_MS_PG(x)                                                           \
    "(to_char(to_timestamp((" x ") / 1000) AT TIME ZONE 'UTC',"               \
    " 'YYYY-MM-DD\"T\"HH24:MI:SS') || '.' || lpad(((" x ") % 1000)::text, 3, '0')" \
    " || 'Z')"
#define PENALTY_PG                                                             \
    "(CASE WHEN r.score IS NULL OR r.max_score IS NULL THEN NULL"             \
    " ELSE LEAST(r.score, r.max_score * s.late_pct * s.late_days / 100.0) END)"

/* One event per stored result of a course with a webhook. Its payload is
 * the submission as GET /api/v1/submissions/ID shows it to staff (without
 * the result document), with this result's summary, taken now: a delivery
 * that waits for a receiver to come back still describes the result that
 * caused it, not a later regrade. */
#define OUTBOX_WEBHOOK_SQL                                                     \
    "INSERT INTO outbox(kind, course_id, submission_id, user_id, payload,"     \
    " next_at, created_at, updated_at)"                                        \
    " SELECT 'webhook', s.course, s.id, s.user_id, json_object("               \
    "  'id', s.id, 'assignment', s.assignment, 'course', s.course,"            \
    "  'user', u.name, 'status', 'graded',"                                    \
    "  'created_at', " ISO_MS("s.created_at") ","                              \
    "  'url', '/api/v1/submissions/' || s.id,"                                 \
    "  'files', (SELECT json_group_array(name) FROM (SELECT name"              \
    "   FROM submission_files f WHERE f.submission_id = s.id ORDER BY name)),"  \
    "  'assignment_version', r.assignment_version,"                            \
    "  'result_status', r.status, 'score', r.score, 'max_score', r.max_score," \
    "  'late_days', s.late_days, 'late_penalty', " PENALTY ","                 \
    "  'final_score', r.score - " PENALTY ","                                  \
    "  'graded_at', " ISO_MS("r.graded_at") "),"                               \
    " ?2, ?2, ?2"                                                              \
    " FROM submissions s JOIN webhooks w ON w.course_id = s.course"            \
    " JOIN users u ON u.id = s.user_id"                                        \
    " JOIN results r ON r.submission_id = s.id"                                \
    " WHERE s.id = ?1"
#define OUTBOX_WEBHOOK_SQL_PG                                                  \
    "INSERT INTO outbox(kind, course_id, submission_id, user_id, payload,"     \
    " next_at, created_at, updated_at)"                                        \
    " SELECT 'webhook', s.course, s.id, s.user_id, json_build_object("         \
    "  'id', s.id, 'assignment', s.assignment, 'course', s.course,"            \
    "  'user', u.name, 'status', 'graded',"                                    \
    "  'created_at', " ISO_MS_PG("s.created_at") ","                           \
    "  'url', '/api/v1/submissions/' || s.id,"                                 \
    "  'files', COALESCE((SELECT json_agg(name ORDER BY name)"                 \
    "   FROM submission_files f WHERE f.submission_id = s.id), '[]'::json),"   \
    "  'assignment_version', r.assignment_version,"                            \
    "  'result_status', r.status, 'score', r.score, 'max_score', r.max_score," \
    "  'late_days', s.late_days, 'late_penalty', " PENALTY_PG ","              \
    "  'final_score', r.score - " PENALTY_PG ","                               \
    "  'graded_at', " ISO_MS_PG("r.graded_at") ")::text,"                      \
    " ?2, ?2, ?2"                                                              \
    " FROM submissions s JOIN webhooks w ON w.course_id = s.course"            \
    " JOIN users u ON u.id = s.user_id"                                        \
    " JOIN results r ON r.submission_id = s.id"                                \
    " WHERE s.id = ?1"

static int run2(db *d, const char *sql, int64_t a, int64_t b)
{
    dbs *s = db_prepare(d, sql);
    if (!s)
        return -1;
    dbs_bind_int64(s, 1, a);
    dbs_bind_int64(s, 2, b);
    int rc = dbs_step(s);
    if (rc != DBS_DONE)
        db_log_error(d, sql);
    dbs_finalize(s);
    return rc == DBS_DONE ? 0 : -1;
}

int db_outbox_graded_locked(db *d, int64_t sub_id, int64_t now)
{
    if (sub_id <= 0)
        return -1;
    return run2(d, OUTBOX_SCORE_SQL, sub_id, now) ||
                   run2(d, db_backend_is_pg(d) ? OUTBOX_WEBHOOK_SQL_PG : OUTBOX_WEBHOOK_SQL,
                        sub_id, now)
               ? -1 : 0;
}

/* ---- the delivery thread's side (lti_outbox.c) ------------------------------- */

static char *dup_col(dbs *s, int i)
{
    const char *t = dbs_col_text(s, i);
    return t ? strdup((const char *)t) : NULL;
}

void db_outbox_item_clear(db_outbox_item *it)
{
    free(it->payload);
    free(it->url);
    free(it->secret);
    memset(it, 0, sizeof *it);
}

/* Due rows oldest first, with what a delivery needs: the webhook target as
 * it is now (NULL when the course has none any more). */
#define OUTBOX_DUE_SQL                                                         \
    "SELECT o.id, o.kind, o.course_id, o.link_id, o.user_id, o.submission_id," \
    " o.seq, o.attempts, o.payload, w.url, w.secret"                           \
    " FROM outbox o LEFT JOIN webhooks w"                                      \
    "  ON o.kind = 'webhook' AND w.course_id = o.course_id"                    \
    " WHERE o.state = 'pending' AND o.next_at <= ?1 ORDER BY o.id"
#define OUTBOX_NEXT_AT_SQL                                                     \
    "SELECT MIN(next_at) FROM outbox WHERE state = 'pending' AND next_at > ?1"

int db_outbox_next(db *d, int64_t now, int (*busy)(void *ctx, const char *course, int kind),
                   void *ctx, db_outbox_item *out, int64_t *next_at, int *blocked)
{
    memset(out, 0, sizeof *out);
    *next_at = 0;
    *blocked = 0;
    dbs *s = db_prepare(d, OUTBOX_DUE_SQL);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, now);
    int rc = DB_NOT_FOUND, src;
    while ((src = dbs_step(s)) == DBS_ROW) {
        const char *kind = (const char *)dbs_col_text(s, 1);
        const char *course = (const char *)dbs_col_text(s, 2);
        if (!kind || !course)
            break;
        int k = strcmp(kind, "webhook") ? DB_OUTBOX_SCORE : DB_OUTBOX_WEBHOOK;
        if (busy && busy(ctx, course, k)) {
            *blocked = 1;
            continue;
        }
        out->id = dbs_col_int64(s, 0);
        out->kind = k;
        snprintf(out->course, sizeof out->course, "%s", course);
        out->link_id = dbs_col_int64(s, 3);
        out->user_id = dbs_col_int64(s, 4);
        out->submission_id = dbs_col_int64(s, 5);
        out->seq = dbs_col_int64(s, 6);
        out->attempts = dbs_col_int64(s, 7);
        out->payload = dup_col(s, 8);
        out->url = dup_col(s, 9);
        out->secret = dup_col(s, 10);
        if ((dbs_col_type(s, 8) != DBS_NULL && !out->payload) ||
            (dbs_col_type(s, 9) != DBS_NULL && !out->url) ||
            (dbs_col_type(s, 10) != DBS_NULL && !out->secret)) {
            db_outbox_item_clear(out);
            rc = DB_ERROR;
        } else {
            rc = DB_OK;
        }
        break;
    }
    if (src != DBS_ROW && src != DBS_DONE) {
        db_log_error(d, "outbox: due rows");
        rc = DB_ERROR;
    }
    dbs_finalize(s);
    if (rc != DB_NOT_FOUND)
        return rc;
    if (!(s = db_prepare(d, OUTBOX_NEXT_AT_SQL)))
        return DB_ERROR;
    dbs_bind_int64(s, 1, now);
    if (dbs_step(s) == DBS_ROW && dbs_col_type(s, 0) != DBS_NULL)
        *next_at = dbs_col_int64(s, 0);
    dbs_finalize(s);
    return DB_NOT_FOUND;
}

/* The student's score as the course gradebook's `final` counts it
 * (api_courses.c book_one over db_course_grades): late penalties applied,
 * the best result or the last graded one per the offer's policy (best for
 * the default course's implicit offers); and the newest time any of those
 * results was stored, which only grows, so a platform that keeps the
 * newest timestamp keeps the newest score. */
#define OUTBOX_SCORE_OF_SQL                                                    \
    "WITH sub AS (SELECT course, assignment, user_id FROM submissions"         \
    "  WHERE id = ?1),"                                                        \
    " graded AS (SELECT s.id, r.graded_at, r.max_score,"                       \
    "  " DB_MAX0("r.score - r.max_score * s.late_pct * s.late_days / 100.0")  \
    "  AS fin" \
    "  FROM sub JOIN submissions s ON s.course = sub.course"                   \
    "   AND s.assignment = sub.assignment AND s.user_id = sub.user_id"         \
    "  JOIN results r ON r.submission_id = s.id WHERE r.score IS NOT NULL)"    \
    " SELECT COALESCE((SELECT policy FROM course_assignments c, sub"           \
    "   WHERE c.course_id = sub.course AND c.assignment = sub.assignment),"    \
    "   'best'),"                                                              \
    " (SELECT fin FROM graded ORDER BY fin DESC, id LIMIT 1),"                 \
    " (SELECT fin FROM graded ORDER BY id DESC LIMIT 1),"                      \
    " (SELECT max_score FROM graded ORDER BY id DESC LIMIT 1),"                \
    " (SELECT MAX(graded_at) FROM graded)"

int db_outbox_score_of(db *d, int64_t submission_id, db_outbox_score *out)
{
    memset(out, 0, sizeof *out);
    dbs *s = db_prepare(d, OUTBOX_SCORE_OF_SQL);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, submission_id);
    int rc = DB_ERROR;
    if (dbs_step(s) == DBS_ROW) {
        const char *policy = (const char *)dbs_col_text(s, 0);
        out->policy_last = policy && !strcmp(policy, "last");
        int col = out->policy_last ? 2 : 1;
        out->has = dbs_col_type(s, col) != DBS_NULL;
        out->final = dbs_col_double(s, col);
        out->max = dbs_col_double(s, 3);
        out->graded_at = dbs_col_int64(s, 4);
        rc = out->has ? DB_OK : DB_NOT_FOUND;
    } else {
        db_log_error(d, "outbox: score");
    }
    dbs_finalize(s);
    return rc;
}

/* A delivery as its outcome says, if the row still is what was read (seq):
 * a score superseded meanwhile stays pending so that the newer one goes
 * next, and is never marked delivered with the older value. */
#define OUTBOX_RECORD_SQL                                                      \
    "UPDATE outbox SET state = ?3, attempts = attempts + 1, next_at = ?4,"     \
    " last_status = ?5, last_error = ?6, updated_at = ?7,"                     \
    " delivered_at = CASE WHEN ?3 = 'delivered' THEN ?7 ELSE delivered_at END" \
    " WHERE id = ?1 AND seq = ?2 AND state = 'pending'"
/* Superseded: a success leaves it due now with its attempts cleared (the
 * platform answers); a failure keeps its backoff. */
#define OUTBOX_SUPERSEDED_SQL                                                  \
    "UPDATE outbox SET last_status = ?5, last_error = ?6, updated_at = ?7,"    \
    " attempts = CASE WHEN ?3 = 'delivered' THEN 0 ELSE attempts + 1 END,"     \
    " next_at = CASE WHEN ?3 = 'delivered' THEN next_at ELSE ?4 END"           \
    " WHERE id = ?1 AND state = 'pending'"

static int record_locked(db *d, const char *sql, int64_t id, int64_t seq, const char *state,
                         int64_t next_at, long status, const char *err, int64_t now)
{
    dbs *s = db_prepare(d, sql);
    if (!s)
        return -1;
    dbs_bind_int64(s, 1, id);
    dbs_bind_int64(s, 2, seq);
    dbs_bind_text(s, 3, state);
    dbs_bind_int64(s, 4, next_at);
    if (status > 0)
        dbs_bind_int64(s, 5, status);
    if (err && *err)
        dbs_bind_text(s, 6, err);
    dbs_bind_int64(s, 7, now);
    int rc = dbs_step(s) == DBS_DONE ? db_changes(d) : -1;
    if (rc < 0)
        db_log_error(d, "outbox: record");
    dbs_finalize(s);
    return rc;
}

int db_outbox_record(db *d, int64_t id, int64_t seq, db_outbox_state state, int64_t next_at,
                     long status, const char *err, int64_t now, int *superseded)
{
    static const char *const names[] = {"pending", "delivered", "failed"};
    const char *st = names[state];
    *superseded = 0;
    db_write_lock();
    int n = record_locked(d, OUTBOX_RECORD_SQL, id, seq, st, next_at, status, err, now);
    if (n == 0) {
        n = record_locked(d, OUTBOX_SUPERSEDED_SQL, id, seq, st, next_at, status, err, now);
        *superseded = n > 0;
    }
    db_write_unlock();
    return n < 0 ? DB_ERROR : n == 0 ? DB_NOT_FOUND : DB_OK;
}

/* ---- what staff see and do (api_webhooks.c, /metrics) ------------------------ */

#define OUTBOX_EACH_SQL                                                        \
    "SELECT o.id, o.kind, o.state, o.attempts, o.next_at, o.last_status,"      \
    " o.last_error, o.created_at, o.updated_at, o.delivered_at,"               \
    " o.submission_id, u.name, l.lineitem_url"                                 \
    " FROM outbox o LEFT JOIN users u ON u.id = o.user_id"                     \
    " LEFT JOIN lti_links l ON l.id = o.link_id"                               \
    " WHERE o.course_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR o.kind = ?2)"    \
    "  AND (CAST(?3 AS TEXT) IS NULL OR o.state = ?3) AND (?5 = 0 OR o.id < ?5)" \
    " ORDER BY o.id DESC LIMIT ?4"

int db_outbox_each(db *d, const char *course, const char *kind, const char *state, int limit,
                   int64_t before, void (*fn)(void *ctx, const db_delivery *dl), void *ctx)
{
    dbs *s = db_prepare(d, OUTBOX_EACH_SQL);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    if (kind)
        dbs_bind_text(s, 2, kind);
    if (state)
        dbs_bind_text(s, 3, state);
    dbs_bind_int64(s, 4, limit);
    dbs_bind_int64(s, 5, before);
    int src;
    while ((src = dbs_step(s)) == DBS_ROW) {
        db_delivery dl = {
            .id = dbs_col_int64(s, 0),
            .kind = (const char *)dbs_col_text(s, 1),
            .state = (const char *)dbs_col_text(s, 2),
            .attempts = dbs_col_int64(s, 3),
            .next_at = dbs_col_int64(s, 4),
            .has_status = dbs_col_type(s, 5) != DBS_NULL,
            .last_status = (long)dbs_col_int64(s, 5),
            .last_error = (const char *)dbs_col_text(s, 6),
            .created_at = dbs_col_int64(s, 7),
            .updated_at = dbs_col_int64(s, 8),
            .delivered_at = dbs_col_int64(s, 9),
            .submission_id = dbs_col_int64(s, 10),
            .user = (const char *)dbs_col_text(s, 11),
            .line_item = (const char *)dbs_col_text(s, 12),
        };
        if (!dl.kind || !dl.state)
            break; /* out of memory: the next step says so */
        fn(ctx, &dl);
    }
    if (src != DBS_DONE)
        db_log_error(d, "outbox: list");
    dbs_finalize(s);
    return src == DBS_DONE ? DB_OK : DB_ERROR;
}

/* A failed row goes again now, from its first attempt; a pending one is
 * only brought forward. */
#define OUTBOX_RETRY_SQL                                                       \
    "UPDATE outbox SET state = 'pending', next_at = ?3, updated_at = ?3,"      \
    " attempts = CASE WHEN state = 'failed' THEN 0 ELSE attempts END"          \
    " WHERE id = ?1 AND course_id = ?2 AND state != 'delivered'"
#define OUTBOX_STATE_SQL "SELECT state FROM outbox WHERE id = ?1 AND course_id = ?2"

int db_outbox_retry(db *d, const char *course, int64_t id, int64_t now)
{
    int rc = DB_ERROR;
    db_write_lock();
    dbs *s = db_prepare(d, OUTBOX_RETRY_SQL);
    if (s) {
        dbs_bind_int64(s, 1, id);
        dbs_bind_text(s, 2, course);
        dbs_bind_int64(s, 3, now);
        if (dbs_step(s) == DBS_DONE)
            rc = db_changes(d) ? DB_OK : DB_NOT_FOUND;
        else
            db_log_error(d, "outbox: retry");
        dbs_finalize(s);
    }
    db_write_unlock();
    if (rc != DB_NOT_FOUND || !(s = db_prepare(d, OUTBOX_STATE_SQL)))
        return rc;
    dbs_bind_int64(s, 1, id);
    dbs_bind_text(s, 2, course);
    if (dbs_step(s) == DBS_ROW)
        rc = DB_EXISTS; /* delivered already */
    dbs_finalize(s);
    return rc;
}

int db_outbox_counts(db *d, void (*fn)(void *ctx, const char *kind, const char *state,
                                       int64_t n),
                     void *ctx)
{
    dbs *s = db_prepare(d, "SELECT kind, state, COUNT(*) FROM outbox"
                                    " GROUP BY kind, state ORDER BY kind, state");
    if (!s)
        return DB_ERROR;
    int src;
    while ((src = dbs_step(s)) == DBS_ROW) {
        const char *k = (const char *)dbs_col_text(s, 0);
        const char *st = (const char *)dbs_col_text(s, 1);
        if (k && st)
            fn(ctx, k, st, dbs_col_int64(s, 2));
    }
    dbs_finalize(s);
    return src == DBS_DONE ? DB_OK : DB_ERROR;
}

/* ---- webhook targets ------------------------------------------------------------ */

int db_webhook_put(db *d, const char *course, const char *url, const char *secret, int64_t now)
{
    int rc = DB_ERROR;
    db_write_lock();
    dbs *s = db_prepare(d, "INSERT INTO webhooks(course_id, url, secret, updated_at)"
                                    " SELECT id, ?2, ?3, ?4 FROM courses WHERE id = ?1"
                                    " ON CONFLICT(course_id) DO UPDATE SET url = excluded.url,"
                                    " secret = excluded.secret, updated_at = excluded.updated_at");
    if (s) {
        dbs_bind_text(s, 1, course);
        dbs_bind_text(s, 2, url);
        dbs_bind_text(s, 3, secret);
        dbs_bind_int64(s, 4, now);
        if (dbs_step(s) == DBS_DONE)
            rc = db_changes(d) ? DB_OK : DB_NOT_FOUND;
        else
            db_log_error(d, "webhook: put");
        dbs_finalize(s);
    }
    db_write_unlock();
    return rc;
}

int db_webhook_get(db *d, const char *course, char *url, size_t urlcap, int64_t *updated_at)
{
    dbs *s = db_prepare(d, "SELECT url, updated_at FROM webhooks WHERE course_id = ?1");
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    int src = dbs_step(s), rc = DB_ERROR;
    if (src == DBS_ROW) {
        const char *u = (const char *)dbs_col_text(s, 0);
        snprintf(url, urlcap, "%s", u ? u : "");
        *updated_at = dbs_col_int64(s, 1);
        rc = DB_OK;
    } else if (src == DBS_DONE) {
        rc = DB_NOT_FOUND;
    }
    dbs_finalize(s);
    return rc;
}

int db_webhook_delete(db *d, const char *course)
{
    int rc = DB_ERROR;
    db_write_lock();
    dbs *s = db_prepare(d, "DELETE FROM webhooks WHERE course_id = ?1");
    if (s) {
        dbs_bind_text(s, 1, course);
        if (dbs_step(s) == DBS_DONE)
            rc = db_changes(d) ? DB_OK : DB_NOT_FOUND;
        dbs_finalize(s);
    }
    db_write_unlock();
    return rc;
}
