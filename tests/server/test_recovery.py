"""Durability of the queue: kill -9 with jobs queued and running, restart, and
every accepted submission is graded exactly once (checked in the database and
through the API); kill -9 in the middle of a submission flood loses none of
the submissions that got their 202; SIGTERM drains and exits cleanly; a second
server on the same database is refused."""
import random
import signal
import sqlite3
import threading
import time

from mgtest import Server, add_user, check, finish, reference, wait_until

MYSTR = reference("mystr")


def db_state(path):
    c = sqlite3.connect(path, timeout=30)
    try:
        subs = [r[0] for r in c.execute("SELECT id FROM submissions ORDER BY id")]
        jobs = dict(c.execute("SELECT submission_id, state FROM jobs"))
        results = [r[0] for r in c.execute("SELECT submission_id FROM results")]
        attempts = dict(c.execute("SELECT submission_id, attempts FROM jobs"))
        return subs, jobs, results, attempts
    finally:
        c.close()


def wait_all_graded(path, n, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        subs, jobs, results, _ = db_state(path)
        if len(subs) >= n and all(jobs.get(s) == "done" for s in subs):
            return True
        time.sleep(0.2)
    return False


def check_exactly_once(srv, token, accepted, what):
    subs, jobs, results, attempts = db_state(srv.db)
    check(set(accepted) <= set(subs), "%s: every accepted submission is stored (%d)" % (what, len(accepted)))
    check(all(jobs.get(s) == "done" for s in subs), "%s: every job is done" % what)
    check(sorted(results) == sorted(subs) and len(results) == len(set(results)),
          "%s: exactly one result per submission (%d results, %d submissions)" % (what, len(results), len(subs)))
    ok = True
    for sid in accepted:
        st, _, doc = srv.json("GET", "/api/v1/submissions/%d" % sid, token=token)
        ok &= st == 200 and doc["status"] == "graded" and doc["result"]["status"] == "graded"
    check(ok, "%s: the API shows every accepted submission graded" % what)
    return attempts


# ---- 1. kill -9 with jobs queued and running --------------------------------
srv = Server(port=18081, args=["--workers", "1", "--rate-limit", "0"]).start()
prof = add_user(srv.db, "prof", "instructor")
accepted = []
for _ in range(6):
    st, _, doc = srv.submit(prof, "mystr", {"mystr.c": MYSTR})
    if st == 202:
        accepted.append(doc["id"])
check(len(accepted) == 6, "six submissions accepted")
# Wait until one is being graded while the rest wait.
deadline = time.time() + 60
running = False
while time.time() < deadline and not running:
    _, jobs, results, _ = db_state(srv.db)
    running = "running" in jobs.values() and "queued" in jobs.values()
    time.sleep(0.01)
check(running, "a job is running and others are queued when the server is killed")
srv.kill(signal.SIGKILL)
srv.wait()
_, jobs, results, _ = db_state(srv.db)
check(len(results) < len(accepted), "the kill left work undone (%d of %d graded)" % (len(results), len(accepted)))
srv.start()
check("requeued" in srv.log(), "restart requeues the job the dead process held")
check(wait_all_graded(srv.db, len(accepted)), "after restart everything is graded")
attempts = check_exactly_once(srv, prof, accepted, "kill -9 while grading")
check(any(a >= 2 for a in attempts.values()), "the interrupted job was attempted again")
srv.stop()

# ---- 2. kill -9 at random moments during a submission flood -------------------
srv = Server(port=18082, args=["--workers", "2", "--rate-limit", "0", "--queue-max", "100000"]).start()
prof = add_user(srv.db, "prof", "instructor")
accepted = []
lock = threading.Lock()
random.seed(4)


def flood(stop, quota):
    # Bounded so the test stays short with the real grader; slow enough that
    # the kill lands in the middle of requests.
    while not stop.is_set() and len(accepted) < quota:
        time.sleep(random.uniform(0, 0.03))
        try:
            st, _, doc = srv.submit(prof, "mystr", {"mystr.c": MYSTR})
        except OSError:
            time.sleep(0.01)
            continue
        if st == 202:
            with lock:
                accepted.append(doc["id"])


for round_ in range(3):
    stop = threading.Event()
    threads = [threading.Thread(target=flood, args=(stop, 10 * (round_ + 1))) for _ in range(4)]
    for t in threads:
        t.start()
    # Kill once the flood is under way (a few accepted this round), at a
    # random moment after that: how fast it gets going is the machine's
    # business, not the test's.
    wait_until(lambda: len(accepted) >= 10 * round_ + 4, 60)
    time.sleep(random.uniform(0, 0.3))
    srv.kill(signal.SIGKILL)
    srv.wait()
    stop.set()
    for t in threads:
        t.join()
    srv.start()
check(len(accepted) >= 10, "the flood got submissions accepted (%d)" % len(accepted))
check(wait_all_graded(srv.db, len(accepted)), "after the last restart everything is graded")
check_exactly_once(srv, prof, accepted, "kill -9 during a flood")

# ---- 3. one server per database -------------------------------------------------
other = Server(port=18083, db=srv.db, workdir=srv.workdir)
try:
    other.start()
    check(False, "a second server on the same database is refused")
except RuntimeError:
    check(other.proc.returncode == 1 and "another memgrade serve" in other.log(),
          "a second server on the same database is refused")

# ---- 4. SIGTERM drains: running jobs finish, the process exits 0 -------------------
n0 = len(db_state(srv.db)[2])
for _ in range(2):
    srv.submit(prof, "mystr", {"mystr.c": MYSTR})
deadline = time.time() + 60
while time.time() < deadline and "running" not in db_state(srv.db)[1].values():
    time.sleep(0.01)
import http.client, json as _json, socket
keep = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
keep.request("GET", "/healthz")
keep.getresponse().read()
srv.kill(signal.SIGTERM)


def refuses_connections():
    try:
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
        return False
    except OSError:
        return True


# Draining is flagged before the listener closes: once new connections are
# refused, the server has acted on the signal however long that took.
refused = wait_until(refuses_connections, 30)
check(refused, "SIGTERM: new connections are refused")
# A keep-alive client already connected is told no (or hung up on), never
# handed a 202 the draining server would not grade before it exits.
try:
    keep.request("POST", "/api/v1/submissions",
                 body=_json.dumps({"assignment": "mystr", "files": {"mystr.c": MYSTR}}),
                 headers={"Authorization": "Bearer " + prof, "Content-Type": "application/json"})
    r = keep.getresponse()
    late = r.status
    r.read()
except (OSError, http.client.HTTPException):
    late = "closed"
check(late in (503, "closed"), "SIGTERM: a request on an open connection gets 503 or a close (%s)" % late)
rc = srv.wait(120)
check(rc == 0, "SIGTERM: exit status 0")
check("stopped" in srv.log(), "SIGTERM: the server says it stopped")
subs, jobs, results, _ = db_state(srv.db)
check("running" not in jobs.values(), "SIGTERM: no job left running")
check(len(results) > n0, "SIGTERM: the running job was finished and stored")
srv.start()
check(wait_all_graded(srv.db, len(subs)), "after SIGTERM and restart everything is graded")
check_exactly_once(srv, prof, subs, "SIGTERM")
srv.stop()

# ---- 5. a queued job whose assignment is gone is a result, not a crash loop ------------
import os, shutil
from mgtest import ASSIGNMENTS
srv = Server(port=18087, args=["--workers", "1", "--rate-limit", "0"]).start()
prof = add_user(srv.db, "prof", "instructor")
ids = [srv.submit(prof, "mystr", {"mystr.c": MYSTR})[2]["id"] for _ in range(4)]
srv.kill(signal.SIGKILL)
srv.wait()
pending = [s for s, st in db_state(srv.db)[1].items() if st != "done"]
check(len(pending) >= 1, "jobs left over when the server dies (%d)" % len(pending))
fewer = os.path.join(srv.workdir, "fewer")
shutil.copytree(ASSIGNMENTS, fewer, ignore=lambda d, names: ["mystr"] if d == ASSIGNMENTS else [])
srv.args += ["--assignments", fewer]
srv.start()
check(wait_all_graded(srv.db, len(ids), 120), "every job finishes although mystr is gone")
for sid in pending:
    st, _, doc = srv.json("GET", "/api/v1/submissions/%d" % sid, token=prof)
    ok = st == 200 and doc["result"]["status"] == "internal_error" and "no longer offered" in doc["result"].get("error", "")
    check(ok, "submission %d: internal_error result naming the missing assignment" % sid)
st, hd, data = srv.request("GET", "/metrics")
check(b'memgrade_jobs_total{outcome="internal_error"} ' + str(len(pending)).encode() in data,
      "internal_error outcomes counted")
srv.stop()
finish()
