#!/usr/bin/env python3
"""dashboard_bench.py: the staff dashboard on a big course (issue 11 goal:
1,000 students x 20 submissions render /dashboard/C/A in under 200 ms of
server time). Builds the database the way gradebook_bench.py does (real
result documents, graded once with `memgrade grade`, stored compressed as
server/db.c stores them, with the error kinds the server keeps beside each
result), starts the real `memgrade serve` on 127.0.0.1, logs in through a
one-time login link and times the pages: server time from the access log
(the handler's own ms) and wall time at the client. Prints the figures.
Not part of ctest.

usage: tests/bench/dashboard_bench.py [BUILD_DIR] [STUDENTS] [SUBMISSIONS]
(as root: it re-executes itself in fresh namespaces; KEEP=1 keeps its files)
"""
import glob
import http.client
import json
import os
import random
import re
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
# Like every bench here: in fresh PID, network and mount namespaces (the
# server on a loopback of its own, the sample grading in the sandbox).
if os.environ.get("MEMGRADE_IN_NETNS") != "1":
    wrap = os.path.join(src, "tests", "server", "netns_run.sh")
    os.execv(wrap, [wrap, sys.executable, os.path.abspath(__file__)] + sys.argv[1:])
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(src, "build")
students = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
per = int(sys.argv[3]) if len(sys.argv) > 3 else 20
mg = os.path.join(build, "memgrade")
adir = os.path.join(src, "assignments")
PORT = 18198
RUNS = 30
work = tempfile.mkdtemp(prefix="mgdash.")
db = os.path.join(work, "bench.db")
access = os.path.join(work, "access.log")


def packed(text):
    """A document as server/db.c stores it: "MGZ1", length, zlib stream."""
    raw = text.encode()
    return b"MGZ1" + struct.pack("<Q", len(raw)) + zlib.compress(raw, 6)


def error_kinds(doc):
    """What server/db.c's ERROR_KINDS keeps of a document: its distinct
    memory-error kinds, sorted, space-separated; None when there is none."""
    ks = sorted({e.get("kind") for e in doc.get("memory_errors") or []
                 if isinstance(e, dict) and isinstance(e.get("kind"), str)})
    return " ".join(ks) or None


# Real documents: each bundled assignment's reference and its variants
# (buggy on purpose, so the kinds table has rows), graded once.
samples = {}
for man in sorted(glob.glob(os.path.join(adir, "*", "manifest.json"))):
    name = os.path.basename(os.path.dirname(man))
    fname = json.load(open(man))["files"][0]
    srcs = [os.path.join(adir, name, "reference", fname)] + \
        sorted(glob.glob(os.path.join(adir, name, "variants", "*.c")))[:6]
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
print("sample documents: %d from %s; kinds seen: %s" % (
    sum(len(v) for v in samples.values()), ", ".join(names),
    ", ".join(sorted({k for v in samples.values() for _, _, d in v
                      for k in (error_kinds(d) or "").split()}))), flush=True)

subprocess.run([mg, "user", "add", "prof", "--role", "instructor", "--db", db], check=True,
               capture_output=True)
subprocess.run([mg, "course", "add", "big", "--title", "A big course", "--db", db], check=True,
               capture_output=True)
t0 = time.time()
con = sqlite3.connect(db)
con.execute("PRAGMA journal_mode = WAL")
con.execute("PRAGMA synchronous = OFF")
now = int(time.time() * 1000)
# Three catalog assignments offered, each with the full load: the overview
# page (/dashboard) reads all three.
offered = [n for n in ("mystr", "list", "vector") if n in names] or names[:3]
for i, a in enumerate(offered):
    con.execute("INSERT INTO course_assignments(course_id, assignment, due, late_penalty_per_day,"
                " policy) VALUES ('big', ?, ?, 10, ?)", (a, now - 86400000 * (i + 1),
                                                         "best" if i % 2 == 0 else "last"))
users = []
for s in range(students):
    cur = con.execute("INSERT INTO users(name, role, created_at) VALUES (?, 'student', ?)",
                      ("student%04d" % s, now))
    uid = cur.lastrowid
    users.append(uid)
    con.execute("INSERT INTO course_members VALUES ('big', ?, 'student')", (uid,))
    con.execute("INSERT INTO course_members VALUES ('default', ?, 'student')", (uid,))
rng = random.Random(11)
prepared = {n: [(f, s.encode(), packed(json.dumps(d)), d) for f, s, d in v]
            for n, v in samples.items()}
sid = 0
for a in offered:
    rows_s, rows_f, rows_j, rows_r = [], [], [], []
    for uid in users:
        for k in range(per):
            sid += 1
            fname, code, doc, d = rng.choice(prepared[a])
            late = 1 if rng.random() < 0.05 else 0
            rows_s.append((sid, uid, a, now - (per - k) * 60000, "big", late, 10.0 if late else 0.0))
            rows_f.append((sid, fname, code))
            rows_j.append((sid, sid))
            rows_r.append((sid, d["status"], d["score"], d["max_score"], d["duration_ms"], doc,
                           now, error_kinds(d)))
    con.executemany("INSERT INTO submissions(id, user_id, assignment, created_at, course,"
                    " late_days, late_pct) VALUES (?,?,?,?,?,?,?)", rows_s)
    con.executemany("INSERT INTO submission_files VALUES (?,?,?)", rows_f)
    con.executemany("INSERT INTO jobs(id, submission_id, state, attempts) VALUES (?,?,'done',1)",
                    rows_j)
    con.executemany("INSERT INTO results(submission_id, status, score, max_score, duration_ms,"
                    " document, graded_at, error_kinds) VALUES (?,?,?,?,?,?,?,?)", rows_r)
    con.commit()
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
con.close()
print("generated %d students x %d assignments x %d submissions = %d graded submissions in %.0f s"
      % (students, len(offered), per, sid, time.time() - t0), flush=True)

# Time the migration's backfill too: the same database with its kinds
# column emptied and its schema version set back, opened by memgrade.
# (Only the UPDATE of migration 7 runs; the column and index exist.)
back = os.path.join(work, "backfill.db")
shutil.copy(db, back)
con = sqlite3.connect(back)
con.execute("UPDATE results SET error_kinds = NULL")
ver = con.execute("PRAGMA user_version").fetchone()[0]
con.execute("DROP INDEX results_dashboard")
con.execute("ALTER TABLE results DROP COLUMN error_kinds")
con.execute("PRAGMA user_version = %d" % (ver - 1))
con.commit()
con.close()
t = time.time()
subprocess.run([mg, "user", "add", "someone", "--role", "student", "--db", back], check=True,
               capture_output=True)
took = time.time() - t
con = sqlite3.connect(back)
con.execute("ATTACH ? AS gen", (db,))
diff = con.execute("SELECT COUNT(*) FROM results a JOIN gen.results b USING (submission_id)"
                   " WHERE a.error_kinds IS NOT b.error_kinds").fetchone()[0]
con.close()
os.unlink(back)
print("migration 7 backfill of %d results: %.1f s, %d differ from the generator's kinds"
      % (sid, took, diff), flush=True)
if diff:
    sys.exit("the migration's backfill disagrees with the kinds the generator stored")

link = subprocess.run([mg, "user", "link", "prof", "--db", db], check=True,
                      capture_output=True, text=True).stdout.strip().splitlines()[-1]
path = link[link.index("/", link.index("//") + 2):] if "//" in link else link
log = open(os.path.join(work, "serve.err"), "wb")
srv = subprocess.Popen([mg, "serve", "--db", db, "--port", str(PORT), "--access-log", access,
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

    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    cookie = "; ".join(v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie")
    assert r.status in (200, 302, 303) and cookie, ("login link", r.status, r.getheaders())

    def server_ms(p, n):
        """The last n access-log times of GET p (the handler's own ms)."""
        want = '"GET %s"' % p.split("?")[0]
        out = []
        for _ in range(50):
            with open(access) as f:
                out = [float(re.search(r" ([0-9.]+)ms", ln).group(1))
                       for ln in f if want in ln]
            if len(out) >= n:
                break
            time.sleep(0.05)
        return out[-n:]

    def timed(p):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        wall = []
        body = b""
        cpu0 = open("/proc/%d/stat" % srv.pid).read().split()
        for _ in range(RUNS):
            t = time.perf_counter()
            conn.request("GET", p, headers={"Cookie": cookie})
            resp = conn.getresponse()
            body = resp.read()
            wall.append((time.perf_counter() - t) * 1000)
            assert resp.status == 200, (p, resp.status, body[:300])
        cpu1 = open("/proc/%d/stat" % srv.pid).read().split()
        tick = os.sysconf("SC_CLK_TCK")
        cpu = (int(cpu1[13]) + int(cpu1[14]) - int(cpu0[13]) - int(cpu0[14])) * 1000 / tick / RUNS
        srv_ms = sorted(server_ms(p, RUNS))
        wall.sort()
        return (statistics.median(srv_ms), srv_ms[int(len(srv_ms) * 0.95) - 1],
                statistics.median(wall), wall[int(len(wall) * 0.95) - 1], cpu, len(body), body)

    a = offered[0]
    pages = [
        ("/dashboard/big/%s (%d students, %d submissions)" % (a, students, students * per),
         "/dashboard/big/%s" % a),
        ("  the same, sorted by final score", "/dashboard/big/%s?sort=-final" % a),
        ("/dashboard (%d assignments x %d submissions)" % (len(offered), students * per),
         "/dashboard"),
        ("/dashboard/big/%s/students/student%04d" % (a, students // 2),
         "/dashboard/big/%s/students/student%04d" % (a, students // 2)),
    ]
    print("%-58s %22s %22s %10s %9s" % ("page (%d runs each)" % RUNS, "server ms median/p95",
                                         "wall ms median/p95", "CPU ms", "bytes"))
    for what, p in pages:
        sm, sp, wm, wp, cpu, n, body = timed(p)
        print("%-58s %10.1f / %7.1f   %10.1f / %7.1f %10.1f %9d" % (what, sm, sp, wm, wp, cpu, n),
              flush=True)
        if p == "/dashboard/big/%s" % a:
            html = body.decode()
            bars = re.findall(r'<g class="bar"[^>]*data-count="(\d+)"', html)
            assert sum(map(int, bars)) == students, bars
            print("  histogram bars %s; kinds table rows %d" % (
                "/".join(bars), html.count("<tr data-kind=")), flush=True)
    print("goal: /dashboard/C/A under 200 ms of server time", flush=True)
finally:
    srv.terminate()
    srv.wait()
    log.close()
    if os.environ.get("KEEP") != "1":
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("kept " + work)
