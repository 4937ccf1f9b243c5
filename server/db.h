/* db: storage of users, tokens, submissions (files as submitted), jobs and
 * results, and the durable job queue built on them; in SQLite (the embedded
 * default) or PostgreSQL (--db postgres://...), the same queries on both.
 *
 * One db handle is one connection and must be used by one thread at a time
 * (the server keeps one per thread). A SQLite file is in WAL mode with
 * synchronous=FULL: a call that returned 0 has reached the disk, so an
 * accepted submission survives kill -9 and power loss. The schema is created
 * and upgraded by numbered migrations held in db.c (PRAGMA user_version) and
 * db_pg_schema.c (table schema_version), numbered the same. */
#ifndef MEMGRADE_DB_H
#define MEMGRADE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

typedef struct db db;

/* Return codes beyond 0 / -1 (-1: the database failed; the message is
 * logged). */
enum { DB_OK = 0, DB_ERROR = -1, DB_NOT_FOUND = 1, DB_EXISTS = 2, DB_LIMIT = 3 };

typedef enum { DB_ROLE_STUDENT, DB_ROLE_INSTRUCTOR } db_role;

/* Opens (creating if needed) the database at path, or the PostgreSQL
 * database a postgres:// or postgresql:// URL names, and brings its schema
 * to the newest version. NULL with err filled (one line) on failure. Caller
 * closes. */
db *db_open(const char *path, char *err, size_t errlen);
void db_close(db *d);
/* 1 when target names a PostgreSQL database (a postgres:// or
 * postgresql:// URL), 0 for a SQLite path. */
int db_is_url(const char *target);
/* target fit for a log line: a URL's password replaced by "***". Returns
 * out (cap bytes). */
const char *db_display(const char *target, char *out, size_t cap);
/* 1 when d's last failure was losing its database server (PostgreSQL gone
 * or restarting; the next call reconnects): unavailable, not broken. */
int db_lost(db *d);
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
/* Sets user name's stored password (auth_password_hash's string);
 * DB_NOT_FOUND when no such user. */
int db_user_set_password(db *d, const char *name, const char *stored);
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
    char *course;
    int64_t late_days;     /* 0 when on time */
    double late_pct;       /* percent of max_score per late day */
    char *assignment_version; /* content hash the result was graded against */
} db_submission;

/* Where a submission goes and what the deadline made of it, decided by the
 * caller (api.c) from the course's offer at the time it passes in now. The
 * stored late_days and late_pct are then taken from the offer and extension
 * as they stand in the insert's transaction (a change that raced the
 * request still counts); staff are never late. */
typedef struct {
    const char *course;        /* NULL: "default" */
    int64_t now;               /* ms since the epoch: the submission's time */
    int64_t late_days;         /* whole days after the due date, rounded up */
    double late_pct;           /* penalty, percent of max_score per late day */
    int64_t max_submissions;   /* 0: no limit; else DB_LIMIT once reached */
} db_sub_ctx;

/* db_submission_create in a course: the count against max_submissions is
 * taken in the same transaction as the insert, so two racing requests
 * cannot both take the last attempt. DB_LIMIT when none is left. */
int db_submission_create_in(db *d, int64_t user_id, const char *assignment,
                            const db_file *files, size_t nfiles, const char *key,
                            const uint8_t digest[AUTH_HASH_LEN], const db_sub_ctx *ctx,
                            int64_t *id, int *replayed);

/* Whether user_id stored a submission under Idempotency-Key key: DB_OK
 * with *id, or DB_NOT_FOUND. */
int db_submission_by_key(db *d, int64_t user_id, const char *key, int64_t *id);

/* Loads one submission (with its document when with_document). */
int db_submission_get(db *d, int64_t id, int with_document, db_submission *out);
void db_submission_clear(db_submission *s);
/* Calls fn for the newest submissions first, filtered by user (0: everyone)
 * and assignment (NULL: all); at most limit rows after skipping offset.
 * The submission passed to fn has no document and is cleared after fn. */
int db_submission_each(db *d, int64_t user_id, const char *assignment,
                       const char *course, int limit, int offset,
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

/* Every result of submission id, oldest first (the current one last): fn
 * gets each stored document and its version, status, score and time. */
int db_result_history(db *d, int64_t id,
                      void (*fn)(void *ctx, const char *document, const char *student_document,
                                 const char *version, int64_t graded_at),
                      void *ctx);

/* ---- web sessions (web_auth.c) --------------------------------------------- */

/* The user called name with their stored password (auth_password_hash's
 * string, "" when none) into stored (cap bytes); DB_NOT_FOUND. */
int db_user_login(db *d, const char *name, db_user *out, char *stored, size_t cap);
/* How many users there are. */
int db_user_count(db *d, int64_t *n);
/* Stores a session under the hash of its id, for user_id with its CSRF
 * token; first deletes every session that expired (expires_at <= now) or
 * was idle since idle_before. */
int db_session_add(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t user_id, const char *csrf,
                   int64_t now, int64_t expires_at, int64_t idle_before);
/* The live (not expired at now) session with that hash: its user, CSRF
 * token and last use; DB_NOT_FOUND. The caller judges idleness. */
int db_session_get(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t now, db_user *out,
                   char csrf[AUTH_TOKEN_LEN + 1], int64_t *last_seen);
int db_session_touch(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t now);
/* Ends a session (logout); DB_NOT_FOUND when there was none. */
int db_session_delete(db *d, const uint8_t hash[AUTH_HASH_LEN]);
/* Ends every session of user_id but the one whose hash is keep (NULL: all):
 * after a password change. */
int db_sessions_end(db *d, int64_t user_id, const uint8_t *keep);
/* A one-time login link (its token's hash) for user_id. */
int db_login_link_add(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t user_id,
                      int64_t expires_at);
/* Uses up the link with that hash: DB_OK with its user when it was live at
 * now; DB_NOT_FOUND when unknown, already used or expired. Deleted in the
 * same statement that reads it, so two racing requests cannot both use it. */
int db_login_link_take(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t now, db_user *out);

/* ---- courses -------------------------------------------------------------- */

/* A role inside one course. */
typedef enum { DB_CROLE_STUDENT, DB_CROLE_TA, DB_CROLE_INSTRUCTOR } db_crole;
/* "student" / "ta" / "instructor"; -1 for anything else. */
int db_crole_parse(const char *s);
const char *db_crole_name(db_crole r);

/* The course every user is enrolled in and that offers every assignment. */
#define DB_DEFAULT_COURSE "default"

/* Whether id is a course id: [a-z0-9_-]{1,32}. */
int db_course_id_valid(const char *id);
/* Adds a course; DB_EXISTS when the id is taken. */
int db_course_add(db *d, const char *id, const char *title);
/* DB_OK when course id exists (*title, may be NULL, gets its title, at most
 * titlelen bytes), else DB_NOT_FOUND. */
int db_course_get(db *d, const char *id, char *title, size_t titlelen);
/* Enrols user_id in course (or changes their role there). DB_NOT_FOUND when
 * there is no such course. */
int db_course_enrol(db *d, const char *course, int64_t user_id, db_crole role);
/* Takes user_id out of course (their submissions stay); DB_NOT_FOUND when
 * they were not in it. */
int db_course_drop(db *d, const char *course, int64_t user_id);
/* The caller's role in course; DB_NOT_FOUND when not a member. */
int db_course_role(db *d, const char *course, int64_t user_id, db_crole *role);
/* Calls fn for each course user_id belongs to (every course when user_id
 * is 0, role then DB_CROLE_INSTRUCTOR), by id. */
int db_course_each(db *d, int64_t user_id,
                   void (*fn)(void *ctx, const char *id, const char *title, db_crole role),
                   void *ctx);

/* An assignment as a course offers it. Times in ms since the epoch, 0 for
 * none; max_submissions 0 for no limit. */
typedef struct {
    char assignment[65];
    int64_t due, accept_until;
    double late_penalty_per_day;   /* percent of max_score per started day */
    int64_t max_submissions;
    int policy_last;               /* the last submission counts, not the best */
} db_offer;

/* The offer of assignment in course; DB_NOT_FOUND when not offered. The
 * default course offers every assignment with no deadline unless a row
 * says otherwise, which the caller decides (it knows the catalog). */
int db_offer_get(db *d, const char *course, const char *assignment, db_offer *out);
/* Offers or changes (upsert). DB_NOT_FOUND when the course does not exist.
 * In the same transaction, the late days and penalty of every student's
 * submission of that assignment are recomputed from the new offer and their
 * extensions. */
int db_offer_put(db *d, const char *course, const db_offer *o);
/* Each stored offer of course, by assignment. */
int db_offer_each(db *d, const char *course, void (*fn)(void *ctx, const db_offer *o),
                  void *ctx);
/* A per-student extension; 0 for a time not extended. In the same
 * transaction, the late days and penalty of that student's submissions of
 * the assignment are recomputed against it. */
int db_extension_put(db *d, const char *course, const char *assignment, int64_t user_id,
                     int64_t due, int64_t accept_until);
/* DB_NOT_FOUND when user_id has no extension there. */
int db_extension_get(db *d, const char *course, const char *assignment, int64_t user_id,
                     int64_t *due, int64_t *accept_until);
/* Each extension of assignment in course, by user name. */
int db_extension_each(db *d, const char *course, const char *assignment,
                      void (*fn)(void *ctx, const char *user, int64_t due, int64_t accept_until),
                      void *ctx);
/* How many submissions user_id made to assignment in course. */
int db_submission_count(db *d, const char *course, const char *assignment, int64_t user_id,
                        int64_t *n);

/* Gradebook row of a course: one per student member, also those who never
 * submitted. Scores are after late penalties; has_* say whether any
 * submission was graded. final is best or last per the offer's policy. */
typedef struct {
    const char *user;
    int64_t attempts;
    int has_best, has_last;
    double best_score, last_score, max_score;
    int64_t best_submission, last_submission;
    int64_t best_late_days, last_late_days;
    int64_t last_submitted_at;
} db_course_grade;
int db_course_grades(db *d, const char *course, const char *assignment,
                     void (*fn)(void *ctx, const db_course_grade *g), void *ctx);

/* ---- the staff dashboard ------------------------------------------------------ */

/* One submission of an assignment in a course, as the dashboard reads it. */
typedef struct {
    int64_t user_id;
    const char *user;
    int64_t id;                /* 0: this student has not submitted */
    int64_t created_at;        /* ms since the epoch */
    int64_t late_days;
    int graded;                /* score and max_score are set */
    double score;              /* after the late penalty, as the gradebook counts */
    double max_score;
    const char *error_kinds;   /* its result's distinct memory-error kinds
                                * (SPEC §4), sorted, space-separated; "" none */
    const char *status;        /* the result's: graded | compile_error |
                                * internal_error; NULL until graded */
} db_dash_row;
/* Calls fn for each submission of assignment in course by a student member
 * (one row with id 0 for a student who has none), grouped by student in user
 * id order, each student's oldest first; only user_id's when it is not 0.
 * Reads only the narrow stored figures (migration 7), never a result
 * document. Strings live until fn returns. */
int db_dash_rows(db *d, const char *course, const char *assignment, int64_t user_id,
                 void (*fn)(void *ctx, const db_dash_row *row), void *ctx);

/* ---- regrades --------------------------------------------------------------- */

/* Creates a regrade of every graded submission of assignment in course: one
 * item each, queued behind new submissions. *id the regrade, *total its
 * items. */
int db_regrade_create(db *d, const char *course, const char *assignment, int64_t *id,
                      int64_t *total);
typedef struct {
    int64_t total, done, failed;
    char course[40];
    char status[16];   /* queued | running | done */
} db_regrade;
int db_regrade_get(db *d, int64_t id, db_regrade *out);
/* Regrade items in the queued state (the workers' second queue). */
int db_regrade_depth(db *d, int64_t *count);

/* ---- roster sync (db_nrps.c; SPEC §8) ------------------------------------------- */

/* An LTI context mapped to a course whose launches named a Names and Role
 * Provisioning URL. The strings live only during the callback. */
typedef struct {
    int64_t platform_id;
    const char *deployment_id;
    const char *context_id;
    const char *nrps_url;
    int64_t synced_at;         /* ms; 0: never */
} db_nrps_context;
/* Calls fn for each context of course that has an NRPS URL. */
int db_nrps_contexts(db *d, const char *course,
                     void (*fn)(void *ctx, const db_nrps_context *c), void *ctx);
/* The user a launch (or sync) mapped platform_id's sub to; DB_NOT_FOUND. */
int db_nrps_user_of(db *d, int64_t platform_id, const char *sub, int64_t *user_id);
/* Records that the context was synced at now; DB_NOT_FOUND when it is gone. */
int db_nrps_synced(db *d, int64_t platform_id, const char *deployment_id,
                   const char *context_id, int64_t now);

/* ---- the outbox: grade passback and webhooks (db_outbox.c) ------------------ */

/* Rows are queued with the result they report (db_job_finish,
 * db_regrade_finish); the delivery thread (lti_outbox.c) takes them here. */
typedef enum { DB_OUTBOX_SCORE, DB_OUTBOX_WEBHOOK } db_outbox_kind;
typedef enum { DB_OUTBOX_PENDING, DB_OUTBOX_DELIVERED, DB_OUTBOX_FAILED } db_outbox_state;

/* A due row. payload (webhook: the submission JSON as queued), url and
 * secret (webhook: the course's target now; NULL when it has none) are
 * malloc'd: release with db_outbox_item_clear. */
typedef struct {
    int64_t id;
    db_outbox_kind kind;
    char course[40];
    int64_t link_id, user_id, submission_id, seq, attempts;
    char *payload, *url, *secret;
} db_outbox_item;
void db_outbox_item_clear(db_outbox_item *it);
/* The lowest-id row due at now (pending, next_at <= now) for which busy
 * (may be NULL) answers 0: DB_OK with out. DB_NOT_FOUND when none, with
 * *next_at the earliest later next_at (0: nothing pending) and *blocked 1
 * when due rows were passed over as busy. */
int db_outbox_next(db *d, int64_t now, int (*busy)(void *ctx, const char *course, int kind),
                   void *ctx, db_outbox_item *out, int64_t *next_at, int *blocked);

/* The passback score of the student of submission_id for its course and
 * assignment: the gradebook's final (late penalty applied; best, or the
 * newest graded result under policy last), its max_score, and the newest
 * graded_at among the student's results there. DB_NOT_FOUND when nothing
 * is graded. */
typedef struct {
    int has, policy_last;
    double final, max;
    int64_t graded_at;
} db_outbox_score;
int db_outbox_score_of(db *d, int64_t submission_id, db_outbox_score *out);

/* Records an attempt of row id read with seq: state (delivered, pending
 * again at next_at, failed), the answer's status (0: none) and error (NULL
 * or "": none), attempts + 1. When seq changed meanwhile (a newer result),
 * the row stays pending and *superseded is set: a success then leaves it
 * due now for the newer score; a failure keeps next_at. DB_NOT_FOUND when
 * the row is no longer pending. */
int db_outbox_record(db *d, int64_t id, int64_t seq, db_outbox_state state, int64_t next_at,
                     long status, const char *err, int64_t now, int *superseded);

/* One row as staff see it; strings live until fn returns, user and
 * line_item may be NULL. Times in ms, delivered_at 0 when not. */
typedef struct {
    int64_t id;
    const char *kind, *state;
    int64_t attempts, next_at, created_at, updated_at, delivered_at, submission_id;
    int has_status;
    long last_status;
    const char *last_error, *user, *line_item;
} db_delivery;
/* The rows of course, newest first, filtered by kind and state (NULL: any),
 * at most limit, only ids below before (0: no bound). */
int db_outbox_each(db *d, const char *course, const char *kind, const char *state, int limit,
                   int64_t before, void (*fn)(void *ctx, const db_delivery *dl), void *ctx);
/* Row id of course goes again at now (a failed one from attempt 0).
 * DB_NOT_FOUND when course has no such row, DB_EXISTS when delivered. */
int db_outbox_retry(db *d, const char *course, int64_t id, int64_t now);
/* Row counts by kind and state (for /metrics). */
int db_outbox_counts(db *d, void (*fn)(void *ctx, const char *kind, const char *state,
                                       int64_t n),
                     void *ctx);

/* A course's webhook target (upsert); DB_NOT_FOUND without such a course. */
int db_webhook_put(db *d, const char *course, const char *url, const char *secret, int64_t now);
/* Its URL (never the secret: only the delivery thread reads that);
 * DB_NOT_FOUND when the course has none. */
int db_webhook_get(db *d, const char *course, char *url, size_t urlcap, int64_t *updated_at);
int db_webhook_delete(db *d, const char *course);

/* ---- the queue ----------------------------------------------------------- */

/* A claimed job with its submission's files, ready for grading. Owned by the
 * struct; release with db_job_clear. */
typedef struct {
    int64_t job_id;
    int64_t submission_id;
    int attempts;
    int regrade;           /* job_id is a regrade item, not a submission's job */
    int backlog;           /* the submitter's other submissions waiting or
                              being graded when it was claimed */
    char *assignment;
    size_t nfiles;
    db_file *files;
} db_job;

/* How many of user_id's submissions wait for grading or are being graded. */
int db_user_active_jobs(db *d, int64_t user_id, int64_t *count);
/* Claims a queued job for owner (running, attempts+1) and loads its files:
 * the oldest of a student with the fewest jobs running (fair between
 * students, in order within each). DB_NOT_FOUND when the queue is empty. */
int db_job_claim(db *d, const char *owner, db_job *out);
/* The same, skipping students who have max_running jobs running already
 * (0: no bound): DB_NOT_FOUND also when every queued job is such a
 * student's. */
int db_job_claim_fair(db *d, const char *owner, int max_running, db_job *out);
/* The same for the oldest queued regrade item (out->regrade set). */
int db_regrade_claim(db *d, const char *owner, db_job *out);
void db_job_clear(db_job *j);
/* Stores the result (the full document for instructors and the student's
 * view of it, which may be NULL) and marks the job done in one transaction. The result is
 * written only if owner still holds the job, so no submission is ever graded
 * twice. DB_NOT_FOUND when the job is no longer ours. */
int db_job_finish(db *d, int64_t job_id, const char *owner, const char *result_status,
                  double score, double max_score, int64_t duration_ms,
                  const char *document, const char *student_document);
/* The version (content hash) of the assignment the next db_job_finish or
 * db_regrade_finish on this connection records; NULL for unknown. */
void db_set_assignment_version(db *d, const char *version);
/* Stores a regrade item's result as its submission's current one, the
 * previous result moving to history, and counts the item done (failed when
 * failed) in its regrade, in one transaction fenced by owner like
 * db_job_finish: an item is never stored twice. */
int db_regrade_finish(db *d, int64_t item_id, const char *owner, int failed,
                      const char *result_status, double score, double max_score,
                      int64_t duration_ms, const char *document, const char *student_document);
/* Puts a running job of owner back in the queue (a retry, or shutdown). */
int db_job_requeue(db *d, int64_t job_id, const char *owner);
int db_regrade_requeue(db *d, int64_t item_id, const char *owner);
/* Puts every running job (and regrade item) back in the queue: at start,
 * when the previous process died holding them. *count receives how many. */
int db_job_requeue_all(db *d, int64_t *count);
/* Jobs in the queued state. */
int db_queue_depth(db *d, int64_t *count);

/* ---- leases and grading processes (SPEC §9) ------------------------------- */

/* A claim (db_job_claim*, db_regrade_claim) holds its job for the lease set
 * here (process-wide, default 30 s), renewed by db_job_renew; a job whose
 * lease ran out is claimable again, by any process. */
void db_set_lease_ms(int64_t ms);
/* Extends the lease on every job and regrade item owner is grading;
 * *held receives how many. */
int db_job_renew(db *d, const char *owner, int64_t *held);
/* Puts back in the queue every running job and regrade item whose lease
 * has run out (a process that died or froze): at start when several
 * processes share the database. *count receives how many. */
int db_job_requeue_expired(db *d, int64_t *count);
/* Puts back in the queue every job and regrade item owner still holds: a
 * process that stops without finishing them. *count receives how many. */
int db_job_release(db *d, const char *owner, int64_t *count);
/* Waits up to timeout_ms for a new job or regrade item (PostgreSQL:
 * LISTEN/NOTIFY, on this connection from its first call). DB_OK when one
 * was announced, DB_NOT_FOUND on time-out (SQLite: always, after the
 * wait), DB_ERROR when the connection failed (db_lost tells). */
int db_wait_jobs(db *d, int timeout_ms);

/* user_id's submissions made since since_ms (any process's), and when the
 * oldest of them was made: the rate limit of several API processes. */
int db_user_recent_submissions(db *d, int64_t user_id, int64_t since_ms, int64_t *count,
                               int64_t *oldest);

/* A process that grades (serve or worker), as it last reported itself. */
typedef struct {
    char name[96];         /* its claim owner: host:pid:start */
    char role[8];          /* "serve" or "worker" */
    char host[64];
    int pid;
    int threads;           /* grading threads */
    int64_t running, done; /* jobs being graded now; graded since start */
    int64_t started_at, last_seen;
} db_worker;
/* Records w (upsert by name), last_seen = now. */
int db_worker_beat(db *d, const db_worker *w);
/* Each process seen in the last max_age_ms, most recently seen first. */
int db_workers_each(db *d, int64_t max_age_ms, void (*fn)(void *ctx, const db_worker *w),
                    void *ctx);

/* ---- LTI (db_lti.c; SPEC §8) ------------------------------------------------ */

/* A registered LMS platform (issuer + client_id), as `memgrade lti
 * add-platform` stored it. */
#define DB_LTI_URL_MAX 1024
typedef struct {
    int64_t id;
    char issuer[DB_LTI_URL_MAX];
    char client_id[256];
    char auth_url[DB_LTI_URL_MAX];
    char token_url[DB_LTI_URL_MAX];
    char jwks_url[DB_LTI_URL_MAX];
    char service_url[DB_LTI_URL_MAX]; /* "" when none: another host its line
                                       * items and rosters may be on */
    int64_t created_at;
} db_lti_platform;

/* Registers p (p->id ignored) with deployment dep, or adds dep to the
 * platform with the same issuer and client_id (its URLs then stay as they
 * are; *created 0). *id the platform's id. DB_EXISTS when that platform
 * already has dep. */
int db_lti_platform_add(db *d, const db_lti_platform *p, const char *dep, int64_t *id,
                        int *created);
int db_lti_platform_get(db *d, int64_t id, db_lti_platform *out);
/* The platform of issuer and client_id; with client_id NULL, the only one
 * of issuer: *count (may be NULL) says how many there are, out is filled
 * only when exactly one. DB_NOT_FOUND when none. */
int db_lti_platform_find(db *d, const char *issuer, const char *client_id,
                         db_lti_platform *out, int *count);
int db_lti_platform_each(db *d, void (*fn)(void *ctx, const db_lti_platform *p), void *ctx);
/* Sets one field ("issuer", "client_id", "auth_url", "token_url",
 * "jwks_url", "service_url" where "" is none) of platform id. DB_NOT_FOUND, DB_EXISTS (issuer+client_id
 * taken), -1 also for an unknown field. A new jwks_url drops the cached
 * platform keys. */
int db_lti_platform_set(db *d, int64_t id, const char *field, const char *value);
/* Removes platform id and all that hangs on it (deployments, keys,
 * launches, pending passbacks). DB_NOT_FOUND. */
int db_lti_platform_remove(db *d, int64_t id);
/* Deployments: DB_OK when platform_id has dep; each in order; remove
 * (DB_NOT_FOUND when it had none). */
int db_lti_deployment_has(db *d, int64_t platform_id, const char *dep);
int db_lti_deployment_each(db *d, int64_t platform_id,
                           void (*fn)(void *ctx, const char *dep), void *ctx);
int db_lti_deployment_remove(db *d, int64_t platform_id, const char *dep);

/* The platform's cached public key kid (its JWK, JSON text, malloc'd into
 * *jwk) and when it was fetched. DB_NOT_FOUND. */
int db_lti_pkey_get(db *d, int64_t platform_id, const char *kid, char **jwk,
                    int64_t *fetched_at);
/* Replaces the platform's cached keys by the n given (kids[i], jwks[i]). */
int db_lti_pkeys_replace(db *d, int64_t platform_id, const char *const *kids,
                         const char *const *jwks, size_t n, int64_t now);

/* The tool's own keys. A key is current while retired_at is NULL; a
 * rotated key has retired_at = the end of its grace period and is
 * published until then. */
typedef struct {
    const char *kid;
    const char *private_pem;
    const char *public_jwk;
    int64_t created_at;
    int64_t retired_at;        /* 0: current */
} db_lti_tool_key;
/* Adds kid as the current key; when rotating (grace_end > 0) the current
 * key gets retired_at = grace_end and keys whose grace ended at now are
 * deleted, in one transaction. DB_EXISTS when first (grace_end 0) and a
 * current key exists already. */
int db_lti_tool_key_add(db *d, const char *kid, const char *pem, const char *jwk,
                        int64_t now, int64_t grace_end);
/* The current key: fn called once. DB_NOT_FOUND. */
int db_lti_tool_key_current(db *d, void (*fn)(void *ctx, const db_lti_tool_key *k), void *ctx);
/* Every key still published at now (current first, then newest). */
int db_lti_tool_key_each(db *d, int64_t now, void (*fn)(void *ctx, const db_lti_tool_key *k),
                         void *ctx);

/* A login state (its hash) for platform_id with its nonce, bound to the
 * browser whose cookie hashes to browser; expired ones are deleted first.
 * DB_LIMIT when DB_LTI_STATES_MAX logins are in progress. */
#define DB_LTI_STATES_MAX 100000
int db_lti_state_add(db *d, const uint8_t hash[32], int64_t platform_id, const char *nonce,
                     const uint8_t browser[32], int64_t expires_at, int64_t now);
/* Uses up the state with that hash (deleted in the reading statement):
 * DB_OK with its platform, nonce (cap bytes), browser hash and expiry;
 * DB_NOT_FOUND when unknown or already used. The caller judges expiry. */
int db_lti_state_take(db *d, const uint8_t hash[32], int64_t *platform_id, char *nonce,
                      size_t cap, uint8_t browser[32], int64_t *expires_at);
/* Records nonce as used for platform_id until expires_at: DB_OK the first
 * time, DB_EXISTS when it was seen before (a replay). Expired ones go. */
int db_lti_nonce_use(db *d, int64_t platform_id, const char *nonce, int64_t expires_at,
                     int64_t now);

/* What a checked launch maps, stored in one transaction (lti_launch.c). */
typedef struct {
    int64_t platform_id;
    const char *deployment_id;
    const char *context_id;
    const char *course_id;     /* used when the context is new */
    const char *course_id_alt; /* ... and when that one is taken */
    const char *course_title;
    const char *nrps_url;      /* NULL: keep what is stored */
    const char *sub;
    const char *user_name;     /* wanted name of a new user: taken, then -2, -3 ... */
    db_crole role;
    const char *resource_link_id; /* NULL: no link (a Deep Linking request) */
    const char *assignment;    /* the custom parameter; NULL: keep the stored one */
    const char *lineitem_url;  /* NULL: keep what is stored */
    int64_t now;
} db_lti_launch_in;
typedef struct {
    char course_id[40];
    db_user user;
    int64_t link_id;           /* 0 without a link */
    char assignment[65];       /* "" when the link has none yet */
    int new_course, new_user;
} db_lti_launch_out;
int db_lti_launch_store(db *d, const db_lti_launch_in *in, db_lti_launch_out *out);
/* Sets the assignment of link_id (Deep Linking); DB_NOT_FOUND. */
int db_lti_link_set_assignment(db *d, int64_t link_id, const char *assignment);
/* The course of link_id (cap bytes); DB_NOT_FOUND. */
int db_lti_link_course(db *d, int64_t link_id, char *course, size_t cap);
/* Where a Score for user_id on link_id goes: the platform, the line item
 * URL (cap bytes) and the sub the user launched with (subcap).
 * DB_NOT_FOUND when the link, its line item or the launch is gone. */
int db_lti_score_target(db *d, int64_t link_id, int64_t user_id, int64_t *platform_id,
                        char *lineitem, size_t cap, char *sub, size_t subcap);

int64_t db_now_ms(void);

#endif
