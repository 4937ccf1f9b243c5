/* db: SQLite storage of users, tokens, submissions (files as submitted),
 * jobs and results, and the durable job queue built on them.
 *
 * One db handle is one SQLite connection and must be used by one thread at a
 * time (the server keeps one per thread). The file is in WAL mode with
 * synchronous=FULL: a call that returned 0 has reached the disk, so an
 * accepted submission survives kill -9 and power loss. The schema is created
 * and upgraded by numbered migrations held in db.c (PRAGMA user_version). */
#ifndef MEMGRADE_DB_H
#define MEMGRADE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

typedef struct db db;

/* Return codes beyond 0 / -1 (-1: SQLite failed; the message is logged). */
enum { DB_OK = 0, DB_ERROR = -1, DB_NOT_FOUND = 1, DB_EXISTS = 2 };

typedef enum { DB_ROLE_STUDENT, DB_ROLE_INSTRUCTOR } db_role;

/* Opens (creating if needed) the database at path and brings its schema to
 * the newest version. NULL with err filled on failure. Caller closes. */
db *db_open(const char *path, char *err, size_t errlen);
void db_close(db *d);
/* The newest schema version this build knows (for tests and `user`). */
int db_schema_version(void);

/* "student" / "instructor"; -1 for anything else. */
int db_role_parse(const char *s);
const char *db_role_name(db_role r);

typedef struct {
    int64_t id;
    char name[65];
    db_role role;
} db_user;

/* Adds a user with one token (its hash). DB_EXISTS when the name is taken.
 * *id (may be NULL) receives the new user's id. */
int db_user_add(db *d, const char *name, db_role role,
                const uint8_t hash[AUTH_HASH_LEN], int64_t *id);
/* The id of the user called name, or DB_NOT_FOUND. */
int db_user_id(db *d, const char *name, int64_t *id);
/* Adds another token to an existing user; DB_NOT_FOUND when no such user. */
int db_token_add(db *d, const char *name, const uint8_t hash[AUTH_HASH_LEN]);
/* Deletes every token of user name (*count: how many); DB_NOT_FOUND when
 * no such user. A running server may still accept a revoked token for the
 * few seconds its token cache trusts a lookup (api.c AUTH_TTL_MS). */
int db_tokens_revoke(db *d, const char *name, int64_t *count);
/* The user holding the token with that hash, or DB_NOT_FOUND. */
int db_user_by_token(db *d, const uint8_t hash[AUTH_HASH_LEN], db_user *out);
/* Calls fn for every user, by name. */
int db_user_each(db *d, void (*fn)(void *ctx, const db_user *u), void *ctx);

/* A file as submitted; the bytes are not NUL-terminated. */
typedef struct {
    const char *name;
    const char *data;
    size_t len;
} db_file;

/* Stores a submission, its files and its queued job in one transaction.
 * *id receives the submission id. key (NULL: none) is the client's
 * Idempotency-Key and digest the submission's content hash: when this user
 * already stored a submission under key, nothing is stored and *id is that
 * one's id, with DB_OK and *replayed = 1 if its digest is the same, else
 * DB_EXISTS (the key was reused for different content). */
int db_submission_create(db *d, int64_t user_id, const char *assignment,
                         const db_file *files, size_t nfiles, const char *key,
                         const uint8_t digest[AUTH_HASH_LEN], int64_t *id, int *replayed);

/* A submission as the API shows it. Strings owned by the struct; release
 * with db_submission_clear. document is NULL until graded. */
typedef struct {
    int64_t id;
    int64_t user_id;
    char *user;
    char *assignment;
    int64_t created_at;    /* ms since the epoch */
    char *status;          /* queued | running | graded */
    char *result_status;   /* graded | compile_error | internal_error, or NULL */
    double score, max_score;
    int has_score;
    int64_t graded_at;
    char *document;        /* the SPEC §4 result document, JSON text */
    char *student_document;/* the same as its author may see it, or NULL */
    char *files;           /* JSON array of file names, text */
} db_submission;

/* Loads one submission (with its document when with_document). */
int db_submission_get(db *d, int64_t id, int with_document, db_submission *out);
void db_submission_clear(db_submission *s);
/* Calls fn for the newest submissions first, filtered by user (0: everyone)
 * and assignment (NULL: all); at most limit rows after skipping offset.
 * The submission passed to fn has no document and is cleared after fn. */
int db_submission_each(db *d, int64_t user_id, const char *assignment,
                       int limit, int offset,
                       void (*fn)(void *ctx, const db_submission *s), void *ctx);
/* One stored file's bytes: *data is malloc'd (caller frees). */
int db_submission_file(db *d, int64_t id, const char *name, char **data, size_t *len);

/* Gradebook row: one per student, also those who never submitted. */
typedef struct {
    const char *user;
    int64_t submissions;
    int has_best;
    double best_score;
    int64_t best_submission;
    int64_t last_submitted_at;
} db_grade;
int db_grades(db *d, const char *assignment,
              void (*fn)(void *ctx, const db_grade *g), void *ctx);

/* ---- the queue ----------------------------------------------------------- */

/* A claimed job with its submission's files, ready for grading. Owned by the
 * struct; release with db_job_clear. */
typedef struct {
    int64_t job_id;
    int64_t submission_id;
    int attempts;
    char *assignment;
    size_t nfiles;
    db_file *files;
} db_job;

/* Claims the oldest queued job for owner (running, attempts+1) and loads its
 * files. DB_NOT_FOUND when the queue is empty. */
int db_job_claim(db *d, const char *owner, db_job *out);
void db_job_clear(db_job *j);
/* Stores the result (the full document for instructors and the student's
 * view of it, which may be NULL) and marks the job done in one transaction. The result is
 * written only if owner still holds the job, so no submission is ever graded
 * twice. DB_NOT_FOUND when the job is no longer ours. */
int db_job_finish(db *d, int64_t job_id, const char *owner, const char *result_status,
                  double score, double max_score, int64_t duration_ms,
                  const char *document, const char *student_document);
/* Puts a running job of owner back in the queue (a retry, or shutdown). */
int db_job_requeue(db *d, int64_t job_id, const char *owner);
/* Puts every running job back in the queue: at start, when the previous
 * process died holding them. *count receives how many. */
int db_job_requeue_all(db *d, int64_t *count);
/* Jobs in the queued state. */
int db_queue_depth(db *d, int64_t *count);

int64_t db_now_ms(void);

#endif
