"""Helpers for the page tests: the server helpers of tests/server/mgtest.py
plus a small cookie-keeping HTTP client that logs in as a browser does
(GET /login for its token, POST the form). Every test runs inside
tests/server/netns_run.sh: the server listens on 127.0.0.1 in a network of
its own."""
import http.client
import os
import re
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "server"))
from mgtest import (ASSIGNMENTS, MEMGRADE, SOURCE_DIR, Server, add_user, check,  # noqa: F401,E402
                    dbarg, finish, query, tempdir, wait_until)

PASSWORD = "correct horse battery"


def set_password(db, name, password=PASSWORD):
    subprocess.run([MEMGRADE, "user", "passwd", name, "--db", dbarg(db)], input=password + "\n",
                   check=True, capture_output=True, text=True)


def add_student(db, name, password=PASSWORD):
    add_user(db, name, "student")
    set_password(db, name, password)


def variant(assignment, name):
    with open(os.path.join(ASSIGNMENTS, assignment, "variants", name)) as f:
        return f.read()


def first_link(srv):
    """The one-time login link serve printed at its first start, or None."""
    m = wait_until(lambda: re.search(r"http://[^\s]+(/login/once/[0-9a-f]{64})", srv.log()), 10)
    return m.group(1) if m else None


class Client:
    """One browser-like client: keeps the cookies the server sets."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}

    def cookie_header(self):
        return "; ".join("%s=%s" % kv for kv in self.cookies.items() if kv[1])

    def request(self, method, path, body=None, headers=None, timeout=30):
        """(status, headers dict lower-cased (set-cookie: list), body text)."""
        h = dict(headers or {})
        if self.cookies and "Cookie" not in h:
            h["Cookie"] = self.cookie_header()
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            hd = {}
            for k, v in r.getheaders():
                k = k.lower()
                if k == "set-cookie":
                    hd.setdefault(k, []).append(v)
                    name, _, rest = v.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
                else:
                    hd[k] = v
            return r.status, hd, data.decode("utf-8", "replace")
        finally:
            c.close()

    def form(self, path, fields, headers=None):
        body = urllib.parse.urlencode(fields).encode()
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.request("POST", path, body, h)

    def login(self, name, password=PASSWORD, headers=None):
        st, _, page = self.request("GET", "/login")
        token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
        return self.form("/login", {"username": name, "password": password,
                                    "csrf": token.group(1) if token else "", "next": "/"},
                         headers)

    def csrf(self, path="/"):
        """The session's CSRF token, read off a page."""
        _, _, page = self.request("GET", path)
        m = re.search(r'name="csrf-token" content="([0-9a-f]{64})"', page)
        return m.group(1) if m else ""


def multipart(fields, files):
    """A multipart/form-data body: fields [(name, value)], files [(field,
    filename, bytes)]. (body, content type)."""
    boundary = "----memgradetest7MA4YWxkTrZu0gW"
    out = b""
    for name, value in fields:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" %
                (boundary, name)).encode() + value.encode() + b"\r\n"
    for field, filename, data in files:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                "Content-Type: text/x-c\r\n\r\n" % (boundary, field, filename)).encode()
        out += data + b"\r\n"
    out += ("--%s--\r\n" % boundary).encode()
    return out, "multipart/form-data; boundary=" + boundary


def stored_password(db, name):
    return query(db, "SELECT password FROM users WHERE name = ?", (name,))[0][0]


def stop_clean(srv):
    """Stops srv and checks it exited 0 without a sanitizer report (the
    ASan build runs these tests too)."""
    srv.stop()
    rc = srv.proc.returncode if srv.proc else None
    log = srv.log()
    check(rc == 0 and "Sanitizer" not in log and "runtime error" not in log,
          "the server on port %d stopped cleanly (exit %r%s)" %
          (srv.port, rc, ", sanitizer report in its log" if "Sanitizer" in log else ""))
