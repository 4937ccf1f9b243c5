"""pg.harness: the PostgreSQL test harness itself (pgserver.py) and the
PostgreSQL side of mgtest (dbarg, query). It starts a real cluster as an
unprivileged user, is reached on 127.0.0.1 and on its Unix socket only, keeps
its data across restart(), and leaves nothing behind: after remove(), after
`run`, and when `run` is stopped by a signal."""
import os
import pwd
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import psycopg2  # noqa: E402
from mgtest import check, finish, wait_until  # noqa: E402
from pgserver import PgServer  # noqa: E402

PGSERVER = os.path.join(HERE, "pgserver.py")


def one(url, sql, params=None):
    con = psycopg2.connect(url, connect_timeout=10)
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone() if cur.description else None
    finally:
        con.close()


def postmaster_alive(datadir):
    try:
        with open(os.path.join(datadir, "postmaster.pid")) as f:
            pid = int(f.readline())
        os.kill(pid, 0)
        return True
    except (OSError, ValueError):
        return False


# ---- start, and who runs it ---------------------------------------------------------
t0 = time.time()
pg = PgServer().start()
check(True, "a cluster started in %.2f s on port %d in %s" % (time.time() - t0, pg.port, pg.dir))
st = os.stat(pg.dir)
want = pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid()
check(st.st_uid == want and st.st_uid != 0 and os.stat(pg.datadir).st_mode & 0o077 == 0,
      "the cluster's directory belongs to an unprivileged user (uid %d), its data is private"
      % st.st_uid)
with open(os.path.join(pg.datadir, "postmaster.pid")) as f:
    pm = int(f.readline())
check(os.stat("/proc/%d" % pm).st_uid == want, "the postmaster runs as uid %d" % want)

# ---- reachable over 127.0.0.1 and the socket, nowhere else, with a password ---------
row = one(pg.url(), "SELECT current_user, host(inet_server_addr()), current_setting('server_version_num')::int")
check(row[0] == "memgrade" and row[1] == "127.0.0.1" and row[2] >= 150000,
      "the memgrade role connects over 127.0.0.1 (PostgreSQL %d): %s" % (row[2], row))
row = one(pg.url(via_socket=True), "SELECT current_user, inet_server_addr()")
check(row == ("memgrade", None), "... and over the Unix socket in the cluster's directory: %s" % (row,))
check(os.path.exists(os.path.join(pg.dir, ".s.PGSQL.%d" % pg.port)), "the socket is in that directory")
row = one(pg.admin_url(), "SELECT current_setting('listen_addresses'),"
          " current_setting('unix_socket_directories'), current_setting('fsync'),"
          " (SELECT rolsuper FROM pg_roles WHERE rolname = 'memgrade')")
check(row == ("127.0.0.1", pg.dir, "off", False),
      "listens on 127.0.0.1 and its own socket only, fsync off, memgrade no superuser: %s" % (row,))
for url, what in [(pg.url(password="wrong"), "over 127.0.0.1"),
                  (pg.url(via_socket=True, password="wrong"), "over the socket")]:
    try:
        one(url, "SELECT 1")
        refused = ""
    except psycopg2.OperationalError as e:
        refused = str(e)
    check("password authentication failed" in refused, "a wrong password is refused %s" % what)

# ---- a database of its own, owned by memgrade ---------------------------------------
url = pg.create_database("t_one")
one(url, "CREATE TABLE kept(id integer PRIMARY KEY, v bytea)")
one(url, "INSERT INTO kept VALUES (1, %s)", (b"\x00\xffdata",))
row = one(pg.admin_url("t_one"), "SELECT pg_get_userbyid(datdba) FROM pg_database"
          " WHERE datname = current_database()")
check(row == ("memgrade",), "create_database: owned by memgrade, which creates tables in it")

# ---- restart: same cluster, same port, data kept, old sessions cut ------------------
held = psycopg2.connect(url)
port = pg.port
t0 = time.time()
pg.restart()
took = time.time() - t0
try:
    with held.cursor() as cur:
        cur.execute("SELECT 1")
    cut = False
except psycopg2.Error:
    cut = True
held.close()
check(cut, "restart cuts the sessions open before it")
row = one(url, "SELECT id, v FROM kept")
check(pg.port == port and row is not None and bytes(row[1]) == b"\x00\xffdata",
      "after restart (%.2f s) the same port answers with the data kept: %s" % (took, row and bytes(row[1])))

# ---- remove: stopped, directory gone -------------------------------------------------
d, datadir = pg.dir, pg.datadir
pg.remove()
check(not os.path.exists(d), "remove() deletes the cluster's directory")
try:
    one("postgres://memgrade:x@127.0.0.1:%d/memgrade" % port, "SELECT 1")
    gone = False
except psycopg2.OperationalError as e:
    gone = "refused" in str(e)
check(gone and not wait_until(lambda: postmaster_alive(datadir), 0.1),
      "... and nothing listens on its port any more")

# ---- the CLI: env for the command, its exit status, restart from inside --------------
inner = r"""
import os, sys
sys.path.insert(0, %r)
import psycopg2, subprocess
import mgtest
url = os.environ["MEMGRADE_TEST_DB"]
with open(os.path.join(os.environ["MEMGRADE_TEST_PG_DIR"], "marker"), "w") as f:
    f.write("x")
a, b = mgtest.dbarg("/tmp/one/memgrade.db"), mgtest.dbarg("/tmp/two/memgrade.db")
ok = (mgtest.on_postgres() and a != b and a == mgtest.dbarg("/tmp/one/memgrade.db") and
      a.startswith("postgres://memgrade:") and "@/mg_" in a and
      "?host=" + os.environ["MEMGRADE_TEST_PG_DIR"] + "&" in a and
      mgtest.dbarg("/tmp/one/memgrade.db", via_socket=True) == a)
mgtest.query("/tmp/one/memgrade.db", "CREATE TABLE t(id integer, name text, blob bytea)")
mgtest.query("/tmp/one/memgrade.db", "INSERT INTO t VALUES (?, ?, ?)", (1, "50%% off?", b"\x01\x02"))
mgtest.query_many("/tmp/one/memgrade.db", "INSERT INTO t VALUES (?, ?, ?)", [(n, "x", b"") for n in range(2, 2002)])
rows = mgtest.query("/tmp/one/memgrade.db", "SELECT id, name, blob FROM t WHERE id = ?", (1,))
n = mgtest.query("/tmp/one/memgrade.db", "SELECT COUNT(*) FROM t")[0][0]
other = mgtest.query("/tmp/two/memgrade.db", "SELECT COUNT(*) FROM pg_tables WHERE tablename = 't'")[0][0]
ok = ok and rows == [(1, "50%% off?", b"\x01\x02")] and n == 2001 and other == 0
print("inner:", ok, rows, n, other, flush=True)
mgtest.restart_postgres()
c = psycopg2.connect(mgtest.dbarg("/tmp/one/memgrade.db"))
with c.cursor() as cur:
    cur.execute("SELECT COUNT(*) FROM t")
    ok = ok and cur.fetchone()[0] == 2001
c.close()
print("after restart:", ok, flush=True)
sys.exit(7 if ok else 1)
""" % os.path.join(HERE, "..", "server")
env = {k: v for k, v in os.environ.items() if not k.startswith("MEMGRADE_TEST_")}
p = subprocess.run([sys.executable, PGSERVER, "run", "--socket", "--", sys.executable, "-c", inner],
                   capture_output=True, text=True, timeout=180, env=env)
print(p.stdout + p.stderr, end="")
check(p.returncode == 7 and "inner: True" in p.stdout and "after restart: True" in p.stdout,
      "run --socket: the command gets its cluster over the socket, dbarg gives each test "
      "database its own PostgreSQL database, query reads and writes it, restart from inside "
      "keeps the data; exit status passed on (%d)" % p.returncode)
dirs = [l.split(" and ")[1].split(" in ")[0] for l in p.stdout.splitlines() if l.startswith("pgserver: PostgreSQL on")]
check(len(dirs) == 1 and not os.path.exists(dirs[0]), "run removes the cluster afterwards: %s" % dirs)

# ---- run stopped by SIGTERM (ctest's timeout, ^C): the cluster still goes ----------
sleeper = ("import sys, time; sys.path.insert(0, %r); import mgtest; "
           "print(mgtest.dbarg('/tmp/x/memgrade.db', via_socket=True), flush=True); time.sleep(300)"
           % os.path.join(HERE, "..", "server"))
proc = subprocess.Popen([sys.executable, PGSERVER, "run", "--", sys.executable, "-c", sleeper],
                        env=env, stdout=subprocess.PIPE, text=True)
lines = [proc.stdout.readline(), proc.stdout.readline()]
d = [l.split(" and ")[1].split(" in ")[0] for l in lines if l.startswith("pgserver: PostgreSQL on")]
d = d[0] if d else ""
url = [l.strip() for l in lines if l.startswith("postgres://")]
up = bool(d) and os.path.exists(os.path.join(d, "data", "postmaster.pid"))
row = one(url[0], "SELECT current_database(), host(inet_server_addr())") if url else None
tcp = url and url[0].split("?")[0].replace("@/", "@127.0.0.1:%s/" % url[0].rsplit("port=", 1)[1])
row2 = one(tcp, "SELECT current_database(), host(inet_server_addr())") if url else None
check(up and row and row[0].startswith("mg_") and row[1] is None and
      row2 == (row[0], "127.0.0.1"),
      "run: dbarg(via_socket=True) reaches the test's database over the socket, the same "
      "database as over 127.0.0.1: %s %s" % (row, row2))
proc.terminate()
rc = proc.wait(60)
proc.stdout.close()
check(up and not os.path.exists(d) and rc == 128 + 15,
      "SIGTERM to run: the command and the cluster stop, the directory is removed (exit %d)" % rc)

# ---- a harness killed outright (SIGKILL: ctest's timeout) leaves its cluster; the
# next harness to start removes it, and the orphaned postmaster then stops itself
proc = subprocess.Popen([sys.executable, PGSERVER, "run", "--", "sh", "-c", "echo $$; exec sleep 300"],
                        env=env, stdout=subprocess.PIPE, text=True)
lines = [proc.stdout.readline(), proc.stdout.readline()]
d = [l.split(" and ")[1].split(" in ")[0] for l in lines if l.startswith("pgserver: PostgreSQL on")]
d = d[0] if d else ""
sleeper = [int(l) for l in lines if l.strip().isdigit()]
proc.kill()
proc.wait()
proc.stdout.close()
for pid in sleeper:  # run's command, which SIGKILL left behind
    os.kill(pid, 9)
left = bool(d) and os.path.isdir(d)
with PgServer() as pg2:
    swept = not os.path.exists(d)
    alive = one(pg2.url(), "SELECT 1") == (1,)
check(left and swept and alive, "a cluster whose harness was killed (%s) is removed when the next "
      "one starts, and that one works" % d)
finish()
