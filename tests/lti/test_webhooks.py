"""Signed webhooks and the delivery log (SPEC §8, issue 12) against the real
`memgrade serve`: a receiver in this process on 127.0.0.1 checks each POST's
HMAC-SHA256 signature, body and timestamp; a receiver that fails, is down,
hangs or answers with a redirect or a huge body is retried with growing gaps
without holding up other courses; kill -9 with an event pending delivers it
after the restart exactly once; webhook settings are staff-only and refuse
URLs that would make the server fetch its own network."""
import hashlib
import hmac
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from mgtest import (MEMGRADE, Server, add_user, check, dbarg, finish, query,  # noqa: E402
                    reference, tempdir, wait_until)

work = tempdir("mgwebhooks.")
db = os.path.join(work, "memgrade.db")
SECRET = "s3cret-for-the-webhook-tests"
SECRET2 = "another-secret-0123456789"


def cli(*args):
    p = subprocess.run([MEMGRADE] + list(args) + ["--db", dbarg(db)], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Receiver:
    """A webhook receiver on 127.0.0.1: records every request (time, path,
    headers, body) and answers as self.mode says: an int status, or a
    function (handler) -> None that answers itself."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.hits = []
        self.mode = 200
        self.lock = threading.Lock()
        self.srv = None
        self.start()

    def start(self):
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with rec.lock:
                    rec.hits.append({"t": time.time(), "path": self.path, "body": body,
                                     "headers": {k.lower(): v for k, v in self.headers.items()}})
                    mode = rec.mode
                if callable(mode):
                    mode(self)
                    return
                self.send_response(mode)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def events(self, delivery=None):
        with self.lock:
            out = []
            for h in self.hits:
                try:
                    doc = json.loads(h["body"])
                except ValueError:
                    doc = None
                if delivery is None or (doc and doc.get("delivery") == delivery):
                    out.append(dict(h, doc=doc))
            return out


def signature_ok(hit, secret):
    want = "sha256=" + hmac.new(secret.encode(), hit["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(hit["headers"].get("x-memgrade-signature", ""), want)


def parse_ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


tok = {}
for name, role in [("admin", "instructor"), ("prof", "student"), ("tara", "student"),
                   ("stu", "student"), ("eve", "student")]:
    tok[name] = add_user(db, name, role)
for course in ("cs1", "cs2"):
    cli("course", "add", course, "--title", "Course " + course)
    cli("course", "offer", course, "mystr")
    cli("course", "enrol", course, "prof", "--role", "instructor")
    cli("course", "enrol", course, "tara", "--role", "ta")
    cli("course", "enrol", course, "stu", "--role", "student")
REF = reference("mystr")
BASE_MS = 300
srv = Server(db=db, workdir=work, args=["--webhook-private", "1", "--workers", "1",
                                        "--outbox-retry-base-ms", str(BASE_MS),
                                        "--outbox-max-attempts", "4"]).start()


def submit(course, who="stu"):
    st, _, doc = srv.json("POST", "/api/v1/submissions",
                          {"assignment": "mystr", "course": course,
                           "files": {"mystr.c": REF}}, tok[who])
    if not check(st == 202, "%s submits to %s: %s %s" % (who, course, st, doc)):
        return None
    return doc["id"]


def deliveries(course="cs1", who="tara", query=""):
    st, _, doc = srv.json("GET", "/api/v1/courses/%s/deliveries%s" % (course, query),
                          token=tok[who])
    return doc["deliveries"] if st == 200 else None


def delivery_of(sid, course="cs1", kind="webhook"):
    for d in deliveries(course, "admin", "?kind=" + kind) or []:
        if d["submission"] == sid:
            return d
    return None


def newest_delivery(sid, course="cs1"):
    """The newest webhook row of submission sid, once there is one."""
    return wait_until(lambda: delivery_of(sid, course), timeout=120, step=0.2)


recv = Receiver()

# ---- who may set a webhook, and which URLs -----------------------------------------
put = lambda course, who, body: srv.json("PUT", "/api/v1/courses/%s/webhook" % course, body,
                                         tok[who])
good = {"url": recv.url(), "secret": SECRET}
st, _, doc = put("cs1", "stu", good)
check(st == 403 and "error" in doc, "a student cannot set the webhook: %s" % st)
st, _, doc = put("cs1", "tara", good)
check(st == 403 and "error" in doc, "a TA cannot send the course's results elsewhere: %s" % st)
st, _, doc = put("cs1", "eve", good)
check(st == 404, "someone outside the course gets 404: %s" % st)
st, _, _ = srv.json("GET", "/api/v1/courses/cs1/webhook", token=tok["stu"])
check(st == 403, "a student cannot read the webhook: %s" % st)
st, _, doc = srv.json("GET", "/api/v1/courses/cs1/deliveries", token=tok["stu"])
check(st == 403, "a student cannot read the delivery log: %s" % st)
for path in ("/api/v1/courses/cs1/webhook", "/api/v1/courses/cs1/deliveries"):
    st, _, _ = srv.json("GET", path, token=tok["eve"])
    check(st == 404, "GET %s by someone outside the course: 404 (%s)" % (path, st))
st, _, _ = srv.json("POST", "/api/v1/courses/cs1/deliveries/1/retry", token=tok["eve"])
check(st == 404, "a retry by someone outside the course: 404 (%s)" % st)
st, _, doc = srv.json("GET", "/api/v1/courses/cs1/webhook", token=tok["prof"])
check(st == 404, "no webhook yet: 404 (%s)" % st)
for body, why in [
        ({"url": "ftp://127.0.0.1/x", "secret": SECRET}, "ftp"),
        ({"url": "http://example.com/hook", "secret": SECRET}, "plain http to a public host"),
        ({"url": "https://user:pw@example.com/hook", "secret": SECRET}, "credentials in the URL"),
        ({"url": "/relative", "secret": SECRET}, "a relative URL"),
        ({"url": "https://example.com/\nX: y", "secret": SECRET}, "a control character"),
        ({"url": recv.url(), "secret": "short"}, "a secret under 16 characters"),
        ({"url": recv.url(), "secret": "x" * 257}, "a secret over 256 characters"),
        ({"url": recv.url()}, "no secret"),
        ({"url": recv.url(), "secret": SECRET, "extra": 1}, "an unknown field"),
        ([recv.url()], "not an object")]:
    st, _, doc = put("cs1", "prof", body)
    check(st == 400 and doc and doc.get("error"), "PUT webhook refuses %s: %s %s" % (why, st, doc))
st, _, doc = srv.request("PUT", "/api/v1/courses/cs1/webhook", b"{not json", tok["prof"],
                         {"Content-Type": "application/json"})
check(st == 400, "PUT webhook refuses broken JSON: %s" % st)
st, _, doc = put("cs1", "prof", good)
check(st == 200 and doc.get("url") == recv.url() and SECRET not in json.dumps(doc),
      "the course instructor sets the webhook: %s %s" % (st, doc))
st, _, body = srv.request("GET", "/api/v1/courses/cs1/webhook", token=tok["tara"])
doc = json.loads(body) if st == 200 else {}
check(st == 200 and doc.get("url") == recv.url() and doc.get("secret_set") is True and
      SECRET.encode() not in body, "a TA reads the webhook, never its secret: %s %s" % (st, body))

# ---- a graded submission: one signed POST ---------------------------------------------
t_submit = time.time()
sid = submit("cs1")
graded = srv.wait_graded(tok["stu"], sid)
check(graded is not None, "the reference is graded")
hits = wait_until(lambda: recv.events() or None, timeout=30)
time.sleep(1.0)
hits = recv.events()
check(len(hits) == 1, "exactly one POST for one graded submission (%d)" % len(hits))
if hits:
    h, doc = hits[0], hits[0]["doc"]
    check(signature_ok(h, SECRET), "the signature verifies with the secret: %s"
          % h["headers"].get("x-memgrade-signature"))
    check(not signature_ok(h, SECRET2), "and not with another secret")
    check(h["path"] == "/hook" and h["headers"].get("content-type") == "application/json",
          "POSTed to the URL's path as application/json: %s" % h["headers"].get("content-type"))
    check(doc and doc.get("event") == "submission.graded" and
          h["headers"].get("x-memgrade-event") == "submission.graded", "event submission.graded")
    check(doc and isinstance(doc.get("delivery"), int) and
          h["headers"].get("x-memgrade-delivery") == str(doc["delivery"]),
          "X-Memgrade-Delivery is the body's delivery id: %s" % h["headers"].get("x-memgrade-delivery"))
    ts = doc.get("timestamp", "") if doc else ""
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ts) and
          abs(parse_ts(ts) - h["t"]) < 30 and h["headers"].get("x-memgrade-timestamp") == ts,
          "the signed timestamp is recent, ISO 8601 with ms, and in the header: %s" % ts)
    sub = doc.get("submission", {}) if doc else {}
    check(sub.get("id") == sid and sub.get("user") == "stu" and sub.get("course") == "cs1" and
          sub.get("assignment") == "mystr" and sub.get("status") == "graded" and
          sub.get("url") == "/api/v1/submissions/%d" % sid, "the submission's identity: %s" % sub)
    check(sub.get("result_status") == "graded" and sub.get("score") == graded.get("score") and
          sub.get("max_score") == graded.get("max_score") and sub.get("score", 0) > 0 and
          sub.get("final_score") == sub.get("score") and sub.get("late_days") == 0 and
          sub.get("graded_at") == graded.get("graded_at") and
          sub.get("created_at") == graded.get("created_at") and sub.get("files") == ["mystr.c"],
          "its result as the API shows it to staff: %s vs %s" % (sub, graded))
    check("document" not in sub and "result" not in sub and "tests" not in json.dumps(sub),
          "only the summary, not the result document")
dl = newest_delivery(sid)
check(dl and dl["state"] == "delivered" and dl["attempts"] == 1 and dl["last_status"] == 200 and
      dl["user"] == "stu" and dl["kind"] == "webhook" and dl["delivered_at"] and
      dl["last_error"] is None, "the delivery log shows it delivered: %s" % dl)

# ---- a receiver that fails: retried with growing gaps, honouring Retry-After ---------
answers = [(503, "3"), (500, None), (500, None)]


def failing(handler):
    st, ra = answers.pop(0) if answers else (200, None)
    handler.send_response(st)
    if ra:
        handler.send_header("Retry-After", ra)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


recv.mode = failing
sid2 = submit("cs1")
srv.wait_graded(tok["stu"], sid2)
d2 = newest_delivery(sid2)
did = d2["id"] if d2 else -1
got = wait_until(lambda: len(recv.events(did)) >= 4 and recv.events(did), timeout=60)
ev = recv.events(did)
times = [h["t"] for h in ev]
gaps = [b - a for a, b in zip(times, times[1:])]
print("  attempts of delivery %s at gaps %s" % (did, ["%.2f" % g for g in gaps]))
check(len(ev) == 4, "503, 500, 500, then 200: four attempts (%d)" % len(ev))
check(len(gaps) >= 3 and gaps[0] >= 2.8, "Retry-After: 3 is honoured over the 0.3 s first "
      "backoff (%.2f s)" % (gaps[0] if gaps else -1))
check(len(gaps) >= 3 and gaps[2] > gaps[1] * 1.5 and gaps[1] >= BASE_MS / 1000 * 0.8,
      "then the gaps grow (%s)" % ["%.2f" % g for g in gaps])
check(all(signature_ok(h, SECRET) for h in ev) and len({h["doc"]["delivery"] for h in ev}) == 1,
      "every retry is the same delivery, signed")
check(len({h["doc"]["timestamp"] for h in ev}) == len(ev),
      "each attempt carries its own timestamp (a receiver refusing old ones still takes a retry)")
time.sleep(1.5)
check(len(recv.events(did)) == 4, "nothing more once it was answered 200")
dl = delivery_of(sid2)
check(dl and dl["state"] == "delivered" and dl["attempts"] == 4 and dl["last_status"] == 200,
      "the log: delivered after 4 attempts: %s" % dl)

# ---- give up after --outbox-max-attempts, then retry by hand ---------------------------
recv.mode = 500
sid3 = submit("cs1")
srv.wait_graded(tok["stu"], sid3)
d3 = newest_delivery(sid3)
d3id = d3["id"] if d3 else -1
dl = wait_until(lambda: (delivery_of(sid3) or {}).get("state") == "failed" and delivery_of(sid3),
                timeout=60, step=0.2)
check(dl and dl["attempts"] == 4 and dl["last_status"] == 500 and
      "gave up after 4 attempts" in (dl["last_error"] or ""),
      "failed after 4 attempts with the reason: %s" % dl)
check(len(recv.events(d3id)) == 4, "four POSTs were made (%d)" % len(recv.events(d3id)))
st, _, doc = srv.json("GET", "/api/v1/courses/cs1/deliveries?state=failed", token=tok["tara"])
check(st == 200 and [d["id"] for d in doc["deliveries"]] == [d3id],
      "?state=failed lists just that one: %s" % doc)
for q in ("?kind=nope", "?state=lost", "?limit=0", "?limit=100000", "?before=x"):
    st, _, _ = srv.json("GET", "/api/v1/courses/cs1/deliveries" + q, token=tok["tara"])
    check(st == 400, "deliveries%s: 400 (%s)" % (q, st))
st, _, doc = srv.json("GET", "/api/v1/courses/cs1/deliveries?limit=1", token=tok["tara"])
check(st == 200 and len(doc["deliveries"]) == 1, "?limit=1 gives one row")
recv.mode = 200
st, _, _ = srv.json("POST", "/api/v1/courses/cs1/deliveries/%d/retry" % d3id, token=tok["stu"])
check(st == 403, "a student cannot retry: %s" % st)
st, _, _ = srv.json("POST", "/api/v1/courses/cs2/deliveries/%d/retry" % d3id, token=tok["prof"])
check(st == 404, "a delivery of another course is 404 there: %s" % st)
st, _, doc = srv.json("POST", "/api/v1/courses/cs1/deliveries/%d/retry" % d3id, token=tok["tara"])
check(st == 202, "a TA retries a failed delivery: %s %s" % (st, doc))
dl = wait_until(lambda: (delivery_of(sid3) or {}).get("state") == "delivered" and delivery_of(sid3),
                timeout=30, step=0.1)
check(dl and dl["attempts"] == 1 and len(recv.events(d3id)) == 5,
      "it goes out at once and is delivered: %s" % dl)
st, _, _ = srv.json("POST", "/api/v1/courses/cs1/deliveries/%d/retry" % d3id, token=tok["tara"])
check(st == 409, "retrying a delivered one: 409 (%s)" % st)
st, _, _ = srv.json("POST", "/api/v1/courses/cs1/deliveries/999999/retry", token=tok["tara"])
check(st == 404, "retrying an unknown one: 404 (%s)" % st)

# ---- the server's own network: redirects, huge answers, a hanging receiver -------------
other = Receiver()


def redirect(handler):
    handler.send_response(302)
    handler.send_header("Location", other.url("/stolen"))
    handler.send_header("Content-Length", "0")
    handler.end_headers()


recv.mode = redirect
sid4 = submit("cs1")
srv.wait_graded(tok["stu"], sid4)
d4 = newest_delivery(sid4)
wait_until(lambda: len(recv.events(d4 and d4["id"])) >= 2, timeout=30)
dl = delivery_of(sid4)
check(not other.hits and dl and dl["state"] == "pending" and dl["last_status"] == 302,
      "a redirect is not followed, and counts as a failure: %s, %d hit(s) at the target"
      % (dl, len(other.hits)))


def huge(handler):
    handler.send_response(200)
    handler.send_header("Content-Length", str(8 << 20))
    handler.end_headers()
    try:
        for _ in range(128):
            handler.wfile.write(b"x" * 65536)
    except OSError:
        pass


recv.mode = huge
wait_until(lambda: "1 MiB" in ((delivery_of(sid4) or {}).get("last_error") or ""), timeout=30)
dl = delivery_of(sid4)
check(dl and dl["state"] == "pending" and "1 MiB" in (dl["last_error"] or ""),
      "an 8 MiB answer is cut off at 1 MiB and retried: %s" % dl)
check(srv.request("GET", "/healthz")[0] == 200, "the server is fine")
recv.mode = 200
wait_until(lambda: (delivery_of(sid4) or {}).get("state") in ("delivered", "failed"), timeout=30)

# A receiver that never answers holds up its own course only.
hang = Receiver()
hang_release = threading.Event()


def hanging(handler):
    hang_release.wait(60)


hang.mode = hanging
st, _, _ = put("cs2", "admin", {"url": hang.url(), "secret": SECRET2})
check(st == 200, "a global instructor sets cs2's webhook: %s" % st)
sid5 = submit("cs2")
srv.wait_graded(tok["stu"], sid5)
wait_until(lambda: hang.hits, timeout=30)
t_hang = time.time()
n_before = len(recv.events())
sid6 = submit("cs1")
srv.wait_graded(tok["stu"], sid6)
got = wait_until(lambda: len(recv.events()) > n_before, timeout=30)
t_other = time.time()
check(got and hang.hits and t_other - t_hang < 9.5,
      "cs1's event went out %.1f s after cs2's receiver stopped answering, before its 10 s "
      "timeout" % (t_other - t_hang))
dl = wait_until(lambda: (delivery_of(sid5, "cs2") or {}).get("attempts", 0) >= 1 and
                delivery_of(sid5, "cs2"), timeout=30)
check(dl and dl["state"] == "pending" and "timeout" in (dl["last_error"] or "").lower(),
      "the hanging receiver's delivery times out and waits for a retry: %s" % dl)
hang_release.set()
st, _, _ = srv.json("DELETE", "/api/v1/courses/cs2/webhook", token=tok["tara"])
check(st == 403, "a TA cannot delete the webhook: %s" % st)
st, _, _ = srv.json("DELETE", "/api/v1/courses/cs2/webhook", token=tok["prof"])
check(st == 200, "the instructor deletes cs2's webhook: %s" % st)
st, _, _ = srv.json("GET", "/api/v1/courses/cs2/webhook", token=tok["prof"])
check(st == 404, "then it is gone: %s" % st)
dl = wait_until(lambda: (delivery_of(sid5, "cs2") or {}).get("state") == "failed" and
                delivery_of(sid5, "cs2"), timeout=60)
check(dl and "no webhook" in (dl["last_error"] or ""),
      "its pending event fails, saying the course has no webhook: %s" % dl)

# ---- a regrade is a new event ------------------------------------------------------------
n_before = len(recv.events())
st, _, doc = srv.json("POST", "/api/v1/courses/cs1/assignments/mystr/regrade", token=tok["prof"])
check(st == 202, "the instructor regrades cs1's mystr: %s" % st)
total = doc.get("total", 0) if doc else 0
got = wait_until(lambda: len(recv.events()) >= n_before + total and recv.events(), timeout=180)
new = recv.events()[n_before:]
subs = sorted(h["doc"]["submission"]["id"] for h in new if h["doc"])
check(total >= 5 and len(new) == total and subs == sorted(set(subs)),
      "one new event per regraded submission (%d events, %d regraded)" % (len(new), total))
first = [h for h in new if h["doc"] and h["doc"]["submission"]["id"] == sid]
check(first and first[0]["doc"]["delivery"] != hits[0]["doc"]["delivery"] and
      parse_ts(first[0]["doc"]["submission"]["graded_at"]) >
      parse_ts(hits[0]["doc"]["submission"]["graded_at"]) and signature_ok(first[0], SECRET),
      "the first submission's regrade event is new, signed, with the new graded_at")

st, _, doc = srv.json("GET", "/api/v1/openapi.json")
check(st == 200 and all(p in doc["paths"] for p in (
    "/api/v1/courses/{course}/webhook", "/api/v1/courses/{course}/deliveries",
    "/api/v1/courses/{course}/deliveries/{id}/retry")) and
    set(doc["paths"]["/api/v1/courses/{course}/webhook"]) == {"get", "put", "delete"},
    "openapi.json documents the webhook and delivery routes")

# ---- /metrics and the staff page ---------------------------------------------------------
st, _, body = srv.request("GET", "/metrics")
m = re.search(rb'memgrade_outbox_deliveries\{kind="webhook",state="delivered"\} (\d+)', body)
check(st == 200 and m and int(m.group(1)) >= 5 and
      re.search(rb'memgrade_outbox_deliveries\{kind="webhook",state="failed"\} 1\b', body) and
      b'memgrade_outbox_deliveries{kind="score",state="pending"} 0' in body,
      "/metrics counts deliveries by kind and state: %s" % (m and m.group(0)))

subprocess.run([MEMGRADE, "user", "passwd", "tara", "--db", dbarg(db)], input="correct horse 1\n",
               check=True, capture_output=True, text=True)
cookies = {}


def browser(method, path, body=None, headers=None):
    h = dict(headers or {})
    if cookies:
        h["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    st, hd, data = srv.request(method, path, body, None, h)
    for mm in re.finditer(r"(?:^|, )([a-z_]+)=([^;,]*)", hd.get("set-cookie", "")):
        cookies[mm.group(1)] = mm.group(2)
    return st, hd, data.decode("utf-8", "replace")


_, _, page = browser("GET", "/login")
m = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
browser("POST", "/login", urllib.parse.urlencode(
    {"username": "tara", "password": "correct horse 1", "csrf": m.group(1) if m else "",
     "next": "/"}).encode(), {"Content-Type": "application/x-www-form-urlencoded"})
st, _, page = browser("GET", "/dashboard/cs1/deliveries")
rows = re.findall(r'<tr[^>]*data-state="(\w+)"', page)
check(st == 200 and '<table id="deliveries"' in page and rows.count("delivered") >= 5,
      "a TA's /dashboard/cs1/deliveries lists the deliveries with their states (%s, %s)"
      % (st, rows[:8]))
st, _, page = browser("GET", "/dashboard/cs1/deliveries?state=delivered")
rows_d = re.findall(r'<tr[^>]*data-state="(\w+)"', page)
check(st == 200 and len(rows_d) >= 5 and set(rows_d) == {"delivered"} and
      "?state=failed" in page, "?state=delivered shows only delivered ones (%d), with links "
      "to the other states" % len(rows_d))
st, _, page = browser("GET", "/dashboard/cs1/deliveries?state=pending")
check(st == 200 and not re.findall(r'<tr[^>]*data-state="', page),
      "?state=pending: none in cs1")
st, _, page = browser("GET", "/dashboard/cs1/deliveries?state=lost")
check(st == 400 and "<html" in page.lower(), "an unknown state: a readable 400 page (%s)" % st)
st, _, page = browser("GET", "/dashboard")
check(st == 200 and "/dashboard/cs1/deliveries" in page, "the dashboard links to it")
st, _, page = browser("GET", "/dashboard/cs2/deliveries")
check(st == 200 and 'data-state="failed"' in page and "no webhook" in page,
      "cs2's page shows the failed one with its reason")
_, _, fpage = browser("GET", "/dashboard/cs2/deliveries?state=failed")
check(re.findall(r'<tr[^>]*data-state="(\w+)"', fpage) == ["failed"],
      "cs2's ?state=failed: just that one")
m = re.search(r'name="csrf-token" content="([0-9a-f]{64})"', page)
form = lambda tok: urllib.parse.urlencode({"csrf": tok}).encode()
ctype = {"Content-Type": "application/x-www-form-urlencoded"}
d5 = delivery_of(sid5, "cs2")
st, _, _ = browser("POST", "/dashboard/cs2/deliveries/%d/retry" % d5["id"], form("0" * 64), ctype)
check(st == 403 and delivery_of(sid5, "cs2")["state"] == "failed",
      "the page's retry without the CSRF token: 403, nothing retried (%s)" % st)
st, hd, _ = browser("POST", "/dashboard/cs2/deliveries/%d/retry" % d5["id"],
                    form(m.group(1) if m else ""), ctype)
check(st == 303 and hd.get("location") == "/dashboard/cs2/deliveries",
      "the page's retry button: 303 back to the page (%s %s)" % (st, hd.get("location")))
dl = wait_until(lambda: (delivery_of(sid5, "cs2") or {}).get("attempts") == 1 and
                delivery_of(sid5, "cs2"), timeout=30)
check(dl and dl["state"] == "failed" and "no webhook" in (dl["last_error"] or ""),
      "it was tried again from its first attempt (and fails again: no webhook): %s" % dl)

# ---- SIGTERM with a delivery in flight: the server stops, the event stays pending --------
release2 = threading.Event()
recv.mode = lambda handler: release2.wait(30)
sid_t = submit("cs1")
srv.wait_graded(tok["stu"], sid_t)
d_t = newest_delivery(sid_t)
wait_until(lambda: recv.events(d_t and d_t["id"]), timeout=30)
t0 = time.time()
srv.proc.send_signal(15)
rc = srv.wait(timeout=60)
took = time.time() - t0
check(rc == 0 and took < 5, "SIGTERM with a receiver that does not answer: stopped in %.1f s, "
      "the delivery cut off rather than waited for, exit %s" % (took, rc))
release2.set()
recv.mode = 200
n_t = len(recv.events(d_t["id"])) if d_t else 0
row = (query(db, "SELECT state, attempts, last_error FROM outbox WHERE id = ?",
             (d_t["id"] if d_t else -1,)) or [None])[0]
check(row and row[0] == "pending" and row[1] == 1 and "shutting down" in (row[2] or ""),
      "the cut-off attempt is recorded, the event still pending: %s" % (row,))
srv.start()
got = wait_until(lambda: len(recv.events(d_t["id"])) > n_t, timeout=30)
time.sleep(1)
dl = delivery_of(sid_t)
check(got and dl and dl["state"] == "delivered" and len(recv.events(d_t["id"])) == n_t + 1,
      "after the restart it is delivered, once more: %s" % dl)

# ---- kill -9 with an event pending: delivered after the restart, once ----------------------
recv.stop()  # the port is closed: connections are refused
sid7 = submit("cs1")
srv.wait_graded(tok["stu"], sid7)
d7 = newest_delivery(sid7)
d7id = d7["id"] if d7 else -1
dl = wait_until(lambda: (delivery_of(sid7) or {}).get("attempts", 0) >= 1 and delivery_of(sid7),
                timeout=30)
check(dl and dl["state"] == "pending" and dl["last_status"] is None and dl["last_error"],
      "with the receiver's port closed it waits: %s" % dl)
srv.kill()
srv.wait()
recv = Receiver(recv.port)
srv.start()
got = wait_until(lambda: recv.events(d7id), timeout=30)
time.sleep(2)
check(len(recv.events(d7id)) == 1 and signature_ok(recv.events(d7id)[0], SECRET),
      "after kill -9 and a restart, the pending event is delivered exactly once (%d)"
      % len(recv.events(d7id)))
dl = delivery_of(sid7)
check(dl and dl["state"] == "delivered", "and logged delivered: %s" % dl)
srv.stop()

# ---- without --webhook-private: no loopback or private targets ---------------------------
srv = Server(db=db, workdir=work, args=["--workers", "1", "--outbox-retry-base-ms", "200",
                                        "--outbox-max-attempts", "2"]).start()
for url in (recv.url(), "http://localhost:%d/" % recv.port, "https://127.0.0.1/",
            "https://[::1]/", "https://10.1.2.3/", "https://192.168.0.1/x",
            "https://169.254.169.254/latest/meta-data", "https://[fd00::1]/",
            "https://2130706433/", "https://0x7f000001/", "https://127.1/",
            "https://[::ffff:127.0.0.1]/", "https://0.0.0.0/", "https://[::]/",
            "https://100.64.0.1/", "https://[fe80::1]/"):
    st, _, doc = put("cs1", "prof", {"url": url, "secret": SECRET})
    check(st == 400 and doc and ("private" in doc["error"] or "own host" in doc["error"] or
                                 "https" in doc["error"]),
          "without --webhook-private %s is refused: %s %s" % (url, st, doc))
# Names that resolve to this machine pass the URL check but are refused when
# connecting: the address is checked, not the name. localtest.me is a public
# name that resolves to 127.0.0.1; without DNS in the test's namespaces, an
# /etc/hosts of the test's own mount namespace says so (netns_run.sh).
hosts = os.path.join(work, "hosts")
with open(hosts, "w") as f:
    f.write("127.0.0.1 localhost\n::1 localhost\n127.0.0.1 localtest.me\n")
mnt = subprocess.run(["mount", "--bind", hosts, "/etc/hosts"], capture_output=True, text=True)
check(mnt.returncode == 0, "localtest.me resolves to 127.0.0.1 in this namespace: %s" % mnt.stderr)
n_before = len(recv.events())
for url in ("https://localtest.me:%d/hook" % recv.port, "https://x.localhost:%d/hook" % recv.port):
    st, _, doc = put("cs1", "prof", {"url": url, "secret": SECRET})
    check(st == 200, "the name %s is accepted: %s %s" % (url, st, doc))
    sid8 = submit("cs1")
    srv.wait_graded(tok["stu"], sid8)
    dl = wait_until(lambda: (delivery_of(sid8) or {}).get("state") == "failed" and
                    delivery_of(sid8), timeout=30)
    check(dl and "private or loopback" in (dl["last_error"] or ""),
          "but the delivery to %s is refused at connect: %s" % (url, dl))
check(len(recv.events()) == n_before, "and the receiver on 127.0.0.1 saw nothing")
srv.stop()
recv.stop()
other.stop()
finish()
