#!/usr/bin/env python3
"""pg.multiserve (issue 13, SPEC §9): two API processes (`serve --workers
0`, as behind a load balancer) and a worker on one PostgreSQL database and
one assignments folder, as a shared volume would give them. What a student
or instructor does through one API holds through the other: an
Idempotency-Key, the rate limit, an assignment uploaded through the first
(the second lists and accepts it, the worker grades it), a submission made
through one and read through the other. Loopback and the cluster's socket
only."""
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "server"))
from mgtest import (ASSIGNMENTS, MEMGRADE, Server, add_user, check, dbarg, finish,  # noqa: E402
                    on_postgres, reference, tempdir, wait_until)

if not on_postgres():
    sys.exit("test_multiserve.py: run it under tests/pg/pgserver.py run (ctest pg.multiserve)")

LEASE = 3
FIXTURE = os.path.join(HERE, "..", "server", "fixtures", "strrev")

work = tempdir("mgmulti.")
db = os.path.join(work, "memgrade.db")   # the test's database: its own on PostgreSQL
url = dbarg(db)
asg = os.path.join(work, "assignments")
shutil.copytree(ASSIGNMENTS, asg)
os.chmod(work, 0o755)

common = ["--workers", "0", "--assignments", asg, "--lease", str(LEASE), "--rate-limit", "3",
          "--queue-max-user", "0"]
a = Server(db=db, port=18141, args=common).start()
# the second reaches PostgreSQL over its Unix socket: any route to the same database
b = Server(db=db, port=18142, args=common, via_socket=True).start()
log = open(os.path.join(work, "worker.log"), "ab")
worker = subprocess.Popen([MEMGRADE, "worker", "--db", url, "--workers", "1", "--lease", str(LEASE),
                           "--assignments", asg], stdout=log, stderr=log)
prof = add_user(db, "prof", "instructor")
ann = add_user(db, "ann", "student")
bob = add_user(db, "bob", "student")
src = reference("mystr")

# ---- an Idempotency-Key holds across the two -----------------------------------------------
key = {"Idempotency-Key": "retry-1"}
st1, _, d1 = a.json("POST", "/api/v1/submissions", {"assignment": "mystr", "files": {"mystr.c": src}},
                    ann, headers=key)
st2, _, d2 = b.json("POST", "/api/v1/submissions", {"assignment": "mystr", "files": {"mystr.c": src}},
                    ann, headers=key)
check(st1 == 202 and st2 in (200, 202) and d1.get("id") == d2.get("id"),
      "a retry through the other API gets the same submission (%d %r, %d %r)" %
      (st1, d1.get("id"), st2, d2.get("id")))
st3, _, d3 = b.json("POST", "/api/v1/submissions", {"assignment": "mystr",
                                                     "files": {"mystr.c": src + "\n"}}, ann, headers=key)
check(st3 == 409, "the same key for other content through the other API: 409 (%d)" % st3)

# ---- the rate limit counts both ---------------------------------------------------------------
codes = []
for srv in (a, b, a, b):
    st, hd, _ = srv.json("POST", "/api/v1/submissions", {"assignment": "mystr",
                                                          "files": {"mystr.c": src}}, bob)
    codes.append((st, hd.get("retry-after")))
check([c for c, _ in codes] == [202, 202, 202, 429] and codes[3][1] and int(codes[3][1]) >= 1,
      "3 a minute through two APIs: the fourth is refused, with Retry-After (%r)" % codes)

# ---- a submission through one, its result through the other ------------------------------------
doc = b.wait_graded(ann, d1["id"], timeout=300) or {}
check(doc.get("status") == "graded" and doc.get("score") == doc.get("max_score"),
      "the worker graded it; the other API shows it (%r)" % doc.get("status"))

# ---- an upload through one: the other and the worker pick it up -------------------------------------


def folder_tar(src, name):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.USTAR_FORMAT) as t:
        t.add(src, arcname=name)
    return buf.getvalue()


st, _, up = a.json("POST", "/api/v1/assignments", folder_tar(FIXTURE, "strrev"), prof,
                   headers={"Content-Type": "application/gzip"})
check(st == 201, "strrev uploaded through the first API (%d %r)" % (st, up))


def listed_by_b():
    st, _, d = b.json("GET", "/api/v1/assignments", token=ann)
    return st == 200 and "strrev" in [x["name"] for x in d.get("assignments", [])]


check(wait_until(listed_by_b, 10 * LEASE), "the second API lists it within a few seconds")
rev = open(os.path.join(FIXTURE, "reference", "strrev.c")).read()
st, _, s = b.json("POST", "/api/v1/submissions", {"assignment": "strrev",
                                                   "files": {"strrev.c": rev}}, prof)
check(st == 202, "and accepts a submission to it (%d %r)" % (st, s))
if st == 202:
    doc = a.wait_graded(prof, s["id"], timeout=300) or {}
    check(doc.get("status") == "graded" and doc.get("score") == doc.get("max_score"),
          "the worker, started before the upload, grades it (%r %r/%r)" %
          (doc.get("status"), doc.get("score"), doc.get("max_score")))

worker.terminate()
check(worker.wait(60) == 0, "the worker stops on SIGTERM")
a.stop()
b.stop()
finish()
