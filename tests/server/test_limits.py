"""Limits and the command line: per-student rate limit (429 + Retry-After,
instructors exempt), bounded queue (503 + Retry-After), configurable size
limits, `memgrade user` and `memgrade serve` option errors."""
import os
import re
import subprocess
import tempfile

from mgtest import (MEMGRADE, Server, add_user, check, dbarg, finish, on_postgres, query,
                    reference, tempdir)

MYSTR = reference("mystr")

# ---- memgrade user ----------------------------------------------------------
tmp = tempdir("mguser.")
db = os.path.join(tmp, "u.db")
def user(*args):
    return subprocess.run([MEMGRADE, "user"] + list(args) + ["--db", dbarg(db)], capture_output=True, text=True)
p = user("add", "dana", "--role", "student")
last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
check(p.returncode == 0 and re.fullmatch(r"[0-9a-f]{64}", last), "user add prints a token on its last line")
p2 = user("add", "erin", "--role", "student")
check(p2.stdout.strip().splitlines()[-1] != last, "tokens differ between users")
p = user("add", "dana", "--role", "student")
check(p.returncode == 2 and "exists" in p.stderr, "duplicate user: exit 2")
p = user("add", "frank", "--role", "admin")
check(p.returncode == 2 and "role" in p.stderr, "bad role: exit 2")
p = user("add", "bad name;", "--role", "student")
check(p.returncode == 2, "bad name: exit 2")
p = user("add", "gina")
check(p.returncode == 2, "missing role: exit 2")
p = user("token", "dana")
new = p.stdout.strip().splitlines()[-1] if p.returncode == 0 else ""
check(p.returncode == 0 and re.fullmatch(r"[0-9a-f]{64}", new) and new != last, "user token issues a new token")
p = user("revoke", "erin")
check(p.returncode == 0 and "revoked 1" in p.stdout, "user revoke deletes the token")
p = user("revoke", "nobody")
check(p.returncode == 2, "revoking an unknown user: exit 2")
p = user("list")
check(p.returncode == 0 and "dana\tstudent" in p.stdout and "erin\tstudent" in p.stdout, "user list")
hashes = [bytes(r[0]) for r in query(db, "SELECT hash FROM tokens")]
check(len(hashes) == 2 and all(len(h) == 32 for h in hashes), "tokens are stored as 32-byte hashes")
import hashlib
check(hashlib.sha256(last.encode()).digest() in hashes and last.encode() not in hashes,
      "the stored hash is SHA-256 of the token, never the token")

# ---- memgrade serve option errors ---------------------------------------------
# --workers 0 (the API alone) is for a shared PostgreSQL only, where worker
# processes grade; on SQLite nothing would.
zero = [(["--workers", "0"], "zero workers on SQLite")] if not on_postgres() else []
for args, what in zero + [(["--port", "70000"], "port out of range"),
                   (["--workers", "257"], "too many workers"),
                   (["--bogus", "1"], "unknown option"), (["--max-file", "12Q"], "bad size"),
                   (["--port"], "missing value"),
                   (["--max-file", "2M", "--max-request", "1M"], "max-file above max-request")]:
    p = subprocess.run([MEMGRADE, "serve", "--db", dbarg(os.path.join(tmp, "x.db"))] + args,
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 2 and p.stderr.strip(), "serve %s: exit 2 with a message" % what)
p = subprocess.run([MEMGRADE, "serve", "--db", dbarg(os.path.join(tmp, "x.db")), "--assignments",
                    "/nonexistent"],
                   capture_output=True, text=True, timeout=30)
check(p.returncode == 1 and p.stderr.strip(), "serve with a missing assignments folder: exit 1")

# ---- rate limit -------------------------------------------------------------------
srv = Server(port=18084, args=["--rate-limit", "3", "--workers", "1"]).start()
alice = add_user(srv.db, "alice", "student")
bob = add_user(srv.db, "bob", "student")
prof = add_user(srv.db, "prof", "instructor")
KEYED = {"Content-Type": "application/json", "Idempotency-Key": "alice-first"}
BODY = {"assignment": "mystr", "files": {"mystr.c": MYSTR}}
st, _, first = srv.json("POST", "/api/v1/submissions", BODY, alice, KEYED)
sts = [st] + [srv.submit(alice, "mystr", {"mystr.c": MYSTR})[0] for _ in range(2)]
check(sts == [202, 202, 202], "three submissions within the limit")
st, hd, doc = srv.submit(alice, "mystr", {"mystr.c": MYSTR})
ra = hd.get("retry-after", "")
check(st == 429 and "error" in doc, "the fourth in a minute: 429")
check(ra.isdigit() and 1 <= int(ra) <= 60, "429 has Retry-After in seconds (%r)" % ra)
st, hd, doc = srv.submit(alice, "mystr", {"mystr.c": "x"})
check(st == 429, "still limited")
# A retry whose 202 was lost is no new submission: answered while limited.
st, hd, doc = srv.json("POST", "/api/v1/submissions", BODY, alice, KEYED)
check(st == 202 and doc.get("id") == first.get("id") and hd.get("idempotent-replayed") == "true",
      "an Idempotency-Key retry while rate-limited gets the same submission (%s %r)" % (st, doc))
st, hd, doc = srv.json("POST", "/api/v1/submissions",
                       {"assignment": "mystr", "files": {"mystr.c": MYSTR + "\n"}}, alice, KEYED)
check(st == 409, "the same key with other content is still a 409 while limited (%s)" % st)
st, _, _ = srv.submit(alice, "mystr", {"mystr.c": MYSTR})
check(st == 429, "and the replay used none of the allowance: still 429")
st, _, _ = srv.submit(bob, "mystr", {"mystr.c": MYSTR})
check(st == 202, "the limit is per student: bob may submit")
# A refused (invalid) request does not use up the allowance.
for _ in range(3):
    srv.submit(bob, "nosuch", {"mystr.c": MYSTR})
sts = [srv.submit(bob, "mystr", {"mystr.c": MYSTR})[0] for _ in range(2)]
check(sts == [202, 202], "invalid requests do not count against the limit")
sts = [srv.submit(prof, "mystr", {"mystr.c": MYSTR})[0] for _ in range(6)]
check(sts == [202] * 6, "instructors are exempt")
# Revocation reaches a running server (tokens not yet cached: at once).
erin = add_user(srv.db, "erin", "student")
subprocess.run([MEMGRADE, "user", "revoke", "erin", "--db", dbarg(srv.db)], check=True, capture_output=True)
st, _, _ = srv.json("GET", "/api/v1/me", token=erin)
check(st == 401, "a revoked token is refused by the running server")
srv.stop()

# ---- bounded queue -------------------------------------------------------------------
srv = Server(port=18085, args=["--queue-max", "3", "--workers", "1", "--rate-limit", "0"]).start()
prof = add_user(srv.db, "prof", "instructor")
KEYED = {"Content-Type": "application/json", "Idempotency-Key": "prof-first"}
BODY = {"assignment": "mystr", "files": {"mystr.c": MYSTR}}
results = [srv.json("POST", "/api/v1/submissions", BODY, prof, KEYED)]
results += [srv.submit(prof, "mystr", {"mystr.c": MYSTR}) for _ in range(7)]
codes = [r[0] for r in results]
st, hd, doc = srv.json("POST", "/api/v1/submissions", BODY, prof, KEYED)
check(503 in codes and st == 202 and doc.get("id") == results[0][2].get("id"),
      "an Idempotency-Key retry while the queue is full gets the same submission (%s %r)"
      % (st, doc))
check(codes.count(202) >= 3 and 503 in codes, "a full queue answers 503 (%s)" % codes)
full = [r for r in results if r[0] == 503]
check(full and all(r[1].get("retry-after", "").isdigit() and "error" in r[2] for r in full),
      "503 has Retry-After and an error")
ok = [r[2]["id"] for r in results if r[0] == 202]
check(all(srv.wait_graded(prof, i) for i in ok), "the accepted ones are graded")
st, _, _ = srv.submit(prof, "mystr", {"mystr.c": MYSTR})
check(st == 202, "once drained the queue accepts again")
srv.stop()

# ---- configurable size limits -----------------------------------------------------------
srv = Server(port=18086, args=["--max-file", "1K", "--max-request", "4K"]).start()
alice = add_user(srv.db, "alice", "student")
st, _, doc = srv.submit(alice, "mystr", {"mystr.c": "a" * 1025})
check(st == 413 and "1024" in doc["error"], "--max-file 1K: 1025 bytes refused")
st, _, doc = srv.submit(alice, "mystr", {"mystr.c": "a" * 1000})
check(st == 202, "--max-file 1K: 1000 bytes accepted")
st, _, doc = srv.json("POST", "/api/v1/submissions", b"{" + b" " * 5000 + b"}", alice,
                      {"Content-Type": "application/json"})
check(st == 413, "--max-request 4K: 5000-byte body refused")
srv.stop()
finish()
