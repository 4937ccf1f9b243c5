"""The pages over plain HTTP against the real `memgrade serve`: the first
start's one-time link, cookie flags, security headers, login with its rate
limit, CSRF on forms and on the cookie-authenticated API, logout ending the
session server-side, PBKDF2 hashes upgraded to argon2id, uploads refused
readably, someone else's submission 404, and values escaped."""
import hashlib
import json
import os
import re
import subprocess

from webtest import (MEMGRADE, PASSWORD, Client, Server, add_student, check, dbarg, finish,
                     first_link, multipart, query, set_password, stop_clean, stored_password,
                     variant, wait_until)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")

srv = Server(port=18311, args=["--login-limit", "3", "--rate-limit", "0"]).start()
try:
    # ---- first start: an instructor and a one-time link ------------------------
    link = first_link(srv)
    check(link is not None, "serve printed a one-time login link at its first start")
    admin = Client(srv.port)
    st, hd, _ = admin.request("GET", link)
    cookies = hd.get("set-cookie", [])
    sess = [c for c in cookies if c.startswith("mg_session=")]
    check(st == 303 and hd.get("location") == "/welcome" and sess,
          "the link logs in and lands on /welcome: %d %r" % (st, hd.get("location")))
    flags = [f.strip() for f in sess[0].split(";")] if sess else []
    check("HttpOnly" in flags and "SameSite=Lax" in flags and "Path=/" in flags and
          "Secure" not in flags, "session cookie: HttpOnly, SameSite=Lax, Path=/, no Secure "
          "over plain http: %r" % flags)
    check(re.fullmatch(r"mg_session=[0-9a-f]{64}", flags[0] if flags else ""),
          "the session id is 256 random bits (64 hex digits)")
    st, _, page = admin.request("GET", "/welcome")
    check(st == 200 and "memgrade user add" in page and "memgrade course enrol" in page and
          "offer" in page, "/welcome says how to add students, enrol and offer")
    # The instructor sets a password on /welcome, then logs in with it.
    st, _, _ = admin.form("/account/password", {"csrf": "0" * 64, "new": "admin password 1"})
    check(st == 403, "setting a password without the session's token: 403 (%d)" % st)
    st, hd, _ = admin.form("/account/password", {"csrf": admin.csrf("/welcome"),
                                                 "new": "admin password 1"})
    check(st == 303 and hd.get("location") == "/welcome?done=1" and
          stored_password(srv.db, "admin").startswith("$argon2id$"),
          "the link's user sets a password: %d" % st)
    other = Client(srv.port)
    st, _, _ = other.login("admin", "admin password 1")
    check(st == 303, "... and logs in with it: %d" % st)
    st, _, _ = admin.form("/account/password", {"csrf": admin.csrf("/welcome"),
                                                "current": "admin password 1",
                                                "new": "admin password 2"})
    check(st == 303 and other.request("GET", "/")[0] == 303 and
          admin.request("GET", "/")[0] == 200,
          "a password change logs out the user's other sessions, not this one")
    st, _, _ = admin.form("/account/password", {"csrf": admin.csrf("/welcome"),
                                                "current": "wrong", "new": "other password"})
    check(st == 403, "changing it needs the current one: %d" % st)
    st, _, page = Client(srv.port).request("GET", link)
    check(st == 404 and "already used" in page, "the link works once: %d" % st)
    st, _, _ = Client(srv.port).request("GET", "/login/once/" + "0" * 64)
    check(st == 404, "an unknown link is refused: %d" % st)
    row = (query(srv.db, "SELECT hash FROM sessions") or [None])[0]
    check(row and admin.cookies["mg_session"] not in (row[0].hex() if row else ""),
          "the database stores the session id's hash, not the id")

    # ---- headers -----------------------------------------------------------------
    st, hd, page = Client(srv.port).request("GET", "/login")
    check(st == 200 and hd.get("content-security-policy") == CSP, "strict CSP on pages: %r" %
          hd.get("content-security-policy"))
    check(hd.get("x-content-type-options") == "nosniff" and
          hd.get("referrer-policy") == "same-origin" and hd.get("x-frame-options") == "DENY",
          "nosniff, Referrer-Policy, X-Frame-Options")
    check("<script>" not in page and " style=" not in page and "onclick" not in page,
          "no inline script or style in the page")
    css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]+)"', page)
    st, hd, body = Client(srv.port).request("GET", css.group(1) if css else "/static/app.css")
    check(st == 200 and hd.get("content-type", "").startswith("text/css") and
          "immutable" in hd.get("cache-control", "") and "ol.src" in body,
          "app.css is compiled in and served cacheable: %d %r" % (st, hd.get("cache-control")))
    st, hd, _ = Client(srv.port).request("GET", "/static/nope.js")
    check(st == 404 and hd.get("content-type", "").startswith("text/html"), "unknown asset 404")
    st, hd, page = Client(srv.port).request("GET", "/no/such/page")
    check(st == 404 and "text/html" in hd.get("content-type", "") and "Not found" in page,
          "an unknown page is an HTML 404")
    st, hd, _ = Client(srv.port).request("GET", "/")
    check(st == 303 and hd.get("location") == "/login?next=%2F", "/ without login → /login")

    # ---- login ------------------------------------------------------------------
    add_student(srv.db, "alice")
    add_student(srv.db, "bob")
    add_student(srv.db, "carol")
    alice = Client(srv.port)
    st, hd, _ = alice.login("alice")
    check(st == 303 and hd.get("location") == "/" and alice.cookies.get("mg_session"),
          "alice logs in with the form: %d" % st)
    st, _, page = alice.request("GET", "/")
    check(st == 200 and "alice" in page and "/courses/default/mystr" in page,
          "/ lists alice's assignments")
    st, _, page = Client(srv.port).form("/login", {"username": "alice", "password": PASSWORD})
    check(st == 403, "a login POST without the form's token is refused: %d" % st)

    # Rate limit: 3 failures per user name (--login-limit 3), then 429.
    mallory = Client(srv.port)
    sts = [mallory.login("bob", "wrong password")[0] for _ in range(3)]
    st, hd, page = mallory.login("bob", PASSWORD)
    check(sts == [401, 401, 401] and st == 429 and int(hd.get("retry-after", "0")) > 0 and
          "Too many failed logins" in page,
          "3 wrong passwords, then 429 with Retry-After even for the right one: %r %d %r" %
          (sts, st, hd.get("retry-after")))
    st, _, _ = Client(srv.port).login("carol")
    check(st == 303, "another user from the same address still logs in: %d" % st)
    # Per address: 4 x 3 failures from one address lock it for every name.
    for i in range(12):
        Client(srv.port).login("nobody%d" % i, "x")
    st, _, _ = Client(srv.port).login("carol")
    check(st == 429, "12 failures from one address: the address waits too: %d" % st)

    # Secure behind a trusted TLS proxy only.
    proxied = Server(port=18312, args=["--trust-proxy", "1"], workdir=srv.workdir,
                     db=os.path.join(srv.workdir, "proxied.db")).start()
    try:
        add_student(proxied.db, "dave")
        c = Client(proxied.port)
        st, hd, _ = c.login("dave", headers={"X-Forwarded-Proto": "https"})
        sess = [x for x in hd.get("set-cookie", []) if x.startswith("mg_session=")]
        check(st == 303 and sess and "; Secure" in sess[0],
              "behind --trust-proxy 1 and X-Forwarded-Proto: https the cookie is Secure")
    finally:
        stop_clean(proxied)

    # ---- the API with the session cookie ---------------------------------------------
    st, hd, body = alice.request("GET", "/api/v1/me")
    check(st == 200 and '"alice"' in body, "the API accepts the session cookie: %d" % st)
    src = variant("mystr", "dup_no_room_for_nul.c")
    sub = json.dumps({"assignment": "mystr", "files": {"mystr.c": src}})
    st, _, body = alice.request("POST", "/api/v1/submissions", sub,
                                {"Content-Type": "application/json"})
    check(st == 403 and "CSRF" in body, "a cookie POST to the API without X-CSRF-Token: 403")
    st, _, body = alice.request("POST", "/api/v1/submissions", sub,
                                {"Content-Type": "application/json", "X-CSRF-Token": "f" * 64})
    check(st == 403, "... with a wrong token: 403")
    token = alice.csrf()
    st, _, body = alice.request("POST", "/api/v1/submissions", sub,
                                {"Content-Type": "application/json", "X-CSRF-Token": token})
    check(st == 202, "... with the session's token: 202 (%d)" % st)
    sid = json.loads(body)["id"] if st == 202 else 0

    # ---- the submit form ------------------------------------------------------------
    body, ctype = multipart([("csrf", token)], [("files", "mystr.c", src.encode())])
    st, hd, page = alice.request("POST", "/courses/default/mystr", body, {"Content-Type": ctype})
    m = re.fullmatch(r"/submissions/(\d+)", hd.get("location", ""))
    check(st == 303 and m, "the form submits and answers 303 to /submissions/ID: %d %r" %
          (st, hd.get("location")))
    body, ctype = multipart([], [("files", "mystr.c", src.encode())])
    st, _, page = alice.request("POST", "/courses/default/mystr", body, {"Content-Type": ctype})
    check(st == 403 and "security token" in page, "the form without its CSRF token: 403 page")
    body, ctype = multipart([("csrf", "0" * 64)], [("files", "mystr.c", src.encode())])
    st, _, _ = alice.request("POST", "/courses/default/mystr", body, {"Content-Type": ctype})
    check(st == 403, "... with a wrong token: 403")
    # Pasted source, no file: the paste box becomes mystr.c.
    body, ctype = multipart([("csrf", token), ("paste_name", "mystr.c"), ("paste_text", src)],
                            [("files", "", b"")])
    st, hd, _ = alice.request("POST", "/courses/default/mystr", body, {"Content-Type": ctype})
    check(st == 303 and "/submissions/" in hd.get("location", ""),
          "a pasted source is submitted as its named file: %d" % st)
    # Too large: a readable 413 page, not a reset.
    big = b"/* x */\n" * (3 * 1024 * 1024 // 8)
    body, ctype = multipart([("csrf", token)], [("files", "mystr.c", big)])
    st, _, page = alice.request("POST", "/courses/default/mystr", body, {"Content-Type": ctype})
    check(st == 413 and "too large" in page and "Submit for grading" in page,
          "a 3 MiB upload: 413 and the form again with the reason: %d" % st)
    body, ctype = multipart([], [("files", "mystr.c", big)])
    st, _, page = alice.request("POST", "/courses/default/mystr", body, {"Content-Type": ctype})
    check(st == 413 and "too large" in page, "... also when its token never arrived: %d" % st)
    st, hd, page = alice.request("GET", "/logout")
    check(st == 405 and "text/html" in hd.get("content-type", "") and
          hd.get("allow") == "POST", "GET /logout: a 405 page naming POST: %d" % st)
    # A name the assignment does not take, with markup in it: escaped.
    evil = "<script>alert(1)</script>.c"
    body, ctype = multipart([("csrf", token)], [("files", evil, b"int x;\n")])
    st, _, page = alice.request("POST", "/courses/default/mystr", body, {"Content-Type": ctype})
    check(st == 400 and "&lt;script&gt;alert(1)&lt;/script&gt;.c" in page and
          "<script>alert" not in page, "a refused file name is shown escaped: %d" % st)

    # ---- the result page --------------------------------------------------------
    graded = wait_until(lambda: 'id="score"' in alice.request("GET", "/submissions/%d" % sid)[2],
                        180, 0.5)
    st, _, page = alice.request("GET", "/submissions/%d" % sid)
    check(st == 200 and graded and 'data-kind="heap_overflow"' in page and
          re.search(r'<li id="L\d+" class="err">', page),
          "the owner sees the result with the error on its line")
finally:
    stop_clean(srv)

# A second server: the logout, legacy hashes and the 404 for someone else.
srv = Server(port=18313).start()
try:
    link = first_link(srv)
    add_student(srv.db, "erin")
    add_student(srv.db, "frank")
    # A PBKDF2 hash as an earlier version stored it: still logs in, becomes argon2id.
    salt = bytes(range(16))
    digest = hashlib.pbkdf2_hmac("sha256", b"legacy password 1", salt, 1000).hex()
    query(srv.db, "UPDATE users SET password = ? WHERE name = 'frank'",
          ("pbkdf2-sha256$1000$%s$%s" % (salt.hex(), digest),))
    frank = Client(srv.port)
    st, _, _ = frank.login("frank", "legacy password 1")
    check(st == 303 and stored_password(srv.db, "frank").startswith("$argon2id$"),
          "a PBKDF2 hash still logs in and is rehashed to argon2id: %d" % st)

    set_password(srv.db, "frank", "new password 22")
    check(frank.request("GET", "/")[0] == 303,
          "memgrade user passwd ends the user's sessions")
    frank.login("frank", "new password 22")
    erin = Client(srv.port)
    erin.login("erin")
    token = erin.csrf()
    src = variant("mystr", "dup_no_room_for_nul.c")
    body, ctype = multipart([("csrf", token)], [("files", "mystr.c", src.encode())])
    st, hd, _ = erin.request("POST", "/courses/default/mystr", body, {"Content-Type": ctype})
    path = hd.get("location", "/submissions/0")
    st, _, page = frank.request("GET", path)
    check(st == 404 and "no such submission" in page.lower(),
          "another student gets 404 for erin's submission page: %d" % st)
    st, _, _ = frank.request("GET", "/api/v1" + path)
    check(st == 404, "... and from the API: %d" % st)
    st, _, page = erin.request("GET", path)
    check(st == 200 and "Submission #" in page, "erin sees her own: %d" % st)

    # A file that does not compile: the compiler's complaint on its line.
    broken = '#include <stdlib.h>\n#include "mystr.h"\nchar *str_dup(const char *s) {\n  return s +;\n}\n'
    body, ctype = multipart([("csrf", token)], [("files", "mystr.c", broken.encode())])
    st, hd, _ = erin.request("POST", "/courses/default/mystr", body, {"Content-Type": ctype})
    cpath = hd.get("location", "/submissions/0")
    wait_until(lambda: 'id="score"' in erin.request("GET", cpath)[2], 180, 0.5)
    st, _, page = erin.request("GET", cpath)
    check(st == 200 and "did not compile" in page and
          re.search(r'<li id="L4" class="cerr">.*compiler: error: expected expression', page),
          "a compile error is shown on its line of the listing")

    # A course title with markup shows as text on /.
    for args in (["course", "add", "xss", "--title", "<script>alert(1)</script> & co"],
                 ["course", "enrol", "xss", "erin", "--role", "student"],
                 ["course", "offer", "xss", "mystr", "--due", "2030-01-02T03:04:00Z"]):
        subprocess.run([MEMGRADE] + args + ["--db", dbarg(srv.db)], check=True, capture_output=True)
    st, _, page = erin.request("GET", "/")
    check(st == 200 and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page and
          "<script>alert" not in page, "a course title with <script> is escaped on /")
    check(re.search(r'<time datetime="2030-01-02T03:04:00(\.000)?Z">2030-01-02 03:04 UTC</time>',
                    page),
          "a due date is a <time> with its UTC text for readers without JS")

    # Past the deadline: the form again, saying why.
    for args in (["course", "add", "past", "--title", "Closed"],
                 ["course", "enrol", "past", "erin", "--role", "student"],
                 ["course", "offer", "past", "mystr", "--due", "2020-01-01T00:00:00Z"]):
        subprocess.run([MEMGRADE] + args + ["--db", dbarg(srv.db)], check=True, capture_output=True)
    body, ctype = multipart([("csrf", token)], [("files", "mystr.c", src.encode())])
    st, _, page = erin.request("POST", "/courses/past/mystr", body, {"Content-Type": ctype})
    check(st == 403 and "deadline" in page and "Not submitted" in page and
          "Submit for grading" in page,
          "after the deadline: 403 and the form with the deadline in words: %d" % st)

    # Logout: CSRF needed, then the old cookie is dead server-side.
    old = dict(erin.cookies)
    st, _, _ = erin.form("/logout", {"csrf": "0" * 64})
    check(st == 403, "logout with a wrong token: 403 (%d)" % st)
    st, hd, _ = erin.form("/logout", {"csrf": token})
    check(st == 303 and hd.get("location") == "/login?bye=1", "logout: 303 to /login")
    stale = Client(srv.port)
    stale.cookies = old
    st, hd, _ = stale.request("GET", "/")
    check(st == 303 and hd.get("location", "").startswith("/login"),
          "the old session cookie no longer opens pages: %d" % st)
    st, _, _ = stale.request("GET", "/api/v1/me")
    check(st == 401, "... nor the API: %d" % st)
    n = query(srv.db, "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id "
                      "WHERE u.name = 'erin'")[0][0]
    check(n == 0, "the session row is gone from the database")
finally:
    stop_clean(srv)
finish()
