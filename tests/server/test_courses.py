"""Courses, membership, deadlines, extensions and gradebooks (SPEC §6,
issue 10) against the real `memgrade serve` and the real `memgrade course`
CLI. The server's clock is moved through MEMGRADE_TEST_NOW=@FILE (a
test-only override), so deadlines are crossed to the second."""
import csv
import hashlib
import io
import json
import os
import subprocess

from mgtest import (ASSIGNMENTS, MEMGRADE, Server, add_user, check, dbarg, finish, query,
                    reference, tempdir)

work = tempdir("mgcourses.")
db = os.path.join(work, "memgrade.db")
clock = os.path.join(work, "now")


def set_now(iso):
    with open(clock + ".tmp", "w") as f:
        f.write(iso + "\n")
    os.replace(clock + ".tmp", clock)


def cli(*args):
    p = subprocess.run([MEMGRADE] + list(args) + ["--db", dbarg(db)], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


tok = {}
for name, role in [("prof", "instructor"), ("tina", "student"), ("alice", "student"),
                   ("bob", "student"), ("carol", "student")]:
    tok[name] = add_user(db, name, role)

# ---- the CLI: one-line errors and exit codes ------------------------------------
rc, out, err = cli("course", "add", "cs101", "--title", "Memory, \"C\", and you")
check(rc == 0 and "cs101" in out, "course add: %d %r %r" % (rc, out, err))
rc, _, err = cli("course", "add", "cs101", "--title", "again")
check(rc == 2 and err.count("\n") == 1 and "already exists" in err, "course add twice: %d %r" % (rc, err))
rc, _, err = cli("course", "add", "CS 101", "--title", "x")
check(rc == 2 and err.count("\n") == 1 and "course id" in err, "course add bad id: %d %r" % (rc, err))
for user, role in [("alice", "student"), ("bob", "student"), ("tina", "ta")]:
    rc, out, err = cli("course", "enrol", "cs101", user, "--role", role)
    check(rc == 0, "enrol %s as %s: %d %r" % (user, role, rc, err))
rc, _, err = cli("course", "enrol", "cs101", "nobody", "--role", "student")
check(rc == 2 and "no user 'nobody'" in err, "enrol unknown user: %d %r" % (rc, err))
rc, _, err = cli("course", "enrol", "cs999", "alice", "--role", "student")
check(rc == 2 and "no course 'cs999'" in err, "enrol in unknown course: %d %r" % (rc, err))
rc, _, err = cli("course", "enrol", "cs101", "alice", "--role", "professor")
check(rc == 2 and "--role" in err, "enrol with a bad role: %d %r" % (rc, err))
bad_offers = [
    (["--due", "2026-13-01T00:00:00Z"], "--due"),
    (["--due", "tomorrow"], "--due"),
    (["--due", "2026-12-02T00:00:00Z", "--accept-until", "2026-12-01T00:00:00Z"], "after"),
    (["--late-penalty", "-5"], "--late-penalty"),
    (["--max-submissions", "0"], "--max-submissions"),
    (["--policy", "worst"], "--policy"),
]
for extra, word in bad_offers:
    rc, _, err = cli("course", "offer", "cs101", "mystr", *extra)
    check(rc == 2 and err.count("\n") == 1 and word in err,
          "offer %s refused: %d %r" % (" ".join(extra), rc, err))
rc, _, err = cli("course", "offer", "cs999", "mystr")
check(rc == 2 and "no course" in err, "offer in unknown course: %d %r" % (rc, err))
DUE, UNTIL = "2026-12-01T23:59:00Z", "2026-12-03T23:59:00Z"
rc, out, err = cli("course", "offer", "cs101", "mystr", "--due", DUE, "--accept-until", UNTIL,
                   "--late-penalty", "10", "--max-submissions", "4", "--policy", "best")
check(rc == 0, "offer mystr in cs101: %d %r" % (rc, err))
# memgrade user passwd: the new password on stdin, stored salted and stretched.
p = subprocess.run([MEMGRADE, "user", "passwd", "alice", "--db", dbarg(db)], input="s3cret pass!\n",
                   capture_output=True, text=True)
stored = query(db, "SELECT password FROM users WHERE name = 'alice'")[0][0]
check(p.returncode == 0 and (stored or "").startswith("$argon2id$v=19$m=65536,t=2,p=1$") and
      "s3cret" not in stored,
      "user passwd stores an argon2id hash of the password: %d %r %r" % (p.returncode, p.stderr, stored))
for who, pw, word in [("alice", "short\n", "8 to 1024"), ("nobody", "long enough\n", "no user"),
                      ("alice", "", "no password")]:
    p = subprocess.run([MEMGRADE, "user", "passwd", who, "--db", dbarg(db)], input=pw,
                       capture_output=True, text=True)
    check(p.returncode == 2 and p.stderr.count("\n") == 1 and word in p.stderr,
          "user passwd %s %r refused: %d %r" % (who, pw, p.returncode, p.stderr))

rc, out, _ = cli("course", "list")
check(rc == 0 and "cs101\t" in out and "default\t" in out, "course list: %r" % out)

manifest = json.load(open(os.path.join(ASSIGNMENTS, "mystr", "manifest.json")))
MAX = sum(t["points"] for t in manifest["tests"])
AFTER_DUE = {t["name"] for t in manifest["tests"] if t.get("visibility") == "after_due_date"}
check(AFTER_DUE, "mystr has an after_due_date test to reveal")
src = {"mystr.c": reference("mystr")}

set_now("2026-11-30T12:00:00Z")
os.environ["MEMGRADE_TEST_NOW"] = "@" + clock
srv = Server(db=db, workdir=work, port=18090, args=["--workers", "2", "--rate-limit", "0"]).start()

# ---- courses and members ---------------------------------------------------------
st, _, doc = srv.json("GET", "/api/v1/courses", token=tok["alice"])
check(st == 200 and sorted((c["id"], c["role"]) for c in doc["courses"]) ==
      [("cs101", "student"), ("default", "student")], "alice's courses: %s" % doc)
st, _, doc = srv.json("GET", "/api/v1/courses", token=tok["carol"])
check(st == 200 and [c["id"] for c in doc["courses"]] == ["default"], "carol's courses: %s" % doc)
st, _, doc = srv.json("GET", "/api/v1/courses", token=tok["tina"])
check(st == 200 and ("cs101", "ta") in [(c["id"], c["role"]) for c in doc["courses"]],
      "tina is a TA in cs101: %s" % doc)
st, _, doc = srv.json("POST", "/api/v1/courses", {"id": "cs102", "title": "Systems"}, tok["alice"])
check(st == 403 and "error" in doc, "a student cannot create a course: %d" % st)
st, hd, doc = srv.json("POST", "/api/v1/courses", {"id": "cs102", "title": "Systems"}, tok["prof"])
check(st == 201 and doc == {"id": "cs102", "title": "Systems"}, "prof creates cs102: %d %s" % (st, doc))
st, _, doc = srv.json("POST", "/api/v1/courses", {"id": "cs102", "title": "Again"}, tok["prof"])
check(st == 409 and "error" in doc, "a course id is taken once: %d" % st)
for body in [{"id": "Bad Id", "title": "x"}, {"id": "ok", "title": ""}, {"id": "ok"},
             {"id": "ok", "title": "x", "extra": 1}, [1]]:
    st, _, doc = srv.json("POST", "/api/v1/courses", body, tok["prof"])
    check(st == 400 and "error" in doc, "course %s refused: %d %s" % (body, st, doc))
st, _, doc = srv.json("PUT", "/api/v1/courses/cs102/members/carol", {"role": "student"}, tok["alice"])
check(st == 404, "alice is not in cs102: 404 (%d)" % st)
st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/members/carol", {"role": "student"}, tok["tina"])
check(st == 403, "a TA cannot enrol: %d" % st)
st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/members/carol", {"role": "boss"}, tok["prof"])
check(st == 400, "a bad role is 400: %d" % st)
st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/members/nobody", {"role": "student"}, tok["prof"])
check(st == 404, "an unknown user is 404: %d" % st)
st, _, doc = srv.json("PUT", "/api/v1/courses/nope/members/carol", {"role": "student"}, tok["prof"])
check(st == 404, "an unknown course is 404: %d" % st)

# ---- offers: reading and validation ------------------------------------------------
st, _, doc = srv.json("GET", "/api/v1/courses/cs101/assignments", token=tok["alice"])
mystr = [a for a in doc.get("assignments", []) if a["assignment"] == "mystr"] if st == 200 else []
check(mystr and mystr[0]["due"] == DUE and mystr[0]["accept_until"] == UNTIL and
      mystr[0]["late_penalty_per_day"] == 10 and mystr[0]["max_submissions"] == 4 and
      mystr[0]["policy"] == "best" and mystr[0]["submissions_used"] == 0 and
      mystr[0]["extension"] is None, "cs101 offers mystr to alice: %s" % doc)
st, _, doc = srv.json("GET", "/api/v1/courses/cs101/assignments", token=tok["carol"])
check(st == 404, "carol does not see cs101: %d" % st)
st, _, doc = srv.json("GET", "/api/v1/courses/default/assignments", token=tok["carol"])
check(st == 200 and len(doc["assignments"]) == 5 and all(a["due"] is None for a in doc["assignments"]),
      "the default course offers the catalog with no deadline: %s" % doc)
bad = [({"due": "2026-02-30T00:00:00Z"}, "due"),
       ({"due": "2026-12-01 23:59"}, "due"),
       ({"due": "2026-12-02T00:00:00Z", "accept_until": "2026-12-01T00:00:00Z"}, "after"),
       ({"due": DUE, "late_penalty_per_day": -1}, "late_penalty"),
       ({"due": DUE, "max_submissions": 0}, "max_submissions"),
       ({"due": DUE, "policy": "median"}, "policy"),
       ({"due": DUE, "deu": DUE}, "unknown field")]
for body, word in bad:
    st, _, doc = srv.json("PUT", "/api/v1/courses/cs102/assignments/vector", body, tok["prof"])
    check(st == 400 and word in doc.get("error", ""), "offer %s refused: %d %s" % (body, st, doc))
st, _, doc = srv.json("PUT", "/api/v1/courses/cs102/assignments/nosuch", {}, tok["prof"])
check(st == 404, "offering an unknown assignment is 404: %d" % st)
st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/assignments/vector", {}, tok["tina"])
check(st == 403, "a TA cannot change offers: %d" % st)
st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/assignments/vector", {}, tok["alice"])
check(st == 403, "a student cannot change offers: %d" % st)
st, _, doc = srv.json("PUT", "/api/v1/courses/cs102/assignments/mystr",
                      {"due": "2026-12-10T12:00:00+01:00", "policy": "last"}, tok["prof"])
check(st == 200 and doc["due"] == "2026-12-10T11:00:00Z" and doc["policy"] == "last",
      "an offset time is stored as UTC: %s" % doc)

# ---- submitting: which course ----------------------------------------------------------
st, _, doc = srv.json("POST", "/api/v1/submissions", {"assignment": "mystr", "files": src,
                                                      "course": "cs999"}, tok["alice"])
check(st == 404, "an unknown course is 404: %d %s" % (st, doc))
st, _, doc = srv.json("POST", "/api/v1/submissions", {"assignment": "vector", "files": {"vector.c": "x"},
                                                      "course": "cs101"}, tok["alice"])
check(st == 400 and "not offered" in doc["error"], "vector is not offered in cs101: %d %s" % (st, doc))
st, _, doc = srv.json("POST", "/api/v1/submissions", {"assignment": "mystr", "files": src,
                                                      "course": "cs101"}, tok["carol"])
check(st == 404, "carol cannot submit to cs101: %d" % st)
srv.json("PUT", "/api/v1/courses/cs102/members/alice", {"role": "student"}, tok["prof"])
st, _, doc = srv.submit(tok["alice"], "mystr", src)
check(st == 400 and "course" in doc["error"], "mystr in two of alice's courses is ambiguous: %d %s" % (st, doc))
srv.json("PUT", "/api/v1/courses/cs102/members/alice", {"role": "ta"}, tok["prof"])
st, _, doc = srv.submit(tok["carol"], "mystr", src)
carol_sub = doc.get("id")
check(st == 202, "carol submits with no course: the default one (%d)" % st)

# ---- deadlines across the boundary --------------------------------------------------
set_now("2026-12-01T23:58:59Z")
st, _, doc = srv.submit(tok["alice"], "mystr", src)  # cs101 is her only student course for mystr
on_time = doc.get("id")
check(st == 202, "one second before the due date: accepted (%d %s)" % (st, doc))
set_now("2026-12-01T23:59:01Z")
st, _, doc = srv.submit(tok["bob"], "mystr", src)
late1 = doc.get("id")
check(st == 202, "one second after the due date: accepted late (%d)" % st)
set_now("2026-12-03T23:59:00Z")
st, _, doc = srv.json("POST", "/api/v1/submissions", {"assignment": "mystr", "files": src},
                      tok["bob"], headers={"Idempotency-Key": "bob-last"})
late3 = doc.get("id")
check(st == 202, "at accept_until: still accepted (%d)" % st)
set_now("2026-12-03T23:59:01Z")
st, hd, doc = srv.json("POST", "/api/v1/submissions", {"assignment": "mystr", "files": src}, tok["bob"])
check(st == 403 and doc["error"] == "the deadline for mystr in cs101 was " + UNTIL,
      "one second after accept_until: 403 with the deadline (%d %s)" % (st, doc))
st, hd, doc = srv.json("POST", "/api/v1/submissions", {"assignment": "mystr", "files": src},
                       tok["bob"], headers={"Idempotency-Key": "bob-last"})
check(st == 202 and doc.get("id") == late3 and hd.get("idempotent-replayed") == "true",
      "a retry of a submission stored in time replays after the deadline: %d %s" % (st, doc))
st, _, doc = srv.json("POST", "/api/v1/submissions", {"assignment": "mystr", "files": src,
                                                      "course": "default"}, tok["carol"])
check(st == 202, "the default course has no deadline: %d" % st)
st, _, doc = srv.json("POST", "/api/v1/submissions", {"assignment": "mystr", "files": src,
                                                      "course": "default"}, tok["bob"])
check(st == 400 and "cs101" in doc["error"],
      "a cs101 student cannot go around its deadline through the default course: %d %s" % (st, doc))

g = {}
for name, sid in [("carol", carol_sub), ("alice", on_time), ("bob", late1), ("bob", late3)]:
    g[sid] = srv.wait_graded(tok[name], sid)
    check(g[sid] is not None, "submission %s graded" % sid)
doc = g[on_time]
check(doc["course"] == "cs101" and "late_days" not in doc["result"] and doc["result"]["score"] == MAX,
      "on time: no late fields, full marks (%s)" % {k: doc["result"].get(k) for k in ("score", "late_days")})
check(len(doc.get("assignment_version", "")) == 64, "the result names the assignment version")
doc = g[late1]
r = doc["result"]
check(r.get("late_days") == 1 and abs(r["late_penalty"] - MAX * 0.10) < 1e-9 and
      abs(r["final_score"] - MAX * 0.90) < 1e-9 and doc["final_score"] == r["final_score"],
      "one second late: 1 day, 10%% off: %s" % {k: r.get(k) for k in ("late_days", "late_penalty", "final_score")})
r = g[late3]["result"]
check(r.get("late_days") == 2 and abs(r["final_score"] - MAX * 0.80) < 1e-9,
      "two days to the second: 2 days late, 20%% off (%s)" % r.get("late_days"))
doc = g[carol_sub]
check(doc["course"] == "default" and "late_days" not in doc["result"], "carol's default-course submission")

# ---- after_due_date tests: shown once the student's own due date passed -------------
names = {t["name"] for t in g[on_time]["result"]["tests"]}
st, _, now_doc = srv.json("GET", "/api/v1/submissions/%d" % on_time, token=tok["alice"])
check(AFTER_DUE <= {t["name"] for t in now_doc["result"]["tests"]},
      "after the due date alice sees the after_due_date tests")
set_now("2026-12-01T12:00:00Z")
st, _, early = srv.json("GET", "/api/v1/submissions/%d" % on_time, token=tok["alice"])
check(not (AFTER_DUE & {t["name"] for t in early["result"]["tests"]}),
      "before the due date they are withheld: %s" % names)
st, _, doc = srv.json("GET", "/api/v1/submissions/%d" % carol_sub, token=tok["carol"])
check(not (AFTER_DUE & {t["name"] for t in doc["result"]["tests"]}),
      "with no due date (default course) they stay withheld")

# ---- extensions ------------------------------------------------------------------------
EXT = "2026-12-05T00:00:00Z"
st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/assignments/mystr/extensions/alice",
                      {"due": EXT, "accept_until": EXT}, tok["tina"])
check(st == 403, "a TA cannot grant extensions: %d" % st)
st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/assignments/mystr/extensions/carol",
                      {"due": EXT}, tok["prof"])
check(st == 404, "no extension for a non-member: %d" % st)
st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/assignments/mystr/extensions/alice",
                      {"due": "2026-12-06T00:00:00Z", "accept_until": EXT}, tok["prof"])
check(st == 400 and "after" in doc["error"], "an extension due after its accept_until: 400")
st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/assignments/mystr/extensions/alice",
                      {"due": EXT, "accept_until": EXT}, tok["prof"])
check(st == 200 and doc["due"] == EXT, "prof extends alice to %s: %s" % (EXT, doc))
set_now("2026-12-04T12:00:00Z")
st, _, doc = srv.json("GET", "/api/v1/submissions/%d" % on_time, token=tok["alice"])
check(not (AFTER_DUE & {t["name"] for t in doc["result"]["tests"]}),
      "within her extension alice's after_due_date tests are withheld again")
st, _, doc = srv.json("GET", "/api/v1/submissions/%d" % late1, token=tok["bob"])
check(AFTER_DUE <= {t["name"] for t in doc["result"]["tests"]}, "bob, past his due date, sees them")
st, _, doc = srv.submit(tok["alice"], "mystr", src)
ext_sub = doc.get("id")
check(st == 202, "alice submits within her extension: %d %s" % (st, doc))
st, _, doc = srv.submit(tok["bob"], "mystr", src)
check(st == 403 and UNTIL in doc["error"], "bob has no extension: %d" % st)
st, _, doc = srv.json("GET", "/api/v1/courses/cs101/assignments", token=tok["alice"])
m = [a for a in doc["assignments"] if a["assignment"] == "mystr"][0]
check(m["submissions_used"] == 2 and m["extension"] == {"due": EXT, "accept_until": EXT},
      "alice's offer shows her attempts and extension: %s" % m)
st, _, doc = srv.json("GET", "/api/v1/courses/cs101/assignments", token=tok["tina"])
m = [a for a in doc["assignments"] if a["assignment"] == "mystr"][0]
check(m["extensions"] == [{"user": "alice", "due": EXT, "accept_until": EXT}] and "extension" not in m,
      "the TA sees who has an extension: %s" % m.get("extensions"))
doc = srv.wait_graded(tok["alice"], ext_sub)
check(doc and "late_days" not in doc["result"], "a submission within the extension is not late")

# ---- max_submissions: 429 without Retry-After -------------------------------------------
for i in range(2):
    st, _, doc = srv.submit(tok["alice"], "mystr", src)
    check(st == 202, "alice's attempt %d of 4: %d" % (i + 3, st))
    last_alice = doc.get("id")
st, hd, doc = srv.json("POST", "/api/v1/submissions", {"assignment": "mystr", "files": src}, tok["alice"])
check(st == 429 and "retry-after" not in hd and "4" in doc["error"],
      "the fifth attempt is 429 without Retry-After: %d %s %s" % (st, hd.get("retry-after"), doc))
srv.wait_graded(tok["alice"], last_alice)

# ---- visibility of submissions ------------------------------------------------------------
st, _, doc = srv.json("GET", "/api/v1/submissions/%d" % on_time, token=tok["tina"])
check(st == 200 and {t["visibility"] for t in doc["result"]["tests"]} >= {"hidden"},
      "the TA sees alice's submission in full: %d" % st)
st, _, doc = srv.json("GET", "/api/v1/submissions/%d" % on_time, token=tok["bob"])
check(st == 404, "bob does not see alice's submission: %d" % st)
st, _, doc = srv.json("GET", "/api/v1/submissions/%d" % carol_sub, token=tok["tina"])
check(st == 404, "the cs101 TA does not see carol's default-course submission: %d" % st)
st, _, doc = srv.json("GET", "/api/v1/submissions?course=cs101", token=tok["tina"])
check(st == 200 and {s["user"] for s in doc["submissions"]} == {"alice", "bob"},
      "the TA lists cs101's submissions: %s" % (doc if st != 200 else [s["user"] for s in doc["submissions"]]))
st, _, doc = srv.json("GET", "/api/v1/submissions?course=cs101", token=tok["bob"])
check(st == 200 and {s["user"] for s in doc["submissions"]} == {"bob"}, "bob lists only his own")
st, _, doc = srv.json("GET", "/api/v1/submissions?course=cs101", token=tok["carol"])
check(st == 404, "carol cannot list cs101: %d" % st)

# ---- the gradebook --------------------------------------------------------------------
st, _, doc = srv.json("GET", "/api/v1/courses/cs101/assignments/mystr/grades", token=tok["alice"])
check(st == 403, "a student gets no gradebook: %d" % st)
st, _, doc = srv.json("GET", "/api/v1/courses/cs101/assignments/mystr/grades", token=tok["carol"])
check(st == 404, "a non-member gets 404: %d" % st)
st, _, doc = srv.json("GET", "/api/v1/courses/cs101/assignments/mystr/grades", token=tok["tina"])
rows = {r["user"]: r for r in doc.get("students", [])}
check(st == 200 and set(rows) == {"alice", "bob"}, "the TA's gradebook lists cs101's students: %s" % doc)
check(rows["alice"]["attempts"] == 4 and rows["alice"]["best_score"] == MAX and
      rows["alice"]["final_score"] == MAX and rows["alice"]["late_days"] == 0,
      "alice: 4 attempts, best %s: %s" % (MAX, rows.get("alice")))
check(rows["bob"]["attempts"] == 2 and abs(rows["bob"]["best_score"] - MAX * 0.9) < 1e-9 and
      rows["bob"]["late_days"] == 1 and abs(rows["bob"]["last_score"] - MAX * 0.8) < 1e-9,
      "bob: best after penalty is his 1-day-late one: %s" % rows.get("bob"))
st, hd, body = srv.request("GET", "/api/v1/courses/cs101/assignments/mystr/grades?format=csv",
                           token=tok["prof"])
text = body.decode()
table = list(csv.reader(io.StringIO(text)))
check(st == 200 and hd["content-type"].startswith("text/csv") and text.endswith("\r\n") and
      table[0][:5] == ["user", "attempts", "best_score", "last_score", "final_score"] and
      [r[0] for r in table[1:]] == ["alice", "bob"], "CSV gradebook: %r" % text[:300])
srv.json("PUT", "/api/v1/courses/cs101/assignments/mystr",
         {"due": DUE, "accept_until": UNTIL, "late_penalty_per_day": 10, "max_submissions": 4,
          "policy": "last"}, tok["prof"])
st, _, doc = srv.json("GET", "/api/v1/courses/cs101/assignments/mystr/grades", token=tok["prof"])
rows = {r["user"]: r for r in doc.get("students", [])}
check(doc.get("policy") == "last" and abs(rows["bob"]["final_score"] - MAX * 0.8) < 1e-9 and
      rows["bob"]["late_days"] == 2, "policy last: bob's final is his last: %s" % rows.get("bob"))
st, _, doc = srv.json("GET", "/api/v1/courses/cs101/assignments/vector/grades", token=tok["prof"])
check(st == 404, "a gradebook of an assignment not offered: 404 (%d)" % st)

# §5 keeps working: the instructor's catalog-wide gradebook still lists everyone.
st, _, doc = srv.json("GET", "/api/v1/assignments/mystr/grades", token=tok["prof"])
check(st == 200 and {"alice", "bob", "carol"} <= {r["user"] for r in doc["students"]},
      "the §5 gradebook still answers")

# ---- a later extension or policy change reaches work already submitted -------------
# bob's late1 is 1 s after DUE and late3 exactly at UNTIL (2 days); policy last.


def bob_now(what):
    """bob's late figures as the result documents (his view and prof's) and
    the gradebook (JSON and CSV) show them."""
    out = {}
    for sid, name in [(late1, "late1"), (late3, "late3")]:
        for who in ("bob", "prof"):
            st, _, d = srv.json("GET", "/api/v1/submissions/%d" % sid, token=tok[who])
            check(st == 200, "%s: %s reads %s (%d)" % (what, who, name, st))
            out[name, who] = {k: d["result"].get(k) for k in ("late_days", "late_penalty",
                                                              "final_score", "score")}
    st, _, d = srv.json("GET", "/api/v1/courses/cs101/assignments/mystr/grades", token=tok["prof"])
    out["json"] = {r["user"]: r for r in d.get("students", [])}["bob"]
    st, _, body = srv.request("GET", "/api/v1/courses/cs101/assignments/mystr/grades?format=csv",
                              token=tok["prof"])
    out["csv"] = {r["user"]: r for r in csv.DictReader(io.StringIO(body.decode()))}["bob"]
    return out


def close(a, b):
    return a is not None and abs(float(a) - b) < 1e-9


st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/assignments/mystr/extensions/bob",
                      {"due": "2026-12-04T00:00:00Z"}, tok["prof"])
check(st == 200, "prof extends bob past both his submissions: %d %s" % (st, doc))
b = bob_now("covering extension")
for name in ("late1", "late3"):
    for who in ("bob", "prof"):
        r = b[name, who]
        check(r["late_days"] is None and r["late_penalty"] is None and r["final_score"] is None and
              r["score"] == MAX, "an extension covering %s: no penalty in %s's view: %s" % (name, who, r))
check(b["json"]["late_days"] == 0 and close(b["json"]["final_score"], MAX) and
      close(b["json"]["best_score"], MAX) and close(b["json"]["last_score"], MAX),
      "covering extension: the gradebook drops bob's penalty: %s" % b["json"])
check(b["csv"]["late_days"] == "0" and close(b["csv"]["final_score"], MAX),
      "covering extension: the CSV gradebook too: %s" % b["csv"])

PART = "2026-12-02T23:59:30Z"   # late1 on time; late3 30 s short of a day late: 1 day
st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/assignments/mystr/extensions/bob",
                      {"due": PART, "accept_until": UNTIL}, tok["prof"])
check(st == 200, "prof narrows bob's extension to %s: %d %s" % (PART, st, doc))
b = bob_now("partial extension")
for who in ("bob", "prof"):
    check(b["late1", who]["late_days"] is None, "%s: late1 is on time under the extension" % who)
    r = b["late3", who]
    check(r["late_days"] == 1 and close(r["late_penalty"], MAX * 0.10) and
          close(r["final_score"], MAX * 0.90),
          "partial extension: late3 is 1 day late, 10%% off in %s's view: %s" % (who, r))
check(b["json"]["late_days"] == 1 and close(b["json"]["final_score"], MAX * 0.90) and
      close(b["json"]["best_score"], MAX),
      "partial extension: gradebook recomputed: %s" % b["json"])
check(b["csv"]["late_days"] == "1" and close(b["csv"]["final_score"], MAX * 0.90),
      "partial extension: CSV recomputed: %s" % b["csv"])
st, _, doc = srv.json("GET", "/api/v1/courses/cs101/assignments/mystr/grades", token=tok["prof"])
rows = {r["user"]: r for r in doc.get("students", [])}
check(rows["alice"]["late_days"] == 0 and close(rows["alice"]["final_score"], MAX),
      "bob's extension leaves alice alone: %s" % rows.get("alice"))

st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/assignments/mystr",
                      {"due": DUE, "accept_until": UNTIL, "late_penalty_per_day": 25,
                       "max_submissions": 4, "policy": "last"}, tok["prof"])
check(st == 200 and doc["late_penalty_per_day"] == 25, "prof raises the penalty to 25%%/day: %s" % doc)
b = bob_now("new penalty")
for who in ("bob", "prof"):
    r = b["late3", who]
    check(r["late_days"] == 1 and close(r["late_penalty"], MAX * 0.25) and
          close(r["final_score"], MAX * 0.75),
          "a new penalty per day reaches late3 in %s's view: %s" % (who, r))
check(b["json"]["late_days"] == 1 and close(b["json"]["final_score"], MAX * 0.75),
      "new penalty: gradebook: %s" % b["json"])
check(b["csv"]["late_days"] == "1" and close(b["csv"]["final_score"], MAX * 0.75),
      "new penalty: CSV: %s" % b["csv"])
st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/assignments/mystr",
                      {"due": DUE, "accept_until": UNTIL, "late_penalty_per_day": 60,
                       "max_submissions": 4, "policy": "last"}, tok["prof"])
st, _, doc = srv.json("PUT", "/api/v1/courses/cs101/assignments/mystr/extensions/bob",
                      {"accept_until": UNTIL}, tok["prof"])
b = bob_now("no extended due, 60%/day")
r = b["late3", "bob"]
check(r["late_days"] == 2 and close(r["late_penalty"], MAX) and close(r["final_score"], 0) and
      close(b["json"]["final_score"], 0) and b["json"]["late_days"] == 2,
      "back to the course's due: 2 days at 60%% is never below 0 points: %s %s" % (r, b["json"]))
st, _, doc = srv.json("GET", "/api/v1/courses/cs101/assignments/mystr/grades", token=tok["prof"])
rows = {r["user"]: r for r in doc.get("students", [])}
check(rows["alice"]["late_days"] == 0 and close(rows["alice"]["final_score"], MAX),
      "a stiffer penalty leaves alice's on-time work alone: %s" % rows.get("alice"))
srv.json("PUT", "/api/v1/courses/cs101/assignments/mystr",
         {"due": DUE, "accept_until": UNTIL, "late_penalty_per_day": 10, "max_submissions": 4,
          "policy": "last"}, tok["prof"])

# ---- dropping a student ------------------------------------------------------------
st, _, doc = srv.json("DELETE", "/api/v1/courses/cs101/members/bob", token=tok["tina"])
check(st == 403, "a TA cannot drop a student: %d" % st)
st, hd, doc = srv.json("POST", "/api/v1/courses/cs101/members/bob", {}, tok["prof"])
check(st == 405 and hd.get("allow") == "PUT, DELETE", "Allow lists PUT and DELETE: %d %s" % (st, hd.get("allow")))
st, _, doc = srv.json("DELETE", "/api/v1/courses/cs101/members/bob", token=tok["prof"])
check(st == 200 and doc == {"course": "cs101", "user": "bob", "role": None}, "prof drops bob: %d %s" % (st, doc))
st, _, doc = srv.json("DELETE", "/api/v1/courses/cs101/members/bob", token=tok["prof"])
check(st == 404, "dropping twice: 404 (%d)" % st)
st, _, doc = srv.json("DELETE", "/api/v1/courses/default/members/bob", token=tok["prof"])
check(st == 400, "nobody leaves the default course: %d" % st)
st, _, doc = srv.json("GET", "/api/v1/courses/cs101/assignments", token=tok["bob"])
check(st == 404, "bob no longer sees cs101: %d" % st)
st, _, doc = srv.json("GET", "/api/v1/courses/cs101/assignments/mystr/grades", token=tok["prof"])
check(st == 200 and [r["user"] for r in doc["students"]] == ["alice"], "the gradebook lists alice alone")
st, _, doc = srv.json("GET", "/api/v1/submissions/%d" % late1, token=tok["bob"])
check(st == 200, "bob still sees his own work: %d" % st)

srv.stop()
finish()
