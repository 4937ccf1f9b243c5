"""PostgreSQL out of reach (issue 13): a wrong URL or a refused connection is a
one-line CLI message; a server that goes away and comes back costs the API
nothing but 503s while it is gone, never a crash; a restart in the middle is
not even seen (the driver reconnects and runs the statement again). Runs
under `pgserver.py run` (MEMGRADE_TEST_DB)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mgtest import (MEMGRADE, Server, add_user, check, dbarg, finish, on_postgres,  # noqa: E402
                    reference, restart_postgres, wait_until)
import pgserver  # noqa: E402

if not on_postgres():
    print("test_db_errors.py: needs MEMGRADE_TEST_DB (run it under tests/pg/pgserver.py run)")
    sys.exit(1)


def cli(*args):
    return subprocess.run([MEMGRADE] + list(args), capture_output=True, text=True, timeout=60)


# ---- the CLI: bad URLs are a message, not a crash ---------------------------------
closed = pgserver.free_port()
for url, words in [
        ("postgres://memgrade@127.0.0.1:%d/memgrade" % closed, "refused"),
        ("postgresql://memgrade@127.0.0.1:%d/memgrade" % closed, "refused"),
        ("postgres://%%zz", "PostgreSQL"),
        ("postgres://memgrade:wrong@127.0.0.1:%d/memgrade" % pgserver.PgServer.from_env().port,
         "password"),
]:
    p = cli("user", "list", "--db", url)
    err = p.stderr.strip()
    check(p.returncode == 1 and err.count("\n") == 0 and words in err,
          "%s: exit 1 with one line naming the cause: %r %r" % (url, p.returncode, err))
    check("wrong" not in err, "the password is not repeated: %r" % err)

# ---- the API: restarts and outages -------------------------------------------------
srv = Server(port=18095)
srv.start()
alice = add_user(srv.db, "alice", "student")
MYSTR = reference("mystr")
check("***" in srv.log() and pgserver.PgServer.from_env().password not in srv.log(),
      "the start line shows the URL without its password")

st, _, doc = srv.submit(alice, "mystr", {"mystr.c": MYSTR})
check(st == 202, "a submission on PostgreSQL is accepted: %r" % (doc,))
sid = doc["id"]
check(srv.wait_graded(alice, sid) is not None, "and graded")

# Restarted between two requests: every pooled connection is dead, and the
# next statement on each reconnects and runs again.
restart_postgres()
st, _, doc = srv.json("GET", "/api/v1/submissions/%d" % sid, token=alice)
check(st == 200 and doc["status"] == "graded",
      "after a PostgreSQL restart the next request is served: %r %r" % (st, doc))
st, _, doc = srv.submit(alice, "mystr", {"mystr.c": MYSTR})
check(st == 202, "and a submission is accepted: %r %r" % (st, doc))
check(st == 202 and srv.wait_graded(alice, doc["id"]) is not None,
      "and graded: the workers reconnected too")

# Gone for a while: 503 with a JSON error, the process stays up.
pg = pgserver.PgServer.from_env()
pg.stop()
# (a submission already read may still be served from the API's cache)
st, _, doc = srv.json("GET", "/api/v1/submissions?limit=7", token=alice)
check(st == 503 and isinstance(doc, dict) and "database" in doc.get("error", ""),
      "PostgreSQL down: a listing is 503 with a JSON error: %r %r" % (st, doc))
st, _, doc = srv.submit(alice, "mystr", {"mystr.c": MYSTR})
check(st == 503 and isinstance(doc, dict) and doc.get("error"),
      "and a submission is 503, nothing queued: %r %r" % (st, doc))
st, _, doc = srv.json("GET", "/healthz")
check(st == 503 and doc["database"] is False, "healthz says the database is down: %r" % (doc,))
check(srv.proc.poll() is None, "the server is still running")
p = cli("user", "list", "--db", dbarg(srv.db))
check(p.returncode == 1 and p.stderr.strip().count("\n") == 0 and "PostgreSQL" in p.stderr,
      "the CLI says so in one line: %r" % p.stderr)

pg.start()
check(wait_until(lambda: srv.json("GET", "/api/v1/submissions/%d" % sid, token=alice)[0] == 200,
                 timeout=30),
      "PostgreSQL back: the API serves again")
st, _, doc = srv.submit(alice, "mystr", {"mystr.c": MYSTR})
check(st == 202 and srv.wait_graded(alice, doc["id"]) is not None,
      "and grades again: %r %r" % (st, doc))
check("Segmentation" not in srv.log() and "AddressSanitizer" not in srv.log(),
      "no crash in the server's log")

srv.stop()
finish()
