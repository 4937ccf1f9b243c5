#!/usr/bin/env python3
"""fairness_bench.py: submit-to-graded latency of 20 students submitting
normally (the mystr reference, one every 1.5 s in turn, 60 submissions),
on an otherwise idle server and next to one student who keeps four
submissions that spin to their time limits queued. Goal (issue 14): the
20 students' p99 within 2x of the idle server's. Prints both. Not part of
ctest; runs the real `memgrade serve` (student code in its sandbox) in
fresh namespaces, so it needs root.

usage: tests/bench/fairness_bench.py [BUILD_DIR] [WORKERS]
"""
import calendar
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
if os.environ.get("MEMGRADE_IN_NETNS") != "1":
    os.execvp("unshare", ["unshare", "--pid", "--fork", "--net", "--mount", "--mount-proc",
                          "env", "MEMGRADE_IN_NETNS=1", sys.executable] + sys.argv)
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, "build")
workers = sys.argv[2] if len(sys.argv) > 2 else "2"
os.environ.setdefault("MEMGRADE", os.path.join(build, "memgrade"))
os.environ.setdefault("MEMGRADE_SOURCE_DIR", SRC)
sys.path.insert(0, os.path.join(SRC, "tests", "server"))
from mgtest import Server, add_user, reference  # noqa: E402

REF = reference("mystr")
SPIN = REF.replace("char *str_dup(const char *s)\n{",
                   "char *str_dup(const char *s)\n{\n    for (volatile int spin = 1; spin;)\n        ;", 1)


def run(with_spinner, port):
    srv = Server(port=port, args=["--workers", workers, "--rate-limit", "0",
                                  "--queue-max-user", "4"]).start()
    toks = [add_user(srv.db, "s%02d" % i, "student") for i in range(20)]
    spinner = add_user(srv.db, "spinner", "student")
    # Warm the calibration and the build cache once, outside the figures.
    st, _, doc = srv.submit(toks[0], "mystr", {"mystr.c": REF})
    srv.wait_graded(toks[0], doc["id"], 300)
    stop = threading.Event()

    def keep_spinning():
        while not stop.is_set():
            st, _, _ = srv.submit(spinner, "mystr", {"mystr.c": SPIN})
            if st != 202:
                stop.wait(0.5)  # four wait already (--queue-max-user) or busy

    t = None
    if with_spinner:
        t = threading.Thread(target=keep_spinning)
        t.start()
        time.sleep(3)
    lat, waits = [], []
    for k in range(60):
        tok = toks[k % 20]
        t0 = time.time()
        st, _, doc = srv.submit(tok, "mystr", {"mystr.c": REF})
        if st == 202:
            waits.append((tok, doc["id"], t0))
        time.sleep(1.5)
    for tok, i, t0 in waits:
        d = srv.wait_graded(tok, i, 600)
        if d:
            g = d["graded_at"]
            ts = calendar.timegm(time.strptime(g[:19], "%Y-%m-%dT%H:%M:%S"))
            total = ts + float(g[19:23] or 0) - t0
            grade = ((d.get("result") or {}).get("duration_ms") or 0) / 1000
            lat.append((total, grade))
    stop.set()
    if t:
        t.join()
    srv.stop()
    lat.sort()
    return lat


idle = run(False, 18401)
busy = run(True, 18402)


def pct(v, p):
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


# Where the time goes: submit-to-graded = waiting in the queue + grading
# (the result's duration_ms, the worker's wall time on it).
for name, v in (("idle server", idle), ("next to a spinning student", busy)):
    tot = [t for t, _ in v]
    grade = sorted(g for _, g in v)
    wait = sorted(t - g for t, g in v)
    print("%-28s n=%d  p50 %.2f s  p99 %.2f s  max %.2f s" %
          (name, len(v), statistics.median(tot), pct(tot, 99), tot[-1]))
    print("%-28s   queue wait p50 %.2f p99 %.2f s; grading p50 %.2f p99 %.2f s" %
          ("", statistics.median(wait), pct(wait, 99), statistics.median(grade), pct(grade, 99)))
print("p99 ratio: %.2fx (goal <= 2x)" % (pct([t for t, _ in busy], 99) /
                                        pct([t for t, _ in idle], 99)))
