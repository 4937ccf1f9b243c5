/* db_lti: storage of LTI 1.3 (SPEC §8), on either backend: registered
 * platforms and deployments, the platforms' cached keys, the tool's keys,
 * login states and used nonces, and what launches mapped. Low-traffic
 * statements, prepared per call (db_prepare). */
#include "db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------------ */

static void copy_col(dbs *s, int i, char *out, size_t cap)
{
    const char *t = dbs_col_text(s, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static void bind_text(dbs *s, int i, const char *v)
{
    if (v)
        dbs_bind_text(s, i, v);
    else
        dbs_bind_null(s, i);
}

/* Runs s to completion (no rows wanted), finalizes it: 0, DB_EXISTS on a
 * constraint, -1 otherwise. */
static int run(db *d, dbs *s)
{
    if (!s)
        return DB_ERROR;
    int rc = dbs_step(s);
    int out = rc == DBS_DONE ? DB_OK : rc == DBS_CONSTRAINT ? DB_EXISTS : DB_ERROR;
    if (out == DB_ERROR)
        db_log_error(d, "running a statement");
    dbs_finalize(s);
    return out;
}

/* Runs an INSERT ... ON CONFLICT DO NOTHING RETURNING id and finalizes it:
 * DB_OK with *id (when not NULL) set to the new row's first column,
 * DB_EXISTS when a row with the same key was there (a conflict that does
 * not abort the transaction, so the caller may try another key). */
static int insert_new(db *d, dbs *s, int64_t *id)
{
    if (!s)
        return DB_ERROR;
    int rc = dbs_step(s), out = DB_ERROR;
    if (rc == DBS_ROW) {
        if (id)
            *id = dbs_col_int64(s, 0);
        while ((rc = dbs_step(s)) == DBS_ROW)
            ;
        out = rc == DBS_DONE ? DB_OK : DB_ERROR;
    } else if (rc == DBS_DONE) {
        out = DB_EXISTS;
    }
    if (out == DB_ERROR)
        db_log_error(d, "inserting a row");
    dbs_finalize(s);
    return out;
}

#define PLATFORM_COLS                                                          \
    "id, issuer, client_id, auth_url, token_url, jwks_url, created_at, service_url"

static void platform_from_row(dbs *s, db_lti_platform *p)
{
    memset(p, 0, sizeof *p);
    p->id = dbs_col_int64(s, 0);
    copy_col(s, 1, p->issuer, sizeof p->issuer);
    copy_col(s, 2, p->client_id, sizeof p->client_id);
    copy_col(s, 3, p->auth_url, sizeof p->auth_url);
    copy_col(s, 4, p->token_url, sizeof p->token_url);
    copy_col(s, 5, p->jwks_url, sizeof p->jwks_url);
    p->created_at = dbs_col_int64(s, 6);
    copy_col(s, 7, p->service_url, sizeof p->service_url);
}

/* ---- platforms and deployments -------------------------------------------------- */

static int platform_add_locked(db *d, const db_lti_platform *p, const char *dep, int64_t *id,
                               int *created)
{
    int rc = DB_ERROR;
    *created = 0;
    if (db_tx_begin(d))
        return DB_ERROR;
    dbs *s = db_prepare(d, "SELECT id FROM lti_platforms WHERE issuer = ?1"
                                    " AND client_id = ?2");
    if (!s)
        goto out;
    bind_text(s, 1, p->issuer);
    bind_text(s, 2, p->client_id);
    int src = dbs_step(s);
    int64_t pid = src == DBS_ROW ? dbs_col_int64(s, 0) : 0;
    dbs_finalize(s);
    if (src != DBS_ROW && src != DBS_DONE)
        goto out;
    if (!pid) {
        s = db_prepare(d, "INSERT INTO lti_platforms(issuer, client_id, auth_url, token_url,"
                          " jwks_url, created_at, service_url)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULLIF(?7, '')) RETURNING id");
        if (!s)
            goto out;
        bind_text(s, 1, p->issuer);
        bind_text(s, 2, p->client_id);
        bind_text(s, 3, p->auth_url);
        bind_text(s, 4, p->token_url);
        bind_text(s, 5, p->jwks_url);
        dbs_bind_int64(s, 6, db_now_ms());
        bind_text(s, 7, p->service_url);
        if (insert_new(d, s, &pid))
            goto out;
        *created = 1;
    }
    s = db_prepare(d, "INSERT INTO lti_deployments(platform_id, deployment_id) VALUES (?1, ?2)");
    if (!s)
        goto out;
    dbs_bind_int64(s, 1, pid);
    bind_text(s, 2, dep);
    rc = run(d, s);
    if (rc == DB_OK)
        rc = db_tx_commit(d) ? DB_ERROR : DB_OK;
    *id = pid;
out:
    if (rc != DB_OK)
        db_tx_rollback(d);
    return rc;
}

int db_lti_platform_add(db *d, const db_lti_platform *p, const char *dep, int64_t *id,
                        int *created)
{
    db_write_lock();
    int rc = platform_add_locked(d, p, dep, id, created);
    db_write_unlock();
    return rc;
}

int db_lti_platform_get(db *d, int64_t id, db_lti_platform *out)
{
    dbs *s = db_prepare(d, "SELECT " PLATFORM_COLS " FROM lti_platforms WHERE id = ?1");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, id);
    int src = dbs_step(s);
    if (src == DBS_ROW)
        platform_from_row(s, out);
    dbs_finalize(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

int db_lti_platform_find(db *d, const char *issuer, const char *client_id,
                         db_lti_platform *out, int *count)
{
    dbs *s = db_prepare(d, "SELECT " PLATFORM_COLS " FROM lti_platforms"
                                    " WHERE issuer = ?1"
                                    " AND (CAST(?2 AS TEXT) IS NULL OR client_id = ?2)"
                                    " ORDER BY id LIMIT 2");
    if (!s)
        return DB_ERROR;
    bind_text(s, 1, issuer);
    bind_text(s, 2, client_id);
    int n = 0, src;
    while ((src = dbs_step(s)) == DBS_ROW) {
        if (n++ == 0)
            platform_from_row(s, out);
    }
    dbs_finalize(s);
    if (src != DBS_DONE)
        return DB_ERROR;
    if (count)
        *count = n;
    if (n > 1)
        memset(out, 0, sizeof *out);
    return n ? DB_OK : DB_NOT_FOUND;
}

int db_lti_platform_each(db *d, void (*fn)(void *ctx, const db_lti_platform *p), void *ctx)
{
    dbs *s = db_prepare(d, "SELECT " PLATFORM_COLS " FROM lti_platforms ORDER BY id");
    if (!s)
        return DB_ERROR;
    int src;
    db_lti_platform p;
    while ((src = dbs_step(s)) == DBS_ROW) {
        platform_from_row(s, &p);
        fn(ctx, &p);
    }
    dbs_finalize(s);
    return src == DBS_DONE ? DB_OK : DB_ERROR;
}

/* The columns `lti set` may change, spelled as SQL; a table, so a field
 * name never reaches the SQL text. */
static const struct {
    const char *field, *sql;
} platform_fields[] = {
    {"issuer", "UPDATE lti_platforms SET issuer = ?2 WHERE id = ?1"},
    {"client_id", "UPDATE lti_platforms SET client_id = ?2 WHERE id = ?1"},
    {"auth_url", "UPDATE lti_platforms SET auth_url = ?2 WHERE id = ?1"},
    {"token_url", "UPDATE lti_platforms SET token_url = ?2 WHERE id = ?1"},
    {"jwks_url", "UPDATE lti_platforms SET jwks_url = ?2 WHERE id = ?1"},
    {"service_url", "UPDATE lti_platforms SET service_url = NULLIF(?2, '') WHERE id = ?1"},
};

static int platform_set_locked(db *d, int64_t id, const char *sql, const char *value,
                               int drop_keys)
{
    int rc = DB_ERROR;
    if (db_tx_begin(d))
        return DB_ERROR;
    dbs *s = db_prepare(d, sql);
    if (!s)
        goto out;
    dbs_bind_int64(s, 1, id);
    bind_text(s, 2, value);
    if ((rc = run(d, s)) != DB_OK)
        goto out;
    if (!db_changes(d)) {
        rc = DB_NOT_FOUND;
        goto out;
    }
    /* keys fetched from the old address are not the new one's */
    if (drop_keys) {
        s = db_prepare(d, "DELETE FROM lti_platform_keys WHERE platform_id = ?1");
        if (!s) {
            rc = DB_ERROR;
            goto out;
        }
        dbs_bind_int64(s, 1, id);
        if ((rc = run(d, s)) != DB_OK)
            goto out;
    }
    rc = db_tx_commit(d) ? DB_ERROR : DB_OK;
out:
    if (rc != DB_OK)
        db_tx_rollback(d);
    return rc;
}

int db_lti_platform_set(db *d, int64_t id, const char *field, const char *value)
{
    for (size_t i = 0; i < sizeof platform_fields / sizeof platform_fields[0]; i++) {
        if (strcmp(field, platform_fields[i].field))
            continue;
        db_write_lock();
        int rc = platform_set_locked(d, id, platform_fields[i].sql, value,
                                     !strcmp(field, "jwks_url"));
        db_write_unlock();
        return rc;
    }
    return DB_ERROR;
}

/* Deleting a platform: its launches' links cascade (schema 8), and so do
 * passbacks queued for them. The outbox rows of its links go with them;
 * the courses it made stay, as do their users and submissions. */
static int platform_remove_locked(db *d, int64_t id)
{
    dbs *s = db_prepare(d, "DELETE FROM lti_platforms WHERE id = ?1");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, id);
    int rc = run(d, s);
    if (rc == DB_OK && !db_changes(d))
        rc = DB_NOT_FOUND;
    return rc;
}

int db_lti_platform_remove(db *d, int64_t id)
{
    db_write_lock();
    int rc = platform_remove_locked(d, id);
    db_write_unlock();
    return rc;
}

int db_lti_deployment_has(db *d, int64_t platform_id, const char *dep)
{
    dbs *s = db_prepare(d, "SELECT 1 FROM lti_deployments WHERE platform_id = ?1"
                                    " AND deployment_id = ?2");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, platform_id);
    bind_text(s, 2, dep);
    int src = dbs_step(s);
    dbs_finalize(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

int db_lti_deployment_each(db *d, int64_t platform_id,
                           void (*fn)(void *ctx, const char *dep), void *ctx)
{
    dbs *s = db_prepare(d, "SELECT deployment_id FROM lti_deployments"
                                    " WHERE platform_id = ?1 ORDER BY deployment_id");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, platform_id);
    int src;
    while ((src = dbs_step(s)) == DBS_ROW)
        fn(ctx, (const char *)dbs_col_text(s, 0));
    dbs_finalize(s);
    return src == DBS_DONE ? DB_OK : DB_ERROR;
}

/* Runs sql (?1 an id, ?2 a text) under the write lock; DB_NOT_FOUND when
 * it changed no row. */
static int change_one(db *d, const char *sql, int64_t id, const char *text)
{
    db_write_lock();
    dbs *s = db_prepare(d, sql);
    int rc = DB_ERROR;
    if (s) {
        dbs_bind_int64(s, 1, id);
        bind_text(s, 2, text);
        rc = run(d, s);
        if (rc == DB_OK && !db_changes(d))
            rc = DB_NOT_FOUND;
    }
    db_write_unlock();
    return rc;
}

int db_lti_deployment_remove(db *d, int64_t platform_id, const char *dep)
{
    return change_one(d, "DELETE FROM lti_deployments WHERE platform_id = ?1"
                         " AND deployment_id = ?2", platform_id, dep);
}

/* ---- platform keys ---------------------------------------------------------------- */

int db_lti_pkey_get(db *d, int64_t platform_id, const char *kid, char **jwk,
                    int64_t *fetched_at)
{
    dbs *s = db_prepare(d, "SELECT jwk, fetched_at FROM lti_platform_keys"
                                    " WHERE platform_id = ?1 AND kid = ?2");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, platform_id);
    bind_text(s, 2, kid);
    int src = dbs_step(s), rc;
    if (src == DBS_ROW) {
        *jwk = strdup((const char *)dbs_col_text(s, 0));
        if (fetched_at)
            *fetched_at = dbs_col_int64(s, 1);
        rc = *jwk ? DB_OK : DB_ERROR;
    } else {
        rc = src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
    }
    dbs_finalize(s);
    return rc;
}

static int pkeys_replace_locked(db *d, int64_t platform_id, const char *const *kids,
                                const char *const *jwks, size_t n, int64_t now)
{
    int rc = DB_ERROR;
    if (db_tx_begin(d))
        return DB_ERROR;
    dbs *s = db_prepare(d, "DELETE FROM lti_platform_keys WHERE platform_id = ?1");
    if (!s)
        goto out;
    dbs_bind_int64(s, 1, platform_id);
    if (run(d, s))
        goto out;
    for (size_t i = 0; i < n; i++) {
        /* a platform that lists a kid twice: the first one counts */
        s = db_prepare(d, "INSERT INTO lti_platform_keys(platform_id, kid, jwk,"
                          " fetched_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING");
        if (!s)
            goto out;
        dbs_bind_int64(s, 1, platform_id);
        bind_text(s, 2, kids[i]);
        bind_text(s, 3, jwks[i]);
        dbs_bind_int64(s, 4, now);
        if (run(d, s))
            goto out;
    }
    rc = db_tx_commit(d) ? DB_ERROR : DB_OK;
out:
    if (rc != DB_OK)
        db_tx_rollback(d);
    return rc;
}

int db_lti_pkeys_replace(db *d, int64_t platform_id, const char *const *kids,
                         const char *const *jwks, size_t n, int64_t now)
{
    db_write_lock();
    int rc = pkeys_replace_locked(d, platform_id, kids, jwks, n, now);
    db_write_unlock();
    return rc;
}

/* ---- the tool's keys -------------------------------------------------------------- */

static int tool_key_add_locked(db *d, const char *kid, const char *pem, const char *jwk,
                               int64_t now, int64_t grace_end)
{
    int rc = DB_ERROR;
    if (db_tx_begin(d))
        return DB_ERROR;
    dbs *s;
    if (grace_end > 0) {
        s = db_prepare(d, "DELETE FROM lti_tool_keys WHERE retired_at IS NOT NULL"
                          " AND retired_at <= ?1");
        if (!s)
            goto out;
        dbs_bind_int64(s, 1, now);
        if (run(d, s))
            goto out;
        s = db_prepare(d, "UPDATE lti_tool_keys SET retired_at = ?1 WHERE retired_at IS NULL");
        if (!s)
            goto out;
        dbs_bind_int64(s, 1, grace_end);
        if (run(d, s))
            goto out;
    } else {
        s = db_prepare(d, "SELECT 1 FROM lti_tool_keys WHERE retired_at IS NULL");
        if (!s)
            goto out;
        int src = dbs_step(s);
        dbs_finalize(s);
        if (src == DBS_ROW) {
            rc = DB_EXISTS;
            goto out;
        }
        if (src != DBS_DONE)
            goto out;
    }
    s = db_prepare(d, "INSERT INTO lti_tool_keys(kid, private_pem, public_jwk, created_at)"
                      " VALUES (?1, ?2, ?3, ?4)");
    if (!s)
        goto out;
    bind_text(s, 1, kid);
    bind_text(s, 2, pem);
    bind_text(s, 3, jwk);
    dbs_bind_int64(s, 4, now);
    if ((rc = run(d, s)) == DB_OK)
        rc = db_tx_commit(d) ? DB_ERROR : DB_OK;
out:
    if (rc != DB_OK)
        db_tx_rollback(d);
    return rc;
}

int db_lti_tool_key_add(db *d, const char *kid, const char *pem, const char *jwk,
                        int64_t now, int64_t grace_end)
{
    db_write_lock();
    int rc = tool_key_add_locked(d, kid, pem, jwk, now, grace_end);
    db_write_unlock();
    return rc;
}

static int tool_keys(db *d, const char *sql, int64_t now,
                     void (*fn)(void *ctx, const db_lti_tool_key *k), void *ctx)
{
    dbs *s = db_prepare(d, sql);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, now);
    int src, n = 0;
    while ((src = dbs_step(s)) == DBS_ROW) {
        db_lti_tool_key k = {
            .kid = (const char *)dbs_col_text(s, 0),
            .private_pem = (const char *)dbs_col_text(s, 1),
            .public_jwk = (const char *)dbs_col_text(s, 2),
            .created_at = dbs_col_int64(s, 3),
            .retired_at = dbs_col_int64(s, 4),
        };
        fn(ctx, &k);
        n++;
    }
    dbs_finalize(s);
    return src != DBS_DONE ? DB_ERROR : n ? DB_OK : DB_NOT_FOUND;
}

int db_lti_tool_key_current(db *d, void (*fn)(void *ctx, const db_lti_tool_key *k), void *ctx)
{
    return tool_keys(d, "SELECT kid, private_pem, public_jwk, created_at, 0"
                        " FROM lti_tool_keys WHERE retired_at IS NULL AND ?1 = ?1"
                        " ORDER BY created_at DESC LIMIT 1", 0, fn, ctx);
}

int db_lti_tool_key_each(db *d, int64_t now, void (*fn)(void *ctx, const db_lti_tool_key *k),
                         void *ctx)
{
    int rc = tool_keys(d, "SELECT kid, private_pem, public_jwk, created_at,"
                          " COALESCE(retired_at, 0) FROM lti_tool_keys"
                          " WHERE retired_at IS NULL OR retired_at > ?1"
                          " ORDER BY retired_at IS NOT NULL, created_at DESC", now, fn, ctx);
    return rc == DB_NOT_FOUND ? DB_OK : rc;
}

/* ---- login states and nonces ---------------------------------------------------------- */

static int state_add_locked(db *d, const uint8_t hash[32], int64_t platform_id,
                            const char *nonce, const uint8_t browser[32], int64_t expires_at,
                            int64_t now)
{
    dbs *s = db_prepare(d, "DELETE FROM lti_states WHERE expires_at <= ?1");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, now);
    if (run(d, s))
        return DB_ERROR;
    /* logins are unauthenticated: a flood of them must not grow the
     * table without bound while its rows wait to expire */
    s = db_prepare(d, "SELECT COUNT(*) FROM lti_states");
    if (!s)
        return DB_ERROR;
    int src = dbs_step(s);
    int64_t live = src == DBS_ROW ? dbs_col_int64(s, 0) : 0;
    dbs_finalize(s);
    if (src != DBS_ROW)
        return DB_ERROR;
    if (live >= DB_LTI_STATES_MAX)
        return DB_LIMIT;
    s = db_prepare(d, "INSERT INTO lti_states(hash, platform_id, nonce, browser, expires_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!s)
        return DB_ERROR;
    dbs_bind_blob(s, 1, hash, 32);
    dbs_bind_int64(s, 2, platform_id);
    bind_text(s, 3, nonce);
    dbs_bind_blob(s, 4, browser, 32);
    dbs_bind_int64(s, 5, expires_at);
    return run(d, s);
}

int db_lti_state_add(db *d, const uint8_t hash[32], int64_t platform_id, const char *nonce,
                     const uint8_t browser[32], int64_t expires_at, int64_t now)
{
    db_write_lock();
    int rc = state_add_locked(d, hash, platform_id, nonce, browser, expires_at, now);
    db_write_unlock();
    return rc;
}

static int state_take_locked(db *d, const uint8_t hash[32], int64_t *platform_id, char *nonce,
                             size_t cap, uint8_t browser[32], int64_t *expires_at)
{
    dbs *s = db_prepare(d, "DELETE FROM lti_states WHERE hash = ?1"
                                    " RETURNING platform_id, nonce, browser, expires_at");
    if (!s)
        return DB_ERROR;
    dbs_bind_blob(s, 1, hash, 32);
    int src = dbs_step(s), rc = DB_ERROR;
    if (src == DBS_ROW) {
        *platform_id = dbs_col_int64(s, 0);
        copy_col(s, 1, nonce, cap);
        const void *b = dbs_col_blob(s, 2);
        if (b && dbs_col_bytes(s, 2) == 32)
            memcpy(browser, b, 32);
        else
            memset(browser, 0, 32);
        *expires_at = dbs_col_int64(s, 3);
        src = dbs_step(s); /* the DELETE completes at DBS_DONE */
        rc = src == DBS_DONE ? DB_OK : DB_ERROR;
    } else if (src == DBS_DONE) {
        rc = DB_NOT_FOUND;
    }
    if (rc == DB_ERROR)
        db_log_error(d, "taking an LTI login state");
    dbs_finalize(s);
    return rc;
}

int db_lti_state_take(db *d, const uint8_t hash[32], int64_t *platform_id, char *nonce,
                      size_t cap, uint8_t browser[32], int64_t *expires_at)
{
    db_write_lock();
    int rc = state_take_locked(d, hash, platform_id, nonce, cap, browser, expires_at);
    db_write_unlock();
    return rc;
}

static int nonce_use_locked(db *d, int64_t platform_id, const char *nonce, int64_t expires_at,
                            int64_t now)
{
    dbs *s = db_prepare(d, "DELETE FROM lti_nonces WHERE expires_at <= ?1");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, now);
    if (run(d, s))
        return DB_ERROR;
    s = db_prepare(d, "INSERT INTO lti_nonces(platform_id, nonce, expires_at)"
                      " VALUES (?1, ?2, ?3)");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, platform_id);
    bind_text(s, 2, nonce);
    dbs_bind_int64(s, 3, expires_at);
    return run(d, s);
}

int db_lti_nonce_use(db *d, int64_t platform_id, const char *nonce, int64_t expires_at,
                     int64_t now)
{
    db_write_lock();
    int rc = nonce_use_locked(d, platform_id, nonce, expires_at, now);
    db_write_unlock();
    return rc;
}

/* ---- launches ---------------------------------------------------------------------- */

/* The stored course of the context, or a new course (id, else id_alt when
 * taken) with its context row. */
static int launch_course(db *d, const db_lti_launch_in *in, db_lti_launch_out *out)
{
    dbs *s = db_prepare(d, "SELECT course_id FROM lti_contexts WHERE platform_id = ?1"
                                    " AND deployment_id = ?2 AND context_id = ?3");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, in->platform_id);
    bind_text(s, 2, in->deployment_id);
    bind_text(s, 3, in->context_id);
    int src = dbs_step(s);
    if (src == DBS_ROW)
        copy_col(s, 0, out->course_id, sizeof out->course_id);
    dbs_finalize(s);
    if (src != DBS_ROW && src != DBS_DONE)
        return DB_ERROR;
    if (src == DBS_DONE) {
        const char *ids[2] = {in->course_id, in->course_id_alt};
        int rc = DB_EXISTS;
        for (int i = 0; i < 2 && rc == DB_EXISTS && ids[i]; i++) {
            s = db_prepare(d, "INSERT INTO courses(id, title, created_at) VALUES (?1, ?2, ?3)"
                              " ON CONFLICT DO NOTHING RETURNING 1");
            if (!s)
                return DB_ERROR;
            bind_text(s, 1, ids[i]);
            bind_text(s, 2, in->course_title);
            dbs_bind_int64(s, 3, in->now);
            if ((rc = insert_new(d, s, NULL)) == DB_OK)
                snprintf(out->course_id, sizeof out->course_id, "%s", ids[i]);
        }
        if (rc != DB_OK)
            return rc;
        out->new_course = 1;
        s = db_prepare(d, "INSERT INTO lti_contexts(platform_id, deployment_id, context_id,"
                          " course_id) VALUES (?1, ?2, ?3, ?4)");
        if (!s)
            return DB_ERROR;
        dbs_bind_int64(s, 1, in->platform_id);
        bind_text(s, 2, in->deployment_id);
        bind_text(s, 3, in->context_id);
        bind_text(s, 4, out->course_id);
        if (run(d, s))
            return DB_ERROR;
    }
    if (in->nrps_url) {
        s = db_prepare(d, "UPDATE lti_contexts SET nrps_url = ?4 WHERE platform_id = ?1"
                          " AND deployment_id = ?2 AND context_id = ?3");
        if (!s)
            return DB_ERROR;
        dbs_bind_int64(s, 1, in->platform_id);
        bind_text(s, 2, in->deployment_id);
        bind_text(s, 3, in->context_id);
        bind_text(s, 4, in->nrps_url);
        if (run(d, s))
            return DB_ERROR;
    }
    return DB_OK;
}

/* The user of the sub, or a new student user named after user_name (made
 * unique with -2, -3 ...) without any token or password: they log in
 * through the LMS only. */
static int launch_user(db *d, const db_lti_launch_in *in, db_lti_launch_out *out)
{
    dbs *s = db_prepare(d, "SELECT u.id, u.name, u.role FROM lti_users l"
                                    " JOIN users u ON u.id = l.user_id"
                                    " WHERE l.platform_id = ?1 AND l.sub = ?2");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, in->platform_id);
    bind_text(s, 2, in->sub);
    int src = dbs_step(s);
    if (src == DBS_ROW) {
        out->user.id = dbs_col_int64(s, 0);
        copy_col(s, 1, out->user.name, sizeof out->user.name);
        out->user.role = strcmp((const char *)dbs_col_text(s, 2), "instructor")
                             ? DB_ROLE_STUDENT : DB_ROLE_INSTRUCTOR;
    }
    dbs_finalize(s);
    if (src == DBS_ROW)
        return DB_OK;
    if (src != DBS_DONE)
        return DB_ERROR;
    int rc = DB_EXISTS;
    char name[65];
    for (int n = 1; n <= 1000 && rc == DB_EXISTS; n++) {
        char suffix[16] = "";
        if (n > 1)
            snprintf(suffix, sizeof suffix, "-%d", n);
        snprintf(name, sizeof name, "%.*s%s", (int)(64 - strlen(suffix)), in->user_name,
                 suffix);
        if (!(s = db_prepare(d, "INSERT INTO users(name, role, created_at)"
                                " VALUES (?1, 'student', ?2)"
                                " ON CONFLICT DO NOTHING RETURNING id")))
            return DB_ERROR;
        bind_text(s, 1, name);
        dbs_bind_int64(s, 2, in->now);
        rc = insert_new(d, s, &out->user.id);
    }
    if (rc != DB_OK)
        return DB_ERROR;
    snprintf(out->user.name, sizeof out->user.name, "%s", name);
    out->user.role = DB_ROLE_STUDENT;
    out->new_user = 1;
    /* everyone is in the default course, with their global role (db.c) */
    s = db_prepare(d, "INSERT INTO course_members(course_id, user_id, role)"
                      " VALUES ('" DB_DEFAULT_COURSE "', ?1, 'student') ON CONFLICT DO NOTHING");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, out->user.id);
    if (run(d, s))
        return DB_ERROR;
    s = db_prepare(d, "INSERT INTO lti_users(platform_id, sub, user_id) VALUES (?1, ?2, ?3)");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, in->platform_id);
    bind_text(s, 2, in->sub);
    dbs_bind_int64(s, 3, out->user.id);
    return run(d, s) ? DB_ERROR : DB_OK;
}

static int launch_link(db *d, const db_lti_launch_in *in, db_lti_launch_out *out)
{
    dbs *s = db_prepare(
        d, "INSERT INTO lti_links(platform_id, deployment_id, resource_link_id, course_id,"
           " assignment, lineitem_url) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
           " ON CONFLICT(platform_id, deployment_id, resource_link_id) DO UPDATE SET"
           "  assignment = COALESCE(excluded.assignment, lti_links.assignment),"
           "  lineitem_url = COALESCE(excluded.lineitem_url, lti_links.lineitem_url)"
           " RETURNING id, COALESCE(assignment, '')");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, in->platform_id);
    bind_text(s, 2, in->deployment_id);
    bind_text(s, 3, in->resource_link_id);
    bind_text(s, 4, out->course_id);
    bind_text(s, 5, in->assignment);
    bind_text(s, 6, in->lineitem_url);
    int src = dbs_step(s);
    if (src == DBS_ROW) {
        out->link_id = dbs_col_int64(s, 0);
        copy_col(s, 1, out->assignment, sizeof out->assignment);
        src = dbs_step(s);
    }
    if (src != DBS_DONE)
        db_log_error(d, "storing an LTI resource link");
    dbs_finalize(s);
    if (src != DBS_DONE)
        return DB_ERROR;
    s = db_prepare(d, "INSERT INTO lti_launches(link_id, user_id, sub, last_at)"
                      " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(link_id, user_id) DO UPDATE SET"
                      " sub = excluded.sub, last_at = excluded.last_at");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, out->link_id);
    dbs_bind_int64(s, 2, out->user.id);
    bind_text(s, 3, in->sub);
    dbs_bind_int64(s, 4, in->now);
    return run(d, s) ? DB_ERROR : DB_OK;
}

static int launch_store_locked(db *d, const db_lti_launch_in *in, db_lti_launch_out *out)
{
    int rc = DB_ERROR;
    memset(out, 0, sizeof *out);
    if (db_tx_begin(d))
        return DB_ERROR;
    if ((rc = launch_course(d, in, out)) != DB_OK || (rc = launch_user(d, in, out)) != DB_OK)
        goto out;
    /* the LMS says what the user is in this course, each launch */
    dbs *s = db_prepare(d, "INSERT INTO course_members(course_id, user_id, role)"
                                    " VALUES (?1, ?2, ?3) ON CONFLICT (course_id, user_id)"
                                    " DO UPDATE SET role = excluded.role");
    rc = DB_ERROR;
    if (!s)
        goto out;
    bind_text(s, 1, out->course_id);
    dbs_bind_int64(s, 2, out->user.id);
    bind_text(s, 3, db_crole_name(in->role));
    if (run(d, s))
        goto out;
    if (in->resource_link_id && launch_link(d, in, out))
        goto out;
    rc = db_tx_commit(d) ? DB_ERROR : DB_OK;
out:
    if (rc != DB_OK)
        db_tx_rollback(d);
    return rc;
}

int db_lti_launch_store(db *d, const db_lti_launch_in *in, db_lti_launch_out *out)
{
    db_write_lock();
    int rc = launch_store_locked(d, in, out);
    db_write_unlock();
    return rc;
}

int db_lti_link_set_assignment(db *d, int64_t link_id, const char *assignment)
{
    return change_one(d, "UPDATE lti_links SET assignment = ?2 WHERE id = ?1", link_id,
                      assignment);
}

int db_lti_score_target(db *d, int64_t link_id, int64_t user_id, int64_t *platform_id,
                        char *lineitem, size_t cap, char *sub, size_t subcap)
{
    dbs *s = db_prepare(d, "SELECT l.platform_id, l.lineitem_url, la.sub"
                                    " FROM lti_links l JOIN lti_launches la ON la.link_id = l.id"
                                    " WHERE l.id = ?1 AND la.user_id = ?2"
                                    " AND l.lineitem_url IS NOT NULL");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, link_id);
    dbs_bind_int64(s, 2, user_id);
    int src = dbs_step(s), rc = DB_NOT_FOUND;
    if (src == DBS_ROW) {
        *platform_id = dbs_col_int64(s, 0);
        const char *li = (const char *)dbs_col_text(s, 1);
        const char *sb = (const char *)dbs_col_text(s, 2);
        rc = li && sb && strlen(li) < cap && strlen(sb) < subcap ? DB_OK : DB_NOT_FOUND;
        if (rc == DB_OK) {
            memcpy(lineitem, li, strlen(li) + 1);
            memcpy(sub, sb, strlen(sb) + 1);
        }
    } else if (src != DBS_DONE) {
        rc = DB_ERROR;
    }
    dbs_finalize(s);
    return rc;
}

int db_lti_link_course(db *d, int64_t link_id, char *course, size_t cap)
{
    dbs *s = db_prepare(d, "SELECT course_id FROM lti_links WHERE id = ?1");
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, link_id);
    int src = dbs_step(s);
    if (src == DBS_ROW)
        copy_col(s, 0, course, cap);
    dbs_finalize(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}
