/* db_sqlite: the embedded backend of the statement driver (db_drv.h), a
 * thin layer over SQLite's own API: WAL, foreign keys on, BEGIN IMMEDIATE,
 * the schema version in PRAGMA user_version. */
#include "db_drv.h"
#include "db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

typedef struct {
    dbc base;
    sqlite3 *h;
} sq_conn;

typedef struct {
    dbs base;
    sqlite3_stmt *st;
    sq_conn *c;
} sq_stmt;

#define SQC(c) ((sq_conn *)(c))
#define SQS(s) (((sq_stmt *)(s))->st)

static const char *sq_errmsg(dbc *c) { return sqlite3_errmsg(SQC(c)->h); }

static void sq_log(sq_conn *c, const char *what)
{
    fprintf(stderr, "memgrade: db: %s: %s\n", what, sqlite3_errmsg(c->h));
}

/* SQL memgrade_doc(document): a stored document's JSON text, for SQL that
 * reads inside documents (migration 7); NULL for NULL or a damaged BLOB. */
static void sql_memgrade_doc(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int type = sqlite3_value_type(argv[0]);
    if (type == SQLITE_NULL)
        return;
    if (type != SQLITE_BLOB) {
        sqlite3_result_value(cx, argv[0]);
        return;
    }
    char *text = db_doc_inflate(sqlite3_value_blob(argv[0]), (size_t)sqlite3_value_bytes(argv[0]));
    if (text)
        sqlite3_result_text(cx, text, -1, free);
}

static void sq_close(dbc *c)
{
    if (!c)
        return;
    sqlite3_close(SQC(c)->h);
    free(c);
}

static dbc *sq_open(const char *path, char *err, size_t errlen)
{
    char *msg = NULL;
    sq_conn *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->base.drv = &db_drv_sqlite;
    if (sqlite3_open_v2(path, &c->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, c->h ? sqlite3_errmsg(c->h) : "cannot open");
        goto fail;
    }
    /* Writers (request threads and workers) take turns on the WAL lock; a
     * long wait means an overloaded disk, not a bug, so wait rather than fail. */
    sqlite3_busy_timeout(c->h, 10000);
    if (sqlite3_exec(c->h, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                     " PRAGMA foreign_keys = ON;", NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(c->h));
        goto fail;
    }
    if (sqlite3_create_function(c->h, "memgrade_doc", 1,
                                SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
                                sql_memgrade_doc, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(c->h));
        goto fail;
    }
    return &c->base;
fail:
    sqlite3_free(msg);
    sq_close(&c->base);
    return NULL;
}

static int sq_migrate(dbc *cc, const char *const *migrations, int n, char *err, size_t errlen)
{
    sq_conn *c = SQC(cc);
    int rc = -1;
    char *msg = NULL;
    sqlite3_stmt *s = NULL;
    if (sqlite3_exec(c->h, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
        goto out;
    if (sqlite3_prepare_v2(c->h, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW)
        goto out;
    int have = sqlite3_column_int(s, 0);
    if (have > n) {
        snprintf(err, errlen, "database schema version %d is newer than this build (%d)",
                 have, n);
        goto out;
    }
    for (int v = have; v < n; v++) {
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(c->h, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(c->h, pragma, NULL, NULL, &msg) != SQLITE_OK)
            goto out;
    }
    if (sqlite3_exec(c->h, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
        goto out;
    rc = 0;
out:
    if (rc && !err[0])
        snprintf(err, errlen, "migration failed: %s", msg ? msg : sqlite3_errmsg(c->h));
    sqlite3_free(msg);
    sqlite3_finalize(s);
    if (rc && !sqlite3_get_autocommit(c->h))
        sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static dbs *sq_prepare(dbc *cc, const char *sql, int persistent)
{
    sq_conn *c = SQC(cc);
    sq_stmt *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base.drv = &db_drv_sqlite;
    s->c = c;
    if (sqlite3_prepare_v3(c->h, sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0, &s->st,
                           NULL) != SQLITE_OK) {
        sq_log(c, sql);
        sqlite3_finalize(s->st);
        free(s);
        return NULL;
    }
    return &s->base;
}

static void sq_finalize(dbs *s)
{
    sqlite3_finalize(SQS(s));
    free(s);
}

static void sq_reset(dbs *s) { sqlite3_reset(SQS(s)); }
static void sq_clear(dbs *s) { sqlite3_clear_bindings(SQS(s)); }

static void sq_bind_int64(dbs *s, int i, int64_t v) { sqlite3_bind_int64(SQS(s), i, v); }
static void sq_bind_double(dbs *s, int i, double v) { sqlite3_bind_double(SQS(s), i, v); }
static void sq_bind_text(dbs *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(SQS(s), i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(SQS(s), i);
}
static void sq_bind_blob(dbs *s, int i, const void *p, size_t n)
{
    sqlite3_bind_blob64(SQS(s), i, p, n, SQLITE_TRANSIENT);
}
static void sq_bind_null(dbs *s, int i) { sqlite3_bind_null(SQS(s), i); }

static int sq_step(dbs *s)
{
    int rc = sqlite3_step(SQS(s));
    switch (rc) {
    case SQLITE_ROW:
        return DBS_ROW;
    case SQLITE_DONE:
        return DBS_DONE;
    case SQLITE_CONSTRAINT:
        return DBS_CONSTRAINT;
    default:
        return DBS_ERROR;
    }
}

static int sq_col_type(dbs *s, int i)
{
    switch (sqlite3_column_type(SQS(s), i)) {
    case SQLITE_NULL:
        return DBS_NULL;
    case SQLITE_INTEGER:
        return DBS_INT;
    case SQLITE_FLOAT:
        return DBS_FLOAT;
    case SQLITE_BLOB:
        return DBS_BLOB;
    default:
        return DBS_TEXT;
    }
}
static int64_t sq_col_int64(dbs *s, int i) { return sqlite3_column_int64(SQS(s), i); }
static double sq_col_double(dbs *s, int i) { return sqlite3_column_double(SQS(s), i); }
static const char *sq_col_text(dbs *s, int i)
{
    return (const char *)sqlite3_column_text(SQS(s), i);
}
static const void *sq_col_blob(dbs *s, int i) { return sqlite3_column_blob(SQS(s), i); }
static size_t sq_col_bytes(dbs *s, int i) { return (size_t)sqlite3_column_bytes(SQS(s), i); }
static int64_t sq_changes(dbc *c) { return sqlite3_changes64(SQC(c)->h); }

static int sq_exec(dbc *cc, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(SQC(cc)->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "memgrade: db: %s: %s\n", sql, msg ? msg : sqlite3_errmsg(SQC(cc)->h));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int sq_begin(dbc *c) { return sq_exec(c, "BEGIN IMMEDIATE"); }
static int sq_commit(dbc *c) { return sq_exec(c, "COMMIT"); }
static void sq_rollback(dbc *c)
{
    if (!sqlite3_get_autocommit(SQC(c)->h))
        sq_exec(c, "ROLLBACK");
}
static int sq_in_tx(dbc *c) { return !sqlite3_get_autocommit(SQC(c)->h); }
static int sq_lost(dbc *c)
{
    (void)c;
    return 0;
}

/* One process owns a SQLite queue: nobody else announces jobs. */
static int sq_wait_notify(dbc *c, const char *channel, int timeout_ms)
{
    (void)c, (void)channel;
    struct timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return 0;
}

const dbd db_drv_sqlite = {
    .kind = DBD_SQLITE,
    .open = sq_open,
    .close = sq_close,
    .errmsg = sq_errmsg,
    .migrate = sq_migrate,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .reset = sq_reset,
    .clear = sq_clear,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_type = sq_col_type,
    .col_int64 = sq_col_int64,
    .col_double = sq_col_double,
    .col_text = sq_col_text,
    .col_blob = sq_col_blob,
    .col_bytes = sq_col_bytes,
    .changes = sq_changes,
    .exec = sq_exec,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_tx = sq_in_tx,
    .lost = sq_lost,
    .wait_notify = sq_wait_notify,
};
