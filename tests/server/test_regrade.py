"""Regrades (SPEC §6, issue 10): a batch regrades every graded submission
of an assignment in a course, keeps each earlier result as history, yields
to new submissions, and survives kill -9 in the middle: it resumes, grades
nothing twice into the current result and skips nothing."""
import os
import subprocess
import time

from mgtest import (MEMGRADE, Server, add_user, check, dbarg, finish, query, reference, tempdir,
                    wait_until)

work = tempdir("mgregrade.")
db = os.path.join(work, "memgrade.db")
prof = add_user(db, "prof", "instructor")
alice = add_user(db, "alice", "student")
tina = add_user(db, "tina", "student")
for args in (["course", "add", "cs101", "--title", "CS 101"],
             ["course", "enrol", "cs101", "alice", "--role", "student"],
             ["course", "enrol", "cs101", "tina", "--role", "ta"],
             ["course", "offer", "cs101", "mystr"]):
    subprocess.run([MEMGRADE] + args + ["--db", dbarg(db)], check=True, capture_output=True)

N = 12
src = {"mystr.c": reference("mystr")}
srv = Server(db=db, workdir=work, port=18096, args=["--workers", "1", "--rate-limit", "0",
                                                        "--queue-max-user", "0"]).start()
ids = []
for i in range(N):
    st, _, doc = srv.json("POST", "/api/v1/submissions",
                          {"assignment": "mystr", "files": src, "course": "cs101"}, alice)
    check(st == 202, "submission %d accepted: %d" % (i, st))
    ids.append(doc["id"])
st, _, doc = srv.submit(alice, "mystr", src)  # no course named: cs101, her only one offering it
ids.append(doc["id"])
N += 1
# tina's, in the default course (she teaches cs101, she does not study in it)
st, _, doc = srv.json("POST", "/api/v1/submissions",
                      {"assignment": "mystr", "files": src, "course": "default"}, tina)
other = doc["id"]
for sid in ids:
    check(srv.wait_graded(alice, sid, timeout=600) is not None, "submission %d graded" % sid)
check(srv.wait_graded(tina, other, timeout=600) is not None, "the default course's one graded")

st, _, doc = srv.json("POST", "/api/v1/courses/cs101/assignments/mystr/regrade", token=alice)
check(st == 403, "a student cannot start a regrade: %d" % st)
st, _, doc = srv.json("POST", "/api/v1/courses/cs101/assignments/mystr/regrade", token=tina)
check(st == 403, "a TA cannot start a regrade: %d" % st)
st, _, doc = srv.json("POST", "/api/v1/courses/cs101/assignments/vector/regrade", token=prof)
check(st == 404 and "not offered" in doc["error"], "no regrade of an assignment not offered: %d" % st)
st, _, doc = srv.json("POST", "/api/v1/courses/nope/assignments/mystr/regrade", token=prof)
check(st == 404, "no regrade in an unknown course: %d" % st)
st, hd, doc = srv.json("POST", "/api/v1/courses/cs101/assignments/mystr/regrade", token=prof)
check(st == 202 and doc["total"] == N and doc["url"] == "/api/v1/courses/cs101/regrades/%d" % doc["id"],
      "prof starts a regrade of the %d cs101 submissions: %d %s" % (N, st, doc))
rid = doc["id"]
url = "/api/v1/courses/cs101/regrades/%d" % rid


def progress(server, token=prof):
    st, _, d = server.json("GET", url, token=token)
    return d if st == 200 else None


st, _, doc = srv.json("GET", url, token=alice)
check(st == 403, "a student does not see regrade progress: %d" % st)
st, _, doc = srv.json("GET", "/api/v1/courses/default/regrades/%d" % rid, token=prof)
check(st == 404, "a regrade is found only under its course: %d" % st)
# Kill well before the end, so the batch cannot finish between the look
# and the kill (a busy machine may answer the look late).
p = wait_until(lambda: (lambda d: d if d and 2 <= d["done"] <= N - 5 else None)(progress(srv, tina)),
               timeout=600, step=0.02)
check(p is not None and set(p) == {"id", "total", "done", "failed", "status"} and
      p["status"] == "running", "mid-batch progress, seen by the TA: %s" % p)
st, _, body = srv.request("GET", "/metrics")
depth = [l for l in body.decode().splitlines() if l.startswith("memgrade_regrade_queue_depth ")]
check(depth and 0 < int(depth[0].split()[1]) < N, "/metrics shows the regrade queue: %s" % depth)
srv.kill()
srv.wait()
done_at_kill = query(db, "SELECT COUNT(*) FROM regrade_items WHERE regrade_id = ? AND state = 'done'",
                     (rid,))[0][0]
check(0 < done_at_kill < N, "killed with -9 in the middle: %d of %d done" % (done_at_kill, N))

srv = Server(db=db, workdir=work, port=18096, args=["--workers", "1", "--rate-limit", "0",
                                                        "--queue-max-user", "0"]).start()
p = wait_until(lambda: (lambda d: d if d and d["status"] == "done" else None)(progress(srv)), timeout=900)
check(p is not None and p["done"] == N and p["failed"] == 0 and p["total"] == N,
      "the regrade resumed and finished: %s" % p)
for sid in ids:
    st, _, doc = srv.json("GET", "/api/v1/submissions/%d?history=1" % sid, token=alice)
    h = doc.get("history", []) if st == 200 else []
    check(len(h) == 2 and h[0]["graded_at"] <= h[1]["graded_at"] and
          h[1]["result"] == doc["result"] and all(len(x["assignment_version"] or "") == 64 for x in h),
          "submission %d: its first result and exactly one regrade, oldest first (%d)" % (sid, len(h)))
st, _, doc = srv.json("GET", "/api/v1/submissions/%d?history=1" % other, token=tina)
check(st == 200 and len(doc["history"]) == 1, "the default course's submission was not regraded")
st, _, doc = srv.json("GET", "/api/v1/submissions/%d" % ids[0], token=alice)
check(st == 200 and "history" not in doc, "no history unless asked")

# New submissions go first: with one worker busy on a second batch, a new
# submission is graded while most of the batch still waits.
st, _, doc = srv.json("POST", "/api/v1/courses/cs101/assignments/mystr/regrade", token=prof)
rid = doc["id"]
url = "/api/v1/courses/cs101/regrades/%d" % rid
wait_until(lambda: (progress(srv) or {}).get("done", 0) >= 1, timeout=600, step=0.02)
st, _, doc = srv.submit(alice, "mystr", src)
d0 = progress(srv)["done"]
check(srv.wait_graded(alice, doc["id"], timeout=600) is not None, "the new submission is graded")
p = progress(srv)
# The one worker finishes the item it holds, takes the new submission,
# and may have started (and, polled late, finished) one more item.
check(p["done"] <= d0 + 3 and p["done"] < N - 3 and p["status"] == "running",
      "it went ahead of the batch (%d, then %d of %d regraded)" % (d0, p["done"], p["total"]))
p = wait_until(lambda: (lambda d: d if d and d["status"] == "done" else None)(progress(srv)), timeout=900)
check(p is not None and p["done"] == N + 0 and p["total"] == N,
      "the second batch covers the submissions graded when it started: %s" % p)
srv.stop()
dup = query(db, "SELECT submission_id, COUNT(*) FROM result_history GROUP BY submission_id"
                " HAVING COUNT(*) != 2")
check(dup == [], "after two batches every submission has exactly two earlier results: %s" % dup)
finish()
