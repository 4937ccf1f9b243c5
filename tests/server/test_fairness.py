#!/usr/bin/env python3
"""Grading capacity is shared between students (issue 14): a student whose
submissions spin until their time limits cannot keep others waiting behind
all of them, each student's submissions are graded in the order they were
made, and one student cannot fill the queue everyone shares."""
import os
import re
import threading
import time

from mgtest import Server, add_user, check, finish, reference, wait_until

REF = reference("mystr")
# The reference with str_dup spinning forever: each of its tests runs to
# its time limit (about 2 s of grading in all).
SPIN = REF.replace("char *str_dup(const char *s)\n{",
                   "char *str_dup(const char *s)\n{\n    for (volatile int spin = 1; spin;)\n        ;", 1)
assert SPIN != REF

# Box uids (sandbox/sbx_fs.c): every process of a box runs as one of them.
BOX_UIDS = range(1500000000, 1600000000)


def box_nice():
    """The nice values of the box processes there are now (we are pid 1 of
    the test's PID namespace: the server's boxes are all in our /proc)."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/status" % pid) as f:
                uid = next(int(l.split()[1]) for l in f if l.startswith("Uid:"))
            if uid in BOX_UIDS:
                with open("/proc/%s/stat" % pid) as f:
                    found.add(int(f.read().rsplit(")", 1)[1].split()[16]))
        except (OSError, StopIteration, ValueError, IndexError):
            pass  # gone meanwhile
    return found


class NiceWatch(threading.Thread):
    """Collects the nice values of box processes until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen, self.halt = set(), threading.Event()

    def run(self):
        while not self.halt.is_set():
            self.seen |= box_nice()
            self.halt.wait(0.02)

    def stop(self):
        self.halt.set()
        self.join()
        return self.seen


srv = Server(port=18331, args=["--workers", "1", "--rate-limit", "0",
                               "--queue-max-user", "3"]).start()
looper = add_user(srv.db, "looper", "student")
others = {n: add_user(srv.db, n, "student") for n in ("amy", "bo", "cy")}
prof = add_user(srv.db, "prof", "instructor")

watch = NiceWatch()
watch.start()
ids = []
for _ in range(3):
    st, _, doc = srv.submit(looper, "mystr", {"mystr.c": SPIN})
    check(st == 202, "the spinning submission is accepted")
    ids.append(doc["id"])
st, hd, doc = srv.submit(looper, "mystr", {"mystr.c": SPIN})
check(st == 429 and "3 submissions waiting" in doc.get("error", "") and hd.get("retry-after"),
      "a fourth while three wait or run: 429 saying why (%s %r)" % (st, doc))


def status(tok, i):
    return srv.json("GET", "/api/v1/submissions/%d" % i, token=tok)[2].get("status")


check(wait_until(lambda: status(looper, ids[0]) == "running", 30), "the first spinning one runs")

theirs = {}
for n, tok in others.items():
    st, _, doc = srv.submit(tok, "mystr", {"mystr.c": REF})
    theirs[n] = doc.get("id")
check(all(theirs.values()), "three other students submit while it runs")
st, _, _ = srv.submit(prof, "mystr", {"mystr.c": REF})
check(st == 202, "instructors are not bound by the per-student limit")

graded = {}
for n, i in [("looper%d" % k, i) for k, i in enumerate(ids)] + list(theirs.items()):
    tok = looper if n.startswith("looper") else others[n]
    doc = srv.wait_graded(tok, i, timeout=180)
    graded[n] = doc and doc["result"] and doc.get("graded_at")
check(all(graded.values()), "everything is graded (%r)" % graded)
# The spinning submissions' boxes keep a CPU busy: past a quantum of CPU
# their processes' priority is lowered (sandbox/sbx.c, "priority"), so that
# other students' grading gets the CPU first; seen from outside, as the
# kernel schedules them. Boxes within their quantum keep the server's nice.
seen = watch.stop()
check(seen and max(seen) - min(seen) >= 5, "boxes ran demoted once past their quantum (nice seen: %s)"
      % sorted(seen))
# A job begins a level down for each other submission its student has
# waiting (server/srv.c, job_nice): looper1 had looper2 waiting; looper0
# may have been claimed before the others arrived; nobody else had any.
_, _, met = srv.request("GET", "/metrics")
started = {int(n): int(v) for n, v in
           re.findall(r'^memgrade_jobs_started_total\{nice="(\d+)"\} (\d+)', met.decode(), re.M)}
niced = sum(v for n, v in started.items() if n > 0)
check(sum(started.values()) == 7 and 1 <= niced <= 2 and started.get(0, 0) >= 5,
      "the spinning student's jobs with others waiting began niced, nobody else's (%r)" % started)
order = sorted(graded, key=lambda n: (graded[n], n))
print("  grading order:", order)
check(order[0] == "looper0" and set(order[1:4]) == set(others) and order[4:] == ["looper1", "looper2"],
      "the other students are graded before the spinning student's second and third")
check(graded["looper0"] <= graded["looper1"] <= graded["looper2"],
      "one student's submissions are graded in the order they were made")
st, _, _ = srv.submit(looper, "mystr", {"mystr.c": REF})
check(st == 202, "once graded, the student may submit again")
srv.stop()

# Two workers: one student's spinning submissions run one at a time (half
# the workers), so the other worker stays free for everyone else.
srv = Server(port=18332, args=["--workers", "2", "--rate-limit", "0"]).start()
looper = add_user(srv.db, "looper", "student")
amy = add_user(srv.db, "amy", "student")
ids = [srv.submit(looper, "mystr", {"mystr.c": SPIN})[2]["id"] for _ in range(3)]
most, mine, before = 0, None, None
deadline = time.time() + 120
while time.time() < deadline:
    # One request per submission: on a busy machine one may end and the
    # next start between two of them. Two submissions seen running in two
    # passes in a row did run at once (neither runs again once it ended).
    states = [status(looper, i) for i in ids]
    if before:
        most = max(most, sum(a == b == "running" for a, b in zip(before, states)))
    before = states
    if mine is None and "running" in states:
        mine = srv.submit(amy, "mystr", {"mystr.c": REF})[2]["id"]
    if all(st == "graded" for st in states):
        break
    time.sleep(0.1)
check(most == 1, "at most one of the spinning student's submissions runs at a time (%d)" % most)
doc = srv.wait_graded(amy, mine, 120) if mine else None
last = srv.wait_graded(looper, ids[-1], 120)
check(doc and last and doc["graded_at"] < last["graded_at"],
      "another student's submission, made while the first spun, is graded before the last spin")
srv.stop()
finish()
