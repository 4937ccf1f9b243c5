/* db_outbox: the durable outbox of grade passbacks and webhook events
 * (SPEC §8), SQLite backend. A row is queued in the transaction that
 * stores the result it reports, so a crash between grading and delivery
 * loses nothing. */
#include "db_int.h"

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
    "  seq = seq + 1, submission_id = excluded.submission_id,"                 \
    "  next_at = CASE WHEN state = 'pending' THEN next_at"                     \
    "   ELSE excluded.next_at END,"                                            \
    "  attempts = CASE WHEN state = 'pending' THEN attempts ELSE 0 END,"       \
    "  state = 'pending', updated_at = excluded.updated_at"

/* One event per stored result of a course with a webhook. */
#define OUTBOX_WEBHOOK_SQL                                                     \
    "INSERT INTO outbox(kind, course_id, submission_id, next_at, created_at,"  \
    " updated_at)"                                                             \
    " SELECT 'webhook', s.course, s.id, ?2, ?2, ?2"                            \
    " FROM submissions s JOIN webhooks w ON w.course_id = s.course"            \
    " WHERE s.id = ?1"

static int run2(db *d, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *s = db_prepare(d, sql);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        db_log_error(d, sql);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int db_outbox_graded_locked(db *d, int64_t sub_id, int64_t now)
{
    if (sub_id <= 0)
        return -1;
    return run2(d, OUTBOX_SCORE_SQL, sub_id, now) || run2(d, OUTBOX_WEBHOOK_SQL, sub_id, now)
               ? -1 : 0;
}
