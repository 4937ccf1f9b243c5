"""Grade passback through the durable outbox (SPEC §8, issue 12): the real
`memgrade serve` posts Scores to the test platform's AGS endpoint
(ltiplatform.py) for a student whose launch is stored in the database (the
rows a launch writes, put there directly so that this test covers the
outbox alone): the gradebook's final score (policy, late penalty), a
platform that is down gets the newest score once it is back and never an
older one after it, kill -9 with a passback pending delivers it after the
restart, and staff see each passback's state."""
import json
import os
import subprocess
import sys
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
sys.path.insert(0, HERE)
from ltiplatform import Platform, parse_ts  # noqa: E402
from mgtest import (ASSIGNMENTS, MEMGRADE, Server, add_user, check, dbarg, finish,  # noqa: E402
                    ids_inserted, query, reference, tempdir, wait_until)

work = tempdir("mgpassback.")
db = os.path.join(work, "memgrade.db")


def cli(*args):
    p = subprocess.run([MEMGRADE] + list(args) + ["--db", dbarg(db)], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


tok = {}
for name, role in [("prof", "student"), ("stu", "student"), ("late", "student")]:
    tok[name] = add_user(db, name, role)
cli("course", "add", "lms1", "--title", "LMS course")
cli("course", "offer", "lms1", "mystr", "--policy", "last")
cli("course", "add", "lms2", "--title", "LMS course with a deadline")
past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7 * 86400))
rc, _, err = cli("course", "offer", "lms2", "mystr", "--due", past, "--accept-until", future,
                 "--late-penalty", "10")
check(rc == 0, "mystr offered in lms2 an hour past its due date: %s" % err)
for c in ("lms1", "lms2"):
    cli("course", "enrol", c, "prof", "--role", "instructor")
cli("course", "enrol", "lms1", "stu", "--role", "student")
cli("course", "enrol", "lms2", "late", "--role", "student")

plat = Platform()
# The tool's key, as `memgrade serve` would have made it; the platform
# checks the client assertion against its public half.
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption()).decode()
jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
jwk.update({"kid": "tool-key-1", "alg": "RS256", "use": "sig"})
plat.tool_jwks_override = {"keys": [jwk]}
lineitem = {"lms1": plat.create_lineitem("ctx-1", "mystr", 31, "rl-1"),
            "lms2": plat.create_lineitem("ctx-2", "mystr", 31, "rl-2")}
now_ms = int(time.time() * 1000)
uid = {n: query(db, "SELECT id FROM users WHERE name = ?", (n,))[0][0] for n in ("stu", "late")}
existing = query(db, "SELECT COUNT(*) FROM lti_tool_keys")[0][0]
query(db, "INSERT INTO lti_tool_keys(kid, private_pem, public_jwk, created_at) VALUES (?,?,?,?)",
      ("tool-key-1", pem, json.dumps(jwk), now_ms))
query(db, "INSERT INTO lti_platforms(id, issuer, client_id, auth_url, token_url, jwks_url,"
      " created_at) VALUES (1, ?, ?, ?, ?, ?, ?)",
      (plat.issuer, plat.client_id, plat.auth_url, plat.token_url, plat.jwks_url, now_ms))
query(db, "INSERT INTO lti_deployments VALUES (1, 'dep-1')")
for n, (course, sub) in enumerate([("lms1", "sub-stu"), ("lms2", "sub-late")], 1):
    query(db, "INSERT INTO lti_links(id, platform_id, deployment_id, resource_link_id, course_id,"
          " assignment, lineitem_url) VALUES (?, 1, 'dep-1', ?, ?, 'mystr', ?)",
          (n, "rl-%d" % n, course, lineitem[course]))
    query(db, "INSERT INTO lti_launches VALUES (?, ?, ?, ?)",
          (n, uid["stu" if course == "lms1" else "late"], sub, now_ms))
ids_inserted(db, "lti_platforms", "lti_links")
check(existing == 0, "a fresh database has no tool key yet")

srv = Server(db=db, workdir=work, args=["--workers", "1", "--outbox-retry-base-ms", "300"]).start()
REF = reference("mystr")
with open(os.path.join(ASSIGNMENTS, "mystr", "variants", "dup_no_room_for_nul.c")) as f:
    BUGGY = f.read()


def submit(course, who, src):
    st, _, doc = srv.json("POST", "/api/v1/submissions",
                          {"assignment": "mystr", "course": course, "files": {"mystr.c": src}},
                          tok[who])
    check(st == 202, "%s submits to %s: %s" % (who, course, st))
    return doc["id"] if st == 202 else None


def final_of(course, who):
    st, _, doc = srv.json("GET", "/api/v1/courses/%s/assignments/mystr/grades" % course,
                          token=tok["prof"])
    for s in doc["students"] if st == 200 else []:
        if s["user"] == who:
            return s["final_score"]
    return None


def score_rows(course):
    st, _, doc = srv.json("GET", "/api/v1/courses/%s/deliveries?kind=score" % course,
                          token=tok["prof"])
    return doc["deliveries"] if st == 200 else []


def scores(course):
    return plat.scores_for(lineitem[course])


# ---- a graded submission's score goes to the line item --------------------------------
sid = submit("lms1", "stu", REF)
sub = srv.wait_graded(tok["stu"], sid)
got = wait_until(lambda: scores("lms1"), timeout=30)
check(got and len(got) == 1, "one Score reaches the line item (%s)" % plat.score_posts[-3:])
if got:
    s = got[0]
    check(s["userId"] == "sub-stu" and s["scoreGiven"] == final_of("lms1", "stu") == 31 and
          s["scoreMaximum"] == 31 and s["activityProgress"] == "Completed" and
          s["gradingProgress"] == "FullyGraded", "it is the gradebook's final score: %s" % s)
    check(abs((parse_ts(s["timestamp"]) - parse_ts(sub["graded_at"])).total_seconds()) < 0.002,
          "timestamped with the result's graded_at (%s, %s)" % (s["timestamp"], sub["graded_at"]))
    check(s["path"].split("?")[0].endswith("/scores") and "foo=bar" in s["path"],
          "posted to the line item's /scores, query string kept: %s" % s["path"])
rows = score_rows("lms1")
check(len(rows) == 1 and rows[0]["state"] == "delivered" and rows[0]["kind"] == "score" and
      rows[0]["line_item"] == lineitem["lms1"] and rows[0]["user"] == "stu" and
      rows[0]["last_status"] == 200, "the delivery log: one score row, delivered: %s" % rows)

# ---- a late submission: the penalty is taken ---------------------------------------------
sid_late = submit("lms2", "late", REF)
srv.wait_graded(tok["late"], sid_late)
got = wait_until(lambda: scores("lms2"), timeout=30)
fin = final_of("lms2", "late")
check(got and fin is not None and abs(got[0]["scoreGiven"] - fin) < 1e-9 and fin < 31,
      "a day late with 10%%/day: the Score is the penalised final %s (%s)"
      % (fin, got and got[0]["scoreGiven"]))

# ---- the platform is down: the newest score goes once it is back, never an older one ----
plat.down = True
n_posts = len(plat.score_posts)
sid_bug = submit("lms1", "stu", BUGGY)
srv.wait_graded(tok["stu"], sid_bug)
wait_until(lambda: len(plat.score_posts) > n_posts, timeout=30)
sid_ref = submit("lms1", "stu", REF)
srv.wait_graded(tok["stu"], sid_ref)
rows = score_rows("lms1")
check(len(rows) == 1 and rows[0]["state"] == "pending" and rows[0]["last_status"] == 503,
      "while the platform answers 503 the one row waits: %s" % rows)
time.sleep(1.5)
plat.down = False
wait_until(lambda: len(scores("lms1")) >= 2, timeout=30)
time.sleep(1.5)
got = scores("lms1")
check(len(got) == 2 and got[-1]["scoreGiven"] == 31 == final_of("lms1", "stu"),
      "once back, the platform gets the newest final score, once: %s"
      % [(s["scoreGiven"], s["timestamp"]) for s in got])
check(all(parse_ts(a["timestamp"]) <= parse_ts(b["timestamp"]) for a, b in zip(got, got[1:])),
      "never an older timestamp after a newer one")
refused = [p for p in plat.score_posts if p["status"] not in (200, 503)]
check(not refused, "the platform refused nothing: %s" % refused)
rows = score_rows("lms1")
check(rows and rows[0]["state"] == "delivered", "the row is delivered again: %s" % rows)

# A newer result with the platform up: the buggy one, policy last.
sid_bug2 = submit("lms1", "stu", BUGGY)
srv.wait_graded(tok["stu"], sid_bug2)
wait_until(lambda: len(scores("lms1")) >= 3, timeout=30)
got = scores("lms1")
fin = final_of("lms1", "stu")
check(len(got) == 3 and fin < 31 and got[-1]["scoreGiven"] == fin,
      "policy last: a worse newer result is passed back too (%s, final %s)"
      % ([s["scoreGiven"] for s in got], fin))

# ---- kill -9 with a passback pending ------------------------------------------------------
plat.down = True
n_posts = len(plat.score_posts)
sid_k = submit("lms1", "stu", REF)
srv.wait_graded(tok["stu"], sid_k)
wait_until(lambda: len(plat.score_posts) > n_posts, timeout=30)
srv.kill()
srv.wait()
plat.down = False
srv.start()
wait_until(lambda: len(scores("lms1")) >= 4, timeout=30)
time.sleep(1.5)
got = scores("lms1")
check(len(got) == 4 and got[-1]["scoreGiven"] == 31,
      "after kill -9 and a restart the pending score is delivered, once (%d)" % len(got))
st, _, body = srv.request("GET", "/metrics")
check(b'memgrade_outbox_deliveries{kind="score",state="delivered"} 2' in body and
      b'memgrade_outbox_deliveries{kind="score",state="pending"} 0' in body,
      "/metrics: two score rows, both delivered")
srv.stop()
plat.close()
finish()
