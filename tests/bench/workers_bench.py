#!/usr/bin/env python3
"""workers_bench.py (issue 13): what grading costs on each storage backend.

  1. Graded submissions per second: SQLite with `serve` grading in-process,
     against PostgreSQL with `serve --workers 0` and 1, 2 and 4 `memgrade
     worker` processes (one grading thread each). M submissions of the mystr
     reference (the heaviest bundled function-level grading) are queued
     while nothing grades, then the graders start; the figure is M over the
     time from their start to the last result stored.
  2. The API's GET rate on each backend: wrk against GET
     /api/v1/submissions/ID (a student reading their result) for a few
     seconds.
  3. The queue's own overhead per job (claim + store of a finished
     result), from the database: the time from a job's claim to its
     result, minus the grading itself (the result's duration_ms), median
     and p90.

Prints figures; asserts nothing. Runs the real server and workers (student
code only in their sandbox) on 127.0.0.1 in fresh namespaces, with a
throw-away PostgreSQL 15 (tests/pg/pgserver.py). Needs root.

usage: tests/bench/workers_bench.py [BUILD_DIR] [SUBMISSIONS]
"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
if os.environ.get("MEMGRADE_IN_NETNS") != "1":
    os.execvp("unshare", ["unshare", "--pid", "--fork", "--net", "--mount", "--mount-proc",
                          "env", "MEMGRADE_IN_NETNS=1", sys.executable] + sys.argv)
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, "build")
M = int(sys.argv[2]) if len(sys.argv) > 2 else 40
os.environ.setdefault("MEMGRADE", os.path.join(build, "memgrade"))
os.environ.setdefault("MEMGRADE_SOURCE_DIR", SRC)
sys.path.insert(0, os.path.join(SRC, "tests", "server"))
sys.path.insert(0, os.path.join(SRC, "tests", "pg"))
from mgtest import MEMGRADE, Server, query as sqlite_query, reference, tempdir  # noqa: E402
from pgserver import PgServer  # noqa: E402

SOURCE = reference("mystr")


def query(db, sql):
    """Rows of sql on a SQLite path or a PostgreSQL URL."""
    if not db.startswith("postgres"):
        return sqlite_query(db, sql)
    import psycopg2
    con = psycopg2.connect(db)
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        con.close()


def add_user(db, name, role):
    out = subprocess.run([MEMGRADE, "user", "add", name, "--role", role, "--db", db],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]
STUDENTS = 10
LIMITS = ["--rate-limit", "0", "--queue-max", "100000", "--queue-max-user", "0",
          "--running-max-user", "0", "--max-connections-per-ip", "0", "--access-log", "off"]


def fill(srv, db):
    tokens = [add_user(db, "s%d" % i, "student") for i in range(STUDENTS)]
    ids = []
    for i in range(M):
        st, _, doc = srv.submit(tokens[i % STUDENTS], "mystr", {"mystr.c": SOURCE})
        assert st == 202, (st, doc)
        ids.append(doc["id"])
    return tokens, ids


def wait_all(db, timeout=1800):
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = query(db, "SELECT COUNT(*) FROM results")[0][0]
        if n >= M:
            return True
        time.sleep(0.2)
    return False


def overhead(db):
    """Claim to stored, minus grading, per job (ms)."""
    rows = query(db, "SELECT r.graded_at - j.claimed_at - r.duration_ms FROM jobs j"
                     " JOIN results r ON r.submission_id = j.submission_id")
    v = sorted(max(0, r[0]) for r in rows)
    return statistics.median(v), v[int(len(v) * 0.9)]


def get_rate(srv, token, sid):
    p = subprocess.run(["wrk", "-t2", "-c16", "-d5s", "-H", "Authorization: Bearer " + token,
                        "http://127.0.0.1:%d/api/v1/submissions/%d" % (srv.port, sid)],
                       capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    return float("nan")


def report(name, secs, db, srv, tokens, ids):
    med, p90 = overhead(db)
    rate = get_rate(srv, tokens[0], ids[0])
    print("%-28s %6.2f graded/s  (%d in %5.1f s)   queue overhead/job: median %5.1f ms, "
          "p90 %5.1f ms   API GET %7.0f req/s" % (name, M / secs, M, secs, med, p90, rate),
          flush=True)


print("workers_bench: %d mystr submissions per run, %d cores, load %.1f" %
      (M, os.cpu_count(), os.getloadavg()[0]), flush=True)

# ---- SQLite, grading in-process ----------------------------------------------------------
work = tempdir("mgwb.")
db = os.path.join(work, "bench.db")
for workers in (2,):
    # Grading starts with the first submission; the figure runs from the
    # first claim to the last result.
    srv = Server(db=db, port=18150, args=["--workers", str(workers)] + LIMITS).start()
    tokens, ids = fill(srv, db)
    t0 = query(db, "SELECT MIN(claimed_at) FROM jobs")[0][0] or int(time.time() * 1000)
    if not wait_all(db):
        print("SQLite: not all graded in time", flush=True)
    t1 = query(db, "SELECT MAX(graded_at) FROM results")[0][0]
    report("SQLite, serve %d threads" % workers, (t1 - t0) / 1000.0, db, srv, tokens, ids)
    srv.stop()

# ---- PostgreSQL, 1, 2 and 4 worker processes -------------------------------------------------
pg = PgServer().start()
for k in (1, 2, 4):
    name = "w%d" % k
    pg.create_database(name)
    url = pg.url(name)
    srv = Server(db=url, port=18151 + k, args=["--workers", "0"] + LIMITS).start()
    tokens, ids = fill(srv, url)
    logs = [open(os.path.join(work, "%s.%d.log" % (name, i)), "ab") for i in range(k)]
    t_start = int(time.time() * 1000)
    procs = [subprocess.Popen([MEMGRADE, "worker", "--db", url, "--workers", "1",
                               "--running-max-user", "0"], stdout=logs[i], stderr=logs[i])
             for i in range(k)]
    if not wait_all(url):
        print("%s: not all graded in time" % name, flush=True)
    t0 = query(url, "SELECT MIN(claimed_at) FROM jobs")[0][0] or t_start
    t1 = query(url, "SELECT MAX(graded_at) FROM results")[0][0]
    report("PostgreSQL, %d worker process%s" % (k, "es" if k > 1 else ""), (t1 - t0) / 1000.0,
           url, srv, tokens, ids)
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(120)
    srv.stop()
pg.remove()
