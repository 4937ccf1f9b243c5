"""Roster sync (Names and Role Provisioning 2.0, SPEC §8) against the real
`memgrade serve` and the test platform (ltiplatform.py): a course made by
a real launch is synced by its staff, the platform's membership pages are
followed through their Link headers with a Bearer token from the platform's
token endpoint, roles map as a launch maps them, Inactive members leave,
a later launch of a synced member is the same user; students are refused,
a course never launched from an LMS is a 409, a next page on another host
is not followed, a platform that is down is a 503."""
import os
import socket
import subprocess
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "server"))
import ltiplatform as lp  # noqa: E402
from mgtest import MEMGRADE, Server, add_user, check, dbarg, finish, query, tempdir  # noqa: E402

PORT = 18080
work = tempdir("mgnrps.")
db = os.path.join(work, "memgrade.db")
admin = add_user(db, "admin", "instructor")
plat = lp.Platform(tool="http://127.0.0.1:%d" % PORT)
reg = plat.register(MEMGRADE, dbarg(db))
check(reg.returncode == 0, "lti add-platform: %d %s" % (reg.returncode, reg.stderr.strip()))
srv = Server(db=db, port=PORT, workdir=work).start()


def rows(sql, *args):
    return query(db, sql, args)


def user_token(name):
    p = subprocess.run([MEMGRADE, "user", "token", name, "--db", dbarg(db)], capture_output=True,
                       text=True)
    return p.stdout.strip().splitlines()[-1] if p.returncode == 0 else None


def me(launch):
    """The user a launch logged in (GET /api/v1/me with its session cookie)."""
    cookie = "; ".join("%s=%s" % kv for kv in launch.cookies.items())
    return srv.json("GET", "/api/v1/me", headers={"Cookie": cookie})[2] or {}


def sync(course, token):
    return srv.json("POST", "/api/v1/courses/%s/roster/sync" % course, token=token)


def course_roles(course):
    return dict(rows("SELECT u.name, m.role FROM course_members m JOIN users u"
                     " ON u.id = m.user_id WHERE m.course_id = ?", course))


CTX = "ctx-os-2026"
common = dict(context_id=CTX, context_title="Operating Systems 2026", assignment="vector")

# ---- before any launch ------------------------------------------------------------------
st, _, doc = srv.json("POST", "/api/v1/courses", {"id": "plain", "title": "Plain"}, admin)
check(st == 201, "a course made through the API: %d" % st)
st, _, doc = sync("plain", admin)
check(st == 409 and "never launched" in (doc or {}).get("error", ""),
      "a course never launched from an LMS: 409 %s" % doc)
st, _, doc = sync("nosuch", admin)
check(st == 404, "an unknown course: 404 (%d)" % st)
st, _, _ = srv.json("POST", "/api/v1/courses/plain/roster/sync")
check(st == 401, "without a token: 401 (%d)" % st)

# ---- launches make the course and its first members -------------------------------------
prof = plat.launch(sub="sub-prof", roles=("Instructor",), name="Pat Prof",
                   email="pat.prof@example.edu", **common)
loc = prof.location or ""
check(prof.status in (302, 303) and loc.startswith("/courses/"),
      "the instructor's launch lands on a course page: %r %s" % (prof, prof.body[:200]))
course = urllib.parse.urlsplit(loc).path.split("/")[2] if loc.startswith("/courses/") else "?"
s1 = plat.launch(sub="sub-s1", roles=("Learner",), name="Sam One", email="sam1@example.edu",
                 **common)
check(s1.status in (302, 303), "a student's launch: %r" % s1)
# Roles with both Instructor and its TeachingAssistant sub-role: the sync
# must make of them what the launch did.
both = plat.launch(sub="sub-both", roles=("Instructor", "TeachingAssistant"), name="Bo Th",
                   email="bo.th@example.edu", **common)
check(both.status in (302, 303), "a launch with two staff roles: %r" % both)
prof_name, s1_name = me(prof).get("name"), me(s1).get("name")
both_name = me(both).get("name")
check(prof_name and s1_name, "the launched users are logged in: %s, %s" % (prof_name, s1_name))
prof_tok, s1_tok = user_token(prof_name or "?"), user_token(s1_name or "?")
before = course_roles(course)
check(before.get(prof_name) == "instructor" and before.get(s1_name) == "student",
      "launch roles: %s" % before)

# ---- the LMS's roster --------------------------------------------------------------------
plat.nrps_page_size = 2
plat.add_member(CTX, "sub-prof", ("Instructor",), "Pat Prof", "pat.prof@example.edu")
plat.add_member(CTX, "sub-ta", ("TeachingAssistant",), "Terry Assistant", "terry@example.edu")
plat.add_member(CTX, "sub-s1", ("Learner",), "Sam One", "sam1@example.edu")
plat.add_member(CTX, "sub-s2", ("Learner",), "Sam Two", "sam2@example.edu")
plat.add_member(CTX, "sub-s3", ("Learner",), "Sam Three", "sam3@example.edu")
plat.add_member(CTX, "sub-s4", (lp.ROLE_URIS["Learner"],), "Sam Four", "sam4@example.edu")
plat.add_member(CTX, "sub-gone", ("Learner",), "Gone Student", "gone@example.edu",
                status="Inactive")
plat.add_member(CTX, "sub-mentor", ("Mentor",), "Meg Mentor", "meg@example.edu")
plat.add_member(CTX, "sub-both", ("Instructor", "TeachingAssistant"), "Bo Th",
                "bo.th@example.edu")
nmembers = len(plat.members[CTX])

st, _, doc = sync(course, s1_tok)
check(st == 403, "a student may not sync the roster: %d %s" % (st, doc))
check(not plat.nrps_requests, "a refused sync reads nothing from the LMS")

tokens_before = plat.tokens_issued
st, _, doc = sync(course, prof_tok)
check(st == 200, "the course's instructor syncs: %d %s" % (st, doc))
doc = doc or {}
check(doc.get("members") == nmembers and doc.get("added") == 4 and doc.get("updated") == 0
      and doc.get("removed") == 0,
      "counts: %d members, 4 added (TA and three students), none updated or removed: %s"
      % (nmembers, doc))
pages = [r for r in plat.nrps_requests if r["status"] == 200]
check(len(pages) == (nmembers + 1) // 2,
      "every page was read through Link rel=next: %d of %d" % (len(pages), (nmembers + 1) // 2))
check(all(r["auth"] and r["auth"].startswith("Bearer ") for r in plat.nrps_requests),
      "each page request carries a Bearer token")
nrps_tokens = [t for t in plat.token_requests
               if t["status"] == 200 and lp.SCOPE_NRPS in t["form"].get("scope", "")]
check(plat.tokens_issued > tokens_before and nrps_tokens,
      "the token came from the platform's token endpoint with the membership scope")
check(nrps_tokens and nrps_tokens[-1]["claims"]["iss"] == plat.client_id,
      "with a client assertion the tool signed (checked against its /lti/jwks)")

after = course_roles(course)
by_email = dict(rows("SELECT l.sub, u.name FROM lti_users l JOIN users u ON u.id = l.user_id"))
ta_name, s4_name = by_email.get("sub-ta"), by_email.get("sub-s4")
check(ta_name and after.get(ta_name) == "ta", "TeachingAssistant → ta: %s" % after)
check(all(after.get(by_email.get(s)) == "student" for s in ("sub-s2", "sub-s3", "sub-s4")),
      "Learner (short and full URI) → student")
check(after.get(prof_name) == "instructor" and after.get(s1_name) == "student"
      and after.get(both_name) == before.get(both_name),
      "the launched members keep the roles their launches gave: %s" % after)
check(ta_name == "terry@example.edu",
      "a synced user is named as a launch names one (the e-mail): %s" % ta_name)
check("sub-mentor" not in by_email and "sub-gone" not in by_email,
      "no user is made for a member without a mapped role or an Inactive one: %s"
      % sorted(by_email))
synced = rows("SELECT synced_at FROM lti_contexts WHERE course_id = ?", course)
check(synced and synced[0][0], "synced_at recorded: %s" % synced)

# A second sync with nothing changed changes nothing.
st, _, doc = sync(course, admin)
check(st == 200 and (doc or {}).get("added") == 0 and doc.get("updated") == 0
      and doc.get("removed") == 0, "a global instructor syncs again, nothing changes: %s" % doc)
check(plat.tokens_issued == tokens_before + 1,
      "the access token is cached between syncs: %d issued" % (plat.tokens_issued - tokens_before))

# The platform revokes its tokens: the first page's 401 gets one new token.
with plat.lock:
    plat.tokens.clear()
issued = plat.tokens_issued
st, _, doc = sync(course, admin)
check(st == 200 and plat.tokens_issued == issued + 1,
      "a revoked token is replaced once and the sync goes on: %d, %d new token(s)"
      % (st, plat.tokens_issued - issued))

# ---- changes in the LMS: a role changes, a student drops -------------------------------
plat.add_member(CTX, "sub-s3", ("TeachingAssistant",), "Sam Three", "sam3@example.edu")
plat.add_member(CTX, "sub-s2", ("Learner",), "Sam Two", "sam2@example.edu", status="Inactive")
ta_tok = user_token(ta_name or "?")
st, _, doc = sync(course, ta_tok)
check(st == 200 and (doc or {}).get("updated") == 1 and doc.get("removed") == 1
      and doc.get("added") == 0, "a TA syncs: one promoted, one dropped: %s" % doc)
after = course_roles(course)
check(after.get(by_email.get("sub-s3")) == "ta" and by_email.get("sub-s2") not in after,
      "the roles as the LMS now says: %s" % after)

# ---- a synced member who launches later is the same user --------------------------------
users_before = rows("SELECT count(*) FROM users")[0][0]
s4 = plat.launch(sub="sub-s4", roles=("Learner",), name="Sam Four", email="sam4@example.edu",
                 **common)
check(s4.status in (302, 303) and me(s4).get("name") == s4_name,
      "sam4's later launch logs in the user the sync made (%s)" % s4_name)
check(rows("SELECT count(*) FROM users")[0][0] == users_before, "and makes no new user")

# ---- a next page on another host is not followed ----------------------------------------
hits = []
trap = socket.socket()
trap.bind(("127.0.0.1", 0))
trap.listen(4)
trap.settimeout(0.2)


def trap_accept():
    while not stop.is_set():
        try:
            conn, _ = trap.accept()
            hits.append(1)
            conn.close()
        except OSError:
            pass


stop = threading.Event()
t = threading.Thread(target=trap_accept, daemon=True)
t.start()
plat.nrps_next_override = "http://127.0.0.1:%d/api/lti/courses/1/names_and_roles?page=2" \
    % trap.getsockname()[1]
st, _, doc = sync(course, prof_tok)
check(st == 502 and "not followed" in (doc or {}).get("error", ""),
      "a next page on another host: 502 %s" % doc)
check(not hits, "and memgrade never connected to it")
stop.set()
t.join()
trap.close()
plat.nrps_next_override = None

# ---- the LMS's registration moved to another host: the stored roster URL is not used -----
def lti_set(*args):
    return subprocess.run([MEMGRADE, "lti", "set", "1"] + list(args) + ["--db", dbarg(db)],
                          capture_output=True, text=True)


elsewhere = "http://localhost:%d" % plat.port  # another host name for the same place
moved = lti_set("--auth-url", elsewhere + "/auth", "--token-url", elsewhere + "/token",
                "--jwks-url", elsewhere + "/jwks", "--issuer", elsewhere)
check(moved.returncode == 0, "lti set moves the platform: %s" % moved.stderr.strip())
n_req = len(plat.nrps_requests)
st, _, doc = sync(course, prof_tok)
check(st == 502 and "not on a host of the registered LMS" in (doc or {}).get("error", "")
      and len(plat.nrps_requests) == n_req,
      "a roster URL off the platform's registered hosts is not fetched: %d %s" % (st, doc))
back = lti_set("--auth-url", plat.auth_url, "--token-url", plat.token_url,
               "--jwks-url", plat.jwks_url, "--issuer", plat.issuer)
check(back.returncode == 0, "and back: %s" % back.stderr.strip())

# ---- a hostile or broken membership page is refused, and changes nothing ----------------
roles_before = course_roles(course)
for raw, what in [(b"<html>not json</html>", "not JSON"),
                  (b'{"members": {"user_id": "x"}}', "members not a list"),
                  (b'{"members": [{"roles": ["Learner"]}]}', "a member without user_id"),
                  (b'{"members": [{"user_id": 7, "roles": ["Learner"]}]}', "a numeric user_id"),
                  (b'{"members": [{"user_id": "' + b"u" * 300 + b'"}]}', "a 300-byte user_id"),
                  (b'{"members": [' + b"1," * 5000 + b'1]}', "members that are not objects")]:
    plat.nrps_raw = raw
    st, _, doc = sync(course, prof_tok)
    check(st == 502 and "roster page 1" in (doc or {}).get("error", ""),
          "%s: 502 %s" % (what, doc))
plat.nrps_raw = None
check(course_roles(course) == roles_before, "and the course's members are as before")
check(srv.request("GET", "/healthz")[0] == 200, "the server is still up")

# ---- the platform is down -----------------------------------------------------------------
plat.down = True
st, hd, doc = sync(course, prof_tok)
check(st == 503 and "503" in (doc or {}).get("error", "") and hd.get("retry-after"),
      "the LMS answers 503: the sync says so, 503 with Retry-After: %d %s" % (st, doc))
plat.down = False
st, _, doc = sync(course, prof_tok)
check(st == 200, "up again: the sync works: %d" % st)

srv.stop()
plat.close()
finish()
