/* db_nrps: what a roster sync (Names and Role Provisioning, SPEC §8)
 * reads and writes beyond a launch's own storage (db_lti.c): the LTI
 * contexts of a course with their membership URLs, the user of a sub, and
 * when a context was synced. Low-traffic statements, on either backend,
 * prepared per call. */
#include "db_int.h"

#include <stdio.h>
#include <string.h>

int db_nrps_contexts(db *d, const char *course,
                     void (*fn)(void *ctx, const db_nrps_context *c), void *ctx)
{
    dbs *s = db_prepare(d, "SELECT platform_id, deployment_id, context_id, nrps_url,"
                                    " COALESCE(synced_at, 0) FROM lti_contexts"
                                    " WHERE course_id = ?1 AND nrps_url IS NOT NULL"
                                    " ORDER BY platform_id, deployment_id, context_id");
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    int rc;
    while ((rc = dbs_step(s)) == DBS_ROW) {
        db_nrps_context c = {
            .platform_id = dbs_col_int64(s, 0),
            .deployment_id = (const char *)dbs_col_text(s, 1),
            .context_id = (const char *)dbs_col_text(s, 2),
            .nrps_url = (const char *)dbs_col_text(s, 3),
            .synced_at = dbs_col_int64(s, 4),
        };
        if (c.deployment_id && c.context_id && c.nrps_url)
            fn(ctx, &c);
    }
    if (rc != DBS_DONE)
        db_log_error(d, "listing a course's LTI contexts");
    dbs_finalize(s);
    return rc == DBS_DONE ? DB_OK : DB_ERROR;
}

int db_nrps_user_of(db *d, int64_t platform_id, const char *sub, int64_t *user_id)
{
    dbs *s = db_prepare(d, "SELECT user_id FROM lti_users"
                                    " WHERE platform_id = ?1 AND sub = ?2");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, platform_id);
    dbs_bind_text(s, 2, sub);
    int rc = dbs_step(s);
    if (rc == DBS_ROW)
        *user_id = dbs_col_int64(s, 0);
    else if (rc != DBS_DONE)
        db_log_error(d, "finding the user of an LTI sub");
    dbs_finalize(s);
    return rc == DBS_ROW ? DB_OK : rc == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

int db_nrps_synced(db *d, int64_t platform_id, const char *deployment_id,
                   const char *context_id, int64_t now)
{
    db_write_lock();
    int rc = DB_ERROR;
    dbs *s = db_prepare(d, "UPDATE lti_contexts SET synced_at = ?4"
                                    " WHERE platform_id = ?1 AND deployment_id = ?2"
                                    " AND context_id = ?3");
    if (s) {
        dbs_bind_int64(s, 1, platform_id);
        dbs_bind_text(s, 2, deployment_id);
        dbs_bind_text(s, 3, context_id);
        dbs_bind_int64(s, 4, now);
        int src = dbs_step(s);
        if (src != DBS_DONE)
            db_log_error(d, "recording a roster sync");
        rc = src != DBS_DONE ? DB_ERROR : db_changes(d) ? DB_OK : DB_NOT_FOUND;
        dbs_finalize(s);
    }
    db_write_unlock();
    return rc;
}
