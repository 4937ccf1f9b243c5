#!/usr/bin/env python3
"""pg.workers (issue 13, SPEC §9): grading spread over `memgrade worker`
processes that share one PostgreSQL database with the API (`serve
--workers 0`), each standing for a machine of its own. While they grade 200
submissions, one worker is killed with -9, another is frozen (SIGSTOP) past
its lease and then thawed, and PostgreSQL itself is restarted. Afterwards:
every submission graded, each result stored exactly once (the frozen
worker's late result refused), the jobs of the dead and the frozen worker
graded by others, the API and the workers reconnected by themselves, and
the workers listed to staff and in /metrics. Everything on 127.0.0.1 or the
cluster's Unix socket."""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "server"))
from mgtest import (MEMGRADE, Server, add_user, check, dbarg, finish, on_postgres,  # noqa: E402
                    query, restart_postgres, tempdir, wait_until)

if not on_postgres():
    sys.exit("test_workers.py: run it under tests/pg/pgserver.py run (ctest pg.workers)")

N = 200            # submissions
STUDENTS = 20
LEASE = 3          # seconds: short, so that the test sees leases run out

# A small program assignment: one test, a little work so that a job is
# being graded when a worker dies.
MANIFEST = {
    "name": "tiny", "title": "tiny: prints a sum", "kind": "program",
    "files": ["tiny.c"], "headers": [],
    "limits": {"test_ms": 5000, "wall_ms": 30000, "memory_mb": 256},
    "tests": [{"name": "sum", "points": 1, "visibility": "visible",
               "description": "prints the sum", "args": [], "expect_exit": 0,
               "expect_stdout": "sum 4999950000\n"}],
}
GOOD = """#include <stdio.h>
int main(void)
{
    volatile long s = 0;
    for (long r = 0; r < 40; r++) {
        s = 0;
        for (long i = 0; i < 100000; i++)
            s += i;
    }
    printf("sum %ld\\n", s);
    return 0;
}
"""
WRONG = GOOD.replace("s += i;", "s += i + 1;")  # every tenth: 0 points

T0 = time.time()
work = tempdir("mgworkers.")
asg = os.path.join(work, "assignments")
os.makedirs(os.path.join(asg, "tiny"))
with open(os.path.join(asg, "tiny", "manifest.json"), "w") as f:
    json.dump(MANIFEST, f)
db = os.path.join(work, "memgrade.db")   # the test's database: its own on PostgreSQL
url = dbarg(db)
sock_url = dbarg(db, via_socket=True)

# ---- the API with no grading of its own, and three workers -------------------------
srv = Server(db=db, port=18131, args=["--workers", "0", "--assignments", asg, "--lease", str(LEASE),
                                       "--rate-limit", "0", "--queue-max-user", "0",
                                       "--queue-max", "100000"]).start()
staff = add_user(db, "staff", "instructor")
tokens = [add_user(db, "s%02d" % i, "student") for i in range(STUDENTS)]


class Worker:
    def __init__(self, name, db):
        self.name = name
        self.log = os.path.join(work, name + ".log")
        self.out = open(self.log, "ab")
        self.proc = subprocess.Popen([MEMGRADE, "worker", "--db", db, "--workers", "1",
                                      "--lease", str(LEASE), "--assignments", asg],
                                     stdout=self.out, stderr=self.out)

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


# Two reach PostgreSQL over 127.0.0.1, one over its Unix socket (a worker
# on the database's own machine).
workers = [Worker("w1", url), Worker("w2", url), Worker("w3", sock_url)]
check(wait_until(lambda: all("grading from" in w.text() for w in workers), 30),
      "three workers started: %r" % [w.text()[-300:] for w in workers if "grading from" not in w.text()])


def worker_rows():
    st, _, doc = srv.json("GET", "/api/v1/workers", token=staff)
    return doc.get("workers", []) if st == 200 else []


check(wait_until(lambda: sum(1 for w in worker_rows() if w["role"] == "worker" and w["alive"]) == 3,
                 15), "staff see the three workers: %r" % worker_rows())
st, _, _ = srv.json("GET", "/api/v1/workers", token=tokens[0])
check(st == 403, "a student may not list the workers (%d)" % st)
st, _, _ = srv.request("POST", "/api/v1/workers", b"", token=staff)
check(st == 405, "the worker list is read-only (%d)" % st)

# ---- 200 submissions, in turn from 20 students -------------------------------------------
ids = []
for i in range(N):
    src = WRONG if i % 10 == 9 else GOOD
    st, _, doc = srv.submit(tokens[i % STUDENTS], "tiny", {"tiny.c": src})
    if st != 202:
        check(False, "submission %d accepted: %d %r" % (i, st, doc))
        break
    ids.append(doc["id"])
check(len(ids) == N, "%d submissions accepted by an API that grades nothing itself" % len(ids))


def pg_rows(sql):
    """The rows of sql, or None while PostgreSQL cannot be reached."""
    try:
        return query(db, sql)
    except Exception:  # restarting
        return None


def pg_count(sql):
    rows = pg_rows(sql)
    return rows[0][0] if rows else -1


def running_of(name):
    return pg_count("SELECT COUNT(*) FROM jobs WHERE state = 'running' AND claimed_by LIKE '%%:%d:%%'"
                    % name.proc.pid)


# ---- kill -9 a worker in the middle of a job ------------------------------------------------
w1, w2, w3 = workers
check(wait_until(lambda: pg_count("SELECT COUNT(*) FROM results") >= 20, 120),
      "grading under way (%d) at %.0f s" % (pg_count("SELECT COUNT(*) FROM results"), time.time() - T0))
check(wait_until(lambda: running_of(w1) > 0, 30, 0.01), "w1 holds a job")
w1.proc.kill()
w1.proc.wait()

# ---- freeze another past its lease, in the middle of a job -----------------------------------------
frozen = None
for _ in range(100):  # freeze it while the database says it holds a job
    wait_until(lambda: running_of(w2) > 0, 30, 0.01)
    w2.proc.send_signal(signal.SIGSTOP)
    time.sleep(0.5)
    held = pg_rows("SELECT submission_id FROM jobs WHERE state = 'running' AND claimed_by LIKE "
                   "'%%:%d:%%'" % w2.proc.pid)
    # Frozen between grading and storing, not in the middle of storing: a
    # transaction it holds open keeps its rows locked (skipped by the
    # others until the server ends it, after a minute).
    open_tx = pg_count("SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
                       " AND now() - state_change > interval '300 milliseconds'")
    if held and open_tx == 0:
        frozen = held[0][0]
        break
    w2.proc.send_signal(signal.SIGCONT)
check(frozen is not None, "w2 frozen (SIGSTOP) while it holds a job")
time.sleep(3 * LEASE)
taken = pg_count("SELECT COUNT(*) FROM jobs WHERE submission_id = %d AND "
                 "(claimed_by IS NULL OR claimed_by NOT LIKE '%%:%d:%%')" % (frozen or 0, w2.proc.pid))
check(taken == 1, "the frozen worker's job (submission %r) went back to the queue or to "
      "another worker after its lease" % frozen)
w2.proc.send_signal(signal.SIGCONT)

# ---- restart PostgreSQL while grading goes on -------------------------------------------------------
check(wait_until(lambda: pg_count("SELECT COUNT(*) FROM results") >= 100, 240),
      "half graded (%d) at %.0f s" % (pg_count("SELECT COUNT(*) FROM results"), time.time() - T0))
restart_postgres()

# ---- everything graded, each result stored once ------------------------------------------------------
check(wait_until(lambda: pg_count("SELECT COUNT(*) FROM results") == N, 400, 0.5),
      "all %d submissions graded (have %d)" % (N, pg_count("SELECT COUNT(*) FROM results")))
check(pg_count("SELECT COUNT(*) FROM jobs WHERE state <> 'done'") == 0, "no job left queued or running")
check(pg_count("SELECT COUNT(*) FROM result_history") == 0,
      "no result was stored twice (none replaced)")
check(pg_count("SELECT COUNT(*) FROM results WHERE score = 1") == N - N // 10 and
      pg_count("SELECT COUNT(*) FROM results WHERE score = 0") == N // 10,
      "each graded right: %d full marks, %d none" % (N - N // 10, N // 10))
check(pg_count("SELECT MAX(attempts) FROM jobs") >= 2,
      "jobs of the dead and the frozen worker were claimed again")
check(wait_until(lambda: "went to another process" in w2.text(), 30),
      "the thawed worker's late result was refused, and it says so")
check(w2.proc.poll() is None and w3.proc.poll() is None, "the surviving workers still run")
# the API reconnected too: a new submission after the restart is graded
st, _, doc = srv.submit(tokens[0], "tiny", {"tiny.c": GOOD})
check(st == 202, "the API accepts submissions after PostgreSQL restarted (%d)" % st)
if st == 202:
    d = srv.wait_graded(tokens[0], doc["id"], timeout=120) or {}
    check(d.get("status") == "graded" and d.get("score") == 1,
          "and the workers grade them (%r)" % d.get("status"))

# ---- the workers, as staff and /metrics see them --------------------------------------------------------
rows = wait_until(lambda: [w for w in worker_rows() if w["role"] == "worker" and w["alive"]]
                  if len([w for w in worker_rows() if w["role"] == "worker" and w["alive"]]) == 2
                  else None, 20)
check(rows and all(w["pid"] in (w2.proc.pid, w3.proc.pid) for w in rows),
      "the killed worker is no longer alive in the list: %r" % rows)
check(sum(w["graded"] for w in (rows or [])) > 0, "each worker reports what it graded")
st, _, body = srv.request("GET", "/metrics")
text = body.decode()
check(st == 200 and 'memgrade_grader_jobs_graded{' in text and "memgrade_graders_alive 2" in text,
      "/metrics lists the grading processes: %r" %
      [l for l in text.splitlines() if "grader" in l][:6])
# Its picture of the shared queue is refreshed on every NOTIFY and every 2 s.
check(wait_until(lambda: "memgrade_queue_depth 0\n" in srv.request("GET", "/metrics")[2].decode(), 15),
      "the API's queue depth is the shared queue's (0: the workers took everything)")

for w in (w2, w3):
    w.proc.send_signal(signal.SIGTERM)
for w in (w2, w3):
    try:
        rc = w.proc.wait(60)
    except subprocess.TimeoutExpired:
        w.proc.kill()
        rc = None
    check(rc == 0, "%s stops on SIGTERM (%r)" % (w.name, rc))
srv.stop()
finish()
