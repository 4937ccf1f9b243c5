/* db_int: what the SQLite backend's files (db.c, db_lti.c, db_outbox.c)
 * share. Not for use outside server/db*.c: everything else goes through
 * db.h. */
#ifndef MEMGRADE_DB_INT_H
#define MEMGRADE_DB_INT_H

#include <stdint.h>

#include <sqlite3.h>

#include "db.h"

/* The connection's handle. */
sqlite3 *db_sqlite(db *d);
/* Logs what failed with SQLite's message. */
void db_log_error(db *d, const char *what);
/* Transactions (BEGIN IMMEDIATE); 0 on success. Rollback is a no-op
 * outside a transaction. */
int db_tx_begin(db *d);
int db_tx_commit(db *d);
void db_tx_rollback(db *d);
/* The process's writers take turns (see db.c); every write holds this
 * around its statements or transaction. */
void db_write_lock(void);
void db_write_unlock(void);
/* Runs sql (no rows) with the given text/int64 parameters, for the
 * backend's low-traffic statements: prepared per call. */
sqlite3_stmt *db_prepare(db *d, const char *sql);

/* Called inside the transaction that stores a result of submission sub_id
 * (first grading or regrade): queues its grade passback (one row per line
 * item the student launched from, superseding an older pending score) and
 * its webhook event. 0 on success. (db_outbox.c) */
int db_outbox_graded_locked(db *d, int64_t sub_id, int64_t now);

#endif
