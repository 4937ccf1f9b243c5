#!/usr/bin/env python3
"""Privilege separation (SPEC §9): the process that parses HTTP runs as an
unprivileged user with no capabilities, read from /proc; the grader, a
process of its own, keeps root with only what the sandbox needs; grading,
uploads and log rotation still work through it; a grader that dies stops
the service and nothing accepted is lost."""
import os
import signal
import subprocess
import time

from mgtest import MEMGRADE, Server, add_user, check, finish, reference, tempdir, wait_until

# Capability numbers (linux/capability.h).
CAP = {"chown": 0, "dac_override": 1, "kill": 5, "setgid": 6, "setuid": 7, "setpcap": 8,
       "net_bind_service": 10, "net_admin": 12, "net_raw": 13, "sys_module": 16,
       "sys_rawio": 17, "sys_chroot": 18, "sys_ptrace": 19, "sys_admin": 21, "sys_boot": 22,
       "sys_time": 25, "mknod": 27, "audit_write": 29, "bpf": 39}


def status(pid, task=None):
    path = "/proc/%d/task/%d/status" % (pid, task) if task else "/proc/%d/status" % pid
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def children(pid):
    kids = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
            kids += [int(x) for x in f.read().split()]
    return kids


srv = Server(port=18091, args=["--workers", "2"]).start()
alice = add_user(srv.db, "alice", "student")
pid = srv.proc.pid

# ---- the HTTP process ------------------------------------------------------------
st = status(pid)
uids = [int(x) for x in st["Uid"].split()]
gids = [int(x) for x in st["Gid"].split()]
check(all(u != 0 for u in uids), "HTTP process: real, effective, saved and fs uid non-zero %r" % uids)
check(all(g != 0 for g in gids), "HTTP process: no gid 0 %r" % gids)
check(st["Groups"].split() == [str(gids[0])], "HTTP process: no supplementary groups but its own %r" %
      st["Groups"])
for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
    check(int(st[k], 16) == 0, "HTTP process: %s is empty (%s)" % (k, st[k]))
check(st.get("NoNewPrivs") == "1", "HTTP process: no_new_privs set")
tasks = [int(t) for t in os.listdir("/proc/%d/task" % pid)]
check(len(tasks) > 2, "the HTTP process has its threads (%d)" % len(tasks))
bad = [t for t in tasks if int(status(pid, t)["CapEff"], 16) or int(status(pid, t)["CapPrm"], 16)
       or int(status(pid, t)["CapBnd"], 16) or status(pid, t)["Uid"].split()[0] == "0"]
check(not bad, "every thread of it is unprivileged (%r)" % bad)
check("HTTP process runs as uid %d with no capabilities" % uids[0] in srv.log(), "said at start")

# ---- the grader ------------------------------------------------------------------------
kids = children(pid)
graders = [k for k in kids if open("/proc/%d/comm" % k).read().strip() == "memgrade-grader"]
check(len(graders) == 1, "one grader process, a child of the HTTP process (%r)" % kids)
gpid = graders[0]
g = status(gpid)
check(g["Uid"].split()[0] == "0", "the grader keeps root")
bnd, eff = int(g["CapBnd"], 16), int(g["CapEff"], 16)
for name in ("sys_admin", "setuid", "setgid"):
    check(eff & (1 << CAP[name]), "the grader has CAP_%s" % name.upper())
for name in ("sys_module", "sys_rawio", "net_raw", "sys_boot", "sys_time", "net_bind_service",
             "mknod", "bpf", "audit_write"):
    check(not (bnd & (1 << CAP[name])), "the grader's bounding set lacks CAP_%s" % name.upper())

# Grading goes through it: the reference gets full marks.
s, _, doc = srv.submit(alice, "mystr", {"mystr.c": reference("mystr")})
check(s == 202, "submission accepted")
doc = srv.wait_graded(alice, doc["id"]) or {"status": "not graded", "result": {}}
check(doc["status"] == "graded" and doc["result"]["score"] == doc["result"]["max_score"],
      "graded through the grader: %s/%s" % (doc["result"].get("score"), doc["result"].get("max_score")))
import re
check(re.fullmatch(r"[0-9a-f]{64}", str(doc.get("assignment_version"))),
      "the grader names the assignment version it graded against: %r" % doc.get("assignment_version"))

# The access log is reopened through the grader after logrotate moves it.
os.rename(srv.access_log, srv.access_log + ".1")
srv.kill(signal.SIGHUP)
check(wait_until(lambda: "reopened " + srv.access_log in srv.log(), 10), "access log reopened")
srv.json("GET", "/api/v1/assignments", token=alice)
check(wait_until(lambda: os.path.exists(srv.access_log) and
                 '"GET /api/v1/assignments" 200' in open(srv.access_log).read(), 10),
      "new lines go to the new file, which the grader created for the HTTP side")
check(os.stat(srv.access_log).st_uid == 0, "the new file is root's, as the old one")

# ---- the grader dies: the service stops, nothing accepted is lost -------------------
os.kill(gpid, signal.SIGKILL)
try:
    rc = srv.proc.wait(30)
except subprocess.TimeoutExpired:
    rc = None
check(rc == 1, "the HTTP process stops (exit 1) when the grader dies: %r" % rc)
check("the grader process died" in srv.log(), "and says why")
srv.start()
s, _, doc = srv.submit(alice, "mystr", {"mystr.c": reference("mystr")})
doc2 = srv.wait_graded(alice, doc["id"]) or {}
check(doc2.get("status") == "graded", "after a restart grading works again")
srv.kill(signal.SIGTERM)
srv.proc.wait(60)

# ---- serve as pid 1 (a container without an init) ------------------------------------
# The grader must not take "my parent is pid 1" for "my parent is gone".
one = Server(port=18093, args=["--workers", "1"],
             wrap=["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]).start()
bob = add_user(one.db, "bob", "student")
s, _, doc = one.submit(bob, "mystr", {"mystr.c": reference("mystr")})
doc2 = one.wait_graded(bob, doc["id"]) or {}
check(doc2.get("status") == "graded", "serve as pid 1 of its namespace grades: %r" %
      doc2.get("status"))
one.kill(signal.SIGKILL)
one.proc.wait(30)

# ---- --user ------------------------------------------------------------------------------
tmp = tempdir("mgpriv.")
for user, what in (("root", "may not run as root"), ("no-such-user-here", "no such user")):
    p = subprocess.run([MEMGRADE, "serve", "--db", os.path.join(tmp, "u.db"), "--port", "18092",
                        "--user", user], capture_output=True, text=True, timeout=60)
    check(p.returncode != 0 and what in p.stderr, "--user %s refused: %r" % (user, p.stderr[-200:]))
finish()
