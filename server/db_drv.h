/* db_drv: the statement driver under db.c, db_lti.c, db_outbox.c and
 * db_nrps.c, so each query is written once: one backend per file (SQLite in
 * db_sqlite.c, PostgreSQL through libpq in db_pg.c), picked by db_open from
 * the --db target. SQL is written with SQLite's `?N` placeholders; a
 * backend that needs another form rewrites it once, at prepare. */
#ifndef MEMGRADE_DB_DRV_H
#define MEMGRADE_DB_DRV_H

#include <stddef.h>
#include <stdint.h>

typedef struct dbd dbd;

/* A connection and a prepared statement. Each backend's own structs begin
 * with one of these. */
typedef struct dbc {
    const dbd *drv;
} dbc;
typedef struct dbs {
    const dbd *drv;
} dbs;

/* dbs_step results. */
enum { DBS_ERROR = -1, DBS_DONE = 0, DBS_ROW = 1, DBS_CONSTRAINT = 2, DBS_LOST = 3 };
/* dbs_col_type results. */
enum { DBS_NULL, DBS_INT, DBS_FLOAT, DBS_TEXT, DBS_BLOB };

typedef enum { DBD_SQLITE, DBD_PG } dbd_kind;

struct dbd {
    dbd_kind kind;
    /* target: a path (SQLite) or URL (PostgreSQL). NULL with err filled
     * (one line, for a person) on failure. */
    dbc *(*open)(const char *target, char *err, size_t errlen);
    void (*close)(dbc *c);
    /* The last error's message, for logs; never NULL. */
    const char *(*errmsg)(dbc *c);
    /* Brings the schema to version n, running migrations[have..n-1] in one
     * transaction; 0 or -1 with err filled. */
    int (*migrate)(dbc *c, const char *const *migrations, int n, char *err, size_t errlen);
    /* persistent: kept for the connection's life (statement cache). NULL on
     * failure (logged). */
    dbs *(*prepare)(dbc *c, const char *sql, int persistent);
    void (*finalize)(dbs *s);
    /* Ends a run (bindings stay, as in SQLite); clear drops them. */
    void (*reset)(dbs *s);
    void (*clear)(dbs *s);
    /* Parameters are 1-based; text and blobs are copied. text NULL binds
     * NULL. */
    void (*bind_int64)(dbs *s, int i, int64_t v);
    void (*bind_double)(dbs *s, int i, double v);
    void (*bind_text)(dbs *s, int i, const char *v);
    void (*bind_blob)(dbs *s, int i, const void *p, size_t n);
    void (*bind_null)(dbs *s, int i);
    /* DBS_ROW, DBS_DONE, DBS_CONSTRAINT (a uniqueness or foreign key rule
     * said no), DBS_ERROR (logged). */
    int (*step)(dbs *s);
    /* Columns are 0-based and valid until the next step or reset. */
    int (*col_type)(dbs *s, int i);
    int64_t (*col_int64)(dbs *s, int i);
    double (*col_double)(dbs *s, int i);
    const char *(*col_text)(dbs *s, int i);
    const void *(*col_blob)(dbs *s, int i);
    size_t (*col_bytes)(dbs *s, int i);
    /* Rows the connection's last INSERT/UPDATE/DELETE changed. */
    int64_t (*changes)(dbc *c);
    /* Runs one or more statements without parameters; 0 or -1 (logged). */
    int (*exec)(dbc *c, const char *sql);
    int (*begin)(dbc *c);
    int (*commit)(dbc *c);
    void (*rollback)(dbc *c); /* a no-op outside a transaction */
    int (*in_tx)(dbc *c);
    /* 1 when the last failure was the connection itself (server gone),
     * so the caller can answer 503 rather than 500. */
    int (*lost)(dbc *c);
    /* Waits up to timeout_ms for a notification on channel (an SQL
     * identifier of ours): 1 when one came, 0 on time-out, -1 when the
     * connection failed. A backend without notifications sleeps. */
    int (*wait_notify)(dbc *c, const char *channel, int timeout_ms);
};

extern const dbd db_drv_sqlite;
extern const dbd db_drv_pg;

/* The backend a --db target names: a postgres:// or postgresql:// URL is
 * PostgreSQL, anything else a SQLite path. */
const dbd *dbd_for(const char *target);

static inline void dbs_finalize(dbs *s)
{
    if (s)
        s->drv->finalize(s);
}
static inline void dbs_reset(dbs *s) { s->drv->reset(s); }
static inline void dbs_clear(dbs *s) { s->drv->clear(s); }
static inline void dbs_bind_int64(dbs *s, int i, int64_t v) { s->drv->bind_int64(s, i, v); }
static inline void dbs_bind_double(dbs *s, int i, double v) { s->drv->bind_double(s, i, v); }
static inline void dbs_bind_text(dbs *s, int i, const char *v) { s->drv->bind_text(s, i, v); }
static inline void dbs_bind_blob(dbs *s, int i, const void *p, size_t n)
{
    s->drv->bind_blob(s, i, p, n);
}
static inline void dbs_bind_null(dbs *s, int i) { s->drv->bind_null(s, i); }
static inline int dbs_step(dbs *s) { return s->drv->step(s); }
static inline int dbs_col_type(dbs *s, int i) { return s->drv->col_type(s, i); }
static inline int64_t dbs_col_int64(dbs *s, int i) { return s->drv->col_int64(s, i); }
static inline double dbs_col_double(dbs *s, int i) { return s->drv->col_double(s, i); }
static inline const char *dbs_col_text(dbs *s, int i) { return s->drv->col_text(s, i); }
static inline const void *dbs_col_blob(dbs *s, int i) { return s->drv->col_blob(s, i); }
static inline size_t dbs_col_bytes(dbs *s, int i) { return s->drv->col_bytes(s, i); }

#endif
