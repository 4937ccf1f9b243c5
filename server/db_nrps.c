/* db_nrps: what a roster sync (Names and Role Provisioning, SPEC §8)
 * reads and writes beyond a launch's own storage (db_lti.c): the LTI
 * contexts of a course with their membership URLs, the user of a sub, and
 * when a context was synced. SQLite backend; low-traffic statements
 * prepared per call. */
#include "db_int.h"

#include <stdio.h>
#include <string.h>

int db_nrps_contexts(db *d, const char *course,
                     void (*fn)(void *ctx, const db_nrps_context *c), void *ctx)
{
    sqlite3_stmt *s = db_prepare(d, "SELECT platform_id, deployment_id, context_id, nrps_url,"
                                    " COALESCE(synced_at, 0) FROM lti_contexts"
                                    " WHERE course_id = ?1 AND nrps_url IS NOT NULL"
                                    " ORDER BY platform_id, deployment_id, context_id");
    if (!s)
        return DB_ERROR;
    sqlite3_bind_text(s, 1, course, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        db_nrps_context c = {
            .platform_id = sqlite3_column_int64(s, 0),
            .deployment_id = (const char *)sqlite3_column_text(s, 1),
            .context_id = (const char *)sqlite3_column_text(s, 2),
            .nrps_url = (const char *)sqlite3_column_text(s, 3),
            .synced_at = sqlite3_column_int64(s, 4),
        };
        if (c.deployment_id && c.context_id && c.nrps_url)
            fn(ctx, &c);
    }
    if (rc != SQLITE_DONE)
        db_log_error(d, "listing a course's LTI contexts");
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? DB_OK : DB_ERROR;
}

int db_nrps_user_of(db *d, int64_t platform_id, const char *sub, int64_t *user_id)
{
    sqlite3_stmt *s = db_prepare(d, "SELECT user_id FROM lti_users"
                                    " WHERE platform_id = ?1 AND sub = ?2");
    if (!s)
        return DB_ERROR;
    sqlite3_bind_int64(s, 1, platform_id);
    sqlite3_bind_text(s, 2, sub, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *user_id = sqlite3_column_int64(s, 0);
    else if (rc != SQLITE_DONE)
        db_log_error(d, "finding the user of an LTI sub");
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? DB_OK : rc == SQLITE_DONE ? DB_NOT_FOUND : DB_ERROR;
}

int db_nrps_synced(db *d, int64_t platform_id, const char *deployment_id,
                   const char *context_id, int64_t now)
{
    db_write_lock();
    int rc = DB_ERROR;
    sqlite3_stmt *s = db_prepare(d, "UPDATE lti_contexts SET synced_at = ?4"
                                    " WHERE platform_id = ?1 AND deployment_id = ?2"
                                    " AND context_id = ?3");
    if (s) {
        sqlite3_bind_int64(s, 1, platform_id);
        sqlite3_bind_text(s, 2, deployment_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, context_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, now);
        int src = sqlite3_step(s);
        if (src != SQLITE_DONE)
            db_log_error(d, "recording a roster sync");
        rc = src != SQLITE_DONE ? DB_ERROR : sqlite3_changes(db_sqlite(d)) ? DB_OK : DB_NOT_FOUND;
        sqlite3_finalize(s);
    }
    db_write_unlock();
    return rc;
}
