"""A full disk refuses submissions cleanly and loses nothing: the database
lives on a small private tmpfs (this test runs in its own mount namespace);
once the disk is full a submission gets a 503 with Retry-After and nothing
half-stored, reads keep working, and after space is freed submitting and
grading resume, with every accepted submission graded exactly once."""
import os
import sqlite3
import subprocess
import time

from mgtest import Server, add_user, check, finish, reference, tempdir

MYSTR = reference("mystr")
disk = tempdir("mgdisk.")
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", disk], check=True)
srv = Server(port=18088, db=os.path.join(disk, "memgrade.db"), args=["--workers", "1"]).start()
alice = add_user(srv.db, "alice", "student")

st, _, doc = srv.submit(alice, "mystr", {"mystr.c": MYSTR})
check(st == 202 and srv.wait_graded(alice, doc["id"]) is not None, "a submission before the disk fills is graded")

filler = os.path.join(disk, "filler")
with open(filler, "wb") as f:
    try:
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    except OSError:
        pass
refused = []
for _ in range(3):
    st, hd, doc = srv.submit(alice, "mystr", {"mystr.c": MYSTR + "\n" * 50000})
    refused.append((st, hd.get("retry-after"), doc and doc.get("error")))
check(all(st == 503 and ra and err for st, ra, err in refused),
      "on a full disk submissions get 503, Retry-After and an error (%s)" % refused)
st, _, doc = srv.json("GET", "/api/v1/submissions", token=alice)
check(st == 200 and len(doc["submissions"]) == 1, "reads keep working; nothing was half-stored")
check(srv.proc.poll() is None, "the server is still up")

os.unlink(filler)
st, _, doc = srv.submit(alice, "mystr", {"mystr.c": MYSTR})
check(st == 202, "after space is freed, submitting works again")
check(st == 202 and srv.wait_graded(alice, doc["id"]) is not None, "and grading too")
srv.stop()
c = sqlite3.connect(srv.db)
orphans = c.execute("SELECT COUNT(*) FROM submissions s LEFT JOIN jobs j ON j.submission_id = s.id"
                    " WHERE j.id IS NULL").fetchone()[0]
ok = c.execute("PRAGMA integrity_check").fetchone()[0]
subs = c.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
results = c.execute("SELECT COUNT(*) FROM results").fetchone()[0]
c.close()
check(orphans == 0 and ok == "ok", "the database is consistent (integrity %s, %d submissions without a job)" % (ok, orphans))
check(subs == 2 and results == 2, "exactly the accepted submissions, each graded once (%d, %d)" % (subs, results))
subprocess.run(["umount", disk])
finish()
