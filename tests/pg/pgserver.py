#!/usr/bin/env python3
"""A real PostgreSQL for the tests (issue 13): a throw-away cluster in a fresh
temporary directory, run by an unprivileged user (initdb refuses root, and CI
runs as root), reachable on 127.0.0.1 and on a Unix socket in that directory
only, removed afterwards even when the test fails.

    with PgServer() as pg:                 # in a test
        url = pg.url()                     # postgres://memgrade:PW@127.0.0.1:PORT/memgrade
        pg.create_database("t1")           # owned by the memgrade role
        pg.restart()                       # same cluster, same data

    pgserver.py run -- CMD [ARG]...        # from ctest: PG around one command
    pgserver.py run --socket -- CMD ...    # the same, MEMGRADE_TEST_DB over the socket
    pgserver.py restart                    # inside CMD: restart that cluster

`run` exports MEMGRADE_TEST_DB (the memgrade role's URL over 127.0.0.1, or
with --socket over the Unix socket),
MEMGRADE_TEST_DB_SOCKET (the same over the Unix socket), MEMGRADE_TEST_PG_ADMIN
(the superuser's URL over the socket, for CREATE DATABASE) and
MEMGRADE_TEST_PG_DIR (the cluster's directory, for `restart`), runs CMD,
stops the cluster and exits with CMD's status."""
import atexit
import fcntl
import glob
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROLE = "memgrade"       # the role memgrade connects as: owns its databases, nothing more
ADMIN = "postgres"      # the cluster's superuser: creates roles and databases
RUN_AS = "nobody"       # when the harness runs as root
STATE = "harness.json"  # in the cluster's directory: what `restart` and from_env() need
LOCK = "harness.lock"   # held by the process that started the cluster, for its life

# Throw-away data: durability traded for speed (a cluster lives one ctest
# entry); listening only where the tests are allowed to reach.
CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{dir}'
unix_socket_permissions = 0777
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 32MB
max_wal_size = 1GB
log_min_messages = warning
log_connections = off
"""


def bindir():
    """The newest installed server's bin folder (Debian: /usr/lib/postgresql/N/bin)."""
    env = os.environ.get("MEMGRADE_PG_BINDIR")
    if env:
        return env
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        raise RuntimeError("no PostgreSQL server under /usr/lib/postgresql/*/bin: "
                           "deploy/install-deps.sh --test installs it")
    found.sort(key=lambda p: [int(x) for x in re.findall(r"\d+", p)])
    return os.path.dirname(found[-1])


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _owner():
    """(uid, gid) the cluster runs as: ourselves, or `nobody` when we are root."""
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    try:
        pw = pwd.getpwnam(RUN_AS)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        RUN_AS], check=True)
        pw = pwd.getpwnam(RUN_AS)
    return pw.pw_uid, pw.pw_gid


class PgServer:
    """One PostgreSQL cluster in its own temporary directory."""

    def __init__(self, port=None):
        self.port = port
        self.dir = None
        self.owned = True      # False when attached by from_env(): someone else removes it
        self.running = False
        self._lockfd = None
        self.password = secrets.token_hex(16)
        self.admin_password = secrets.token_hex(16)
        self.uid, self.gid = _owner()
        self.bin = bindir()

    # ---- life cycle --------------------------------------------------------------------
    def start(self):
        """initdb (first time) and start; returns self once it accepts connections."""
        fresh = self.dir is None
        if fresh:
            sweep()
            self.dir = tempfile.mkdtemp(prefix="mgpg.")
            _cleanups.append(self)
            self._lock()
            os.chmod(self.dir, 0o755)  # the socket is reached by any local user
            os.chown(self.dir, self.uid, self.gid)
            self._initdb()
        for attempt in range(3):
            if fresh and attempt:  # the port was taken between free_port() and bind
                self.port = None
            if self.port is None:
                self.port = free_port()
                self._configure()
            p = self._pg_ctl("start", "-w", "-t", "60", "-l", self.logfile)
            if p.returncode == 0:
                break
            if not fresh or "could not bind" not in self.log():
                raise RuntimeError("pg_ctl start failed (%d): %s%s\n%s" %
                                   (p.returncode, p.stdout, p.stderr, self.log()[-3000:]))
        else:
            raise RuntimeError("no free port for PostgreSQL: " + self.log()[-2000:])
        self.running = True
        if fresh:
            self._setup()
        self._save()
        return self

    def stop(self):
        """Stops the cluster (fast shutdown: sessions are cut, data kept)."""
        if self.dir and os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
            p = self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")
            if p.returncode != 0:
                self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "30")
        self.running = False

    def restart(self):
        """Stops and starts the same cluster on the same port: clients lose their
        connections and must reconnect; the data stays."""
        self.stop()
        return self.start()

    def remove(self):
        """Stops the cluster and deletes its directory."""
        if self.dir is None:
            return
        self.stop()
        if self.owned:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self._lockfd is not None:
            os.close(self._lockfd)
            self._lockfd = None
        if self in _cleanups:
            _cleanups.remove(self)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.remove()

    # ---- addresses ---------------------------------------------------------------------
    @property
    def datadir(self):
        return os.path.join(self.dir, "data")

    @property
    def logfile(self):
        return os.path.join(self.dir, "postgres.log")

    def url(self, dbname=ROLE, via_socket=False, user=ROLE, password=None):
        """A libpq URL for dbname: over 127.0.0.1, or over the Unix socket."""
        pw = password or (self.admin_password if user == ADMIN else self.password)
        if via_socket:
            return "postgres://%s:%s@/%s?host=%s&port=%d" % (
                user, pw, dbname, urllib.parse.quote(self.dir, safe="/"), self.port)
        return "postgres://%s:%s@127.0.0.1:%d/%s" % (user, pw, self.port, dbname)

    def admin_url(self, dbname="postgres"):
        return self.url(dbname, via_socket=True, user=ADMIN)

    def env(self, via_socket=False):
        """What `run` exports to its command."""
        return {"MEMGRADE_TEST_DB": self.url(via_socket=via_socket),
                "MEMGRADE_TEST_DB_SOCKET": self.url(via_socket=True),
                "MEMGRADE_TEST_PG_ADMIN": self.admin_url(),
                "MEMGRADE_TEST_PG_DIR": self.dir}

    def create_database(self, name):
        """A fresh database owned by the memgrade role; returns its URL over 127.0.0.1."""
        import psycopg2
        con = psycopg2.connect(self.admin_url())
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute('CREATE DATABASE "%s" OWNER %s' % (name, ROLE))
        finally:
            con.close()
        return self.url(name)

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    @classmethod
    def from_env(cls):
        """The cluster a surrounding `pgserver.py run` started (restart() works;
        remove() leaves the directory to its owner)."""
        d = os.environ.get("MEMGRADE_TEST_PG_DIR")
        if not d:
            raise RuntimeError("MEMGRADE_TEST_PG_DIR is not set: run under pgserver.py run")
        with open(os.path.join(d, STATE)) as f:
            st = json.load(f)
        pg = cls(port=st["port"])
        pg.dir, pg.owned, pg.running = d, False, True
        pg.password, pg.admin_password = st["password"], st["admin_password"]
        pg.uid, pg.gid = st["uid"], st["gid"]
        return pg

    # ---- internals ---------------------------------------------------------------------
    def _as_owner(self, cmd, **kw):
        env = {"PATH": "/usr/bin:/bin", "LANG": "C", "LC_ALL": "C", "HOME": self.dir,
               "PGDATA": self.datadir}
        if os.geteuid() == 0:
            kw.update(user=self.uid, group=self.gid, extra_groups=[])
        return subprocess.run(cmd, env=env, cwd=self.dir, capture_output=True, text=True,
                              timeout=120, **kw)

    def _lock(self):
        # Taken under another name and renamed: sweep() never sees the lock
        # file before it is held.
        tmp = os.path.join(self.dir, LOCK + ".new")
        self._lockfd = os.open(tmp, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lockfd, fcntl.LOCK_EX)
        os.rename(tmp, os.path.join(self.dir, LOCK))

    def _pg_ctl(self, *args):
        return self._as_owner([os.path.join(self.bin, "pg_ctl"), "-D", self.datadir] + list(args))

    def _initdb(self):
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(self.admin_password + "\n")
        os.chown(pwfile, self.uid, self.gid)
        try:
            # Password (SCRAM) authentication on the socket and on 127.0.0.1
            # alike, as a real deployment would have it.
            p = self._as_owner([os.path.join(self.bin, "initdb"), "-D", self.datadir, "-U", ADMIN,
                                "--pwfile", pwfile, "--auth", "scram-sha-256", "-E", "UTF8",
                                "--locale", "C", "--no-sync", "--no-instructions"])
        finally:
            os.unlink(pwfile)
        if p.returncode != 0:
            raise RuntimeError("initdb failed (%d): %s%s" % (p.returncode, p.stdout, p.stderr))

    def _configure(self):
        """Our settings, appended (the last occurrence of a setting wins)."""
        conf = os.path.join(self.datadir, "postgresql.conf")
        with open(conf) as f:
            text = f.read().split("\n# memgrade test harness\n")[0]
        with open(conf, "w") as f:
            f.write(text + "\n# memgrade test harness\n" + CONF.format(port=self.port, dir=self.dir))

    def _setup(self):
        import psycopg2
        con = psycopg2.connect(self.admin_url())
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute("CREATE ROLE %s LOGIN PASSWORD %%s" % ROLE, (self.password,))
                cur.execute("CREATE DATABASE %s OWNER %s" % (ROLE, ROLE))
        finally:
            con.close()

    def _save(self):
        path = os.path.join(self.dir, STATE)
        with open(path, "w") as f:
            json.dump({"port": self.port, "password": self.password,
                       "admin_password": self.admin_password, "uid": self.uid,
                       "gid": self.gid}, f)
        os.chmod(path, 0o600)  # root's: the passwords stay away from the cluster's user


def sweep():
    """Removes the directories of clusters whose harness was killed outright
    (ctest's timeout sends SIGKILL): their lock is free. A postmaster left
    running shuts itself down once its lock file is gone."""
    for d in glob.glob(os.path.join(tempfile.gettempdir(), "mgpg.*")):
        try:
            fd = os.open(os.path.join(d, LOCK), os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            continue  # not one of ours, or just being made
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # its harness is alive
        finally:
            os.close(fd)
        print("pgserver: removing %s, left by a harness that was killed" % d, file=sys.stderr)
        shutil.rmtree(d, ignore_errors=True)


# Clusters still to remove when the process ends, by atexit or by a signal.
_cleanups = []


def _cleanup_all():
    for pg in list(_cleanups):
        try:
            pg.remove()
        except Exception as e:  # keep removing the others
            print("pgserver: cleanup of %s: %s" % (pg.dir, e), file=sys.stderr)


_child = []  # the command `run` runs, once started: a signal goes to it first


def _on_signal(signum, _frame):
    if _child and _child[0].poll() is None:
        _child[0].send_signal(signum)  # _run waits for it, then removes the cluster
        return
    _cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


atexit.register(_cleanup_all)


def install_signal_handlers():
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _on_signal)


def _run(cmd, via_socket):
    install_signal_handlers()
    t0 = time.time()
    pg = PgServer().start()
    env = dict(os.environ)
    env.update(pg.env(via_socket))
    _child.append(subprocess.Popen(cmd, env=env))
    print("pgserver: PostgreSQL on 127.0.0.1:%d and %s in %.2f s" %
          (pg.port, pg.dir, time.time() - t0), flush=True)
    rc = _child[0].wait()
    if rc != 0:
        tail = pg.log()[-4000:]
        if tail.strip():
            print("pgserver: PostgreSQL's log (end):\n" + tail, flush=True)
    pg.remove()
    return rc if rc >= 0 else 128 - rc


def main(argv):
    if argv[:1] == ["run"] and "--" in argv and argv.index("--") < len(argv) - 1:
        opts, cmd = argv[1:argv.index("--")], argv[argv.index("--") + 1:]
        if opts in ([], ["--socket"]):
            return _run(cmd, opts == ["--socket"])
    if argv == ["restart"]:
        PgServer.from_env().restart()
        return 0
    print("usage: pgserver.py run [--socket] -- CMD [ARG]...  |  pgserver.py restart",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
