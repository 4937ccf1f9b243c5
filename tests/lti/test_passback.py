"""Grade passback (AGS 2.0, SPEC §8) end to end: a student launched from
the test platform (ltiplatform.py) with a Canvas-style line item whose URL
carries a query string submits through the API; the graded score reaches
the platform once, with a Bearer token the platform issued for the tool's
signed client assertion, at the right scores URL. A platform that is down
gets the score when it is back, once and in order (a newer score is never
overwritten by an older one); passbacks pending when the server is killed
with SIGKILL are delivered after the restart. Staff see each passback's
state in the delivery log."""
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "server"))
import ltiplatform as lp  # noqa: E402
from mgtest import (ASSIGNMENTS, MEMGRADE, Server, add_user, check, dbarg, finish,  # noqa: E402
                    reference, tempdir, wait_until)

PORT = 18080
work = tempdir("mgpassback.")
db = os.path.join(work, "memgrade.db")
admin = add_user(db, "admin", "instructor")
plat = lp.Platform(tool="http://127.0.0.1:%d" % PORT)
reg = plat.register(MEMGRADE, dbarg(db))
check(reg.returncode == 0, "lti add-platform: %d %s" % (reg.returncode, reg.stderr.strip()))
# Retries start 300 ms apart (3 times longer each time) instead of 2 s.
ARGS = ["--outbox-retry-base-ms", "300"]
# Once the platform is back, the next retry may be up to about twice as far
# off as the platform was down (backoff x3): generous for a loaded machine.
BACK_WAIT = 300
srv = Server(db=db, port=PORT, workdir=work, args=ARGS).start()

with open(os.path.join(ASSIGNMENTS, "vector", "variants", "free_only_forgets.c")) as f:
    LEAKY = {"vector.c": f.read()}
GOOD = {"vector.c": reference("vector")}
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")


def user_token(name):
    p = subprocess.run([MEMGRADE, "user", "token", name, "--db", dbarg(db)], capture_output=True,
                       text=True)
    return p.stdout.strip().splitlines()[-1] if p.returncode == 0 else None


def me(launch):
    cookie = "; ".join("%s=%s" % kv for kv in launch.cookies.items())
    return srv.json("GET", "/api/v1/me", headers={"Cookie": cookie})[2] or {}


def submit(token, files):
    st, _, doc = srv.json("POST", "/api/v1/submissions",
                          {"assignment": "vector", "course": course, "files": files}, token)
    check(st == 202, "a submission is accepted: %d %s" % (st, doc))
    sid = (doc or {}).get("id")
    g = srv.wait_graded(token, sid) if sid else None
    check(g is not None, "submission %s is graded: %s" % (sid, g and g.get("score")))
    return g or {}


def deliveries(token=None):
    st, _, doc = srv.json("GET", "/api/v1/courses/%s/deliveries?kind=score" % course,
                          token=token or admin)
    return st, (doc or {}).get("deliveries", [])


def accepted():
    return plat.scores_for(lineitem, "sub-stu")


# ---- a launch with a line item whose URL has a query string ------------------------------
stu = plat.launch(sub="sub-stu", roles=("Learner",), name="Stu Dent", email="stu@example.edu",
                  context_id="ctx-pb", resource_link_id="rl-vector", assignment="vector")
loc = stu.location or ""
check(stu.status in (302, 303) and loc.startswith("/courses/"),
      "the student's launch lands on the assignment: %r %s" % (stu, stu.body[:200]))
course = urllib.parse.urlsplit(loc).path.split("/")[2] if loc.startswith("/courses/") else "?"
lineitem = lp.jwt_parts(stu.id_token)[1][lp.AGS_CLAIM]["lineitem"] if stu.id_token else ""
check("?foo=bar" in lineitem, "the line item URL carries a query string: " + lineitem)
stu_name = me(stu).get("name")
stu_tok = user_token(stu_name or "?")
check(stu_tok is not None, "the launched student (%s) gets an API token" % stu_name)

# ---- passback after grading ----------------------------------------------------------------
g = submit(stu_tok, GOOD)
got = wait_until(lambda: accepted(), timeout=60)
check(len(got or []) == 1, "the score reaches the platform: %d" % len(got or []))
s = (got or [{}])[0]
check(s.get("scoreGiven") == g.get("max_score") and s.get("scoreMaximum") == g.get("max_score")
      and g.get("score") == g.get("max_score"),
      "scoreGiven = scoreMaximum = the assignment's max (%s): %s / %s"
      % (g.get("max_score"), s.get("scoreGiven"), s.get("scoreMaximum")))
check(s.get("activityProgress") == "Completed" and s.get("gradingProgress") == "FullyGraded",
      "Completed / FullyGraded")
check(TS_RE.match(s.get("timestamp", "")) is not None,
      "ISO 8601 timestamp with milliseconds: %s" % s.get("timestamp"))
check(s.get("userId") == "sub-stu", "userId is the launch's sub")
li = urllib.parse.urlsplit(lineitem)
check(s.get("path") == "%s/scores?%s" % (li.path, li.query),
      "posted to the line item's path + /scores, query kept: %s" % s.get("path"))
posts = [p for p in plat.score_posts if p["status"] == 200]
issued = [t for t in plat.token_requests if t["status"] == 200]
check(issued and all(lp.SCOPE_SCORE in t["form"]["scope"].split() for t in issued)
      and issued[-1]["claims"]["iss"] == plat.client_id,
      "the Bearer token came from /token with the score scope and the tool's signed assertion")
check(posts and posts[-1]["auth"].split()[-1] in plat.tokens,
      "the Score carries that Bearer token")
check(not plat.not_found, "no request went to a wrong URL: %s" % plat.not_found)
# The row is marked delivered once the platform's answer is in: a moment
# after the platform recorded the Score.
wait_until(lambda: (deliveries()[1] or [{}])[0].get("state") == "delivered", timeout=10)
st, dl = deliveries()
check(st == 200 and len(dl) == 1 and dl[0].get("state") == "delivered",
      "staff see the passback delivered: %d %s" % (st, dl))
st, _ = deliveries(stu_tok)
check(st == 403, "a student may not read the delivery log: %d" % st)

# ---- the platform is down, then up: delivered once, in order -------------------------------
# The course counts the last submission, so a newer, lower score must win
# over an older, higher one.
st, _, doc = srv.json("PUT", "/api/v1/courses/%s/assignments/vector" % course,
                      {"policy": "last"}, admin)
check(st == 200, "the course counts the last submission: %d %s" % (st, doc))
tokens_before = plat.tokens_issued
plat.down = True
n_posts = len(plat.score_posts)
submit(stu_tok, GOOD)
wait_until(lambda: len(plat.score_posts) > n_posts, timeout=30)
check(any(p["status"] == 503 for p in plat.score_posts[n_posts:]),
      "a passback was tried while the platform was down (503)")
g_leaky = submit(stu_tok, LEAKY)
check(0 < g_leaky.get("score", 0) < g_leaky.get("max_score", 0),
      "the leaky variant scores less: %s of %s" % (g_leaky.get("score"), g_leaky.get("max_score")))
st, dl = deliveries()
pending = [d for d in dl if d.get("state") == "pending"]
check(pending and pending[0].get("last_status") == 503,
      "staff see the passback pending after a 503: %s" % dl)
n_acc = len(accepted())
plat.down = False
ok = wait_until(lambda: len(accepted()) > n_acc, timeout=BACK_WAIT)
time.sleep(3)  # anything else on its way would arrive now
new = accepted()[n_acc:]
check(ok and len(new) == 1, "after the platform is back, exactly one score arrives: %d" % len(new))
last = new[-1] if new else {}
check(last.get("scoreGiven") == g_leaky.get("score"),
      "it is the newer result's score (%s), not the older one's: %s"
      % (g_leaky.get("score"), last.get("scoreGiven")))
rejected = [p for p in plat.score_posts if p["status"] == 400]
check(not rejected, "no older score was sent after a newer one: %s"
      % [p["reason"] for p in rejected])
st, dl = deliveries()
check(dl and all(d.get("state") == "delivered" for d in dl), "the log says delivered: %s" % dl)
check(plat.tokens_issued - tokens_before <= 1, "the access token is cached, not fetched per try")

# ---- kill -9 with a passback pending, restart, platform back -------------------------------
plat.down = True
n_posts = len(plat.score_posts)
submit(stu_tok, LEAKY)
g_last = submit(stu_tok, GOOD)
wait_until(lambda: any(p["status"] == 503 for p in plat.score_posts[n_posts:]), timeout=30)
n_acc = len(accepted())
srv.kill(signal.SIGKILL)
srv.wait()
check(len(accepted()) == n_acc, "nothing was delivered before the kill")
plat.down = False
srv = Server(db=db, port=PORT, workdir=work, args=ARGS).start()
ok = wait_until(lambda: len(accepted()) > n_acc, timeout=BACK_WAIT)
time.sleep(3)
new = accepted()[n_acc:]
check(ok and len(new) == 1 and new[0].get("scoreGiven") == g_last.get("max_score"),
      "after the restart the pending score is delivered once: %s"
      % [x.get("scoreGiven") for x in new])
ts = [x["ts"] for x in accepted()]
check(ts == sorted(ts), "every accepted score is newer than the one before")
st, dl = deliveries()
check(dl and all(d.get("state") == "delivered" for d in dl)
      and all(d.get("line_item") in (None, lineitem) for d in dl),
      "the log after the restart: %s" % dl)

srv.stop()
plat.close()
finish()
