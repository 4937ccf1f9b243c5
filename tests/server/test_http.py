"""The HTTP transport (issue 11): a refused upload's answer can be read by a
client that sends its whole body; bodies are assembled the same however the
network splits them (every split point, and byte by byte); connections stay
alive and pipelined requests are answered in order; a graceful stop does
not wait for idle keep-alive connections. Raw sockets where the byte
stream itself is the point, http.client where a plain client is."""
import gzip
import http.client
import json
import re
import signal
import socket
import subprocess
import urllib.parse
import threading
import time

from mgtest import MEMGRADE, Server, add_user, check, dbarg, finish, raw_request

MIB = 1 << 20


class Conn:
    """One client connection that reads responses one at a time."""

    def __init__(self, port, timeout=10, nodelay=False):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if nodelay:
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError("the server closed the connection")
        self.buf += chunk

    def response(self):
        """(status, headers lower-cased, body) of the next final response;
        raises EOFError or OSError when none comes."""
        while True:
            while b"\r\n\r\n" not in self.buf:
                self._fill()
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            hd = {}
            for ln in lines[1:]:
                k, v = ln.split(":", 1)
                hd[k.strip().lower()] = v.strip()
            if 100 <= status < 200:
                continue
            n = int(hd.get("content-length", "0"))
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
            return status, hd, body

    def closed_by_server(self, timeout=5):
        """Whether the server ends the connection (EOF or reset) within timeout."""
        self.s.settimeout(timeout)
        try:
            while True:
                if not self.s.recv(65536):
                    return True
        except socket.timeout:
            return False
        except OSError:
            return True

    def close(self):
        self.s.close()


def request_bytes(method, path, token=None, headers=None, body=b""):
    h = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    if token:
        h.append("Authorization: Bearer " + token)
    for k, v in (headers or {}).items():
        h.append("%s: %s" % (k, v))
    if body or method == "POST":
        h.append("Content-Length: %d" % len(body))
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def error_of(body):
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    return doc.get("error") if isinstance(doc, dict) else None


def replay_of(sid):
    """The verdict for an Idempotency-Key replay of submission sid."""
    return lambda st, hd, body: (st == 202 and hd.get("idempotent-replayed") == "true"
                                 and json.loads(body).get("id") == sid)


def multipart(boundary, parts):
    """parts: (name, filename or None, bytes)."""
    out = b""
    for name, filename, data in parts:
        out += b"--" + boundary + b"\r\n"
        if filename:
            out += b'Content-Disposition: form-data; name="%s"; filename="%s"\r\n' % (
                name.encode(), filename.encode())
            out += b"Content-Type: text/x-csrc\r\n"
        else:
            out += b'Content-Disposition: form-data; name="%s"\r\n' % name.encode()
        out += b"\r\n" + data + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


srv = Server(port=18310, args=["--rate-limit", "0", "--workers", "1"]).start()
prof = add_user(srv.db, "prof", "instructor")
alice = add_user(srv.db, "alice", "student")

# ---- keep-alive and pipelining ------------------------------------------------------
c = Conn(srv.port)
answers = []
try:
    for i in range(20):
        path = ["/healthz", "/api/v1/me", "/api/v1/assignments", "/nosuch"][i % 4]
        c.send(request_bytes("GET", path, prof))
        answers.append(c.response())
except (OSError, EOFError) as e:
    answers.append((None, {}, repr(e).encode()))
c.close()
check(len(answers) == 20 and [a[0] for a in answers] == [200, 200, 200, 404] * 5,
      "20 GETs over one connection all answered (%s)" % [a[0] for a in answers])
check(all(a[1].get("connection", "").lower() != "close" for a in answers),
      "no answer closes the connection, a 404 included")

hc = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
socks, sts = set(), []
for path in ["/api/v1/me", "/api/v1/assignments", "/healthz", "/api/v1/openapi.json"] * 3:
    hc.request("GET", path, headers={"Authorization": "Bearer " + prof})
    r = hc.getresponse()
    r.read()
    sts.append(r.status)
    socks.add(hc.sock.getsockname() if hc.sock else None)  # it reconnects silently
hc.close()
check(sts == [200] * 12 and len(socks) == 1,
      "http.client keeps one connection for 12 requests (%s, %d local ports)"
      % (sts, len(socks)))

# The web pages: whatever they answer, they answer on a live connection.
c = Conn(srv.port)
page_answers = []
try:
    for path in ["/", "/dashboard", "/"]:
        c.send(request_bytes("GET", path, headers={"Accept": "text/html"}))
        page_answers.append(c.response())
except (OSError, EOFError) as e:
    page_answers.append((None, {}, repr(e).encode()))
c.close()
check(len(page_answers) == 3 and all(a[0] and a[1].get("connection", "").lower() != "close"
                                     for a in page_answers),
      "the pages keep the connection alive (%s)" % [a[0] for a in page_answers])


def pipelined(reqs, what):
    """Sends reqs in one write; returns the answers read in order."""
    c = Conn(srv.port)
    out = []
    try:
        c.send(b"".join(reqs))
        for _ in reqs:
            out.append(c.response())
    except (OSError, EOFError) as e:
        print("  %s: %r after %d answer(s)" % (what, e, len(out)))
    c.close()
    return out


got = pipelined([request_bytes("GET", "/api/v1/me", alice), request_bytes("GET", "/healthz")],
                "two pipelined")
check(len(got) == 2 and got[0][0] == 200 and json.loads(got[0][2]).get("name") == "alice"
      and got[1][0] == 200 and "status" in json.loads(got[1][2]),
      "two pipelined GETs: two answers, in order")
got = pipelined([request_bytes("GET", "/api/v1/me", prof),
                 request_bytes("GET", "/api/v1/openapi.json"),
                 request_bytes("GET", "/api/v1/me", alice)], "three pipelined")
check(len(got) == 3 and [g[0] for g in got] == [200, 200, 200]
      and json.loads(got[0][2]).get("name") == "prof" and "openapi" in json.loads(got[1][2])
      and json.loads(got[2][2]).get("name") == "alice",
      "three pipelined GETs: three answers, in order")

# ---- the bodies used below, each submitted once; every later copy is an
# Idempotency-Key replay, so a 202 with the same id proves the server
# assembled exactly the same bytes (a different body would be a 409). ----------
B = b"mgBoundary7"
SRC = b"#include <string.h>\nsize_t x;\n"
form = multipart(B, [("assignment", None, b"mystr"), ("files", "mystr.c", SRC)])
form_hdr = {"Content-Type": "multipart/form-data; boundary=" + B.decode(),
            "Idempotency-Key": "split-form"}
jbody = json.dumps({"assignment": "mystr", "files": {"mystr.c": SRC.decode()}}).encode()
json_hdr = {"Content-Type": "application/json", "Idempotency-Key": "split-json"}

st, hd, body = srv.request("POST", "/api/v1/submissions", form, prof, form_hdr)
form_id = json.loads(body).get("id") if st == 202 else None
check(st == 202 and form_id, "the multipart body in one piece: 202 (%d %r)" % (st, body[:100]))
st, hd, body = srv.request("POST", "/api/v1/submissions", jbody, prof, json_hdr)
json_id = json.loads(body).get("id") if st == 202 else None
check(st == 202 and json_id, "the JSON body in one piece: 202 (%d %r)" % (st, body[:100]))

got = pipelined([request_bytes("POST", "/api/v1/submissions", prof, json_hdr, jbody),
                 request_bytes("GET", "/api/v1/submissions/%s" % json_id, prof)],
                "POST then GET")
check(len(got) == 2 and got[0][0] == 202 and json.loads(got[0][2]).get("id") == json_id
      and got[1][0] == 200 and json.loads(got[1][2]).get("id") == json_id,
      "a POST followed by a pipelined GET: 202 then 200 for the same submission")

# ---- a body over the limit: 413 the client can read --------------------------------------
big_json = b'{"assignment": "mystr", "files": {"mystr.c": "' + b"a" * (3 * MIB) + b'"}}'
hc = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
try:
    hc.request("POST", "/api/v1/submissions", body=big_json,
               headers={"Authorization": "Bearer " + alice, "Content-Type": "application/json"})
    r = hc.getresponse()
    st, err = r.status, error_of(r.read())
except OSError as e:
    st, err = None, repr(e)
check(st == 413 and err and "larger than" in err,
      "a 3 MiB JSON POST from http.client: 413 and its JSON error (%s %r)" % (st, err))
# The same connection serves the next request: the body was read, not cut off.
try:
    hc.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + alice})
    r = hc.getresponse()
    st = r.status
    r.read()
except OSError as e:
    st = repr(e)
hc.close()
check(st == 200, "the connection that sent 3 MiB goes on serving (%s)" % st)

big_form = multipart(B, [("assignment", None, b"mystr"), ("files", "mystr.c", b"b" * (3 * MIB))])
hc = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
try:
    hc.request("POST", "/api/v1/submissions", body=big_form,
               headers={"Authorization": "Bearer " + alice,
                        "Content-Type": "multipart/form-data; boundary=" + B.decode()})
    r = hc.getresponse()
    st, err = r.status, error_of(r.read())
except OSError as e:
    st, err = None, repr(e)
hc.close()
check(st == 413 and err, "a 3 MiB multipart form (field files): 413 and its JSON error (%s %r)"
      % (st, err))


def paced(req, step=64 * 1024, pause=0.002):
    """Sends req the way a slow network would, then reads the answer."""
    c = Conn(srv.port, timeout=30)
    try:
        for i in range(0, len(req), step):
            c.send(req[i:i + step])
            time.sleep(pause)
        return c.response()
    except (OSError, EOFError) as e:
        return None, {}, repr(e).encode()
    finally:
        c.close()


st, hd, body = paced(request_bytes("POST", "/api/v1/submissions", alice,
                                   {"Content-Type": "application/json"}, big_json))
check(st == 413 and error_of(body), "a 3 MiB POST sent in paced pieces: 413 read (%s %r)"
      % (st, body[:120]))
# Refused before the body for another reason: still read to the end and answered.
st, hd, body = paced(request_bytes("POST", "/api/v1/submissions", None,
                                   {"Content-Type": "application/json"}, big_json))
check(st == 401 and error_of(body), "3 MiB without a token: 401 read (%s %r)" % (st, body[:120]))
st, hd, body = paced(request_bytes("POST", "/api/v1/assignments", alice,
                                   {"Content-Type": "application/gzip"}, b"x" * (3 * MIB)))
check(st == 403 and error_of(body), "3 MiB to an instructors' route from a student: 403 read "
      "(%s %r)" % (st, body[:120]))
# The submit page's form, without a session: its refusal page is read too.
st, hd, body = paced(request_bytes(
    "POST", "/courses/default/mystr", None,
    {"Content-Type": "multipart/form-data; boundary=" + B.decode()},
    multipart(B, [("csrf", None, b"0" * 64), ("files", "mystr.c", b"d" * (3 * MIB))])))
check(st and 400 <= st < 500 and len(body) > 0,
      "3 MiB to the submit page without a session: its refusal read (%s %r)" % (st, body[:60]))
# A file over --max-file within the request limit.
st, hd, body = paced(request_bytes(
    "POST", "/api/v1/submissions", alice,
    {"Content-Type": "multipart/form-data; boundary=" + B.decode()},
    multipart(B, [("assignment", None, b"mystr"), ("files", "mystr.c", b"c" * (300 * 1024))])))
check(st == 413 and "mystr.c" in (error_of(body) or ""),
      "a file over --max-file: 413 naming the file (%s %r)" % (st, body[:120]))

# A client that waits for 100 Continue is answered at once and sends no body.
c = Conn(srv.port)
c.send(("POST /api/v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
        % (alice, 3 * MIB)).encode())
try:
    st, hd, body = c.response()
except (OSError, EOFError) as e:
    st, body = None, repr(e).encode()
check(st == 413 and error_of(body), "Expect: 100-continue with 3 MiB declared: 413 at once (%s)"
      % st)
check(c.closed_by_server(), "... and the connection closes, the body never sent")
c.close()

# A client waiting for 100 Continue with an acceptable body gets it, then
# the answer (a replay of the JSON submission).
c = Conn(srv.port)
req = request_bytes("POST", "/api/v1/submissions", prof, dict(json_hdr, Expect="100-continue"), jbody)
c.send(req[:len(req) - len(jbody)])
c.s.settimeout(5)
try:
    interim = c.s.recv(4096)
    c.send(jbody)
    st, hd, body = c.response()
except (OSError, EOFError) as e:
    interim, st, hd, body = b"", None, {}, repr(e).encode()
c.close()
check(interim.startswith(b"HTTP/1.1 100") and replay_of(json_id)(st, hd, body),
      "Expect: 100-continue within the limits: 100 Continue, then 202 (%r, %s)"
      % (interim[:20], st))

# Past what is worth reading (8 times the limit) the server stops reading:
# a chunked body (no length to refuse up front) is cut off, not read forever.
c = Conn(srv.port)
c.send(("POST /api/v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" % alice).encode())
piece = b"%x\r\n" % (256 * 1024) + b"e" * (256 * 1024) + b"\r\n"
sent = 0
try:
    while sent < 64 * MIB:
        c.send(piece)
        sent += 256 * 1024
except OSError:
    pass
c.close()
check(8 * MIB <= sent < 64 * MIB, "a chunked body past 8 MiB is cut off (%.1f MiB sent)" % (sent / MIB))

# Past what is worth reading (8 times the limit) the answer comes at once too.
c = Conn(srv.port)
c.send(("POST /api/v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (alice, 64 * MIB)).encode())
try:
    st, hd, body = c.response()
except (OSError, EOFError) as e:
    st, body = None, repr(e).encode()
c.close()
check(st == 413 and error_of(body), "a declared 64 MiB body: 413 before any of it is sent (%s)" % st)
check(srv.request("GET", "/healthz")[0] == 200, "the server still answers")

# ---- bodies split anywhere -------------------------------------------------------------------


def split_send(req, at, pause=0.01):
    """req in two writes, split at byte `at`, with a pause between them so
    the server reads them apart; returns the answer."""
    c = Conn(srv.port, nodelay=True)
    try:
        c.send(req[:at])
        time.sleep(pause)
        c.send(req[at:])
        return c.response()
    except (OSError, EOFError) as e:
        return None, {}, repr(e).encode()
    finally:
        c.close()


def bytewise(req, start, pause=0.0005):
    """req[:start] in one write, then the rest one byte per write."""
    c = Conn(srv.port, nodelay=True)
    try:
        c.send(req[:start])
        for i in range(start, len(req)):
            c.send(req[i:i + 1])
            time.sleep(pause)
        return c.response()
    except (OSError, EOFError) as e:
        return None, {}, repr(e).encode()
    finally:
        c.close()


def every_split(req, body_len, want, what):
    """Splits req at every byte of its body; want(status, headers, body) is
    the verdict. Prints the first few splits that fail."""
    head = len(req) - body_len
    bad = []
    for at in range(head + 1, len(req)):
        st, hd, body = split_send(req, at)
        if not want(st, hd, body):
            bad.append((at - head, st, body[:80]))
    for b in bad[:5]:
        print("  split after body byte %d: %s %r" % b)
    check(not bad, "%s: every one of %d split points (%d wrong)" % (what, body_len - 1, len(bad)))
    st, hd, body = bytewise(req, head)
    check(want(st, hd, body), "%s: byte by byte (%s %r)" % (what, st, body[:80]))


# An idle keep-alive connection is closed after API_IDLE_S (10 s) of
# silence, so idle browsers do not hold the connection slots; watched in
# the background while the split tests run.
idle_conn = Conn(srv.port)
idle_conn.send(request_bytes("GET", "/healthz"))
idle_conn.response()
idle_since, idle_closed = time.time(), []
watcher = threading.Thread(target=lambda: idle_closed.append(
    (idle_conn.closed_by_server(60), time.time())))
watcher.start()
# ... while a request in progress on a reused connection may pause longer.
slow = []


def slow_second():
    c = Conn(srv.port, timeout=60)
    try:
        c.send(request_bytes("GET", "/healthz"))
        c.response()
        req = request_bytes("POST", "/api/v1/submissions", prof, json_hdr, jbody)
        half = len(req) - len(jbody) // 2
        c.send(req[:half])
        time.sleep(13)
        c.send(req[half:])
        slow.append(c.response())
    except (OSError, EOFError) as e:
        slow.append((None, {}, repr(e).encode()))
    finally:
        c.close()


slow_thread = threading.Thread(target=slow_second)
slow_thread.start()

t0 = time.time()
every_split(request_bytes("POST", "/api/v1/submissions", prof, form_hdr, form), len(form),
            replay_of(form_id), "multipart submission")
every_split(request_bytes("POST", "/api/v1/submissions", prof, json_hdr, jbody), len(jbody),
            replay_of(json_id), "JSON submission")


def refused(status, words):
    return lambda st, hd, body: st == status and words in (error_of(body) or "")


dup_field = multipart(B, [("assignment", None, b"mystr"), ("assignment", None, b"mystr"),
                          ("files", "mystr.c", SRC)])
every_split(request_bytes("POST", "/api/v1/submissions", prof,
                          {"Content-Type": "multipart/form-data; boundary=" + B.decode()},
                          dup_field), len(dup_field),
            refused(400, "field 'assignment' is given twice"), "a field given twice is refused")
dup_file = multipart(B, [("assignment", None, b"mystr"), ("files", "mystr.c", b"int a;\n"),
                         ("files", "mystr.c", b"int b;\n")])
every_split(request_bytes("POST", "/api/v1/submissions", prof,
                          {"Content-Type": "multipart/form-data; boundary=" + B.decode()},
                          dup_file), len(dup_file),
            refused(400, "file 'mystr.c' is given twice"), "a file given twice is refused")

# The assignment upload's form: a gzip'd stream that is no tar, so the
# answer names the archive, not the multipart framing, when the bytes
# arrive whole.
gz = gzip.compress(b"not a tar archive\n" * 4, mtime=0)
up_form = multipart(B, [("archive", "a.tar.gz", gz)])
up_req = request_bytes("POST", "/api/v1/assignments", prof,
                       {"Content-Type": "multipart/form-data; boundary=" + B.decode()}, up_form)
st, hd, body = split_send(up_req, len(up_req))
whole = error_of(body)
check(st == 400 and whole and "multipart" not in whole and "gzip" not in whole,
      "an upload that is no tar: 400 about the archive (%s %r)" % (st, whole))
every_split(up_req, len(up_form), lambda s, h, b: s == 400 and error_of(b) == whole,
            "assignment upload form")
# The submit page's own form (csrf, paste box, file input), as a logged-in
# student's browser sends it. A file the assignment does not expect is
# refused only once the whole body is parsed (the CSRF token checked
# first), so each split must end in that same refusal.
subprocess.run([MEMGRADE, "user", "passwd", "alice", "--db", dbarg(srv.db)], input="correct horse 1\n",
               check=True, capture_output=True, text=True)
cookies = {}


def browser(method, path, body=b"", headers=None):
    h = dict(headers or {})
    if cookies:
        h["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    c = Conn(srv.port)
    try:
        c.send(request_bytes(method, path, None, h, body))
        st, hd, page = c.response()
    finally:
        c.close()
    for m in re.finditer(r"(?:^|, )([a-z_]+)=([^;,]*)", hd.get("set-cookie", "")):
        cookies[m.group(1)] = m.group(2)
    return st, hd, page.decode("utf-8", "replace")


_, _, page = browser("GET", "/login")
m = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
form_body = urllib.parse.urlencode({"username": "alice", "password": "correct horse 1",
                                    "csrf": m.group(1) if m else "", "next": "/"}).encode()
st, _, _ = browser("POST", "/login", form_body,
                   {"Content-Type": "application/x-www-form-urlencoded"})
_, _, page = browser("GET", "/")
m = re.search(r'name="csrf-token" content="([0-9a-f]{64})"', page)
check(st == 303 and m, "alice logs in to the pages (%s)" % st)
page_form = multipart(B, [("csrf", None, (m.group(1) if m else "").encode()),
                          ("paste_name", None, b""), ("paste_text", None, b""),
                          ("files", "other.c", b"int y;\n")])
page_req = request_bytes("POST", "/courses/default/mystr", None,
                         {"Content-Type": "multipart/form-data; boundary=" + B.decode(),
                          "Cookie": "; ".join("%s=%s" % kv for kv in cookies.items())},
                         page_form)
st, hd, body = split_send(page_req, len(page_req))
check(st == 400 and b"expects file" in body, "the page form in one piece: 400, the file it "
      "expects (%s %r)" % (st, re.findall(rb"expects file[^<]*", body)[:1]))
every_split(page_req, len(page_form),
            lambda s, h, b: s == 400 and b"expects file" in b and b"twice" not in b,
            "the submit page's form")
print("  splits took %.1f s" % (time.time() - t0))
watcher.join()
slow_thread.join()
check(slow and replay_of(json_id)(*slow[0]),
      "a request that pauses 13 s mid-body on a reused connection is still served (%s)"
      % (slow and slow[0][0]))
idle_conn.close()
took = idle_closed[0][1] - idle_since if idle_closed and idle_closed[0][0] else None
check(took and 8 <= took <= 20, "an idle keep-alive connection is closed after about 10 s (%s)"
      % (took and "%.1f s" % took))
srv.stop()
check(srv.proc.returncode == 0 and "Sanitizer" not in srv.log() and "runtime error" not in srv.log(),
      "the server exits 0 with no sanitizer report (%s)" % srv.proc.returncode)

# ---- framing a proxy could read otherwise, and request lines past the limits (RFC 9112) ------
srv = Server(port=18312).start()
tok = add_user(srv.db, "dave", "student")
smuggle = b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n\r\n"
for what, head in (("both Content-Length and Transfer-Encoding",
                    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
                   ("two Content-Lengths that differ", b"Content-Length: 5\r\nContent-Length: 7\r\n"),
                   ("Transfer-Encoding twice",
                    b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")):
    t0 = time.time()
    out = raw_request(srv.port, b"POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\n" + head +
                      b"Content-Type: application/json\r\n\r\n0\r\n\r\n" + smuggle)
    st = int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/1.1 ") else None
    check(st == 400 and b"connection: close" in out.lower() and out.count(b"HTTP/1.1 ") == 1
          and b'"error"' in out and time.time() - t0 < 3,
          "%s: 400 JSON, the connection closed, the smuggled request never answered (%r)"
          % (what, out[:80]))
out = raw_request(srv.port, b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                  tok.encode() + b"\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n")
check(out.startswith(b"HTTP/1.1 200"), "two equal Content-Lengths are one (RFC 9110 8.6): %r" % out[:40])
for n in (300, 600, 2000):
    q = "&".join("a%d=%d" % (i, i) for i in range(n))
    t0 = time.time()
    out = raw_request(srv.port, ("GET /healthz?%s HTTP/1.1\r\nHost: x\r\n\r\n" % q).encode(), 10)
    took = time.time() - t0
    check(out.startswith(b"HTTP/1.1 414") and b'{"error":' in out and took < 3,
          "%d query arguments: a JSON 414 at once (%.1f s, %r)" % (n, took, out[:40]))
out = raw_request(srv.port, ("GET /healthz?%s HTTP/1.1\r\nHost: x\r\n\r\n" % ("x" * 9000)).encode())
check(out.startswith(b"HTTP/1.1 414") and b'{"error":' in out, "a 9,000-byte query: JSON 414")
out = raw_request(srv.port, b"GET /healthz?a=1&b=2 HTTP/1.1\r\nHost: x\r\n\r\n")
check(out.startswith(b"HTTP/1.1 200"), "a few query arguments still pass")
st, _, doc = srv.json("GET", "/healthz")
check(st == 200, "the server answers after all that")
# A busy port: one line of retrying and one of failure, not libmicrohttpd's
# bind error a hundred times.
p = subprocess.run([MEMGRADE, "serve", "--db", dbarg(srv.db + ".second"), "--port", str(srv.port)],
                   capture_output=True, text=True, timeout=60)
lines = p.stderr.splitlines()
check(p.returncode == 1 and sum("busy" in l for l in lines) == 1 and
      sum("Address already in use" in l for l in lines) == 1 and len(lines) <= 6,
      "a busy port is said once, with its reason (%d lines)" % len(lines))
srv.stop()

# ---- a graceful stop with idle keep-alive connections --------------------------------------
srv = Server(port=18311).start()
tok = add_user(srv.db, "carol", "student")
idle = []
for _ in range(4):
    c = Conn(srv.port)
    c.send(request_bytes("GET", "/api/v1/me", tok))
    idle.append((c, c.response()))
check(all(a[0] == 200 and a[1].get("connection", "").lower() != "close" for _, a in idle),
      "four keep-alive connections, answered and left open")
# One request in progress: half its body sent when the stop begins.
busy = Conn(srv.port, nodelay=True)
req = request_bytes("POST", "/api/v1/submissions", tok, {"Content-Type": "application/json"}, jbody)
half = len(req) - len(jbody) // 2
busy.send(req[:half])
time.sleep(0.2)
t0 = time.time()
srv.kill(signal.SIGTERM)
time.sleep(0.3)
busy.send(req[half:])
try:
    st, hd, body = busy.response()
except (OSError, EOFError) as e:
    st, hd, body = None, {}, repr(e).encode()
check(st in (202, 503) and hd.get("connection", "").lower() == "close",
      "a request in progress at the stop is answered, with Connection: close (%s %r)"
      % (st, body[:100]))
rc = srv.wait(30)
took = time.time() - t0
check(rc == 0 and took < 3, "serve stops in %.1f s with idle keep-alive connections open" % took)
check(all(c.closed_by_server(2) for c, _ in idle), "the idle connections were closed")
for c, _ in idle:
    c.close()
busy.close()
check(re.search(r"memgrade serve: stopped", srv.log()) and "Sanitizer" not in srv.log()
      and "runtime error" not in srv.log(), "serve says it stopped, no sanitizer report")
finish()
