/* db_pg: the PostgreSQL backend of the statement driver (db_drv.h),
 * through libpq. SQLite's `?N` placeholders become `$N` once, at prepare;
 * a cached statement is prepared on the server under its own name, once
 * per connection (again after a reconnect); blobs travel as binary BYTEA,
 * everything else as text. A connection that went away is reset and the
 * statement retried once, unless a transaction was open: then the caller
 * hears of it (the server rolled the transaction back). */
#include "db_drv.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* Type OIDs (server/catalog/pg_type.dat); stable across versions. */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

typedef struct {
    dbc base;
    PGconn *pc;
    unsigned gen;       /* bumped by each reconnect: named statements are gone */
    unsigned listen_gen;/* gen when we last LISTENed (wait_notify); 0: never */
    unsigned next_name; /* for statement names */
    int64_t changes;
    int in_tx;
    int lost;
    char err[512];
} pg_conn;

typedef struct {
    dbs base;
    pg_conn *c;
    char *sql;          /* with $N placeholders */
    int nparams;
    int persistent;
    char name[24];
    unsigned prepared_gen; /* c->gen when prepared on the server; 0: not */
    char **vals;
    int *lens, *fmts;
    Oid *types;
    PGresult *res;
    int row, ran;
    int ncols;
    unsigned char **blob; /* the current row's decoded BYTEA columns */
    size_t *blen;
} pg_stmt;

#define PGC(c) ((pg_conn *)(c))
#define PGS(s) ((pg_stmt *)(s))

/* Keeps libpq's message on one line, for logs and the CLI. */
static void set_err(pg_conn *c, const char *msg)
{
    snprintf(c->err, sizeof c->err, "%s", msg && *msg ? msg : "unknown error");
    for (char *p = c->err; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    size_t n = strlen(c->err);
    while (n && c->err[n - 1] == ' ')
        c->err[--n] = '\0';
}

static const char *pg_errmsg(dbc *c) { return PGC(c)->err; }

static void pg_log(pg_conn *c, const char *what)
{
    fprintf(stderr, "memgrade: db: %s: %s\n", what, c->err);
}

/* NOTICEs (CREATE ... IF NOT EXISTS, say) are not errors. */
static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static void pg_close(dbc *c)
{
    if (!c)
        return;
    PQfinish(PGC(c)->pc);
    free(c);
}

static dbc *pg_open(const char *url, char *err, size_t errlen)
{
    pg_conn *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->base.drv = &db_drv_pg;
    c->gen = 1;
    /* Our defaults first: what the URL says wins (expand_dbname). */
    /* A peer that vanished (a worker's machine cut off) is noticed within
     * a minute (keepalives), and a transaction left open by a frozen
     * process is ended by the server after one, releasing its locks. */
    const char *keys[] = {"connect_timeout", "application_name", "keepalives_idle",
                          "keepalives_interval", "keepalives_count", "options", "dbname", NULL};
    const char *vals[] = {"10", "memgrade", "30", "10", "3",
                          "-c idle_in_transaction_session_timeout=60000", url, NULL};
    c->pc = PQconnectdbParams(keys, vals, 1);
    if (!c->pc || PQstatus(c->pc) != CONNECTION_OK) {
        set_err(c, c->pc ? PQerrorMessage(c->pc) : "out of memory");
        snprintf(err, errlen, "PostgreSQL: %s", c->err);
        pg_close(&c->base);
        return NULL;
    }
    PQsetNoticeProcessor(c->pc, quiet, NULL);
    return &c->base;
}

/* Brings the connection back after the server went away; 0 when it is. */
static int reconnect(pg_conn *c)
{
    PQreset(c->pc);
    if (PQstatus(c->pc) != CONNECTION_OK) {
        set_err(c, PQerrorMessage(c->pc));
        c->lost = 1;
        return -1;
    }
    PQsetNoticeProcessor(c->pc, quiet, NULL);
    c->gen++;
    c->lost = 0;
    fprintf(stderr, "memgrade: db: reconnected to PostgreSQL\n");
    return 0;
}

/* Whether res failed because the connection did; records the error. */
static int failed(pg_conn *c, PGresult *res, int *lost)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        *lost = 0;
        return 0;
    }
    set_err(c, res ? PQresultErrorMessage(res) : PQerrorMessage(c->pc));
    if (!res || !*PQresultErrorMessage(res))
        set_err(c, PQerrorMessage(c->pc));
    *lost = PQstatus(c->pc) != CONNECTION_OK;
    return 1;
}

/* Runs SQL without parameters: a reconnect and one retry when the
 * connection is gone outside a transaction. NULL on failure (logged). */
static PGresult *simple(pg_conn *c, const char *sql)
{
    for (int attempt = 0;; attempt++) {
        if (PQstatus(c->pc) != CONNECTION_OK && !c->in_tx && reconnect(c))
            break;
        PGresult *res = PQexec(c->pc, sql);
        int lost;
        if (!failed(c, res, &lost))
            return res;
        PQclear(res);
        c->lost = lost;
        if (!lost || c->in_tx || attempt)
            break;
        if (reconnect(c))
            break;
    }
    pg_log(c, sql);
    return NULL;
}

static int pg_exec(dbc *cc, const char *sql)
{
    PGresult *res = simple(PGC(cc), sql);
    PQclear(res);
    return res ? 0 : -1;
}

static int pg_migrate(dbc *cc, const char *const *migrations, int n, char *err, size_t errlen)
{
    pg_conn *c = PGC(cc);
    int rc = -1;
    c->in_tx = 1; /* a lost connection fails the migration, never retried outside it */
    /* Processes starting together take turns (the lock goes with the
     * transaction); the version lives in a table of one row. */
    if (pg_exec(cc, "BEGIN") ||
        pg_exec(cc, "SELECT pg_advisory_xact_lock(7469310412)") ||
        pg_exec(cc, "CREATE TABLE IF NOT EXISTS schema_version(version BIGINT NOT NULL)"))
        goto out;
    PGresult *res = simple(c, "SELECT version FROM schema_version");
    if (!res)
        goto out;
    int have = PQntuples(res) ? atoi(PQgetvalue(res, 0, 0)) : -1;
    PQclear(res);
    if (have < 0) {
        if (pg_exec(cc, "INSERT INTO schema_version(version) VALUES (0)"))
            goto out;
        have = 0;
    }
    if (have > n) {
        snprintf(err, errlen, "database schema version %d is newer than this build (%d)", have,
                 n);
        goto out;
    }
    for (int v = have; v < n; v++) {
        char set[64];
        snprintf(set, sizeof set, "UPDATE schema_version SET version = %d", v + 1);
        if (pg_exec(cc, migrations[v]) || pg_exec(cc, set))
            goto out;
    }
    if (pg_exec(cc, "COMMIT"))
        goto out;
    rc = 0;
out:
    if (rc && !err[0])
        snprintf(err, errlen, "migration failed: %s", c->err);
    if (rc && PQstatus(c->pc) == CONNECTION_OK)
        PQclear(PQexec(c->pc, "ROLLBACK"));
    c->in_tx = 0;
    return rc;
}

/* SQLite's ?N (and bare ?) as $N, outside quotes; *nparams: the highest. */
static char *rewrite(const char *sql, int *nparams)
{
    size_t n = strlen(sql);
    char *out = malloc(n * 2 + 16), *o = out;
    int max = 0;
    char quote = 0;
    if (!out)
        return NULL;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            *o++ = *p;
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
            *o++ = *p;
        } else if (*p == '?') {
            int k;
            if (isdigit((unsigned char)p[1])) {
                k = (int)strtol(p + 1, (char **)&p, 10);
                p--;
            } else {
                k = max + 1;
            }
            if (k > max)
                max = k;
            o += sprintf(o, "$%d", k);
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    *nparams = max;
    return out;
}

static void clear_row(pg_stmt *s)
{
    for (int i = 0; s->blob && i < s->ncols; i++) {
        PQfreemem(s->blob[i]);
        s->blob[i] = NULL;
    }
}

static void pg_reset(dbs *ss)
{
    pg_stmt *s = PGS(ss);
    clear_row(s);
    free(s->blob);
    free(s->blen);
    s->blob = NULL;
    s->blen = NULL;
    s->ncols = 0;
    PQclear(s->res);
    s->res = NULL;
    s->ran = 0;
    s->row = -1;
}

static void pg_clear(dbs *ss)
{
    pg_stmt *s = PGS(ss);
    for (int i = 0; i < s->nparams; i++) {
        free(s->vals[i]);
        s->vals[i] = NULL;
        s->lens[i] = 0;
        s->fmts[i] = 0;
        s->types[i] = 0;
    }
}

static void pg_finalize(dbs *ss)
{
    pg_stmt *s = PGS(ss);
    pg_reset(ss);
    pg_clear(ss);
    if (s->prepared_gen == s->c->gen && PQstatus(s->c->pc) == CONNECTION_OK) {
        char sql[48];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
        PQclear(PQexec(s->c->pc, sql));
    }
    free(s->vals);
    free(s->lens);
    free(s->fmts);
    free(s->types);
    free(s->sql);
    free(s);
}

static dbs *pg_prepare(dbc *cc, const char *sql, int persistent)
{
    pg_conn *c = PGC(cc);
    pg_stmt *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base.drv = &db_drv_pg;
    s->c = c;
    s->row = -1;
    s->persistent = persistent;
    s->sql = rewrite(sql, &s->nparams);
    int np = s->nparams ? s->nparams : 1;
    s->vals = calloc((size_t)np, sizeof *s->vals);
    s->lens = calloc((size_t)np, sizeof *s->lens);
    s->fmts = calloc((size_t)np, sizeof *s->fmts);
    s->types = calloc((size_t)np, sizeof *s->types);
    if (!s->sql || !s->vals || !s->lens || !s->fmts || !s->types) {
        set_err(c, "out of memory");
        pg_log(c, sql);
        pg_finalize(&s->base);
        return NULL;
    }
    if (persistent)
        snprintf(s->name, sizeof s->name, "mg%u", ++c->next_name);
    return &s->base;
}

/* Stores a copy of p (n bytes, NUL added) as parameter i. */
static void set_param(pg_stmt *s, int i, const void *p, size_t n, Oid type, int binary)
{
    if (i < 1 || i > s->nparams)
        return;
    i--;
    free(s->vals[i]);
    s->vals[i] = NULL;
    s->types[i] = p ? type : 0;
    s->fmts[i] = binary;
    s->lens[i] = (int)n;
    if (!p)
        return;
    s->vals[i] = malloc(n + 1);
    if (s->vals[i]) {
        memcpy(s->vals[i], p, n);
        s->vals[i][n] = '\0';
    }
}

static void pg_bind_int64(dbs *s, int i, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" PRId64, v);
    set_param(PGS(s), i, buf, (size_t)n, OID_INT8, 0);
}

static void pg_bind_double(dbs *s, int i, double v)
{
    char buf[40];
    int n = snprintf(buf, sizeof buf, "%.17g", v);
    set_param(PGS(s), i, buf, (size_t)n, OID_FLOAT8, 0);
}

static void pg_bind_text(dbs *s, int i, const char *v)
{
    /* Type left to the server: the column or operator it meets says. */
    set_param(PGS(s), i, v, v ? strlen(v) : 0, 0, 0);
}

static void pg_bind_blob(dbs *s, int i, const void *p, size_t n)
{
    /* As SQLite: a NULL pointer binds NULL; an empty blob is not NULL. */
    set_param(PGS(s), i, p, n, OID_BYTEA, 1);
}

static void pg_bind_null(dbs *s, int i) { set_param(PGS(s), i, NULL, 0, 0, 0); }

/* One run of s on the server; the result or NULL (c->err, c->lost set). */
static PGresult *run_once(pg_stmt *s)
{
    pg_conn *c = s->c;
    int lost;
    if (s->persistent && s->prepared_gen != c->gen) {
        PGresult *res = PQprepare(c->pc, s->name, s->sql, s->nparams, s->types);
        if (failed(c, res, &lost)) {
            PQclear(res);
            c->lost = lost;
            return NULL;
        }
        PQclear(res);
        s->prepared_gen = c->gen;
    }
    PGresult *res = s->persistent
                        ? PQexecPrepared(c->pc, s->name, s->nparams,
                                         (const char *const *)s->vals, s->lens, s->fmts, 0)
                        : PQexecParams(c->pc, s->sql, s->nparams, s->types,
                                       (const char *const *)s->vals, s->lens, s->fmts, 0);
    if (failed(c, res, &lost)) {
        c->lost = lost;
        /* keep res for its SQLSTATE */
        s->res = res;
        return NULL;
    }
    return res;
}

static int execute(pg_stmt *s)
{
    pg_conn *c = s->c;
    for (int attempt = 0;; attempt++) {
        if (PQstatus(c->pc) != CONNECTION_OK) {
            if (c->in_tx) {
                set_err(c, "the connection to PostgreSQL was lost inside a transaction");
                c->lost = 1;
                pg_log(c, "running a statement");
                return DBS_ERROR;
            }
            if (reconnect(c)) {
                pg_log(c, "reconnecting");
                return DBS_ERROR;
            }
        }
        PGresult *res = run_once(s);
        if (res) {
            s->res = res;
            const char *tag = PQcmdStatus(res);
            if (!strncmp(tag, "INSERT", 6) || !strncmp(tag, "UPDATE", 6) ||
                !strncmp(tag, "DELETE", 6))
                c->changes = strtoll(PQcmdTuples(res), NULL, 10);
            s->ncols = PQnfields(res);
            s->blob = calloc((size_t)(s->ncols ? s->ncols : 1), sizeof *s->blob);
            s->blen = calloc((size_t)(s->ncols ? s->ncols : 1), sizeof *s->blen);
            if (!s->blob || !s->blen) {
                set_err(c, "out of memory");
                return DBS_ERROR;
            }
            s->ran = 1;
            return DBS_DONE;
        }
        /* The SQLSTATE lives in the result: read it before clearing. */
        const char *state = s->res ? PQresultErrorField(s->res, PG_DIAG_SQLSTATE) : NULL;
        int constraint = state && !strncmp(state, "23", 2); /* integrity constraint violation */
        PQclear(s->res);
        s->res = NULL;
        if (constraint)
            return DBS_CONSTRAINT;
        if (!c->lost || c->in_tx || attempt) {
            pg_log(c, c->in_tx && c->lost ? "the connection was lost inside a transaction"
                                          : s->sql);
            return DBS_ERROR;
        }
        if (reconnect(c)) {
            pg_log(c, "reconnecting");
            return DBS_ERROR;
        }
    }
}

static int pg_step(dbs *ss)
{
    pg_stmt *s = PGS(ss);
    if (!s->ran) {
        int rc = execute(s);
        if (rc != DBS_DONE)
            return rc;
    }
    clear_row(s);
    if (s->row + 1 < PQntuples(s->res)) {
        s->row++;
        return DBS_ROW;
    }
    s->row = PQntuples(s->res);
    return DBS_DONE;
}

static int isnull(pg_stmt *s, int i)
{
    return !s->res || s->row < 0 || s->row >= PQntuples(s->res) || i < 0 || i >= s->ncols ||
           PQgetisnull(s->res, s->row, i);
}

static int pg_col_type(dbs *ss, int i)
{
    pg_stmt *s = PGS(ss);
    if (isnull(s, i))
        return DBS_NULL;
    switch (PQftype(s->res, i)) {
    case OID_BYTEA:
        return DBS_BLOB;
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
        return DBS_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
        return DBS_FLOAT;
    default:
        return DBS_TEXT;
    }
}

static const char *pg_col_text(dbs *ss, int i)
{
    pg_stmt *s = PGS(ss);
    return isnull(s, i) ? NULL : PQgetvalue(s->res, s->row, i);
}

static int64_t pg_col_int64(dbs *ss, int i)
{
    const char *v = pg_col_text(ss, i);
    if (!v)
        return 0;
    if (PQftype(PGS(ss)->res, i) == OID_BOOL)
        return *v == 't';
    if (strpbrk(v, ".eE"))
        return (int64_t)strtod(v, NULL); /* a numeric: SQLite truncates too */
    return strtoll(v, NULL, 10);
}

static double pg_col_double(dbs *ss, int i)
{
    const char *v = pg_col_text(ss, i);
    if (!v)
        return 0;
    if (PQftype(PGS(ss)->res, i) == OID_BOOL)
        return *v == 't';
    return strtod(v, NULL);
}

/* The column's bytes: BYTEA decoded from libpq's text form once per row. */
static const void *pg_col_blob(dbs *ss, int i)
{
    pg_stmt *s = PGS(ss);
    if (isnull(s, i))
        return NULL;
    if (PQftype(s->res, i) != OID_BYTEA)
        return PQgetvalue(s->res, s->row, i);
    if (!s->blob[i]) {
        size_t n = 0;
        s->blob[i] = PQunescapeBytea((const unsigned char *)PQgetvalue(s->res, s->row, i), &n);
        s->blen[i] = s->blob[i] ? n : 0;
    }
    return s->blen[i] ? s->blob[i] : NULL;
}

static size_t pg_col_bytes(dbs *ss, int i)
{
    pg_stmt *s = PGS(ss);
    if (isnull(s, i))
        return 0;
    if (PQftype(s->res, i) != OID_BYTEA)
        return (size_t)PQgetlength(s->res, s->row, i);
    pg_col_blob(ss, i);
    return s->blen[i];
}

static int64_t pg_changes(dbc *c) { return PGC(c)->changes; }

static int pg_begin(dbc *cc)
{
    pg_conn *c = PGC(cc);
    /* READ COMMITTED: each statement sees what committed before it; the
     * queue's claims lock their row (FOR UPDATE SKIP LOCKED) and every
     * update of a claimed row names its owner, so no job is taken twice. */
    if (pg_exec(cc, "BEGIN ISOLATION LEVEL READ COMMITTED"))
        return -1;
    c->in_tx = 1;
    return 0;
}

static int pg_commit(dbc *cc)
{
    pg_conn *c = PGC(cc);
    PGresult *res = simple(c, "COMMIT");
    /* COMMIT of a failed transaction answers ROLLBACK */
    int ok = res && !strcmp(PQcmdStatus(res), "COMMIT");
    if (res && !ok) {
        set_err(c, "the transaction was rolled back");
        pg_log(c, "COMMIT");
    }
    PQclear(res);
    c->in_tx = 0;
    return ok ? 0 : -1;
}

static void pg_rollback(dbc *cc)
{
    pg_conn *c = PGC(cc);
    if (!c->in_tx)
        return;
    c->in_tx = 0;
    if (PQstatus(c->pc) == CONNECTION_OK)
        PQclear(PQexec(c->pc, "ROLLBACK"));
}

/* Takes what arrived; 1 when a notification was among it, -1 when the
 * connection failed. */
static int take_notifies(pg_conn *c)
{
    if (!PQconsumeInput(c->pc)) {
        set_err(c, PQerrorMessage(c->pc));
        c->lost = PQstatus(c->pc) != CONNECTION_OK;
        return -1;
    }
    int got = 0;
    PGnotify *n;
    while ((n = PQnotifies(c->pc))) {
        got = 1;
        PQfreemem(n);
    }
    return got;
}

static int pg_wait_notify(dbc *cc, const char *channel, int timeout_ms)
{
    pg_conn *c = PGC(cc);
    if (c->listen_gen != c->gen || PQstatus(c->pc) != CONNECTION_OK) {
        char sql[96];
        snprintf(sql, sizeof sql, "LISTEN %s", channel);
        PGresult *res = simple(c, sql);
        if (!res)
            return -1;
        PQclear(res);
        c->listen_gen = c->gen;
    }
    int got = take_notifies(c);
    if (got)
        return got;
    struct pollfd p = {PQsocket(c->pc), POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno != EINTR)
        return -1;
    return r > 0 ? take_notifies(c) : 0;
}

static int pg_in_tx(dbc *c) { return PGC(c)->in_tx; }
static int pg_lost(dbc *c) { return PGC(c)->lost; }

const dbd db_drv_pg = {
    .kind = DBD_PG,
    .open = pg_open,
    .close = pg_close,
    .errmsg = pg_errmsg,
    .migrate = pg_migrate,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .reset = pg_reset,
    .clear = pg_clear,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .col_type = pg_col_type,
    .col_int64 = pg_col_int64,
    .col_double = pg_col_double,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .col_bytes = pg_col_bytes,
    .changes = pg_changes,
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_tx = pg_in_tx,
    .lost = pg_lost,
    .wait_notify = pg_wait_notify,
};

const dbd *dbd_for(const char *target)
{
    if (target && (!strncmp(target, "postgres://", 11) || !strncmp(target, "postgresql://", 13)))
        return &db_drv_pg;
    return &db_drv_sqlite;
}
