"""An existing database upgrades in place with nothing lost (issue 10): a
database in the schema of commit 5392f82 (user_version 3, the migrations
copied below as they were there) holding users, tokens, graded, queued and
running submissions, is opened by today's `memgrade serve`."""
import hashlib
import json
import os
import secrets
import sqlite3
import subprocess
import tempfile

from mgtest import (ASSIGNMENTS, MEMGRADE, Server, check, finish, reference, tempdir)

# server/db.c's migrations at 5392f82, verbatim.
OLD_MIGRATIONS = [
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
    "ALTER TABLE submissions ADD COLUMN idempotency_key TEXT;"
    "ALTER TABLE submissions ADD COLUMN digest BLOB;"
    "CREATE UNIQUE INDEX submissions_idempotency ON submissions(user_id, idempotency_key)"
    "  WHERE idempotency_key IS NOT NULL;",
    "ALTER TABLE results ADD COLUMN student_document TEXT;",
]

work = tempdir("mgupgrade.")
db = os.path.join(work, "memgrade.db")

# A real result document for the old rows: the reference graded offline.
with tempfile.TemporaryDirectory() as t:
    path = os.path.join(t, "mystr.c")
    with open(path, "w") as f:
        f.write(reference("mystr"))
    p = subprocess.run([MEMGRADE, "grade", "--json", "--assignment", "mystr", "--assignments",
                        ASSIGNMENTS, path], capture_output=True, text=True, timeout=600)
    check(p.returncode == 0, "memgrade grade of the reference: %d %s" % (p.returncode, p.stderr[-300:]))
    graded_doc = json.loads(p.stdout)

con = sqlite3.connect(db)
for i, sql in enumerate(OLD_MIGRATIONS):
    con.executescript(sql)
    con.execute("PRAGMA user_version = %d" % (i + 1))
con.commit()

tokens = {}
now = 1764000000000
users = [("prof", "instructor"), ("ann", "student"), ("ben", "student")]
for uid, (name, role) in enumerate(users, 1):
    con.execute("INSERT INTO users(id, name, role, created_at) VALUES (?,?,?,?)",
                (uid, name, role, now))
    tok = secrets.token_hex(32)
    tokens[name] = tok
    con.execute("INSERT INTO tokens(hash, user_id, created_at) VALUES (?,?,?)",
                (hashlib.sha256(tok.encode()).digest(), uid, now))
src = reference("mystr")
# The submission digest as api_sub_digest computes it (name NUL length NUL bytes).
digest = hashlib.sha256(b"mystr\0mystr.c\0" + str(len(src.encode())).encode() + b"\0" +
                        src.encode()).digest()
# 1: ann's, graded (with the stored student view); 2: ben's, graded, an
# Idempotency-Key; 3: ann's, queued; 4: ben's, left running by a crash.
rows = [(1, 2, "done", "k-ann"), (2, 3, "done", "k-ben"), (3, 2, "queued", None), (4, 3, "running", None)]
for sid, uid, state, key in rows:
    con.execute("INSERT INTO submissions(id, user_id, assignment, created_at, idempotency_key, digest)"
                " VALUES (?,?,?,?,?,?)", (sid, uid, "mystr", now + sid, key, digest))
    con.execute("INSERT INTO submission_files(submission_id, name, content) VALUES (?,?,?)",
                (sid, "mystr.c", src.encode()))
    con.execute("INSERT INTO jobs(id, submission_id, state, attempts, claimed_by) VALUES (?,?,?,?,?)",
                (sid, sid, state, 1 if state != "queued" else 0,
                 "oldhost:1:1" if state == "running" else None))
    if state == "done":
        # ben's document shows memory errors, so migration 7's backfill of
        # each result's error kinds has something to read.
        doc = graded_doc if sid == 1 else dict(graded_doc, memory_errors=[
            {"kind": "leak"}, {"kind": "heap_overflow"}, {"kind": "leak"}, {"kind": "not a kind"}])
        student = json.dumps({"assignment": "mystr", "score": graded_doc["score"], "tests": [],
                              "hidden_tests": {"count": 99}}) if sid == 1 else None
        con.execute("INSERT INTO results(submission_id, status, score, max_score, duration_ms,"
                    " document, graded_at, student_document) VALUES (?,?,?,?,?,?,?,?)",
                    (sid, "graded", graded_doc["score"], graded_doc["max_score"], 5,
                     json.dumps(doc), now + 100, student))
con.commit()
before = {t: con.execute("SELECT COUNT(*) FROM %s" % t).fetchone()[0]
          for t in ("users", "tokens", "submissions", "submission_files", "jobs", "results")}
con.close()

srv = Server(db=db, workdir=work, port=18095, args=["--workers", "1", "--rate-limit", "0"]).start()
con = sqlite3.connect(db)
# 10, the newest: 6 web sessions, 7 the dashboard's per-result error kinds, 8 and 9
# LTI, 10 leases and grading processes.
check(con.execute("PRAGMA user_version").fetchone()[0] == 10, "the schema is at version 10")
check([r[1] for r in con.execute("PRAGMA table_info(jobs)")].count("lease_until") == 1 and
      con.execute("SELECT COUNT(*) FROM workers").fetchone()[0] >= 0,
      "10: jobs have leases, grading processes their table")
kinds = con.execute("SELECT submission_id, error_kinds FROM results ORDER BY 1").fetchall()
check(kinds == [(1, None), (2, "heap_overflow leak")],
      "the old results' memory-error kinds are backfilled from their documents: %s" % kinds)
after = {t: con.execute("SELECT COUNT(*) FROM %s" % t).fetchone()[0] for t in before}
check(after == before, "every old row is still there: %s vs %s" % (after, before))
members = con.execute("SELECT u.name, m.role FROM course_members m JOIN users u ON u.id = m.user_id"
                      " WHERE m.course_id = 'default' ORDER BY u.name").fetchall()
check(members == [("ann", "student"), ("ben", "student"), ("prof", "instructor")],
      "every user is in the default course with their role: %s" % members)
courses = con.execute("SELECT DISTINCT course FROM submissions").fetchall()
check(courses == [("default",)], "every old submission is in the default course: %s" % courses)
con.close()

for name in ("prof", "ann", "ben"):
    st, _, doc = srv.json("GET", "/api/v1/me", token=tokens[name])
    check(st == 200 and doc["name"] == name, "%s's old token still works: %d" % (name, st))
st, _, doc = srv.json("GET", "/api/v1/submissions/1", token=tokens["prof"])
check(st == 200 and doc["status"] == "graded" and doc["result"] == graded_doc and doc["course"] == "default",
      "the instructor sees the old result document unchanged")
st, _, doc = srv.json("GET", "/api/v1/submissions/1", token=tokens["ann"])
check(st == 200 and doc["result"].get("hidden_tests", {}).get("count") == 99,
      "ann sees the student view stored then: %s" % doc.get("result", {}).get("hidden_tests"))
st, _, doc = srv.json("GET", "/api/v1/submissions/2", token=tokens["ann"])
check(st == 404, "ann still cannot see ben's: %d" % st)
st, _, doc = srv.json("GET", "/api/v1/submissions/2", token=tokens["ben"])
check(st == 200 and "hidden_tests" in doc["result"] and
      all(t["visibility"] == "visible" for t in doc["result"]["tests"]),
      "ben's view is derived from the old document (hidden tests withheld)")
for sid, name in ((3, "ann"), (4, "ben")):
    doc = srv.wait_graded(tokens[name], sid, timeout=300)
    check(doc is not None and doc["result"]["score"] == doc["result"]["max_score"],
          "old %s submission %d is graded after the upgrade" % (doc and doc["status"], sid))
st, _, doc = srv.json("POST", "/api/v1/submissions", {"assignment": "mystr", "files": {"mystr.c": src}},
                      token=tokens["ben"], headers={"Idempotency-Key": "k-ben"})
check(st == 202 and doc["id"] == 2, "an old Idempotency-Key still replays: %d %s" % (st, doc))
st, _, doc = srv.json("GET", "/api/v1/courses", token=tokens["ann"])
check(st == 200 and doc["courses"] == [{"id": "default", "title": "Default course", "role": "student"}],
      "ann's courses: %s" % doc)
st, _, doc = srv.json("GET", "/api/v1/courses/default/assignments/mystr/grades", token=tokens["prof"])
rows = {r["user"]: r for r in doc.get("students", [])}
check(st == 200 and rows["ann"]["attempts"] == 2 and rows["ben"]["attempts"] == 2 and
      rows["ann"]["best_score"] == graded_doc["max_score"], "the default gradebook counts old work: %s" % doc)
st, _, doc = srv.json("GET", "/api/v1/assignments/mystr/grades", token=tokens["prof"])
check(st == 200 and {r["user"] for r in doc["students"]} == {"ann", "ben"}, "the §5 gradebook too")
st, _, doc = srv.submit(tokens["ann"], "mystr", {"mystr.c": src})
check(st == 202 and srv.wait_graded(tokens["ann"], doc["id"]) is not None, "new submissions work")
srv.stop()
con = sqlite3.connect(db)
jobs = con.execute("SELECT COUNT(*), SUM(state = 'done') FROM jobs").fetchone()
hist = con.execute("SELECT COUNT(*) FROM result_history").fetchone()[0]
check(jobs == (5, 5) and hist == 0, "each submission graded exactly once: jobs %s, history %d" % (jobs, hist))
con.close()
finish()
