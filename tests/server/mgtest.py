"""Helpers for the server tests: start the real `memgrade serve`, create users
with the real `memgrade user add`, and talk HTTP to it with the standard
library only. Every test runs inside tests/server/netns_run.sh.

With MEMGRADE_TEST_DB set (a PostgreSQL URL: tests/pg/pgserver.py run sets it)
the same tests run against PostgreSQL: a test still names its database by a
SQLite path, and dbarg() turns that path into a PostgreSQL database of its own;
query() reads (and writes) either backend."""
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

MEMGRADE = os.environ.get("MEMGRADE", "memgrade")
SOURCE_DIR = os.environ.get("MEMGRADE_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ASSIGNMENTS = os.environ.get("MEMGRADE_ASSIGNMENTS", os.path.join(SOURCE_DIR, "assignments"))

# PostgreSQL for the whole suite when set (tests/pg/pgserver.py): the memgrade
# role's URL, and the superuser's that creates one database per test database.
TEST_DB = os.environ.get("MEMGRADE_TEST_DB") or None
TEST_DB_SOCKET = os.environ.get("MEMGRADE_TEST_DB_SOCKET") or TEST_DB  # the same over the socket
PG_ADMIN = os.environ.get("MEMGRADE_TEST_PG_ADMIN") or TEST_DB
_pg_names = {}  # absolute SQLite path -> its PostgreSQL database's name

failures = 0
workdirs = []  # removed by finish() when every check held; kept to debug otherwise


def check(cond, what):
    """Records one assertion; the test's exit status says whether all held."""
    global failures
    if cond:
        print("ok   " + what, flush=True)
    else:
        failures += 1
        print("FAIL " + what, flush=True)
    return cond


def tempdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    # The server's HTTP side runs as nobody (SPEC §9): what a test hands it
    # by path after start (a clock file, assignments it reloads) must be
    # reachable by that user, as on a real install.
    os.chmod(d, 0o755)
    workdirs.append(d)
    return d


def finish():
    print("%s: %d failure(s)" % (os.path.basename(sys.argv[0]), failures), flush=True)
    if failures:
        print("kept for debugging: " + " ".join(workdirs), flush=True)
    else:
        for d in workdirs:
            shutil.rmtree(d, ignore_errors=True)
    sys.exit(1 if failures else 0)


def reference(assignment, name=None):
    name = name or assignment + ".c"
    with open(os.path.join(ASSIGNMENTS, assignment, "reference", name)) as f:
        return f.read()


def on_postgres():
    return TEST_DB is not None


def dbarg(db, via_socket=False):
    """What `--db` gets for the test's database db, a SQLite path: the path, or
    under MEMGRADE_TEST_DB a PostgreSQL database of its own (named after the
    path, so every process of a test finds the same one), created on first use;
    via_socket: its URL over the Unix socket rather than 127.0.0.1 (as a
    worker on the database's own host would reach it)."""
    if not TEST_DB:
        return db
    key = os.path.abspath(db)
    name = _pg_names.get(key)
    if name is None:
        import psycopg2
        name = "mg_" + hashlib.sha1(key.encode()).hexdigest()[:24]
        con = psycopg2.connect(PG_ADMIN)
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cur.fetchone() is None:
                    role = urllib.parse.urlsplit(TEST_DB).username
                    cur.execute('CREATE DATABASE "%s" OWNER "%s"' % (name, role))
        finally:
            con.close()
        _pg_names[key] = name
    u = urllib.parse.urlsplit(TEST_DB_SOCKET if via_socket else TEST_DB)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))


def query(db, sql, params=()):
    """Runs one statement on the test's database db (a SQLite path, see dbarg)
    on whichever backend the suite runs against, committed; returns its rows as
    a list of tuples (blobs as bytes), [] when it has none. sql uses ?
    placeholders and SQL both backends understand."""
    if not TEST_DB:
        con = sqlite3.connect(db, timeout=30)
        try:
            with con:
                return con.execute(sql, params).fetchall()
        finally:
            con.close()
    return _pg_run(db, sql, [params], many=False)


def query_many(db, sql, rows):
    """One statement run for each parameter tuple of rows, in one transaction."""
    if not TEST_DB:
        con = sqlite3.connect(db, timeout=30)
        try:
            with con:
                con.executemany(sql, rows)
        finally:
            con.close()
        return
    _pg_run(db, sql, rows, many=True)


def restart_postgres():
    """Stops and starts the PostgreSQL the suite runs on (the cluster of the
    surrounding `tests/pg/pgserver.py run`), same port and data: every client
    loses its connections and has to reconnect."""
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "pg"))
    import pgserver
    pgserver.PgServer.from_env().restart()


def ids_inserted(db, *tables):
    """After a test inserted rows with ids of its own into tables: on
    PostgreSQL an identity column does not move past them by itself (SQLite's
    rowid does), so the next id the server takes would collide."""
    if TEST_DB:
        for t in tables:
            query(db, "SELECT setval(pg_get_serial_sequence('%s', 'id'), MAX(id)) FROM %s" % (t, t))


def _pg_run(db, sql, rows, many):
    import psycopg2
    import psycopg2.extras
    rows = [tuple(r) for r in rows]
    if any(rows):  # psycopg2's placeholders are %s, and a literal % is %%
        sql = sql.replace("%", "%%").replace("?", "%s")
    con = psycopg2.connect(dbarg(db))
    try:
        with con, con.cursor() as cur:
            if many:
                psycopg2.extras.execute_batch(cur, sql, rows, page_size=1000)
                return None
            cur.execute(sql, rows[0] or None)
            if cur.description is None:
                return []
            return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                    for r in cur.fetchall()]
    finally:
        con.close()


def add_user(db, name, role):
    out = subprocess.run([MEMGRADE, "user", "add", name, "--role", role, "--db", dbarg(db)],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


class Server:
    """One `memgrade serve` process on 127.0.0.1."""

    def __init__(self, db=None, port=18080, args=(), workdir=None, wrap=(), via_socket=False):
        self.wrap = list(wrap)  # a command that runs serve (unshare ...)
        self.via_socket = via_socket  # on PostgreSQL: reach it over its Unix socket
        self.workdir = workdir or tempdir("mgsrv.")
        self.db = db or os.path.join(self.workdir, "memgrade.db")
        self.port = port
        self.args = list(args)
        self.proc = None
        self.access_log = os.path.join(self.workdir, "access.log")
        self.errlog = os.path.join(self.workdir, "serve.err")

    def start(self, wait=True):
        cmd = self.wrap + [MEMGRADE, "serve", "--db", dbarg(self.db, self.via_socket),
                           "--port", str(self.port), "--assignments", ASSIGNMENTS,
                           "--access-log", self.access_log] + self.args
        self.err = open(self.errlog, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.err, stderr=self.err)
        if wait:
            deadline = time.time() + 20
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("server exited: " + self.log())
                try:
                    if self.request("GET", "/healthz")[0] == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            raise RuntimeError("server did not come up: " + self.log())
        return self

    def log(self):
        with open(self.errlog, errors="replace") as f:
            return f.read()

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)

    def wait(self, timeout=60):
        rc = self.proc.wait(timeout)
        self.err.close()
        return rc

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.err.close()

    def request(self, method, path, body=None, token=None, headers=None, timeout=30):
        """(status, headers dict lower-cased, body bytes)."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def json(self, method, path, body=None, token=None, headers=None):
        st, hd, data = self.request(method, path, body, token, headers)
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = None
        return st, hd, doc

    def submit(self, token, assignment, files):
        return self.json("POST", "/api/v1/submissions",
                         {"assignment": assignment, "files": files}, token)

    def wait_graded(self, token, sid, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, _, doc = self.json("GET", "/api/v1/submissions/%d" % sid, token=token)
            if st == 200 and doc.get("status") == "graded":
                return doc
            time.sleep(0.1)
        return None


def wait_until(pred, timeout=30, step=0.05):
    """Polls pred until it returns something true or timeout seconds pass;
    returns its last value. For what the server does after it answered
    (access log lines, signal handling): a loaded machine may take a while,
    an absent effect still fails."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() >= deadline:
            return v
        time.sleep(step)


def raw_request(port, data, timeout=5):
    """Sends raw bytes and returns whatever comes back (b'' on reset)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    finally:
        s.close()
    return out
