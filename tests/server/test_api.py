"""Every endpoint and error path of `memgrade serve`, through real HTTP
(http.client, raw sockets and curl) against the real server and grader."""
import json
import os
import re
import subprocess
import time

from mgtest import (Server, add_user, check, finish, on_postgres, query, raw_request,
                    reference, wait_until)

srv = Server(port=18080)
# The server creates the database; users are added while it runs, as an
# administrator would.
srv.start()
alice = add_user(srv.db, "alice", "student")
bob = add_user(srv.db, "bob", "student")
carol = add_user(srv.db, "carol", "student")
prof = add_user(srv.db, "prof", "instructor")
MYSTR = reference("mystr")

# ---- public endpoints -----------------------------------------------------
st, hd, doc = srv.json("GET", "/healthz")
check(st == 200 and doc["status"] == "ok" and doc["database"] is True, "healthz is ok")
check(hd.get("content-type") == "application/json", "healthz is JSON")
# Which box-wide limits the sandbox enforces is said, as the host offers them.
with open("/proc/self/mountinfo") as f:
    supers = [l.split(" - ", 1)[1].split() for l in f if " - cgroup " in l]
v1_memory = any("memory" in sp[2].split(",") for sp in supers)
sb = doc.get("sandbox", {})
check(sb.get("cgroup") in (0, 1, 2) and isinstance(sb.get("limits"), str) and sb["limits"],
      "healthz says which cgroups the sandbox uses: %r" % sb)
if v1_memory:
    check(sb.get("cgroup") == 1 and sb.get("box_memory_limit") is True,
          "a v1 memory controller is used and the box memory limit enforced: %r" % sb)
check(("enforced" in sb.get("limits", "")), "the summary names what is enforced")
check("memgrade serve: sandbox: " + sb.get("limits", "?") in srv.log(),
      "the same line is printed at start")

st, hd, doc = srv.json("GET", "/api/v1/openapi.json")
check(st == 200 and doc["openapi"].startswith("3."), "openapi.json is an OpenAPI 3 document")
for path in ["/api/v1/assignments", "/api/v1/assignments/{name}/grades", "/api/v1/submissions",
             "/api/v1/submissions/{id}", "/api/v1/submissions/{id}/files/{name}", "/healthz",
             "/metrics", "/api/v1/me"]:
    check(path in doc["paths"], "openapi documents " + path)
check("post" in doc["paths"]["/api/v1/submissions"], "openapi documents POST /submissions")
def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)
def resolve(ref):
    node = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node
bad = []
for ref in refs(doc):
    try:
        resolve(ref)
    except (KeyError, TypeError):
        bad.append(ref)
check(not bad, "every $ref in the OpenAPI document resolves (%s)" % bad)
check(all(op.get("responses") for p in doc["paths"].values() for op in p.values()),
      "every operation documents its responses")

# ---- authentication ---------------------------------------------------------
st, hd, doc = srv.json("GET", "/api/v1/assignments")
check(st == 401 and "error" in doc and hd.get("www-authenticate") == "Bearer",
      "no token: 401 with WWW-Authenticate")
st, _, doc = srv.json("GET", "/api/v1/assignments", token="0" * 64)
check(st == 401 and "error" in doc, "unknown token: 401")
st, _, doc = srv.json("GET", "/api/v1/assignments", headers={"Authorization": "Basic YTpi"})
check(st == 401 and "error" in doc, "Basic auth: 401")
st, _, doc = srv.json("GET", "/api/v1/assignments", headers={"Authorization": "Bearer " + "x" * 5000})
check(st in (401, 413, 431) or st >= 400, "oversized token refused (%d)" % st)
st, _, doc = srv.json("GET", "/api/v1/me", token=alice)
check(st == 200 and doc["name"] == "alice" and doc["role"] == "student", "me: alice is a student")
st, _, doc = srv.json("GET", "/api/v1/me", token=prof)
check(st == 200 and doc["role"] == "instructor", "me: prof is an instructor")

# ---- assignments ----------------------------------------------------------------
st, _, doc = srv.json("GET", "/api/v1/assignments", token=alice)
names = {a["name"]: a for a in doc["assignments"]} if st == 200 else {}
check(st == 200 and "mystr" in names, "assignments list mystr")
check(names.get("mystr", {}).get("files") == ["mystr.c"], "mystr expects mystr.c")
check(all(isinstance(a.get("max_score"), (int, float)) and a.get("title") for a in names.values()),
      "every assignment has a title and max_score")

# ---- submitting (JSON) ------------------------------------------------------------
st, hd, doc = srv.submit(alice, "mystr", {"mystr.c": MYSTR})
check(st == 202 and doc["status"] == "queued" and isinstance(doc["id"], int),
      "JSON submission: 202 queued")
check(doc and doc["url"] == "/api/v1/submissions/%d" % doc["id"] and hd.get("location") == doc["url"],
      "202 carries url and Location")
a1 = doc["id"]
graded = srv.wait_graded(alice, a1)
check(graded is not None, "alice's submission is graded")
if graded:
    res = graded.get("result", {})
    check(graded["user"] == "alice" and graded["assignment"] == "mystr", "submission names user and assignment")
    check(res.get("status") == "graded" and res.get("max_score", 0) > 0, "result document is there")
    check(res.get("score") == res.get("max_score"), "the reference scores full marks (%s/%s)"
          % (res.get("score"), res.get("max_score")))
    check(graded["score"] == res.get("score") and graded["files"] == ["mystr.c"],
          "summary fields agree with the document")
    for key in ("compile", "tests", "memory_errors", "duration_ms"):
        check(key in res, "result has " + key)

# Hidden tests: the author sees their total but not the withheld tests;
# instructors see everything.
st, _, full = srv.json("GET", "/api/v1/submissions/%d" % a1, token=prof)
_, _, raw = srv.request("GET", "/api/v1/submissions/%d" % a1, token=alice)
mine = json.loads(raw)
hidden = [t for t in full["result"]["tests"] if t["visibility"] != "visible"] if st == 200 else []
check(len(hidden) > 0, "the instructor's view has the hidden tests (%d)" % len(hidden))
check(all(t["visibility"] == "visible" for t in mine["result"]["tests"]), "the author's view lists only visible tests")
check(not any(('"%s"' % t["name"]).encode() in raw for t in hidden), "no hidden test's name reaches the author")
ht = mine["result"].get("hidden_tests", {})
check(ht.get("count") == len(hidden) and
      abs(sum(t["score"] for t in mine["result"]["tests"]) + ht.get("score", -1) - mine["result"]["score"]) < 1e-9,
      "hidden_tests sums up what is withheld, and the total adds up")
check(mine["result"]["score"] == full["result"]["score"], "author and instructor see the same total")
_, _, raw2 = srv.request("GET", "/api/v1/submissions/%d" % a1, token=alice)
check(raw2 == raw, "the cached author view is the same")
_, _, full2 = srv.json("GET", "/api/v1/submissions/%d" % a1, token=prof)
check(full2 == full, "the cached instructor view is the same")

st, hd, data = srv.request("GET", "/api/v1/submissions/%d/files/mystr.c" % a1, token=alice)
check(st == 200 and data.decode() == MYSTR, "the file comes back as submitted")
st, _, doc = srv.json("GET", "/api/v1/submissions/%d/files/other.c" % a1, token=alice)
check(st == 404 and "error" in doc, "unknown file: 404")

# A broken submission is a result too (compile error), not an error status.
st, _, doc = srv.submit(alice, "mystr", {"mystr.c": "this is not C {"})
check(st == 202, "broken source is accepted")
g = srv.wait_graded(alice, doc["id"]) if st == 202 else None
check(g is not None and g["result"]["status"] == "compile_error" and g["result"]["score"] == 0,
      "broken source: compile_error, score 0")

# ---- submitting (multipart through curl) -------------------------------------------
tmp = os.path.join(srv.workdir, "mystr.c")
with open(tmp, "w") as f:
    f.write(MYSTR)
def curl(*args):
    p = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}",
                        "-H", "Authorization: Bearer " + bob] + list(args) +
                       ["http://127.0.0.1:%d/api/v1/submissions" % srv.port],
                       capture_output=True, text=True)
    body, _, code = p.stdout.rpartition("\n")
    try:
        return int(code), json.loads(body)
    except ValueError:
        return int(code or 0), None
code, doc = curl("-F", "assignment=mystr", "-F", "file=@" + tmp)
check(code == 202 and doc["status"] == "queued", "multipart via curl: 202")
b1 = doc["id"] if code == 202 else 0
g = srv.wait_graded(bob, b1)
check(g is not None and g["result"]["score"] == g["result"]["max_score"], "multipart submission graded")
st, _, data = srv.request("GET", "/api/v1/submissions/%d/files/mystr.c" % b1, token=bob)
check(st == 200 and data.decode() == MYSTR, "multipart file stored as submitted")

code, doc = curl("-F", "assignment=nosuch", "-F", "file=@" + tmp)
check(code == 400 and "error" in doc, "multipart unknown assignment: 400")
code, doc = curl("-F", "assignment=mystr", "-F", "file=@" + tmp + ";filename=../mystr.c")
check(code == 400 and "path" in doc["error"], "multipart path component: 400")
code, doc = curl("-F", "assignment=mystr", "-F", "file=@" + tmp + ";filename=sub/mystr.c")
check(code == 400 and "path" in doc["error"], "multipart name with a slash: 400")
code, doc = curl("-F", "assignment=mystr", "-F", "file=@" + tmp, "-F", "two=@" + tmp)
check(code == 400 and "twice" in doc["error"], "multipart duplicate file: 400")
code, doc = curl("-F", "assignment=mystr", "-F", "note=hello", "-F", "file=@" + tmp)
check(code == 400 and "error" in doc, "multipart stray field: 400")
code, doc = curl("-F", "file=@" + tmp)
check(code == 400 and "assignment" in doc["error"], "multipart without assignment: 400")
nul = os.path.join(srv.workdir, "nul.c")
with open(nul, "wb") as f:
    f.write(b"int x;\0int y;\n")
code, doc = curl("-F", "assignment=mystr", "-F", "file=@" + nul + ";filename=mystr.c")
check(code == 400 and "NUL" in doc["error"], "multipart NUL bytes: 400")
big = os.path.join(srv.workdir, "big.c")
with open(big, "w") as f:
    f.write("/" * (256 * 1024 + 1))
code, doc = curl("-F", "assignment=mystr", "-F", "file=@" + big + ";filename=mystr.c")
check(code == 413 and "error" in doc, "multipart file over 256 KiB: 413")
code, doc = curl("-H", "Content-Type: multipart/form-data", "--data-binary", "x")
check(code == 400 and "error" in doc, "multipart without boundary: 400")
code, doc = curl("-H", "Content-Type: multipart/form-data; boundary=XX", "--data-binary",
                 "--XX\r\nContent-Disposition: form-data; name=\"assignment\"\r\n\r\nmystr\r\n--XX\r\ngarbage")
check(code == 400 and "error" in doc, "truncated multipart: 400")

# ---- refusals of JSON submissions ------------------------------------------------------
def post_raw(body, ctype="application/json", token=alice, headers=None):
    h = {"Content-Type": ctype} if ctype else {}
    h.update(headers or {})
    st, hd, data = srv.request("POST", "/api/v1/submissions", body, token, h)
    try:
        return st, hd, json.loads(data)
    except ValueError:
        return st, hd, None

cases = [
    # (what, body, content type, expected status, word in the error)
    ("unknown assignment", {"assignment": "nosuch", "files": {"mystr.c": "x"}}, 400, "unknown assignment"),
    ("missing file", {"assignment": "mystr", "files": {}}, 400, "expects"),
    ("extra file", {"assignment": "mystr", "files": {"mystr.c": "x", "evil.c": "y"}}, 400, "does not take"),
    ("wrong file name", {"assignment": "mystr", "files": {"main.c": "x"}}, 400, "expects"),
    ("path component", {"assignment": "mystr", "files": {"../mystr.c": "x"}}, 400, "path"),
    ("absolute path", {"assignment": "mystr", "files": {"/tmp/mystr.c": "x"}}, 400, "path"),
    ("dot name", {"assignment": "mystr", "files": {"..": "x"}}, 400, "path"),
    ("backslash", {"assignment": "mystr", "files": {"a\\mystr.c": "x"}}, 400, "path"),
    ("files not an object", {"assignment": "mystr", "files": ["mystr.c"]}, 400, "files"),
    ("file not a string", {"assignment": "mystr", "files": {"mystr.c": 5}}, 400, "string"),
    ("assignment not a string", {"assignment": 5, "files": {"mystr.c": "x"}}, 400, "assignment"),
    ("no assignment", {"files": {"mystr.c": "x"}}, 400, "assignment"),
    ("unknown field", {"assignment": "mystr", "files": {"mystr.c": "x"}, "grade": 10}, 400, "unknown field"),
    ("file over 256 KiB", {"assignment": "mystr", "files": {"mystr.c": "a" * (256 * 1024 + 1)}}, 413, "larger"),
]
for what, body, want, word in cases:
    st, _, doc = post_raw(json.dumps(body).encode())
    check(st == want and doc and word in doc.get("error", ""),
          "JSON %s: %d (%s)" % (what, want, (st, doc and doc.get("error"))))
for what, body, want in [
        ("invalid JSON", b"{\"assignment\": ", 400),
        ("not an object", b"[1,2]", 400),
        ("duplicate keys", b"{\"assignment\":\"mystr\",\"assignment\":\"x\",\"files\":{}}", 400),
        ("NUL escape", b"{\"assignment\":\"mystr\",\"files\":{\"mystr.c\":\"a\\u0000b\"}}", 400),
        ("empty body", b"", 400),
        ("deep nesting", b"[" * 100000 + b"]" * 100000, 400)]:
    st, _, doc = post_raw(body)
    check(st == want and doc and "error" in doc, "JSON %s: %d (got %d)" % (what, want, st))
# Refused from the headers alone: a client that waits for 100 Continue is
# answered before it sends the body (one that sends it at once is answered
# after it, so it can read the answer: test_http.py).
import socket
s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
s.sendall(("POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
           % (alice, 1024 * 1024 + 1)).encode())
resp = s.recv(4096)
s.close()
check(resp.startswith(b"HTTP/1.1 413") and b'"error"' in resp, "request over 1 MiB (Content-Length): 413 before the body")
# Chunked, so the size is only known while reading.
def chunked_upload(total):
    head = ("POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" % alice).encode()
    chunk = b"a" * 65536
    body = b""
    for _ in range(total // len(chunk)):
        body += b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    return raw_request(srv.port, head + body + b"0\r\n\r\n", timeout=20)
out = chunked_upload(2 * 1024 * 1024)
check(out.startswith(b"HTTP/1.1 413"), "chunked request over 1 MiB: 413 (%r)" % out[:20])
body = json.dumps({"assignment": "mystr", "files": {"mystr.c": "/" * (200 * 1024)}}).encode()
head = ("POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" % alice).encode()
chunks = b"".join(b"%x\r\n" % len(body[i:i + 7000]) + body[i:i + 7000] + b"\r\n" for i in range(0, len(body), 7000))
out = raw_request(srv.port, head + chunks + b"0\r\n\r\n", timeout=20)
check(out.startswith(b"HTTP/1.1 202"), "chunked JSON within limits is accepted (%r)" % out[:20])
st, _, doc = post_raw(json.dumps({"assignment": "mystr", "files": {"mystr.c": "x"}}).encode(), ctype="text/plain")
check(st == 415 and "error" in doc, "text/plain: 415")
st, _, doc = post_raw(json.dumps({"assignment": "mystr", "files": {"mystr.c": "x"}}).encode(), ctype=None)
check(st == 415 and "error" in doc, "no Content-Type: 415")
st, _, doc = post_raw(b"assignment=mystr", ctype="application/x-www-form-urlencoded")
check(st == 415, "urlencoded form: 415")
st, _, doc = post_raw(json.dumps({"assignment": "mystr", "files": {"mystr.c": "x"}}).encode(), token=None)
check(st == 401, "submission without a token: 401")

# ---- Idempotency-Key -------------------------------------------------------------------
body = {"assignment": "mystr", "files": {"mystr.c": MYSTR}}
st, hd, d1 = srv.json("POST", "/api/v1/submissions", body, alice, {"Idempotency-Key": "hw1-try1"})
check(st == 202 and "idempotent-replayed" not in hd, "Idempotency-Key: first use stores")
st, hd, d2 = srv.json("POST", "/api/v1/submissions", body, alice, {"Idempotency-Key": "hw1-try1"})
check(st == 202 and d2["id"] == d1["id"] and hd.get("idempotent-replayed") == "true",
      "Idempotency-Key: a retry gets the same submission")
st, _, d3 = srv.json("POST", "/api/v1/submissions", {"assignment": "mystr", "files": {"mystr.c": "int y;"}},
                     alice, {"Idempotency-Key": "hw1-try1"})
check(st == 409 and "error" in d3, "Idempotency-Key reused for other content: 409")
st, _, d4 = srv.json("POST", "/api/v1/submissions", body, bob, {"Idempotency-Key": "hw1-try1"})
check(st == 202 and d4["id"] != d1["id"], "Idempotency-Key is per user")
st, _, d5 = srv.json("POST", "/api/v1/submissions", body, alice, {"Idempotency-Key": "k" * 129})
check(st == 400, "overlong Idempotency-Key: 400")
n = query(srv.db, "SELECT COUNT(*) FROM submissions WHERE idempotency_key = 'hw1-try1'")[0][0]
check(n == 2, "one stored submission per user and key")
if not on_postgres():  # SQLite's own: the schema version and the journal live in the file
    version = query(srv.db, "PRAGMA user_version")[0][0]
    mode = query(srv.db, "PRAGMA journal_mode")[0][0]
    check(version >= 2 and mode == "wal", "schema migrated (version %d), WAL mode" % version)
check(srv.wait_graded(alice, d1["id"]) is not None, "the keyed submission is graded")

# ---- routing --------------------------------------------------------------------------
st, _, doc = srv.json("GET", "/api/v1/nope", token=alice)
check(st == 404 and doc and "error" in doc, "unknown API path: 404 JSON")
# Outside /api the pages (SPEC §7) answer: an unknown page is an HTML 404.
st, hd, _ = srv.request("GET", "/nope", token=alice)
check(st == 404 and hd.get("content-type", "").startswith("text/html"),
      "unknown page: 404 HTML")
st, hd, doc = srv.json("DELETE", "/api/v1/submissions/%d" % a1, token=alice)
check(st == 405 and "error" in doc and "GET" in hd.get("allow", ""), "DELETE: 405 with Allow")
st, hd, doc = srv.json("PUT", "/api/v1/submissions", token=alice)
check(st == 405 and "POST" in hd.get("allow", ""), "PUT /submissions: 405")
for bad in ["abc", "0", "-1", "99999999999999999999999", "1.5", "%00"]:
    st, _, doc = srv.json("GET", "/api/v1/submissions/" + bad, token=alice)
    check(st == 404 and "error" in doc, "submission id %r: 404" % bad)
st, _, doc = srv.json("GET", "/api/v1/submissions/999999", token=prof)
check(st == 404, "missing submission: 404 even for instructors")
st, hd, data = srv.request("HEAD", "/healthz")
check(st == 200 and data == b"", "HEAD /healthz")

# ---- isolation ------------------------------------------------------------------------
st, _, doc = srv.json("GET", "/api/v1/submissions/%d" % a1, token=bob)
check(st == 404 and "error" in doc, "bob cannot see alice's submission (404)")
st, _, doc = srv.json("GET", "/api/v1/submissions/%d/files/mystr.c" % a1, token=bob)
check(st == 404, "bob cannot read alice's file (404)")
st, _, doc = srv.json("GET", "/api/v1/submissions/%d" % a1, token=prof)
check(st == 200 and doc["user"] == "alice" and "result" in doc, "prof sees alice's submission")
st, _, doc = srv.json("GET", "/api/v1/submissions", token=bob)
check(st == 200 and doc["submissions"] and all(s["user"] == "bob" for s in doc["submissions"]),
      "bob's list has only bob's submissions")
st, _, doc = srv.json("GET", "/api/v1/submissions", token=carol)
check(st == 200 and doc["submissions"] == [], "carol's list is empty")
st, _, doc = srv.json("GET", "/api/v1/submissions?assignment=mystr", token=prof)
users = {s["user"] for s in doc["submissions"]} if st == 200 else set()
check({"alice", "bob"} <= users, "prof's list has everyone's")
ids = [s["id"] for s in doc["submissions"]]
check(ids == sorted(ids, reverse=True), "list is newest first")
st, _, doc = srv.json("GET", "/api/v1/submissions?assignment=vector", token=prof)
check(st == 200 and doc["submissions"] == [], "filter by assignment")
st, _, doc = srv.json("GET", "/api/v1/submissions?assignment=nosuch", token=prof)
check(st == 404, "filter by unknown assignment: 404")
st, _, doc = srv.json("GET", "/api/v1/submissions?user=bob", token=prof)
check(st == 200 and doc["submissions"] and {s["user"] for s in doc["submissions"]} == {"bob"},
      "instructor filters by user")
st, _, doc = srv.json("GET", "/api/v1/submissions?user=nobody", token=prof)
check(st == 404, "filter by an unknown user: 404")
st, _, doc = srv.json("GET", "/api/v1/submissions?user=alice", token=bob)
check(st == 403 and "error" in doc, "a student naming someone else: 403")
st, _, doc = srv.json("GET", "/api/v1/submissions?user=bob", token=bob)
check(st == 200 and all(s["user"] == "bob" for s in doc["submissions"]), "a student naming themselves")
st, _, doc = srv.json("GET", "/api/v1/submissions?limit=1", token=prof)
check(st == 200 and len(doc["submissions"]) == 1, "limit=1")
st, _, doc = srv.json("GET", "/api/v1/submissions?limit=x", token=prof)
check(st == 400, "limit=x: 400")

# ---- gradebook --------------------------------------------------------------------------
st, _, doc = srv.json("GET", "/api/v1/assignments/mystr/grades", token=alice)
check(st == 403 and "error" in doc, "students get 403 for the gradebook")
st, _, doc = srv.json("GET", "/api/v1/assignments/mystr/grades", token=prof)
rows = {r["user"]: r for r in doc["students"]} if st == 200 else {}
check(st == 200 and set(rows) == {"alice", "bob", "carol"}, "gradebook lists every student, not instructors")
check(rows.get("alice", {}).get("best_score") == doc.get("max_score"), "alice's best is the full score")
check(rows.get("alice", {}).get("submissions", 0) >= 2, "alice's submissions counted")
check(rows.get("carol", {}).get("best_score", 0) is None, "carol has no score")
st, hd, data = srv.request("GET", "/api/v1/assignments/mystr/grades?format=csv", token=prof)
lines = data.decode().split("\r\n") if st == 200 else []
check(st == 200 and hd.get("content-type", "").startswith("text/csv"), "CSV gradebook")
check(lines[:1] == ["user,best_score,max_score,submissions"] and any(l.startswith("alice,") for l in lines),
      "CSV has a header and alice")
check(any(re.match(r"^carol,,[0-9.]+,0$", l) for l in lines), "CSV: carol blank")
st, _, doc = srv.json("GET", "/api/v1/assignments/mystr/grades?format=xml", token=prof)
check(st == 400, "format=xml: 400")
st, _, doc = srv.json("GET", "/api/v1/assignments/nosuch/grades", token=prof)
check(st == 404, "gradebook of an unknown assignment: 404")

# ---- hostile bytes do not hurt the server -------------------------------------------------
for junk in [b"\x00\xff" * 1000 + b"\r\n\r\n", b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * 100000 + b"\r\n\r\n",
             b"POST /api/v1/submissions HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
             b"GET /api/v1/submissions/1/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
             b"GET /healthz HTTP/9.9\r\n\r\n"]:
    raw_request(srv.port, junk)
st, _, doc = srv.json("GET", "/healthz")
check(st == 200 and srv.proc.poll() is None, "server alive after hostile requests")

# ---- metrics and access log ----------------------------------------------------------------
st, hd, data = srv.request("GET", "/metrics")
text = data.decode()
check(st == 200 and hd.get("content-type", "").startswith("text/plain"), "metrics is text")
mtext = data.decode()
check("memgrade_sandbox_cgroup_version %d" % sb.get("cgroup", -1) in mtext and
      'memgrade_sandbox_limit_enforced{limit="box_memory"} %d' % (1 if sb.get("box_memory_limit") else 0)
      in mtext, "metrics agree with healthz on the sandbox's limits")
for name in ["memgrade_queue_depth ", "memgrade_jobs_total{outcome=\"graded\"}",
             "memgrade_jobs_total{outcome=\"compile_error\"}",
             "memgrade_grading_duration_seconds_bucket{le=\"+Inf\"}",
             "memgrade_grading_duration_seconds_count", "memgrade_http_requests_total{status=\"202\"}"]:
    check(name in text, "metrics has " + name)
m = re.search(r'memgrade_jobs_total\{outcome="graded"\} (\d+)', text)
check(m and int(m.group(1)) >= 2, "graded jobs counted")
m = re.search(r'memgrade_http_requests_total\{status="400"\} (\d+)', text)
check(m and int(m.group(1)) >= len(cases), "400s counted")
m = re.search(r'memgrade_grading_duration_seconds_count (\d+)', text)
check(m and int(m.group(1)) >= 3, "durations observed")
buckets = [int(v) for v in re.findall(r'memgrade_grading_duration_seconds_bucket\{le="[^"]+"\} (\d+)', text)]
check(buckets == sorted(buckets) and m and buckets[-1] == int(m.group(1)),
      "histogram buckets are cumulative and +Inf equals the count")
bad_lines = [l for l in text.strip().split("\n")
             if not re.match(r'^(#|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$)', l)]
check(not bad_lines, "every metrics line is Prometheus text format %r" % bad_lines[:3])
# A line is written when the request is completed, which may be after the
# client has read the response: wait for the lines (or fail).
def read_log(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def logged(path, *needles):
    log = read_log(path)
    return all(any(n in l for l in log) for n in needles)


wait_until(lambda: logged(srv.access_log, 'alice "POST /api/v1/submissions" 202', '"GET /nope" 404'))
log = read_log(srv.access_log)
check(any('alice "POST /api/v1/submissions" 202' in l for l in log), "access log has alice's 202")
check(any('"GET /nope" 404' in l for l in log), "access log has the 404")
check(all(re.match(r"^\d{4}-\d\d-\d\dT\S+Z \S+ \S+ \"[^\"]*\" \d+ \d+ [0-9.]+ms", l) for l in log),
      "every access log line has the format")

# logrotate: move the log away, SIGHUP, and the next lines go to a new file.
import signal as _signal
os.rename(srv.access_log, srv.access_log + ".1")
srv.kill(_signal.SIGHUP)
# The new file appears when the server opens it, a moment before it swaps it
# in (and says "reopened"): a request completed in between is still logged
# to the old file, so wait for the swap.
wait_until(lambda: "reopened " + srv.access_log in srv.log())
srv.json("GET", "/healthz?after-rotate=1")
wait_until(lambda: logged(srv.access_log, '"GET /healthz" 200'))
rotated = "\n".join(read_log(srv.access_log))
check('"GET /healthz" 200' in rotated and srv.proc.poll() is None, "SIGHUP reopens the access log")
srv.stop()
check(srv.proc.returncode == 0, "SIGTERM: clean exit 0")

# Rows stored before the student view existed (schema 2) get it derived.
query(srv.db, "UPDATE results SET student_document = NULL WHERE submission_id = ?", (a1,))
srv.start()
_, _, raw3 = srv.request("GET", "/api/v1/submissions/%d" % a1, token=alice)
check(raw3 == raw, "a result without a stored student view gets the same view derived")
srv.stop()
finish()
