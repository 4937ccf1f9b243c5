/* db_int: what the storage files (db.c, db_lti.c, db_outbox.c, db_nrps.c
 * and the backends under them, db_drv.h) share. Not for use outside
 * server/db*.c: everything else goes through db.h. */
#ifndef MEMGRADE_DB_INT_H
#define MEMGRADE_DB_INT_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "db_drv.h"

/* Logs what failed with the backend's message. */
void db_log_error(db *d, const char *what);
/* Transactions (SQLite: BEGIN IMMEDIATE); 0 on success. Rollback is a no-op
 * outside a transaction. */
int db_tx_begin(db *d);
int db_tx_commit(db *d);
void db_tx_rollback(db *d);
/* The process's writers take turns (see db.c); every write holds this
 * around its statements or transaction. */
void db_write_lock(void);
void db_write_unlock(void);
/* A one-off statement for the low-traffic queries, prepared per call;
 * the caller finalizes it (dbs_finalize). NULL on failure (logged). */
dbs *db_prepare(db *d, const char *sql);
/* Rows the last INSERT/UPDATE/DELETE of d's connection changed. */
int64_t db_changes(db *d);
/* Runs SQL without parameters (one or more statements); 0 or -1. */
int db_exec(db *d, const char *sql);
/* 1 on PostgreSQL, for the few texts the dialects cannot share. */
int db_backend_is_pg(db *d);
/* Tells the processes waiting in db_wait_jobs that a job is claimable
 * (PostgreSQL NOTIFY, at commit inside a transaction; nothing on SQLite,
 * where one process owns the queue). 0 or -1. */
int db_notify_jobs(db *d);
/* Waits up to timeout_ms for a notification on channel (LISTENing from the
 * first call, again after a reconnect): DB_OK, DB_NOT_FOUND on time-out,
 * DB_ERROR (db_lost tells whether the connection went). */
int db_wait_notify(db *d, const char *channel, int timeout_ms);
/* The lease a claim takes (db_set_lease_ms), in ms (db_lease.c). */
int64_t db_lease_ms(void);
/* The text of a stored compressed document (db.c), malloc'd; NULL when
 * damaged or out of memory. */
char *db_doc_inflate(const unsigned char *b, size_t len);
/* PostgreSQL's text of each of db.c's migrations, numbered the same
 * (db_pg_schema.c). */
extern const char *const db_pg_migrations[];
extern const int db_pg_nmigrations;

/* SQL: X clamped at 0 from below, NULL staying NULL (SQLite's scalar
 * MAX(0, X) in a form PostgreSQL reads too). */
#define DB_MAX0(X)                                                             \
    "(CASE WHEN (" X ") IS NULL THEN NULL WHEN (" X ") > 0 THEN (" X ")"      \
    " ELSE 0 END)"

/* Called inside the transaction that stores a result of submission sub_id
 * (first grading or regrade): queues its grade passback (one row per line
 * item the student launched from, superseding an older pending score) and
 * its webhook event. 0 on success. (db_outbox.c) */
int db_outbox_graded_locked(db *d, int64_t sub_id, int64_t now);

#endif
