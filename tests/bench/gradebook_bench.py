#!/usr/bin/env python3
"""gradebook_bench.py: a course of 1,000 students x 10 assignments x 20
submissions (200,000 graded submissions, each with its files, job and result
as the server stores them) written straight into a fresh database, then the
real `memgrade serve` on it on 127.0.0.1, timed for: the gradebook of one
assignment as JSON and as CSV, and a student's course page (the course's
assignments with their attempts and extension). Goals (issue 10): each
<= 50 ms, the database under 2 GB. Prints the figures. Not part of ctest.

usage: tests/bench/gradebook_bench.py [BUILD_DIR] [STUDENTS] [SUBMISSIONS]
The result documents are real ones: the bundled references and variants
graded once with `memgrade grade` (which runs them in the sandbox).
"""
import glob
import hashlib
import http.client
import json
import os
import random
import secrets
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib

src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(src, "build")
students = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
per = int(sys.argv[3]) if len(sys.argv) > 3 else 20
mg = os.path.join(build, "memgrade")
adir = os.path.join(src, "assignments")
ASSIGNMENTS = 10
PORT = 18199
work = tempfile.mkdtemp(prefix="mggradebook.")
db = os.path.join(work, "bench.db")


def packed(text):
    """A document as server/db.c stores it: "MGZ1", length, zlib stream."""
    raw = text.encode()
    return b"MGZ1" + struct.pack("<Q", len(raw)) + zlib.compress(raw, 6)


def student_view(doc):
    """srv_student_view: tests not visible withheld, summed up."""
    v = dict(doc)
    kept, n, score, mx = [], 0, 0.0, 0.0
    for t in doc.get("tests", []):
        if t.get("visibility", "visible") == "visible":
            kept.append(t)
        else:
            n += 1
            score += t["score"]
            mx += t["max_score"]
    v["tests"] = kept
    v["hidden_tests"] = {"count": n, "score": score, "max_score": mx}
    return v


# Real documents to store: each bundled assignment's reference and a few
# variants, graded once.
samples = {}
for man in sorted(glob.glob(os.path.join(adir, "*", "manifest.json"))):
    name = os.path.basename(os.path.dirname(man))
    fname = json.load(open(man))["files"][0]
    srcs = [os.path.join(adir, name, "reference", fname)] + \
        sorted(glob.glob(os.path.join(adir, name, "variants", "*.c")))[:3]
    for path in srcs:
        with tempfile.TemporaryDirectory() as t:
            target = os.path.join(t, fname)
            shutil.copy(path, target)
            p = subprocess.run([mg, "grade", "--json", "--assignment", name, target],
                               capture_output=True, text=True, timeout=600)
        if p.returncode == 0:
            doc = json.loads(p.stdout)
            samples.setdefault(name, []).append((fname, open(path).read(), doc))
names = sorted(samples)
print("sample documents: %d from %s (mean %.0f bytes)" % (
    sum(len(v) for v in samples.values()), ", ".join(names),
    statistics.mean(len(json.dumps(d)) for v in samples.values() for _, _, d in v)), flush=True)

subprocess.run([mg, "user", "add", "prof", "--role", "instructor", "--db", db], check=True,
               capture_output=True)
subprocess.run([mg, "course", "add", "big", "--title", "A big course", "--db", db], check=True,
               capture_output=True)
t0 = time.time()
con = sqlite3.connect(db)
con.execute("PRAGMA journal_mode = WAL")
con.execute("PRAGMA synchronous = OFF")
now = int(time.time() * 1000)
offered = ["%s_%d" % (names[i % len(names)], i) for i in range(ASSIGNMENTS)]
for i, a in enumerate(offered):
    con.execute("INSERT INTO course_assignments(course_id, assignment, due, late_penalty_per_day,"
                " policy) VALUES ('big', ?, ?, 10, ?)", (a, now - 86400000 * (i + 1),
                                                         "best" if i % 2 else "last"))
token = secrets.token_hex(32)
users = []
for s in range(students):
    cur = con.execute("INSERT INTO users(name, role, created_at) VALUES (?, 'student', ?)",
                      ("student%04d" % s, now))
    uid = cur.lastrowid
    users.append(uid)
    con.execute("INSERT INTO course_members VALUES ('big', ?, 'student')", (uid,))
    con.execute("INSERT INTO course_members VALUES ('default', ?, 'student')", (uid,))
con.execute("INSERT INTO tokens(hash, user_id, created_at) VALUES (?, ?, ?)",
            (hashlib.sha256(token.encode()).digest(), users[0], now))
rng = random.Random(10)
prepared = {n: [(f, s.encode(), packed(json.dumps(d)), packed(json.dumps(student_view(d))), d)
                for f, s, d in v]
            for n, v in samples.items()}
sid = 0
for ai, a in enumerate(offered):
    base = names[ai % len(names)]
    rows_s, rows_f, rows_j, rows_r = [], [], [], []
    for uid in users:
        for k in range(per):
            sid += 1
            fname, code, doc, sdoc, d = rng.choice(prepared[base])
            late = 1 if rng.random() < 0.05 else 0
            rows_s.append((sid, uid, a, now - (per - k) * 60000, "big", late, 10.0 if late else 0.0))
            rows_f.append((sid, fname, code))
            rows_j.append((sid, sid))
            rows_r.append((sid, d["status"], d["score"], d["max_score"], d["duration_ms"], doc,
                           now, sdoc))
    con.executemany("INSERT INTO submissions(id, user_id, assignment, created_at, course,"
                    " late_days, late_pct) VALUES (?,?,?,?,?,?,?)", rows_s)
    con.executemany("INSERT INTO submission_files VALUES (?,?,?)", rows_f)
    con.executemany("INSERT INTO jobs(id, submission_id, state, attempts) VALUES (?,?,'done',1)",
                    rows_j)
    con.executemany("INSERT INTO results(submission_id, status, score, max_score, duration_ms,"
                    " document, graded_at, student_document) VALUES (?,?,?,?,?,?,?,?)", rows_r)
    con.commit()
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
con.close()
size = os.path.getsize(db)
print("generated %d students x %d assignments x %d submissions = %d graded submissions in %.0f s"
      % (students, ASSIGNMENTS, per, sid, time.time() - t0), flush=True)
print("database: %.2f GB (%.1f KiB per submission)   goal: < 2 GB" % (size / 1e9, size / sid / 1024),
      flush=True)

prof_tok = subprocess.run([mg, "user", "token", "prof", "--db", db], check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()[-1]
log = open(os.path.join(work, "serve.err"), "wb")
srv = subprocess.Popen([mg, "serve", "--db", db, "--port", str(PORT), "--access-log", "off",
                        "--workers", "1"], stdout=log, stderr=log)
try:
    deadline = time.time() + 60
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)

    def timed(path, tok, runs=30):
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        out = []
        body = b""
        for _ in range(runs):
            t = time.perf_counter()
            c.request("GET", path, headers={"Authorization": "Bearer " + tok})
            r = c.getresponse()
            body = r.read()
            out.append((time.perf_counter() - t) * 1000)
            assert r.status == 200, (path, r.status, body[:200])
        out.sort()
        return statistics.median(out), out[int(len(out) * 0.95) - 1], len(body)

    a = offered[0]
    for what, path, tok in [
            ("gradebook JSON (%d students, %d submissions)" % (students, students * per),
             "/api/v1/courses/big/assignments/%s/grades" % a, prof_tok),
            ("gradebook CSV", "/api/v1/courses/big/assignments/%s/grades?format=csv" % a, prof_tok),
            ("student course page (%d assignments)" % ASSIGNMENTS,
             "/api/v1/courses/big/assignments", token),
            ("student's latest submissions in the course",
             "/api/v1/submissions?course=big", token)]:
        med, p95, n = timed(path, tok)
        print("%-48s median %6.1f ms   p95 %6.1f ms   %8d bytes   goal <= 50 ms" % (what, med, p95, n),
              flush=True)

    # A changed offer or an extension recomputes the late figures of the
    # work already submitted (one transaction): time both, then the
    # gradebook again.
    def put(path, body, tok=prof_tok):
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        data = json.dumps(body).encode()
        t = time.perf_counter()
        c.request("PUT", path, body=data, headers={"Authorization": "Bearer " + tok,
                                                   "Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        ms = (time.perf_counter() - t) * 1000
        assert r.status == 200, (path, r.status)
        return ms

    # The PUTs need an assignment of the catalog: give offered[0]'s
    # submissions its catalog name (the GETs above are done).
    real = a.rsplit("_", 1)[0]
    con = sqlite3.connect(db, timeout=30)
    with con:
        con.execute("UPDATE course_assignments SET assignment = ? WHERE course_id = 'big'"
                    " AND assignment = ?", (real, a))
        con.execute("UPDATE submissions SET assignment = ? WHERE course = 'big'"
                    " AND assignment = ?", (real, a))
    con.close()
    a = real
    due = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((now - 86400000) / 1000))
    ms = put("/api/v1/courses/big/assignments/%s" % a,
             {"due": due, "late_penalty_per_day": 20, "policy": "last"})
    print("%-48s %6.1f ms" % ("offer change (recomputes %d submissions)" % (students * per), ms),
          flush=True)
    ms = put("/api/v1/courses/big/assignments/%s/extensions/student0000" % a, {"due": due})
    print("%-48s %6.1f ms" % ("extension for one student (recomputes %d)" % per, ms), flush=True)
    med, p95, n = timed("/api/v1/courses/big/assignments/%s/grades" % a, prof_tok)
    print("%-48s median %6.1f ms   p95 %6.1f ms   %8d bytes   goal <= 50 ms"
          % ("gradebook JSON after the change", med, p95, n), flush=True)
finally:
    srv.terminate()
    srv.wait()
    log.close()
    if os.environ.get("KEEP") != "1":
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("kept " + work)
