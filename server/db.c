/* db: storage and the durable job queue, over the statement driver
 * (db_drv.h: SQLite or PostgreSQL). Statements live in one table (DB_STMTS,
 * with PostgreSQL's own text where the dialects differ: stmt_pg) and are
 * prepared once per connection. */
#include "db.h"
#include "db_int.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <zlib.h>

/* The distinct memory-error kinds (SPEC §4) of the result document whose
 * JSON text is X, sorted and separated by spaces; NULL when there is none.
 * A kind that is not a plain identifier is left out (the text is split on
 * spaces when read back), and a document that is not JSON has none. */
#define ERROR_KINDS(X)                                                         \
    "(SELECT group_concat(k, ' ') FROM (SELECT DISTINCT"                      \
    "  CASE WHEN e.type = 'object' THEN json_extract(e.value, '$.kind') END AS k" \
    "  FROM json_each(CASE WHEN json_valid(" X ") THEN " X " ELSE '{}' END,"   \
    "   '$.memory_errors') AS e"                                               \
    "  WHERE typeof(k) = 'text' AND k <> '' AND k NOT GLOB '*[^a-z0-9_]*'"    \
    "  ORDER BY k))"

/* Schema migrations: entry i brings user_version from i to i+1. Never edit a
 * shipped entry; append a new one. */
static const char *const migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE users("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK (role IN ('student','instructor')),"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE tokens("
    "  hash BLOB PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE submissions("
    "  id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  assignment TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX submissions_user ON submissions(user_id, assignment);"
    "CREATE INDEX submissions_assignment ON submissions(assignment, user_id);"
    "CREATE TABLE submission_files("
    "  submission_id INTEGER NOT NULL REFERENCES submissions(id),"
    "  name TEXT NOT NULL,"
    "  content BLOB NOT NULL,"
    "  PRIMARY KEY (submission_id, name)) WITHOUT ROWID;"
    "CREATE TABLE jobs("
    "  id INTEGER PRIMARY KEY,"
    "  submission_id INTEGER NOT NULL UNIQUE REFERENCES submissions(id),"
    "  state TEXT NOT NULL CHECK (state IN ('queued','running','done')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  claimed_by TEXT, claimed_at INTEGER, finished_at INTEGER);"
    "CREATE INDEX jobs_state ON jobs(state, id);"
    "CREATE TABLE results("
    "  submission_id INTEGER PRIMARY KEY REFERENCES submissions(id),"
    "  status TEXT NOT NULL,"
    "  score REAL, max_score REAL, duration_ms INTEGER,"
    "  document TEXT NOT NULL,"
    "  graded_at INTEGER NOT NULL);",
    /* 2: Idempotency-Key, so a client that lost its 202 (a crash, a
     * timeout) can retry without submitting twice. */
    "ALTER TABLE submissions ADD COLUMN idempotency_key TEXT;"
    "ALTER TABLE submissions ADD COLUMN digest BLOB;"
    "CREATE UNIQUE INDEX submissions_idempotency ON submissions(user_id, idempotency_key)"
    "  WHERE idempotency_key IS NOT NULL;",
    /* 3: what a student may see of a result (hidden tests withheld);
     * NULL in older rows, where the API derives it on the fly. */
    "ALTER TABLE results ADD COLUMN student_document TEXT;",
    /* 4: courses (issue 10). Every existing user joins the default course
     * with their global role and every existing submission belongs to it,
     * so an upgraded install behaves as before. A result keeps its
     * predecessors in result_history when a regrade replaces it, and names
     * the assignment version (content hash) it was graded against. */
    "CREATE TABLE courses("
    "  id TEXT PRIMARY KEY,"
    "  title TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE course_members("
    "  course_id TEXT NOT NULL REFERENCES courses(id),"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  role TEXT NOT NULL CHECK (role IN ('student','ta','instructor')),"
    "  PRIMARY KEY (course_id, user_id)) WITHOUT ROWID;"
    "CREATE INDEX course_members_user ON course_members(user_id);"
    "CREATE TABLE course_assignments("
    "  course_id TEXT NOT NULL REFERENCES courses(id),"
    "  assignment TEXT NOT NULL,"
    "  due INTEGER, accept_until INTEGER,"
    "  late_penalty_per_day REAL NOT NULL DEFAULT 0,"
    "  max_submissions INTEGER,"
    "  policy TEXT NOT NULL DEFAULT 'best' CHECK (policy IN ('best','last')),"
    "  PRIMARY KEY (course_id, assignment)) WITHOUT ROWID;"
    "CREATE TABLE extensions("
    "  course_id TEXT NOT NULL REFERENCES courses(id),"
    "  assignment TEXT NOT NULL,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  due INTEGER, accept_until INTEGER,"
    "  PRIMARY KEY (course_id, assignment, user_id)) WITHOUT ROWID;"
    "ALTER TABLE submissions ADD COLUMN course TEXT NOT NULL DEFAULT 'default';"
    "ALTER TABLE submissions ADD COLUMN late_days INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE submissions ADD COLUMN late_pct REAL NOT NULL DEFAULT 0;"
    "CREATE INDEX submissions_course ON submissions(course, assignment, user_id, id);"
    "ALTER TABLE results ADD COLUMN assignment_version TEXT;"
    "CREATE TABLE result_history("
    "  id INTEGER PRIMARY KEY,"
    "  submission_id INTEGER NOT NULL REFERENCES submissions(id),"
    "  status TEXT NOT NULL,"
    "  score REAL, max_score REAL, duration_ms INTEGER,"
    "  document TEXT NOT NULL, student_document TEXT,"
    "  graded_at INTEGER NOT NULL, assignment_version TEXT);"
    "CREATE INDEX result_history_submission ON result_history(submission_id, id);"
    "CREATE TABLE regrades("
    "  id INTEGER PRIMARY KEY,"
    "  course_id TEXT NOT NULL REFERENCES courses(id),"
    "  assignment TEXT NOT NULL,"
    "  total INTEGER NOT NULL,"
    "  done INTEGER NOT NULL DEFAULT 0,"
    "  failed INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE regrade_items("
    "  id INTEGER PRIMARY KEY,"
    "  regrade_id INTEGER NOT NULL REFERENCES regrades(id),"
    "  submission_id INTEGER NOT NULL REFERENCES submissions(id),"
    "  state TEXT NOT NULL DEFAULT 'queued'"
    "    CHECK (state IN ('queued','running','done')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  claimed_by TEXT);"
    "CREATE INDEX regrade_items_state ON regrade_items(state, id);"
    "INSERT INTO courses(id, title, created_at)"
    "  VALUES ('default', 'Default course', CAST(strftime('%s','now') AS INTEGER) * 1000);"
    "INSERT INTO course_members(course_id, user_id, role)"
    "  SELECT 'default', id, role FROM users;",
    /* 5: a password for the web login (memgrade user passwd), stored as
     * auth_password_hash makes it; NULL: token only. */
    "ALTER TABLE users ADD COLUMN password TEXT;",
    /* web sessions and one-time login links (issue 11): only the SHA-256 of
     * a session id or link token is stored, as for API tokens. */
    "CREATE TABLE sessions("
    "  hash BLOB PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  csrf TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE TABLE login_links("
    "  hash BLOB PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  expires_at INTEGER NOT NULL) WITHOUT ROWID;",
    /* 7: the staff dashboard (issue 11) counts each memory-error kind over
     * a course's 20,000 submissions per page view: each result keeps its
     * distinct kinds, taken from the document when it is stored (backfilled
     * here from the stored documents), and a covering index holds what the
     * dashboard reads of a result, so a render never decompresses or parses
     * a document nor touches the rows' document pages. */
    "ALTER TABLE results ADD COLUMN error_kinds TEXT;"
    "UPDATE results SET error_kinds = " ERROR_KINDS("memgrade_doc(document)") ";"
    "CREATE INDEX results_dashboard ON results(submission_id, status, score, max_score,"
    "  error_kinds);",
    /* 8: LMS integration (SPEC §8). Platforms registered by the CLI and
     * their deployments; the tool's own RSA keys (the current one has no
     * retired_at) and each platform's public keys as last fetched; login
     * states (bound to the browser by the hash of a cookie) and used nonces,
     * both short-lived; who and what a launch mapped (sub → user, context →
     * course, resource link → assignment and line item); and the outbox:
     * one row per (line item, student) for grade passback, bumped (seq) when
     * a newer result supersedes it, and one row per webhook event, each
     * delivered with durable retry. Webhook targets per course. */
    "CREATE TABLE lti_platforms("
    "  id INTEGER PRIMARY KEY,"
    "  issuer TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  auth_url TEXT NOT NULL,"
    "  token_url TEXT NOT NULL,"
    "  jwks_url TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (issuer, client_id));"
    "CREATE TABLE lti_deployments("
    "  platform_id INTEGER NOT NULL REFERENCES lti_platforms(id) ON DELETE CASCADE,"
    "  deployment_id TEXT NOT NULL,"
    "  PRIMARY KEY (platform_id, deployment_id)) WITHOUT ROWID;"
    "CREATE TABLE lti_platform_keys("
    "  platform_id INTEGER NOT NULL REFERENCES lti_platforms(id) ON DELETE CASCADE,"
    "  kid TEXT NOT NULL,"
    "  jwk TEXT NOT NULL,"
    "  fetched_at INTEGER NOT NULL,"
    "  PRIMARY KEY (platform_id, kid)) WITHOUT ROWID;"
    "CREATE TABLE lti_tool_keys("
    "  kid TEXT PRIMARY KEY,"
    "  private_pem TEXT NOT NULL,"
    "  public_jwk TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  retired_at INTEGER) WITHOUT ROWID;"
    "CREATE TABLE lti_states("
    "  hash BLOB PRIMARY KEY,"
    "  platform_id INTEGER NOT NULL REFERENCES lti_platforms(id) ON DELETE CASCADE,"
    "  nonce TEXT NOT NULL,"
    "  browser BLOB NOT NULL,"
    "  expires_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE lti_nonces("
    "  platform_id INTEGER NOT NULL REFERENCES lti_platforms(id) ON DELETE CASCADE,"
    "  nonce TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  PRIMARY KEY (platform_id, nonce)) WITHOUT ROWID;"
    "CREATE TABLE lti_users("
    "  platform_id INTEGER NOT NULL REFERENCES lti_platforms(id) ON DELETE CASCADE,"
    "  sub TEXT NOT NULL,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  PRIMARY KEY (platform_id, sub)) WITHOUT ROWID;"
    "CREATE INDEX lti_users_user ON lti_users(user_id);"
    "CREATE TABLE lti_contexts("
    "  platform_id INTEGER NOT NULL REFERENCES lti_platforms(id) ON DELETE CASCADE,"
    "  deployment_id TEXT NOT NULL,"
    "  context_id TEXT NOT NULL,"
    "  course_id TEXT NOT NULL REFERENCES courses(id),"
    "  nrps_url TEXT,"
    "  synced_at INTEGER,"
    "  PRIMARY KEY (platform_id, deployment_id, context_id)) WITHOUT ROWID;"
    "CREATE TABLE lti_links("
    "  id INTEGER PRIMARY KEY,"
    "  platform_id INTEGER NOT NULL REFERENCES lti_platforms(id) ON DELETE CASCADE,"
    "  deployment_id TEXT NOT NULL,"
    "  resource_link_id TEXT NOT NULL,"
    "  course_id TEXT NOT NULL REFERENCES courses(id),"
    "  assignment TEXT,"
    "  lineitem_url TEXT,"
    "  UNIQUE (platform_id, deployment_id, resource_link_id));"
    "CREATE INDEX lti_links_course ON lti_links(course_id, assignment);"
    "CREATE TABLE lti_launches("
    "  link_id INTEGER NOT NULL REFERENCES lti_links(id) ON DELETE CASCADE,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  sub TEXT NOT NULL,"
    "  last_at INTEGER NOT NULL,"
    "  PRIMARY KEY (link_id, user_id)) WITHOUT ROWID;"
    "CREATE INDEX lti_launches_user ON lti_launches(user_id);"
    "CREATE TABLE webhooks("
    "  course_id TEXT PRIMARY KEY REFERENCES courses(id),"
    "  url TEXT NOT NULL,"
    "  secret TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE outbox("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('score','webhook')),"
    "  course_id TEXT NOT NULL,"
    "  link_id INTEGER REFERENCES lti_links(id) ON DELETE CASCADE,"
    "  user_id INTEGER,"
    "  submission_id INTEGER,"
    "  seq INTEGER NOT NULL DEFAULT 1,"
    "  state TEXT NOT NULL DEFAULT 'pending'"
    "    CHECK (state IN ('pending','delivered','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at INTEGER NOT NULL,"
    "  last_status INTEGER,"
    "  last_error TEXT,"
    "  payload TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  delivered_at INTEGER);"
    "CREATE UNIQUE INDEX outbox_score ON outbox(link_id, user_id) WHERE kind = 'score';"
    "CREATE INDEX outbox_due ON outbox(state, next_at);"
    "CREATE INDEX outbox_course ON outbox(course_id, id);",
    /* 9: where a platform serves line items and rosters when that is none
     * of its registered hosts (hosted Canvas: the school's own address,
     * while issuer and OAuth live elsewhere); NULL: only those. */
    "ALTER TABLE lti_platforms ADD COLUMN service_url TEXT;",
    /* 10: leases (SPEC §9): a claim holds its job until lease_until (ms),
     * renewed by its holder; and the processes that grade, as each last
     * reported itself. */
    "ALTER TABLE jobs ADD COLUMN lease_until INTEGER;"
    "ALTER TABLE regrade_items ADD COLUMN lease_until INTEGER;"
    "CREATE TABLE workers("
    "  name TEXT PRIMARY KEY,"
    "  role TEXT NOT NULL,"
    "  host TEXT NOT NULL,"
    "  pid INTEGER NOT NULL,"
    "  threads INTEGER NOT NULL,"
    "  running INTEGER NOT NULL,"
    "  done INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX workers_seen ON workers(last_seen);",
};

#define SUBMISSION_COLS_(FILES)                                                \
    "s.id, s.user_id, u.name, s.assignment, s.created_at,"                    \
    " CASE j.state WHEN 'done' THEN 'graded' ELSE j.state END,"               \
    " r.status, r.score, r.max_score, r.graded_at, " FILES ","                \
    " s.course, s.late_days, s.late_pct, r.assignment_version"
/* The submission's file names as a JSON array, sorted. */
#define SUBMISSION_COLS                                                        \
    SUBMISSION_COLS_("(SELECT json_group_array(name) FROM"                    \
                     "  (SELECT name FROM submission_files f"                 \
                     "   WHERE f.submission_id = s.id ORDER BY name))")
#define SUBMISSION_COLS_PG                                                     \
    SUBMISSION_COLS_("COALESCE((SELECT json_agg(name ORDER BY name)"          \
                     "  FROM submission_files f WHERE f.submission_id = s.id)::text," \
                     "  '[]')")
#define SUBMISSION_FROM                                                        \
    " FROM submissions s JOIN users u ON u.id = s.user_id"                    \
    " JOIN jobs j ON j.submission_id = s.id"                                  \
    " LEFT JOIN results r ON r.submission_id = s.id"

/* Late days and penalty of a course's submissions under the current offer
 * and extensions (whole days rounded up), so an extension or a new policy
 * reaches work already handed in; WHERE narrows it to one user or one
 * submission (a separate statement each, so each uses its index). Staff
 * (course TAs and instructors, global instructors) are never late, as at
 * submission time. */
#define LATE_RECOMPUTE(WHERE)                                                  \
    "UPDATE submissions AS s SET"                                              \
    " late_days = CASE WHEN t.due IS NULL OR s.created_at <= t.due"            \
    "  THEN 0 ELSE (s.created_at - t.due + 86399999) / 86400000 END,"          \
    " late_pct = CASE WHEN t.due IS NULL OR s.created_at <= t.due"             \
    "  THEN 0 ELSE t.pct END"                                                  \
    " FROM (SELECT x.id AS sid, COALESCE(e.due, o.due) AS due,"                \
    "  o.late_penalty_per_day AS pct FROM submissions x"                       \
    "  JOIN course_assignments o ON o.course_id = x.course"                    \
    "   AND o.assignment = x.assignment"                                       \
    "  LEFT JOIN extensions e ON e.course_id = x.course"                       \
    "   AND e.assignment = x.assignment AND e.user_id = x.user_id"             \
    "  WHERE x.course = ?1 AND x.assignment = ?2" WHERE                        \
    "   AND NOT EXISTS (SELECT 1 FROM course_members m"                        \
    "    WHERE m.course_id = x.course AND m.user_id = x.user_id"               \
    "    AND m.role <> 'student')"                                             \
    "   AND NOT EXISTS (SELECT 1 FROM users u"                                 \
    "    WHERE u.id = x.user_id AND u.role = 'instructor')) AS t"              \
    " WHERE s.id = t.sid"

/* The dashboard's rows; HINT pins SQLite to the covering index (its
 * planner otherwise reads the documents' pages). */
#define DASH_ROWS_SQL(HINT)                                                    \
    "SELECT m.user_id, u.name, s.id, s.created_at, s.late_days,"  \
                 " CASE WHEN r.score IS NULL THEN NULL ELSE"                   \
                 "  " DB_MAX0("r.score - r.max_score * s.late_pct * s.late_days / 100.0") " END," \
                 " r.max_score, r.error_kinds, r.status"                       \
                 " FROM course_members m JOIN users u ON u.id = m.user_id"     \
                 " LEFT JOIN submissions s ON s.course = ?1"                   \
                 "  AND s.assignment = ?2 AND s.user_id = m.user_id"           \
                 " LEFT JOIN results r" HINT           \
                 "  ON r.submission_id = s.id"                                 \
                 " WHERE m.course_id = ?1 AND m.role = 'student'"              \
                 "  AND (?3 = 0 OR m.user_id = ?3)"                            \
                 " ORDER BY m.user_id, s.id"

/* A result's row; KINDS computes its error_kinds from the document's
 * text, ?10 (ERROR_KINDS on SQLite, a PL/pgSQL function on PostgreSQL). */
#define RESULT_ADD_SQL(KINDS)                                                  \
    "INSERT INTO results(submission_id, status, score, max_score,"            \
    " duration_ms, document, graded_at, student_document,"                    \
    " assignment_version, error_kinds)"                                        \
    " SELECT submission_id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, " KINDS           \
    " FROM jobs WHERE id = ?1"
#define RESULT_REPLACE_SQL(KINDS)                                              \
    "INSERT INTO results(submission_id, status,"                              \
    " score, max_score, duration_ms, document, graded_at,"                    \
    " student_document, assignment_version, error_kinds)"                     \
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, " KINDS ")"                 \
    " ON CONFLICT (submission_id) DO UPDATE SET status = excluded.status,"    \
    " score = excluded.score, max_score = excluded.max_score,"                \
    " duration_ms = excluded.duration_ms, document = excluded.document,"      \
    " graded_at = excluded.graded_at,"                                         \
    " student_document = excluded.student_document,"                          \
    " assignment_version = excluded.assignment_version,"                      \
    " error_kinds = excluded.error_kinds"
#define PG_KINDS "memgrade_error_kinds(CAST(?10 AS TEXT))"

#define SUB_GET_SQL(COLS)                                                      \
    "SELECT " COLS ", r.document, r.student_document" SUBMISSION_FROM         \
    " WHERE s.id = ?1"
#define SUB_EACH_SQL(COLS)                                                     \
    "SELECT " COLS SUBMISSION_FROM                                             \
    " WHERE (?1 = 0 OR s.user_id = ?1)"                                        \
    " AND (CAST(?2 AS TEXT) IS NULL OR s.assignment = ?2)"                     \
    " AND (CAST(?5 AS TEXT) IS NULL OR s.course = ?5)"                         \
    " ORDER BY s.id DESC LIMIT ?3 OFFSET ?4"

#define DB_STMTS(X)                                                            \
    X(USER_ADD, "INSERT INTO users(name, role, created_at) VALUES (?1, ?2, ?3)"      \
                " RETURNING id") \
    X(USER_ID, "SELECT id FROM users WHERE name = ?1")                         \
    X(USER_PASSWD, "UPDATE users SET password = ?2 WHERE name = ?1")           \
    X(TOKEN_ADD, "INSERT INTO tokens(hash, user_id, created_at) VALUES (?1, ?2, ?3)") \
    X(TOKENS_REVOKE, "DELETE FROM tokens WHERE user_id = ?1")                  \
    X(USER_BY_TOKEN, "SELECT u.id, u.name, u.role FROM tokens t"               \
                     " JOIN users u ON u.id = t.user_id WHERE t.hash = ?1")    \
    X(USER_EACH, "SELECT id, name, role FROM users ORDER BY name")             \
    X(USER_LOGIN, "SELECT id, name, role, password FROM users WHERE name = ?1") \
    X(USER_COUNT, "SELECT COUNT(*) FROM users")                                \
    X(SESSION_ADD, "INSERT INTO sessions(hash, user_id, csrf, created_at,"     \
                   " last_seen, expires_at) VALUES (?1, ?2, ?3, ?4, ?4, ?5)")  \
    X(SESSION_GET, "SELECT u.id, u.name, u.role, s.csrf, s.last_seen"          \
                   " FROM sessions s JOIN users u ON u.id = s.user_id"         \
                   " WHERE s.hash = ?1 AND s.expires_at > ?2")                 \
    X(SESSION_TOUCH, "UPDATE sessions SET last_seen = ?2 WHERE hash = ?1")     \
    X(SESSION_DEL, "DELETE FROM sessions WHERE hash = ?1")                     \
    X(SESSION_DEL_USER, "DELETE FROM sessions WHERE user_id = ?1"              \
                        " AND hash IS DISTINCT FROM ?2")                                 \
    X(SESSION_PURGE, "DELETE FROM sessions WHERE expires_at <= ?1"             \
                     " OR last_seen <= ?2")                                    \
    X(LINK_ADD, "INSERT INTO login_links(hash, user_id, expires_at)"           \
                " VALUES (?1, ?2, ?3)")                                        \
    X(LINK_TAKE, "DELETE FROM login_links WHERE hash = ?1"                     \
                 " RETURNING user_id, expires_at")                             \
    X(USER_BY_ID, "SELECT id, name, role FROM users WHERE id = ?1")            \
    X(SUB_ADD, "INSERT INTO submissions(user_id, assignment, created_at,"      \
               " idempotency_key, digest, course, late_days, late_pct)"        \
               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id")        \
    X(SUB_COUNT, "SELECT COUNT(*) FROM submissions"                            \
                 " WHERE course = ?1 AND assignment = ?2 AND user_id = ?3")    \
    X(MEMBER_ADD, "INSERT INTO course_members(course_id, user_id, role)"       \
                  " VALUES (?1, ?2, ?3) ON CONFLICT (course_id, user_id)"      \
                  " DO UPDATE SET role = excluded.role")                       \
    X(MEMBER_DROP, "DELETE FROM course_members WHERE course_id = ?1 AND user_id = ?2") \
    X(MEMBER_ROLE, "SELECT role FROM course_members"                           \
                   " WHERE course_id = ?1 AND user_id = ?2")                   \
    X(COURSE_ADD, "INSERT INTO courses(id, title, created_at) VALUES (?1, ?2, ?3)") \
    X(COURSE_GET, "SELECT title FROM courses WHERE id = ?1")                   \
    X(COURSE_EACH, "SELECT c.id, c.title, m.role FROM courses c"               \
                   " JOIN course_members m ON m.course_id = c.id"              \
                   " WHERE m.user_id = ?1 ORDER BY c.id")                      \
    X(COURSE_ALL, "SELECT id, title, 'instructor' FROM courses ORDER BY id")   \
    X(OFFER_GET, "SELECT assignment, due, accept_until, late_penalty_per_day," \
                 " max_submissions, policy FROM course_assignments"            \
                 " WHERE course_id = ?1 AND assignment = ?2")                  \
    X(OFFER_EACH, "SELECT assignment, due, accept_until, late_penalty_per_day," \
                  " max_submissions, policy FROM course_assignments"           \
                  " WHERE course_id = ?1 ORDER BY assignment")                 \
    X(OFFER_PUT, "INSERT INTO course_assignments(course_id, assignment, due,"  \
                 " accept_until, late_penalty_per_day, max_submissions, policy)" \
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"                        \
                 " ON CONFLICT (course_id, assignment) DO UPDATE SET"          \
                 " due = excluded.due, accept_until = excluded.accept_until,"  \
                 " late_penalty_per_day = excluded.late_penalty_per_day,"      \
                 " max_submissions = excluded.max_submissions,"                \
                 " policy = excluded.policy")                                  \
    X(EXT_PUT, "INSERT INTO extensions(course_id, assignment, user_id, due,"   \
               " accept_until) VALUES (?1, ?2, ?3, ?4, ?5)"                    \
               " ON CONFLICT (course_id, assignment, user_id) DO UPDATE SET"   \
               " due = excluded.due, accept_until = excluded.accept_until")    \
    X(EXT_GET, "SELECT due, accept_until FROM extensions"                      \
               " WHERE course_id = ?1 AND assignment = ?2 AND user_id = ?3")   \
    X(EXT_EACH, "SELECT u.name, e.due, e.accept_until FROM extensions e"         \
                " JOIN users u ON u.id = e.user_id"                            \
                " WHERE e.course_id = ?1 AND e.assignment = ?2 ORDER BY u.name")  \
    X(LATE_ALL, LATE_RECOMPUTE(""))                                            \
    X(LATE_USER, LATE_RECOMPUTE(" AND x.user_id = ?3"))                        \
    X(LATE_ONE, LATE_RECOMPUTE(" AND x.id = ?3"))                              \
    X(COURSE_GRADES, "SELECT u.name, s.id, s.created_at, s.late_days,"         \
                     " CASE WHEN r.score IS NULL THEN NULL ELSE"               \
                     "  " DB_MAX0("r.score - r.max_score * s.late_pct * s.late_days / 100.0") " END," \
                     " r.max_score"                                            \
                     " FROM course_members m JOIN users u ON u.id = m.user_id" \
                     " LEFT JOIN submissions s ON s.course = ?1"               \
                     "  AND s.assignment = ?2 AND s.user_id = m.user_id"       \
                     " LEFT JOIN results r ON r.submission_id = s.id"          \
                     " WHERE m.course_id = ?1 AND m.role = 'student'"          \
                     " ORDER BY u.name, s.id")                                 \
    X(DASH_ROWS, DASH_ROWS_SQL(" INDEXED BY results_dashboard"))              \
    X(HISTORY, "SELECT document, student_document, assignment_version, graded_at" \
               " FROM (SELECT id AS k, document, student_document,"            \
               "  assignment_version, graded_at FROM result_history"           \
               "  WHERE submission_id = ?1"                                    \
               " UNION ALL SELECT 9223372036854775807, document,"             \
               "  student_document, assignment_version, graded_at FROM results" \
               "  WHERE submission_id = ?1) AS h ORDER BY k")                  \
    X(REGRADE_ADD, "INSERT INTO regrades(course_id, assignment, total, created_at)" \
                   " VALUES (?1, ?2, 0, ?3) RETURNING id")                     \
    X(REGRADE_ITEMS, "INSERT INTO regrade_items(regrade_id, submission_id)"    \
                     " SELECT ?1, s.id FROM submissions s"                     \
                     " JOIN jobs j ON j.submission_id = s.id AND j.state = 'done'" \
                     " WHERE s.course = ?2 AND s.assignment = ?3 ORDER BY s.id") \
    X(REGRADE_TOTAL, "UPDATE regrades SET total = ?2 WHERE id = ?1")           \
    X(REGRADE_GET, "SELECT g.total, g.done, g.failed, g.course_id,"            \
                   " (SELECT COUNT(*) FROM regrade_items i"                    \
                   "  WHERE i.regrade_id = g.id AND i.state = 'running')"      \
                   " FROM regrades g WHERE g.id = ?1")                         \
    X(REGRADE_DEPTH, "SELECT COUNT(*) FROM regrade_items WHERE state = 'queued'") \
    X(REGRADE_CLAIM, "UPDATE regrade_items SET state = 'running',"             \
                     " attempts = attempts + 1, claimed_by = ?1, lease_until = ?2" \
                     " WHERE id = (SELECT id FROM regrade_items"               \
                     "             WHERE state = 'queued' ORDER BY id LIMIT 1)" \
                     " RETURNING id, submission_id, attempts")                 \
    X(REGRADE_ITEM_DONE, "UPDATE regrade_items SET state = 'done'"             \
                         " WHERE id = ?1 AND state = 'running' AND claimed_by = ?2" \
                         " RETURNING regrade_id, submission_id")               \
    X(REGRADE_COUNT, "UPDATE regrades SET done = done + 1, failed = failed + ?2" \
                     " WHERE id = ?1")                                         \
    X(RESULT_TO_HISTORY, "INSERT INTO result_history(submission_id, status,"   \
                         " score, max_score, duration_ms, document,"           \
                         " student_document, graded_at, assignment_version)"   \
                         " SELECT submission_id, status, score, max_score,"    \
                         " duration_ms, document, student_document, graded_at," \
                         " assignment_version FROM results WHERE submission_id = ?1") \
    X(RESULT_REPLACE, RESULT_REPLACE_SQL(ERROR_KINDS("?10")))                 \
    X(REGRADE_REQUEUE, "UPDATE regrade_items SET state = 'queued', claimed_by = NULL" \
                       " WHERE id = ?1 AND state = 'running' AND claimed_by = ?2") \
    X(REGRADE_REQUEUE_ALL, "UPDATE regrade_items SET state = 'queued',"        \
                           " claimed_by = NULL WHERE state = 'running'")       \
    X(SUB_BY_KEY, "SELECT id, digest FROM submissions"                         \
                  " WHERE user_id = ?1 AND idempotency_key = ?2")              \
    X(FILE_ADD, "INSERT INTO submission_files(submission_id, name, content)"   \
                " VALUES (?1, ?2, ?3)")                                        \
    X(JOB_ADD, "INSERT INTO jobs(submission_id, state) VALUES (?1, 'queued')") \
    X(SUB_GET, SUB_GET_SQL(SUBMISSION_COLS))                                   \
    X(SUB_EACH, SUB_EACH_SQL(SUBMISSION_COLS))                                 \
    X(FILE_GET, "SELECT content FROM submission_files"                        \
                " WHERE submission_id = ?1 AND name = ?2")                     \
    X(FILES_OF, "SELECT name, content FROM submission_files"                  \
                " WHERE submission_id = ?1 ORDER BY name")                     \
    X(GRADES, "SELECT u.name, COUNT(s.id), MAX(r.score),"                      \
              " (SELECT r2.submission_id FROM results r2"                      \
              "  JOIN submissions s2 ON s2.id = r2.submission_id"             \
              "  WHERE s2.user_id = u.id AND s2.assignment = ?1"               \
              "  ORDER BY r2.score DESC NULLS LAST, r2.submission_id LIMIT 1),"          \
              " MAX(s.created_at)"                                             \
              " FROM users u LEFT JOIN submissions s"                          \
              "  ON s.user_id = u.id AND s.assignment = ?1"                    \
              " LEFT JOIN results r ON r.submission_id = s.id"                 \
              " WHERE u.role = 'student' GROUP BY u.id ORDER BY u.name")       \
    /* Fair between students, round robin: of the students with queued   \
     * jobs and fewer than ?3 running, the one with the fewest running,    \
     * then the one a worker took up longest ago (never: first), gets its  \
     * oldest job; so one student's submissions (endless loops, say) never \
     * hold the workers others need, and each student's jobs go in        \
     * submission order. */                                                \
    X(JOB_CLAIM, "UPDATE jobs SET state = 'running', attempts = attempts + 1," \
                 " claimed_by = ?1, claimed_at = ?2, lease_until = ?2 + ?4"      \
                 " WHERE id = (WITH waiting AS (SELECT s.user_id, MIN(q.id) AS first," \
                 "   (SELECT COUNT(*) FROM jobs r"                             \
                 "    JOIN submissions rs ON rs.id = r.submission_id"          \
                 "    WHERE r.state = 'running' AND rs.user_id = s.user_id) AS busy" \
                 "   FROM jobs q JOIN submissions s ON s.id = q.submission_id"  \
                 "   WHERE q.state = 'queued' GROUP BY s.user_id)"              \
                 "  SELECT w.first FROM waiting w WHERE w.busy < ?3 ORDER BY w.busy," \
                 "  (SELECT MAX(r.claimed_at) FROM submissions rs"             \
                 "   JOIN jobs r ON r.submission_id = rs.id"                   \
                 "   WHERE rs.user_id = w.user_id) NULLS FIRST,"               \
                 "  w.first LIMIT 1)"                                          \
                 " RETURNING id, submission_id, attempts")                     \
    X(USER_ACTIVE, "SELECT COUNT(*) FROM jobs j"                               \
                   " JOIN submissions s ON s.id = j.submission_id"             \
                   " WHERE j.state IN ('queued', 'running') AND s.user_id = ?1") \
    X(JOB_ASSIGNMENT, "SELECT assignment FROM submissions WHERE id = ?1")      \
    X(JOB_BACKLOG, "SELECT COUNT(*) FROM submissions s"                         \
                   " JOIN jobs j ON j.submission_id = s.id"                    \
                   " WHERE s.user_id = (SELECT user_id FROM submissions"       \
                   "  WHERE id = ?1) AND s.id <> ?1"                           \
                   " AND j.state IN ('queued', 'running')")                    \
    X(JOB_SUBMISSION, "SELECT submission_id FROM jobs WHERE id = ?1")          \
    X(JOB_DONE, "UPDATE jobs SET state = 'done', finished_at = ?3"             \
                " WHERE id = ?1 AND state = 'running' AND claimed_by = ?2")    \
    X(RESULT_ADD, RESULT_ADD_SQL(ERROR_KINDS("?10")))                         \
    X(JOB_REQUEUE, "UPDATE jobs SET state = 'queued', claimed_by = NULL"       \
                   " WHERE id = ?1 AND state = 'running' AND claimed_by = ?2") \
    X(JOB_REQUEUE_ALL, "UPDATE jobs SET state = 'queued', claimed_by = NULL"   \
                       " WHERE state = 'running'")                             \
    X(QUEUE_DEPTH, "SELECT COUNT(*) FROM jobs WHERE state = 'queued'")

enum {
#define DB_ENUM_(id, sql) ST_##id,
    DB_STMTS(DB_ENUM_)
#undef DB_ENUM_
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
#define DB_SQL_(id, sql) sql,
    DB_STMTS(DB_SQL_)
#undef DB_SQL_
};

/* PostgreSQL's own text of the statements the dialects cannot share;
 * NULL: stmt_sql's. The queue's claims lock the row they take with
 * FOR UPDATE SKIP LOCKED, so serve and worker processes sharing a database
 * never take the same job and never wait for each other's claim. */
static const char *const stmt_pg[ST_COUNT] = {
    [ST_SUB_GET] = SUB_GET_SQL(SUBMISSION_COLS_PG),
    [ST_SUB_EACH] = SUB_EACH_SQL(SUBMISSION_COLS_PG),
    [ST_DASH_ROWS] = DASH_ROWS_SQL(""),
    [ST_RESULT_ADD] = RESULT_ADD_SQL(PG_KINDS),
    [ST_RESULT_REPLACE] = RESULT_REPLACE_SQL(PG_KINDS),
    [ST_REGRADE_CLAIM] =
        "UPDATE regrade_items SET state = 'running', attempts = attempts + 1,"
        " claimed_by = ?1, lease_until = ?2 WHERE state = 'queued' AND id = (SELECT id FROM regrade_items"
        "  WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, submission_id, attempts",
    [ST_JOB_CLAIM] =
        "WITH waiting AS (SELECT s.user_id, MIN(q.id) AS first,"
        "  (SELECT COUNT(*) FROM jobs r JOIN submissions rs ON rs.id = r.submission_id"
        "   WHERE r.state = 'running' AND rs.user_id = s.user_id) AS busy"
        "  FROM jobs q JOIN submissions s ON s.id = q.submission_id"
        "  WHERE q.state = 'queued' GROUP BY s.user_id),"
        " pick AS (SELECT j.id FROM jobs j JOIN waiting w ON w.first = j.id"
        "  WHERE w.busy < ?3 AND j.state = 'queued' ORDER BY w.busy,"
        "  (SELECT MAX(r.claimed_at) FROM submissions rs"
        "   JOIN jobs r ON r.submission_id = rs.id"
        "   WHERE rs.user_id = w.user_id) NULLS FIRST,"
        "  w.first LIMIT 1 FOR UPDATE OF j SKIP LOCKED)"
        " UPDATE jobs SET state = 'running', attempts = attempts + 1,"
        " claimed_by = ?1, claimed_at = ?2, lease_until = ?2 + ?4"
        " WHERE state = 'queued' AND id = (SELECT id FROM pick)"
        " RETURNING id, submission_id, attempts",
};

struct db {
    dbc *c;
    dbs *st[ST_COUNT];
    char version[80];   /* db_set_assignment_version; "" for unknown */
};

/* Writers of this process take turns here before SQLite's write lock:
 * SQLite's own busy handler sleeps 1, 2, 5 ... 100 ms between tries, which
 * showed up as 0.4-1 s tails in submit-to-graded latency when request
 * threads and workers wrote at once. Other processes (memgrade user) still
 * meet the busy handler, rarely. */
static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;
#define WRITE_LOCKED(call)                                                     \
    do {                                                                       \
        pthread_mutex_lock(&write_mu);                                         \
        int wl_rc_ = (call);                                                   \
        pthread_mutex_unlock(&write_mu);                                       \
        return wl_rc_;                                                         \
    } while (0)

int64_t db_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int db_schema_version(void)
{
    return (int)(sizeof migrations / sizeof migrations[0]);
}

static const char *const role_names[] = {"student", "instructor"};

int db_role_parse(const char *s)
{
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
        if (s && !strcmp(s, role_names[i]))
            return (int)i;
    return -1;
}

const char *db_role_name(db_role r)
{
    return (unsigned)r < 2 ? role_names[r] : "?";
}

static void db_log(db *d, const char *what)
{
    fprintf(stderr, "memgrade: db: %s: %s\n", what, d->c->drv->errmsg(d->c));
}

/* The prepared statement for id, reset and unbound; NULL on failure. The
 * backend's own text of a statement (stmt_pg) where the dialects differ. */
static dbs *stmt(db *d, int id)
{
    if (!d->st[id]) {
        const char *sql = d->c->drv->kind == DBD_PG && stmt_pg[id] ? stmt_pg[id] : stmt_sql[id];
        if (!(d->st[id] = d->c->drv->prepare(d->c, sql, 1)))
            return NULL;
    }
    dbs_reset(d->st[id]);
    dbs_clear(d->st[id]);
    return d->st[id];
}

/* Runs a statement that returns no rows; 0 on success. */
static int step_done(db *d, dbs *s)
{
    int rc = dbs_step(s);
    if (rc != DBS_DONE && rc != DBS_ROW)
        db_log(d, "running a statement");
    dbs_reset(s);
    return rc == DBS_DONE ? 0 : -1;
}

/* Runs an INSERT ... RETURNING id: the new row's id, 0 on failure. */
static int64_t step_id(db *d, dbs *s)
{
    int rc = dbs_step(s);
    int64_t id = rc == DBS_ROW ? dbs_col_int64(s, 0) : 0;
    if (rc == DBS_ROW)
        while ((rc = dbs_step(s)) == DBS_ROW)
            ;
    if (rc != DBS_DONE) {
        db_log(d, "inserting a row");
        id = 0;
    }
    dbs_reset(s);
    return id;
}

static int exec1(db *d, int id)
{
    dbs *s = stmt(d, id);
    return s ? step_done(d, s) : -1;
}

/* Result documents are stored compressed: a course's documents repeat the
 * same test names and descriptions thousands of times, and 200,000 of them
 * stored as text passed 2 GB. A BLOB is "MGZ1", the text's length (8 bytes,
 * little-endian) and its zlib stream; rows stored as TEXT (before schema 4)
 * are read as they are. */
#define DOC_MAGIC "MGZ1"
#define DOC_MAX (64u << 20)

/* Binds text at i, compressed (the driver copies the bytes). */
static void bind_doc(dbs *s, int i, const char *text)
{
    size_t n = strlen(text);
    uLongf zlen = compressBound((uLong)n);
    unsigned char *buf = n <= DOC_MAX ? malloc(12 + zlen) : NULL;
    if (buf && compress2(buf + 12, &zlen, (const Bytef *)text, (uLong)n, 6) == Z_OK) {
        memcpy(buf, DOC_MAGIC, 4);
        for (int k = 0; k < 8; k++)
            buf[4 + k] = (unsigned char)((uint64_t)n >> (8 * k));
        dbs_bind_blob(s, i, buf, (size_t)(12 + zlen));
    } else {
        dbs_bind_text(s, i, text);
    }
    free(buf);
}

/* The text of a stored BLOB document, malloc'd; NULL when damaged or out
 * of memory. */
static char *doc_inflate(const unsigned char *b, size_t len)
{
    uint64_t n = 0;
    if (!b || len < 12 || memcmp(b, DOC_MAGIC, 4))
        return NULL;
    for (int k = 0; k < 8; k++)
        n |= (uint64_t)b[4 + k] << (8 * k);
    char *text = n <= DOC_MAX ? malloc((size_t)n + 1) : NULL;
    uLongf out = (uLongf)n;
    if (!text || uncompress((Bytef *)text, &out, b + 12, (uLong)(len - 12)) != Z_OK ||
        out != n) {
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

/* The document in column i as malloc'd text; NULL for SQL NULL or on
 * failure (*failed then set). */
static char *doc_dup(dbs *s, int i, int *failed)
{
    int type = dbs_col_type(s, i);
    if (type == DBS_NULL)
        return NULL;
    if (type != DBS_BLOB) {
        const char *t = dbs_col_text(s, i);
        char *copy = t ? strdup((const char *)t) : NULL;
        *failed |= !copy;
        return copy;
    }
    char *text = doc_inflate(dbs_col_blob(s, i), (size_t)dbs_col_bytes(s, i));
    *failed |= !text;
    return text;
}

char *db_doc_inflate(const unsigned char *b, size_t len) { return doc_inflate(b, len); }

static int tx_begin(db *d) { return d->c->drv->begin(d->c); }
static int tx_commit(db *d) { return d->c->drv->commit(d->c); }
static void tx_rollback(db *d) { d->c->drv->rollback(d->c); }

void db_log_error(db *d, const char *what) { db_log(d, what); }
int db_tx_begin(db *d) { return tx_begin(d); }
int db_tx_commit(db *d) { return tx_commit(d); }
void db_tx_rollback(db *d) { tx_rollback(d); }
void db_write_lock(void) { pthread_mutex_lock(&write_mu); }
void db_write_unlock(void) { pthread_mutex_unlock(&write_mu); }
int64_t db_changes(db *d) { return d->c->drv->changes(d->c); }
int db_exec(db *d, const char *sql) { return d->c->drv->exec(d->c, sql); }
int db_backend_is_pg(db *d) { return d->c->drv->kind == DBD_PG; }

int db_notify_jobs(db *d)
{
    /* Inside a transaction, delivered when it commits. */
    return d->c->drv->kind == DBD_PG ? d->c->drv->exec(d->c, "NOTIFY memgrade_jobs") : 0;
}

int db_wait_notify(db *d, const char *channel, int timeout_ms)
{
    int r = d->c->drv->wait_notify(d->c, channel, timeout_ms);
    return r > 0 ? DB_OK : r == 0 ? DB_NOT_FOUND : DB_ERROR;
}
int db_lost(db *d) { return d->c->drv->lost(d->c); }

int db_is_url(const char *target) { return dbd_for(target)->kind == DBD_PG; }

const char *db_display(const char *target, char *out, size_t cap)
{
    const char *scheme = db_is_url(target) ? strstr(target, "://") : NULL;
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    if (colon)
        snprintf(out, cap, "%.*s:***%s", (int)(colon - target), target, at);
    else
        snprintf(out, cap, "%s", target);
    return out;
}

dbs *db_prepare(db *d, const char *sql)
{
    return d->c->drv->prepare(d->c, sql, 0);
}

db *db_open(const char *path, char *err, size_t errlen)
{
    err[0] = '\0';
    const dbd *drv = dbd_for(path);
    db *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!(d->c = drv->open(path, err, errlen)))
        goto fail;
    if (drv->kind == DBD_PG ? drv->migrate(d->c, db_pg_migrations, db_pg_nmigrations, err, errlen)
                            : drv->migrate(d->c, migrations, db_schema_version(), err, errlen))
        goto fail;
    return d;
fail:
    db_close(d);
    return NULL;
}

void db_close(db *d)
{
    if (!d)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        dbs_finalize(d->st[i]);
    if (d->c)
        d->c->drv->close(d->c);
    free(d);
}

/* ---- users ---------------------------------------------------------------- */

static int token_insert(db *d, int64_t user_id, const uint8_t hash[AUTH_HASH_LEN])
{
    dbs *s = stmt(d, ST_TOKEN_ADD);
    if (!s)
        return -1;
    dbs_bind_blob(s, 1, hash, AUTH_HASH_LEN);
    dbs_bind_int64(s, 2, user_id);
    dbs_bind_int64(s, 3, db_now_ms());
    return step_done(d, s);
}

static int user_add_locked(db *d, const char *name, db_role role,
                           const uint8_t hash[AUTH_HASH_LEN], int64_t *id)
{
    int rc = DB_ERROR;
    if (tx_begin(d))
        return DB_ERROR;
    dbs *s = stmt(d, ST_USER_ADD);
    if (!s)
        goto out;
    dbs_bind_text(s, 1, name);
    dbs_bind_text(s, 2, db_role_name(role));
    dbs_bind_int64(s, 3, db_now_ms());
    int src = dbs_step(s);
    int64_t uid = src == DBS_ROW ? dbs_col_int64(s, 0) : 0;
    dbs_reset(s);
    if (src == DBS_CONSTRAINT) {
        rc = DB_EXISTS;
        goto out;
    }
    if (src != DBS_ROW) {
        db_log(d, "adding a user");
        goto out;
    }
    if (token_insert(d, uid, hash) ||
        !(s = stmt(d, ST_MEMBER_ADD)))
        goto out;
    /* Everyone is in the default course, with their global role. */
    dbs_bind_text(s, 1, DB_DEFAULT_COURSE);
    dbs_bind_int64(s, 2, uid);
    dbs_bind_text(s, 3, role == DB_ROLE_INSTRUCTOR ? "instructor" : "student");
    if (step_done(d, s) || tx_commit(d))
        goto out;
    if (id)
        *id = uid;
    rc = DB_OK;
out:
    if (rc != DB_OK)
        tx_rollback(d);
    return rc;
}

int db_user_add(db *d, const char *name, db_role role,
                const uint8_t hash[AUTH_HASH_LEN], int64_t *id)
{
    WRITE_LOCKED(user_add_locked(d, name, role, hash, id));
}

int db_user_id(db *d, const char *name, int64_t *id)
{
    dbs *s = stmt(d, ST_USER_ID);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, name);
    int src = dbs_step(s);
    if (src == DBS_ROW)
        *id = dbs_col_int64(s, 0);
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

static int token_add_locked(db *d, const char *name, const uint8_t hash[AUTH_HASH_LEN])
{
    int64_t uid = 0;
    int rc = db_user_id(d, name, &uid);
    if (rc != DB_OK)
        return rc;
    return token_insert(d, uid, hash) ? DB_ERROR : DB_OK;
}

static int user_passwd_locked(db *d, const char *name, const char *stored)
{
    dbs *s = stmt(d, ST_USER_PASSWD);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, name);
    dbs_bind_text(s, 2, stored);
    if (step_done(d, s))
        return DB_ERROR;
    return db_changes(d) == 1 ? DB_OK : DB_NOT_FOUND;
}

int db_user_set_password(db *d, const char *name, const char *stored)
{
    WRITE_LOCKED(user_passwd_locked(d, name, stored));
}

int db_token_add(db *d, const char *name, const uint8_t hash[AUTH_HASH_LEN])
{
    WRITE_LOCKED(token_add_locked(d, name, hash));
}

static int tokens_revoke_locked(db *d, const char *name, int64_t *count)
{
    int64_t uid = 0;
    int rc = db_user_id(d, name, &uid);
    if (rc != DB_OK)
        return rc;
    dbs *s = stmt(d, ST_TOKENS_REVOKE);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, uid);
    if (step_done(d, s))
        return DB_ERROR;
    *count = db_changes(d);
    return DB_OK;
}

int db_tokens_revoke(db *d, const char *name, int64_t *count)
{
    WRITE_LOCKED(tokens_revoke_locked(d, name, count));
}

static void user_from_row(dbs *s, db_user *u)
{
    u->id = dbs_col_int64(s, 0);
    snprintf(u->name, sizeof u->name, "%s", (const char *)dbs_col_text(s, 1));
    u->role = db_role_parse((const char *)dbs_col_text(s, 2)) == DB_ROLE_INSTRUCTOR
                  ? DB_ROLE_INSTRUCTOR : DB_ROLE_STUDENT;
}

int db_user_by_token(db *d, const uint8_t hash[AUTH_HASH_LEN], db_user *out)
{
    dbs *s = stmt(d, ST_USER_BY_TOKEN);
    if (!s)
        return DB_ERROR;
    dbs_bind_blob(s, 1, hash, AUTH_HASH_LEN);
    int src = dbs_step(s);
    if (src == DBS_ROW)
        user_from_row(s, out);
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

int db_user_each(db *d, void (*fn)(void *ctx, const db_user *u), void *ctx)
{
    dbs *s = stmt(d, ST_USER_EACH);
    if (!s)
        return DB_ERROR;
    int src;
    while ((src = dbs_step(s)) == DBS_ROW) {
        db_user u;
        user_from_row(s, &u);
        fn(ctx, &u);
    }
    dbs_reset(s);
    return src == DBS_DONE ? DB_OK : DB_ERROR;
}

/* ---- submissions ------------------------------------------------------------ */

/* Recomputes the late figures of assignment in course (LATE_RECOMPUTE):
 * of sub_id alone when non-zero, else of user_id's when non-zero, else of
 * everyone's. */
static int late_recompute(db *d, const char *course, const char *assignment, int64_t user_id,
                          int64_t sub_id)
{
    dbs *s = stmt(d, sub_id ? ST_LATE_ONE : user_id ? ST_LATE_USER : ST_LATE_ALL);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    dbs_bind_text(s, 2, assignment);
    if (sub_id || user_id)
        dbs_bind_int64(s, 3, sub_id ? sub_id : user_id);
    return step_done(d, s) ? DB_ERROR : DB_OK;
}

static int submission_create_locked(db *d, int64_t user_id, const char *assignment,
                                    const db_file *files, size_t nfiles, const char *key,
                                    const uint8_t digest[AUTH_HASH_LEN], const db_sub_ctx *ctx,
                                    int64_t *id, int *replayed)
{
    const char *course = ctx->course ? ctx->course : DB_DEFAULT_COURSE;
    int rc = DB_ERROR;
    dbs *s;
    *replayed = 0;
    if (tx_begin(d))
        return DB_ERROR;
    if (key) {
        if (!(s = stmt(d, ST_SUB_BY_KEY)))
            goto out;
        dbs_bind_int64(s, 1, user_id);
        dbs_bind_text(s, 2, key);
        int src = dbs_step(s);
        if (src == DBS_ROW) {
            *id = dbs_col_int64(s, 0);
            int same = dbs_col_bytes(s, 1) == AUTH_HASH_LEN &&
                       !memcmp(dbs_col_blob(s, 1), digest, AUTH_HASH_LEN);
            dbs_reset(s);
            tx_rollback(d);
            *replayed = same;
            return same ? DB_OK : DB_EXISTS;
        }
        dbs_reset(s);
        if (src != DBS_DONE)
            goto out;
    }
    if (ctx->max_submissions > 0) {
        if (!(s = stmt(d, ST_SUB_COUNT)))
            goto out;
        dbs_bind_text(s, 1, course);
        dbs_bind_text(s, 2, assignment);
        dbs_bind_int64(s, 3, user_id);
        int src = dbs_step(s);
        int64_t used = src == DBS_ROW ? dbs_col_int64(s, 0) : -1;
        dbs_reset(s);
        if (used < 0)
            goto out;
        if (used >= ctx->max_submissions) {
            rc = DB_LIMIT;
            goto out;
        }
    }
    if (!(s = stmt(d, ST_SUB_ADD)))
        goto out;
    dbs_bind_int64(s, 1, user_id);
    dbs_bind_text(s, 2, assignment);
    dbs_bind_int64(s, 3, ctx->now ? ctx->now : db_now_ms());
    if (key)
        dbs_bind_text(s, 4, key);
    dbs_bind_blob(s, 5, digest, AUTH_HASH_LEN);
    dbs_bind_text(s, 6, course);
    dbs_bind_int64(s, 7, ctx->late_days);
    dbs_bind_double(s, 8, ctx->late_pct);
    int64_t sid = step_id(d, s);
    if (!sid)
        goto out;
    for (size_t i = 0; i < nfiles; i++) {
        if (!(s = stmt(d, ST_FILE_ADD)))
            goto out;
        dbs_bind_int64(s, 1, sid);
        dbs_bind_text(s, 2, files[i].name);
        dbs_bind_blob(s, 3, files[i].data, files[i].len);
        if (step_done(d, s))
            goto out;
    }
    if (!(s = stmt(d, ST_JOB_ADD)))
        goto out;
    dbs_bind_int64(s, 1, sid);
    if (step_done(d, s) || db_notify_jobs(d))
        goto out;
    /* The caller judged lateness from the offer it read before this
     * transaction; an extension or offer committed since then must still
     * count, so the stored figures come from the rows as they are now. */
    if (late_recompute(d, course, assignment, user_id, sid) != DB_OK)
        goto out;
    if (tx_commit(d))
        goto out;
    *id = sid;
    rc = DB_OK;
out:
    if (rc != DB_OK)
        tx_rollback(d);
    return rc;
}

int db_submission_create_in(db *d, int64_t user_id, const char *assignment,
                            const db_file *files, size_t nfiles, const char *key,
                            const uint8_t digest[AUTH_HASH_LEN], const db_sub_ctx *ctx,
                            int64_t *id, int *replayed)
{
    WRITE_LOCKED(submission_create_locked(d, user_id, assignment, files, nfiles, key, digest,
                                          ctx, id, replayed));
}

int db_submission_by_key(db *d, int64_t user_id, const char *key, int64_t *id)
{
    dbs *s = stmt(d, ST_SUB_BY_KEY);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, user_id);
    dbs_bind_text(s, 2, key);
    int src = dbs_step(s);
    if (src == DBS_ROW)
        *id = dbs_col_int64(s, 0);
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

int db_submission_create(db *d, int64_t user_id, const char *assignment,
                         const db_file *files, size_t nfiles, const char *key,
                         const uint8_t digest[AUTH_HASH_LEN], int64_t *id, int *replayed)
{
    db_sub_ctx ctx = {0};
    return db_submission_create_in(d, user_id, assignment, files, nfiles, key, digest, &ctx,
                                   id, replayed);
}

static char *col_dup(dbs *s, int i)
{
    const char *t = dbs_col_text(s, i);
    return t ? strdup((const char *)t) : NULL;
}

/* Fills out from a row of SUBMISSION_COLS; -1 on out of memory. */
static int submission_from_row(dbs *s, db_submission *o)
{
    memset(o, 0, sizeof *o);
    o->id = dbs_col_int64(s, 0);
    o->user_id = dbs_col_int64(s, 1);
    o->user = col_dup(s, 2);
    o->assignment = col_dup(s, 3);
    o->created_at = dbs_col_int64(s, 4);
    o->status = col_dup(s, 5);
    o->result_status = col_dup(s, 6);
    o->has_score = dbs_col_type(s, 7) != DBS_NULL;
    o->score = dbs_col_double(s, 7);
    o->max_score = dbs_col_double(s, 8);
    o->graded_at = dbs_col_int64(s, 9);
    o->files = col_dup(s, 10);
    o->course = col_dup(s, 11);
    o->late_days = dbs_col_int64(s, 12);
    o->late_pct = dbs_col_double(s, 13);
    o->assignment_version = col_dup(s, 14);
    if (!o->user || !o->assignment || !o->status || !o->files || !o->course ||
        (dbs_col_type(s, 6) != DBS_NULL && !o->result_status))
        return -1;
    return 0;
}

void db_submission_clear(db_submission *s)
{
    free(s->user);
    free(s->assignment);
    free(s->status);
    free(s->result_status);
    free(s->document);
    free(s->student_document);
    free(s->files);
    free(s->course);
    free(s->assignment_version);
    memset(s, 0, sizeof *s);
}

int db_submission_get(db *d, int64_t id, int with_document, db_submission *out)
{
    int rc = DB_ERROR;
    dbs *s = stmt(d, ST_SUB_GET);
    memset(out, 0, sizeof *out);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, id);
    int src = dbs_step(s);
    if (src == DBS_DONE) {
        rc = DB_NOT_FOUND;
        goto out;
    }
    if (src != DBS_ROW) {
        db_log(d, "loading a submission");
        goto out;
    }
    if (submission_from_row(s, out))
        goto out;
    int failed = 0;
    if (with_document) {
        out->document = doc_dup(s, 15, &failed);
        out->student_document = doc_dup(s, 16, &failed);
    }
    if (failed)
        goto out;
    rc = DB_OK;
out:
    dbs_reset(s);
    if (rc != DB_OK)
        db_submission_clear(out);
    return rc;
}

int db_submission_each(db *d, int64_t user_id, const char *assignment,
                       const char *course, int limit, int offset,
                       void (*fn)(void *ctx, const db_submission *s), void *ctx)
{
    int rc = DB_OK;
    dbs *s = stmt(d, ST_SUB_EACH);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, user_id);
    if (assignment)
        dbs_bind_text(s, 2, assignment);
    dbs_bind_int64(s, 3, limit);
    dbs_bind_int64(s, 4, offset);
    if (course)
        dbs_bind_text(s, 5, course);
    int src;
    while ((src = dbs_step(s)) == DBS_ROW) {
        db_submission row;
        if (submission_from_row(s, &row)) {
            db_submission_clear(&row);
            rc = DB_ERROR;
            break;
        }
        fn(ctx, &row);
        db_submission_clear(&row);
    }
    if (src != DBS_DONE && src != DBS_ROW) {
        db_log(d, "listing submissions");
        rc = DB_ERROR;
    }
    dbs_reset(s);
    return rc;
}

int db_submission_file(db *d, int64_t id, const char *name, char **data, size_t *len)
{
    int rc = DB_ERROR;
    dbs *s = stmt(d, ST_FILE_GET);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, id);
    dbs_bind_text(s, 2, name);
    int src = dbs_step(s);
    if (src == DBS_DONE) {
        rc = DB_NOT_FOUND;
    } else if (src == DBS_ROW) {
        size_t n = (size_t)dbs_col_bytes(s, 0);
        char *p = malloc(n + 1);
        if (p) {
            if (n)
                memcpy(p, dbs_col_blob(s, 0), n);
            p[n] = '\0';
            *data = p;
            *len = n;
            rc = DB_OK;
        }
    }
    dbs_reset(s);
    return rc;
}

int db_grades(db *d, const char *assignment,
              void (*fn)(void *ctx, const db_grade *g), void *ctx)
{
    dbs *s = stmt(d, ST_GRADES);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, assignment);
    int src;
    while ((src = dbs_step(s)) == DBS_ROW) {
        db_grade g = {
            .user = (const char *)dbs_col_text(s, 0),
            .submissions = dbs_col_int64(s, 1),
            .has_best = dbs_col_type(s, 2) != DBS_NULL,
            .best_score = dbs_col_double(s, 2),
            .best_submission = dbs_col_int64(s, 3),
            .last_submitted_at = dbs_col_int64(s, 4),
        };
        fn(ctx, &g);
    }
    dbs_reset(s);
    return src == DBS_DONE ? DB_OK : DB_ERROR;
}

/* ---- the queue ------------------------------------------------------------ */

void db_job_clear(db_job *j)
{
    for (size_t i = 0; i < j->nfiles; i++) {
        free((char *)j->files[i].name);
        free((char *)j->files[i].data);
    }
    free(j->files);
    free(j->assignment);
    memset(j, 0, sizeof *j);
}

/* Loads the assignment and files of j->submission_id. */
static int job_load(db *d, db_job *j)
{
    int rc = DB_ERROR;
    dbs *s = stmt(d, ST_JOB_ASSIGNMENT);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, j->submission_id);
    if (dbs_step(s) == DBS_ROW)
        j->assignment = col_dup(s, 0);
    dbs_reset(s);
    if (!j->assignment || !(s = stmt(d, ST_JOB_BACKLOG)))
        return DB_ERROR;
    dbs_bind_int64(s, 1, j->submission_id);
    if (dbs_step(s) == DBS_ROW)
        j->backlog = (int)dbs_col_int64(s, 0);
    dbs_reset(s);
    if (!(s = stmt(d, ST_FILES_OF)))
        return DB_ERROR;
    dbs_bind_int64(s, 1, j->submission_id);
    int src;
    while ((src = dbs_step(s)) == DBS_ROW) {
        db_file *nf = realloc(j->files, (j->nfiles + 1) * sizeof *nf);
        if (!nf)
            goto out;
        j->files = nf;
        size_t n = (size_t)dbs_col_bytes(s, 1);
        char *data = malloc(n + 1);
        char *name = col_dup(s, 0);
        if (!data || !name) {
            free(data);
            free(name);
            goto out;
        }
        if (n)
            memcpy(data, dbs_col_blob(s, 1), n);
        data[n] = '\0';
        j->files[j->nfiles++] = (db_file){name, data, n};
    }
    if (src == DBS_DONE)
        rc = DB_OK;
out:
    dbs_reset(s);
    return rc;
}

/* Claims the oldest queued row of the queue that statement id takes from
 * (a submission's job, or a regrade item) for owner and loads its files. */
static int claim(db *d, int id, const char *owner, int regrade, int max_running, db_job *out)
{
    memset(out, 0, sizeof *out);
    dbs *s = stmt(d, id);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, owner);
    if (!regrade) {
        dbs_bind_int64(s, 2, db_now_ms());
        dbs_bind_int64(s, 3, max_running > 0 ? max_running : INT_MAX);
        dbs_bind_int64(s, 4, db_lease_ms());
    } else {
        dbs_bind_int64(s, 2, db_now_ms() + db_lease_ms());
    }
    pthread_mutex_lock(&write_mu);
    int src = dbs_step(s);
    if (src == DBS_ROW) {
        out->job_id = dbs_col_int64(s, 0);
        out->submission_id = dbs_col_int64(s, 1);
        out->attempts = dbs_col_int64(s, 2);
        /* RETURNING rows are all computed by the first step; finish the
         * statement so the UPDATE commits before the slow part. */
        while ((src = dbs_step(s)) == DBS_ROW)
            ;
    }
    dbs_reset(s);
    pthread_mutex_unlock(&write_mu);
    if (src != DBS_DONE) {
        db_log(d, regrade ? "claiming a regrade item" : "claiming a job");
        return DB_ERROR;
    }
    if (!out->job_id)
        return DB_NOT_FOUND;
    out->regrade = regrade;
    if (job_load(d, out) != DB_OK) {
        /* Give it back so another attempt can load it. */
        if (regrade)
            db_regrade_requeue(d, out->job_id, owner);
        else
            db_job_requeue(d, out->job_id, owner);
        db_job_clear(out);
        return DB_ERROR;
    }
    return DB_OK;
}

int db_job_claim(db *d, const char *owner, db_job *out)
{
    return claim(d, ST_JOB_CLAIM, owner, 0, 0, out);
}

int db_job_claim_fair(db *d, const char *owner, int max_running, db_job *out)
{
    return claim(d, ST_JOB_CLAIM, owner, 0, max_running, out);
}

/* The submission job_id grades; 0 when there is none. */
static int64_t job_submission(db *d, int64_t job_id)
{
    dbs *s = stmt(d, ST_JOB_SUBMISSION);
    if (!s)
        return 0;
    dbs_bind_int64(s, 1, job_id);
    int64_t id = dbs_step(s) == DBS_ROW ? dbs_col_int64(s, 0) : 0;
    dbs_reset(s);
    return id;
}

static int job_finish_locked(db *d, int64_t job_id, const char *owner,
                             const char *result_status, double score, double max_score,
                             int64_t duration_ms, const char *document,
                             const char *student_document)
{
    int rc = DB_ERROR;
    int64_t now = db_now_ms();
    if (tx_begin(d))
        return DB_ERROR;
    dbs *s = stmt(d, ST_JOB_DONE);
    if (!s)
        goto out;
    dbs_bind_int64(s, 1, job_id);
    dbs_bind_text(s, 2, owner);
    dbs_bind_int64(s, 3, now);
    if (step_done(d, s))
        goto out;
    if (db_changes(d) != 1) {
        rc = DB_NOT_FOUND;
        goto out;
    }
    if (!(s = stmt(d, ST_RESULT_ADD)))
        goto out;
    dbs_bind_int64(s, 1, job_id);
    dbs_bind_text(s, 2, result_status);
    dbs_bind_double(s, 3, score);
    dbs_bind_double(s, 4, max_score);
    dbs_bind_int64(s, 5, duration_ms);
    bind_doc(s, 6, document);
    if (student_document)
        bind_doc(s, 8, student_document);
    dbs_bind_int64(s, 7, now);
    if (d->version[0])
        dbs_bind_text(s, 9, d->version);
    dbs_bind_text(s, 10, document);
    if (step_done(d, s) || db_changes(d) != 1)
        goto out;
    if (db_outbox_graded_locked(d, job_submission(d, job_id), now) || tx_commit(d))
        goto out;
    rc = DB_OK;
out:
    if (rc != DB_OK)
        tx_rollback(d);
    return rc;
}

int db_job_finish(db *d, int64_t job_id, const char *owner, const char *result_status,
                  double score, double max_score, int64_t duration_ms,
                  const char *document, const char *student_document)
{
    WRITE_LOCKED(job_finish_locked(d, job_id, owner, result_status, score, max_score,
                                   duration_ms, document, student_document));
}

static int job_requeue_locked(db *d, int64_t job_id, const char *owner)
{
    dbs *s = stmt(d, ST_JOB_REQUEUE);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, job_id);
    dbs_bind_text(s, 2, owner);
    return step_done(d, s) || db_notify_jobs(d) ? DB_ERROR : DB_OK;
}

int db_job_requeue(db *d, int64_t job_id, const char *owner)
{
    WRITE_LOCKED(job_requeue_locked(d, job_id, owner));
}

static int job_requeue_all_locked(db *d, int64_t *count)
{
    if (exec1(d, ST_JOB_REQUEUE_ALL))
        return DB_ERROR;
    *count = db_changes(d);
    if (exec1(d, ST_REGRADE_REQUEUE_ALL))
        return DB_ERROR;
    *count += db_changes(d);
    return *count && db_notify_jobs(d) ? DB_ERROR : DB_OK;
}

int db_job_requeue_all(db *d, int64_t *count)
{
    WRITE_LOCKED(job_requeue_all_locked(d, count));
}

int db_user_active_jobs(db *d, int64_t user_id, int64_t *count)
{
    dbs *s = stmt(d, ST_USER_ACTIVE);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, user_id);
    int src = dbs_step(s);
    *count = src == DBS_ROW ? dbs_col_int64(s, 0) : 0;
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : DB_ERROR;
}

int db_queue_depth(db *d, int64_t *count)
{
    dbs *s = stmt(d, ST_QUEUE_DEPTH);
    if (!s)
        return DB_ERROR;
    int src = dbs_step(s);
    *count = src == DBS_ROW ? dbs_col_int64(s, 0) : 0;
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : DB_ERROR;
}

/* ---- result history --------------------------------------------------------- */

int db_result_history(db *d, int64_t id,
                      void (*fn)(void *ctx, const char *document, const char *student_document,
                                 const char *version, int64_t graded_at),
                      void *ctx)
{
    dbs *s = stmt(d, ST_HISTORY);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, id);
    int src, failed = 0;
    while (!failed && (src = dbs_step(s)) == DBS_ROW) {
        char *doc = doc_dup(s, 0, &failed), *sdoc = doc_dup(s, 1, &failed);
        if (!failed && doc)
            fn(ctx, doc, sdoc, (const char *)dbs_col_text(s, 2),
               dbs_col_int64(s, 3));
        free(doc);
        free(sdoc);
    }
    dbs_reset(s);
    return !failed && src == DBS_DONE ? DB_OK : DB_ERROR;
}

void db_set_assignment_version(db *d, const char *version)
{
    snprintf(d->version, sizeof d->version, "%s", version ? version : "");
}

/* ---- courses ----------------------------------------------------------------- */

static const char *const crole_names[] = {"student", "ta", "instructor"};

int db_crole_parse(const char *s)
{
    for (size_t i = 0; i < sizeof crole_names / sizeof crole_names[0]; i++)
        if (s && !strcmp(s, crole_names[i]))
            return (int)i;
    return -1;
}

const char *db_crole_name(db_crole r)
{
    return (unsigned)r < 3 ? crole_names[r] : "?";
}

int db_course_id_valid(const char *id)
{
    size_t n = strlen(id);
    return n >= 1 && n <= 32 && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static int course_add_locked(db *d, const char *id, const char *title)
{
    dbs *s = stmt(d, ST_COURSE_ADD);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, id);
    dbs_bind_text(s, 2, title);
    dbs_bind_int64(s, 3, db_now_ms());
    int src = dbs_step(s);
    dbs_reset(s);
    if (src == DBS_CONSTRAINT)
        return DB_EXISTS;
    if (src != DBS_DONE) {
        db_log(d, "adding a course");
        return DB_ERROR;
    }
    return DB_OK;
}

int db_course_add(db *d, const char *id, const char *title)
{
    WRITE_LOCKED(course_add_locked(d, id, title));
}

int db_course_get(db *d, const char *id, char *title, size_t titlelen)
{
    dbs *s = stmt(d, ST_COURSE_GET);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, id);
    int src = dbs_step(s);
    if (src == DBS_ROW && title)
        snprintf(title, titlelen, "%s", (const char *)dbs_col_text(s, 0));
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

static int course_enrol_locked(db *d, const char *course, int64_t user_id, db_crole role)
{
    int rc = db_course_get(d, course, NULL, 0);
    if (rc != DB_OK)
        return rc;
    dbs *s = stmt(d, ST_MEMBER_ADD);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    dbs_bind_int64(s, 2, user_id);
    dbs_bind_text(s, 3, db_crole_name(role));
    return step_done(d, s) ? DB_ERROR : DB_OK;
}

int db_course_enrol(db *d, const char *course, int64_t user_id, db_crole role)
{
    WRITE_LOCKED(course_enrol_locked(d, course, user_id, role));
}

static int course_drop_locked(db *d, const char *course, int64_t user_id)
{
    dbs *s = stmt(d, ST_MEMBER_DROP);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    dbs_bind_int64(s, 2, user_id);
    if (step_done(d, s))
        return DB_ERROR;
    return db_changes(d) == 1 ? DB_OK : DB_NOT_FOUND;
}

int db_course_drop(db *d, const char *course, int64_t user_id)
{
    WRITE_LOCKED(course_drop_locked(d, course, user_id));
}

int db_course_role(db *d, const char *course, int64_t user_id, db_crole *role)
{
    dbs *s = stmt(d, ST_MEMBER_ROLE);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    dbs_bind_int64(s, 2, user_id);
    int src = dbs_step(s);
    if (src == DBS_ROW) {
        int r = db_crole_parse((const char *)dbs_col_text(s, 0));
        *role = r < 0 ? DB_CROLE_STUDENT : (db_crole)r;
    }
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

int db_course_each(db *d, int64_t user_id,
                   void (*fn)(void *ctx, const char *id, const char *title, db_crole role),
                   void *ctx)
{
    dbs *s = stmt(d, user_id ? ST_COURSE_EACH : ST_COURSE_ALL);
    if (!s)
        return DB_ERROR;
    if (user_id)
        dbs_bind_int64(s, 1, user_id);
    int src;
    while ((src = dbs_step(s)) == DBS_ROW) {
        int r = db_crole_parse((const char *)dbs_col_text(s, 2));
        fn(ctx, (const char *)dbs_col_text(s, 0), (const char *)dbs_col_text(s, 1),
           r < 0 ? DB_CROLE_STUDENT : (db_crole)r);
    }
    dbs_reset(s);
    return src == DBS_DONE ? DB_OK : DB_ERROR;
}

static void offer_from_row(dbs *s, db_offer *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->assignment, sizeof o->assignment, "%s", (const char *)dbs_col_text(s, 0));
    o->due = dbs_col_int64(s, 1);
    o->accept_until = dbs_col_int64(s, 2);
    o->late_penalty_per_day = dbs_col_double(s, 3);
    o->max_submissions = dbs_col_int64(s, 4);
    const char *p = (const char *)dbs_col_text(s, 5);
    o->policy_last = p && !strcmp(p, "last");
}

int db_offer_get(db *d, const char *course, const char *assignment, db_offer *out)
{
    dbs *s = stmt(d, ST_OFFER_GET);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    dbs_bind_text(s, 2, assignment);
    int src = dbs_step(s);
    if (src == DBS_ROW)
        offer_from_row(s, out);
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

int db_offer_each(db *d, const char *course, void (*fn)(void *ctx, const db_offer *o),
                  void *ctx)
{
    dbs *s = stmt(d, ST_OFFER_EACH);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    int src;
    while ((src = dbs_step(s)) == DBS_ROW) {
        db_offer o;
        offer_from_row(s, &o);
        fn(ctx, &o);
    }
    dbs_reset(s);
    return src == DBS_DONE ? DB_OK : DB_ERROR;
}

static void bind_time(dbs *s, int i, int64_t ms)
{
    if (ms)
        dbs_bind_int64(s, i, ms);
}

static int offer_put_locked(db *d, const char *course, const db_offer *o)
{
    int rc = db_course_get(d, course, NULL, 0);
    if (rc != DB_OK)
        return rc;
    dbs *s = stmt(d, ST_OFFER_PUT);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    dbs_bind_text(s, 2, o->assignment);
    bind_time(s, 3, o->due);
    bind_time(s, 4, o->accept_until);
    dbs_bind_double(s, 5, o->late_penalty_per_day);
    if (o->max_submissions)
        dbs_bind_int64(s, 6, o->max_submissions);
    dbs_bind_text(s, 7, o->policy_last ? "last" : "best");
    return step_done(d, s) ? DB_ERROR : DB_OK;
}

/* The new offer and the late days it gives the work already submitted
 * commit together: a crash leaves the old policy or the new one, never a
 * gradebook that mixes them. */
static int offer_put_tx(db *d, const char *course, const db_offer *o)
{
    if (tx_begin(d))
        return DB_ERROR;
    int rc = offer_put_locked(d, course, o);
    if (rc == DB_OK)
        rc = late_recompute(d, course, o->assignment, 0, 0);
    if (rc == DB_OK && tx_commit(d))
        rc = DB_ERROR;
    if (rc != DB_OK)
        tx_rollback(d);
    return rc;
}

int db_offer_put(db *d, const char *course, const db_offer *o)
{
    WRITE_LOCKED(offer_put_tx(d, course, o));
}

static int extension_put_locked(db *d, const char *course, const char *assignment,
                                int64_t user_id, int64_t due, int64_t accept_until)
{
    dbs *s = stmt(d, ST_EXT_PUT);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    dbs_bind_text(s, 2, assignment);
    dbs_bind_int64(s, 3, user_id);
    bind_time(s, 4, due);
    bind_time(s, 5, accept_until);
    if (tx_begin(d))
        return DB_ERROR;
    int rc = step_done(d, s) ? DB_ERROR : late_recompute(d, course, assignment, user_id, 0);
    if (rc == DB_OK && tx_commit(d))
        rc = DB_ERROR;
    if (rc != DB_OK)
        tx_rollback(d);
    return rc;
}

int db_extension_put(db *d, const char *course, const char *assignment, int64_t user_id,
                     int64_t due, int64_t accept_until)
{
    WRITE_LOCKED(extension_put_locked(d, course, assignment, user_id, due, accept_until));
}

int db_extension_get(db *d, const char *course, const char *assignment, int64_t user_id,
                     int64_t *due, int64_t *accept_until)
{
    dbs *s = stmt(d, ST_EXT_GET);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    dbs_bind_text(s, 2, assignment);
    dbs_bind_int64(s, 3, user_id);
    int src = dbs_step(s);
    if (src == DBS_ROW) {
        *due = dbs_col_int64(s, 0);
        *accept_until = dbs_col_int64(s, 1);
    }
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

int db_extension_each(db *d, const char *course, const char *assignment,
                      void (*fn)(void *ctx, const char *user, int64_t due, int64_t accept_until),
                      void *ctx)
{
    dbs *s = stmt(d, ST_EXT_EACH);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    dbs_bind_text(s, 2, assignment);
    int src;
    while ((src = dbs_step(s)) == DBS_ROW)
        fn(ctx, (const char *)dbs_col_text(s, 0), dbs_col_int64(s, 1),
           dbs_col_int64(s, 2));
    dbs_reset(s);
    return src == DBS_DONE ? DB_OK : DB_ERROR;
}

int db_submission_count(db *d, const char *course, const char *assignment, int64_t user_id,
                        int64_t *n)
{
    dbs *s = stmt(d, ST_SUB_COUNT);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    dbs_bind_text(s, 2, assignment);
    dbs_bind_int64(s, 3, user_id);
    int src = dbs_step(s);
    *n = src == DBS_ROW ? dbs_col_int64(s, 0) : 0;
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : DB_ERROR;
}

int db_course_grades(db *d, const char *course, const char *assignment,
                     void (*fn)(void *ctx, const db_course_grade *g), void *ctx)
{
    dbs *s = stmt(d, ST_COURSE_GRADES);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    dbs_bind_text(s, 2, assignment);
    /* Rows come by student, then submission: fold each student's rows. */
    char user[65] = "";
    db_course_grade g;
    int have = 0, src;
    while ((src = dbs_step(s)) == DBS_ROW) {
        const char *name = (const char *)dbs_col_text(s, 0);
        if (!have || strcmp(name, user)) {
            if (have)
                fn(ctx, &g);
            snprintf(user, sizeof user, "%s", name);
            memset(&g, 0, sizeof g);
            g.user = user;
            have = 1;
        }
        if (dbs_col_type(s, 1) == DBS_NULL)
            continue;
        g.attempts++;
        g.last_submission = dbs_col_int64(s, 1);
        g.last_submitted_at = dbs_col_int64(s, 2);
        g.last_late_days = dbs_col_int64(s, 3);
        g.has_last = dbs_col_type(s, 4) != DBS_NULL;
        g.last_score = dbs_col_double(s, 4);
        if (!g.has_last)
            continue;
        g.max_score = dbs_col_double(s, 5);
        if (!g.has_best || g.last_score > g.best_score) {
            g.has_best = 1;
            g.best_score = g.last_score;
            g.best_submission = g.last_submission;
            g.best_late_days = g.last_late_days;
        }
    }
    if (have && src == DBS_DONE)
        fn(ctx, &g);
    dbs_reset(s);
    return src == DBS_DONE ? DB_OK : DB_ERROR;
}

int db_dash_rows(db *d, const char *course, const char *assignment, int64_t user_id,
                 void (*fn)(void *ctx, const db_dash_row *row), void *ctx)
{
    dbs *s = stmt(d, ST_DASH_ROWS);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, course);
    dbs_bind_text(s, 2, assignment);
    dbs_bind_int64(s, 3, user_id);
    int src;
    while ((src = dbs_step(s)) == DBS_ROW) {
        db_dash_row row;
        const char *kinds = dbs_col_text(s, 7);
        row.user_id = dbs_col_int64(s, 0);
        row.user = (const char *)dbs_col_text(s, 1);
        row.id = dbs_col_int64(s, 2);
        row.created_at = dbs_col_int64(s, 3);
        row.late_days = dbs_col_int64(s, 4);
        row.graded = dbs_col_type(s, 5) != DBS_NULL;
        row.score = dbs_col_double(s, 5);
        row.max_score = dbs_col_double(s, 6);
        row.error_kinds = kinds ? (const char *)kinds : "";
        row.status = (const char *)dbs_col_text(s, 8);
        if (!row.user)
            break; /* out of memory: SQLite would say so on the next step */
        fn(ctx, &row);
    }
    if (src != DBS_DONE && src != DBS_ROW)
        db_log(d, "reading a course's submissions");
    dbs_reset(s);
    return src == DBS_DONE ? DB_OK : DB_ERROR;
}

/* ---- regrades ------------------------------------------------------------------ */

static int regrade_create_locked(db *d, const char *course, const char *assignment,
                                 int64_t *id, int64_t *total)
{
    int rc = DB_ERROR;
    if (tx_begin(d))
        return DB_ERROR;
    dbs *s = stmt(d, ST_REGRADE_ADD);
    if (!s)
        goto out;
    dbs_bind_text(s, 1, course);
    dbs_bind_text(s, 2, assignment);
    dbs_bind_int64(s, 3, db_now_ms());
    int64_t rid = step_id(d, s);
    if (!rid)
        goto out;
    if (!(s = stmt(d, ST_REGRADE_ITEMS)))
        goto out;
    dbs_bind_int64(s, 1, rid);
    dbs_bind_text(s, 2, course);
    dbs_bind_text(s, 3, assignment);
    if (step_done(d, s))
        goto out;
    int64_t n = db_changes(d);
    if (!(s = stmt(d, ST_REGRADE_TOTAL)))
        goto out;
    dbs_bind_int64(s, 1, rid);
    dbs_bind_int64(s, 2, n);
    if (step_done(d, s) || db_notify_jobs(d) || tx_commit(d))
        goto out;
    *id = rid;
    *total = n;
    rc = DB_OK;
out:
    if (rc != DB_OK)
        tx_rollback(d);
    return rc;
}

int db_regrade_create(db *d, const char *course, const char *assignment, int64_t *id,
                      int64_t *total)
{
    WRITE_LOCKED(regrade_create_locked(d, course, assignment, id, total));
}

int db_regrade_get(db *d, int64_t id, db_regrade *out)
{
    dbs *s = stmt(d, ST_REGRADE_GET);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, id);
    int src = dbs_step(s);
    if (src == DBS_ROW) {
        memset(out, 0, sizeof *out);
        out->total = dbs_col_int64(s, 0);
        out->done = dbs_col_int64(s, 1);
        out->failed = dbs_col_int64(s, 2);
        snprintf(out->course, sizeof out->course, "%s", (const char *)dbs_col_text(s, 3));
        int64_t running = dbs_col_int64(s, 4);
        snprintf(out->status, sizeof out->status, "%s",
                 out->done >= out->total ? "done" : running || out->done ? "running" : "queued");
    }
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

int db_regrade_depth(db *d, int64_t *count)
{
    dbs *s = stmt(d, ST_REGRADE_DEPTH);
    if (!s)
        return DB_ERROR;
    int src = dbs_step(s);
    *count = src == DBS_ROW ? dbs_col_int64(s, 0) : 0;
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : DB_ERROR;
}

int db_regrade_claim(db *d, const char *owner, db_job *out)
{
    return claim(d, ST_REGRADE_CLAIM, owner, 1, 0, out);
}

static int regrade_finish_locked(db *d, int64_t item_id, const char *owner, int failed,
                                 const char *result_status, double score, double max_score,
                                 int64_t duration_ms, const char *document,
                                 const char *student_document)
{
    int rc = DB_ERROR;
    if (tx_begin(d))
        return DB_ERROR;
    dbs *s = stmt(d, ST_REGRADE_ITEM_DONE);
    if (!s)
        goto out;
    dbs_bind_int64(s, 1, item_id);
    dbs_bind_text(s, 2, owner);
    int src = dbs_step(s);
    int64_t regrade_id = 0, sub_id = 0;
    if (src == DBS_ROW) {
        regrade_id = dbs_col_int64(s, 0);
        sub_id = dbs_col_int64(s, 1);
        while ((src = dbs_step(s)) == DBS_ROW)
            ;
    }
    dbs_reset(s);
    if (src != DBS_DONE)
        goto out;
    if (!regrade_id) {
        rc = DB_NOT_FOUND; /* not ours any more: someone else stores it */
        goto out;
    }
    if (!failed) {
        /* The current result becomes history; the new one is current. */
        if (!(s = stmt(d, ST_RESULT_TO_HISTORY)))
            goto out;
        dbs_bind_int64(s, 1, sub_id);
        if (step_done(d, s) || !(s = stmt(d, ST_RESULT_REPLACE)))
            goto out;
        dbs_bind_int64(s, 1, sub_id);
        dbs_bind_text(s, 2, result_status);
        dbs_bind_double(s, 3, score);
        dbs_bind_double(s, 4, max_score);
        dbs_bind_int64(s, 5, duration_ms);
        bind_doc(s, 6, document);
        dbs_bind_int64(s, 7, db_now_ms());
        if (student_document)
            bind_doc(s, 8, student_document);
        if (d->version[0])
            dbs_bind_text(s, 9, d->version);
        dbs_bind_text(s, 10, document);
        if (step_done(d, s) || db_outbox_graded_locked(d, sub_id, db_now_ms()))
            goto out;
    }
    if (!(s = stmt(d, ST_REGRADE_COUNT)))
        goto out;
    dbs_bind_int64(s, 1, regrade_id);
    dbs_bind_int64(s, 2, failed ? 1 : 0);
    if (step_done(d, s) || tx_commit(d))
        goto out;
    rc = DB_OK;
out:
    if (rc != DB_OK)
        tx_rollback(d);
    return rc;
}

int db_regrade_finish(db *d, int64_t item_id, const char *owner, int failed,
                      const char *result_status, double score, double max_score,
                      int64_t duration_ms, const char *document, const char *student_document)
{
    WRITE_LOCKED(regrade_finish_locked(d, item_id, owner, failed, result_status, score,
                                       max_score, duration_ms, document, student_document));
}

static int regrade_requeue_locked(db *d, int64_t item_id, const char *owner)
{
    dbs *s = stmt(d, ST_REGRADE_REQUEUE);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, item_id);
    dbs_bind_text(s, 2, owner);
    return step_done(d, s) ? DB_ERROR : DB_OK;
}

int db_regrade_requeue(db *d, int64_t item_id, const char *owner)
{
    WRITE_LOCKED(regrade_requeue_locked(d, item_id, owner));
}

/* ---- web sessions and login links ---------------------------------------------- */

int db_user_login(db *d, const char *name, db_user *out, char *stored, size_t cap)
{
    dbs *s = stmt(d, ST_USER_LOGIN);
    if (!s)
        return DB_ERROR;
    dbs_bind_text(s, 1, name);
    int src = dbs_step(s);
    if (src == DBS_ROW) {
        user_from_row(s, out);
        const char *pw = dbs_col_text(s, 3);
        snprintf(stored, cap, "%s", pw ? (const char *)pw : "");
    }
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

int db_user_count(db *d, int64_t *n)
{
    dbs *s = stmt(d, ST_USER_COUNT);
    if (!s)
        return DB_ERROR;
    int src = dbs_step(s);
    if (src == DBS_ROW)
        *n = dbs_col_int64(s, 0);
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : DB_ERROR;
}

static int session_add_locked(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t user_id,
                              const char *csrf, int64_t now, int64_t expires_at,
                              int64_t idle_before)
{
    dbs *s = stmt(d, ST_SESSION_PURGE);
    if (!s)
        return DB_ERROR;
    /* Expired sessions go whenever someone logs in: the table stays small
     * without a sweeper thread. */
    dbs_bind_int64(s, 1, now);
    dbs_bind_int64(s, 2, idle_before);
    if (step_done(d, s) || !(s = stmt(d, ST_SESSION_ADD)))
        return DB_ERROR;
    dbs_bind_blob(s, 1, hash, AUTH_HASH_LEN);
    dbs_bind_int64(s, 2, user_id);
    dbs_bind_text(s, 3, csrf);
    dbs_bind_int64(s, 4, now);
    dbs_bind_int64(s, 5, expires_at);
    return step_done(d, s) ? DB_ERROR : DB_OK;
}

int db_session_add(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t user_id, const char *csrf,
                   int64_t now, int64_t expires_at, int64_t idle_before)
{
    WRITE_LOCKED(session_add_locked(d, hash, user_id, csrf, now, expires_at, idle_before));
}

int db_session_get(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t now, db_user *out,
                   char csrf[AUTH_TOKEN_LEN + 1], int64_t *last_seen)
{
    dbs *s = stmt(d, ST_SESSION_GET);
    if (!s)
        return DB_ERROR;
    dbs_bind_blob(s, 1, hash, AUTH_HASH_LEN);
    dbs_bind_int64(s, 2, now);
    int src = dbs_step(s);
    if (src == DBS_ROW) {
        user_from_row(s, out);
        const char *c = dbs_col_text(s, 3);
        snprintf(csrf, AUTH_TOKEN_LEN + 1, "%s", c ? (const char *)c : "");
        *last_seen = dbs_col_int64(s, 4);
    }
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

static int session_touch_locked(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t now)
{
    dbs *s = stmt(d, ST_SESSION_TOUCH);
    if (!s)
        return DB_ERROR;
    dbs_bind_blob(s, 1, hash, AUTH_HASH_LEN);
    dbs_bind_int64(s, 2, now);
    return step_done(d, s) ? DB_ERROR : DB_OK;
}

int db_session_touch(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t now)
{
    WRITE_LOCKED(session_touch_locked(d, hash, now));
}

static int session_del_locked(db *d, const uint8_t hash[AUTH_HASH_LEN])
{
    dbs *s = stmt(d, ST_SESSION_DEL);
    if (!s)
        return DB_ERROR;
    dbs_bind_blob(s, 1, hash, AUTH_HASH_LEN);
    if (step_done(d, s))
        return DB_ERROR;
    return db_changes(d) ? DB_OK : DB_NOT_FOUND;
}

int db_session_delete(db *d, const uint8_t hash[AUTH_HASH_LEN])
{
    WRITE_LOCKED(session_del_locked(d, hash));
}

static int sessions_end_locked(db *d, int64_t user_id, const uint8_t *keep)
{
    dbs *s = stmt(d, ST_SESSION_DEL_USER);
    if (!s)
        return DB_ERROR;
    dbs_bind_int64(s, 1, user_id);
    if (keep)
        dbs_bind_blob(s, 2, keep, AUTH_HASH_LEN);
    return step_done(d, s) ? DB_ERROR : DB_OK;
}

int db_sessions_end(db *d, int64_t user_id, const uint8_t *keep)
{
    WRITE_LOCKED(sessions_end_locked(d, user_id, keep));
}

static int link_add_locked(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t user_id,
                           int64_t expires_at)
{
    dbs *s = stmt(d, ST_LINK_ADD);
    if (!s)
        return DB_ERROR;
    dbs_bind_blob(s, 1, hash, AUTH_HASH_LEN);
    dbs_bind_int64(s, 2, user_id);
    dbs_bind_int64(s, 3, expires_at);
    return step_done(d, s) ? DB_ERROR : DB_OK;
}

int db_login_link_add(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t user_id,
                      int64_t expires_at)
{
    WRITE_LOCKED(link_add_locked(d, hash, user_id, expires_at));
}

static int link_take_locked(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t now, db_user *out)
{
    dbs *s = stmt(d, ST_LINK_TAKE);
    if (!s)
        return DB_ERROR;
    dbs_bind_blob(s, 1, hash, AUTH_HASH_LEN);
    int src = dbs_step(s);
    int64_t uid = 0, exp = 0;
    if (src == DBS_ROW) {
        uid = dbs_col_int64(s, 0);
        exp = dbs_col_int64(s, 1);
        src = dbs_step(s); /* the DELETE completes at DBS_DONE */
        if (src != DBS_DONE)
            db_log(d, "taking a login link");
        src = src == DBS_DONE ? DBS_ROW : src;
    }
    dbs_reset(s);
    if (src == DBS_DONE || (src == DBS_ROW && exp <= now))
        return DB_NOT_FOUND; /* unknown, used, or expired (and now gone) */
    if (src != DBS_ROW || !(s = stmt(d, ST_USER_BY_ID)))
        return DB_ERROR;
    dbs_bind_int64(s, 1, uid);
    src = dbs_step(s);
    if (src == DBS_ROW)
        user_from_row(s, out);
    dbs_reset(s);
    return src == DBS_ROW ? DB_OK : src == DBS_DONE ? DB_NOT_FOUND : DB_ERROR;
}

int db_login_link_take(db *d, const uint8_t hash[AUTH_HASH_LEN], int64_t now, db_user *out)
{
    WRITE_LOCKED(link_take_locked(d, hash, now, out));
}
