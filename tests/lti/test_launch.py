"""LTI 1.3 launches against the real `memgrade serve` (SPEC §8), driven by
the test platform (ltiplatform.py): good launches for each role, every
forged or broken token refused with a page naming the reason, key rotation
on both sides, Deep Linking, the `memgrade lti` CLI, and what a hostile
student who has read the source would try (forged claims, huge tokens,
markup and odd characters in titles and ids, service URLs aimed elsewhere)."""
import html
import html.parser
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "server"))
import ltiplatform as lp  # noqa: E402
from mgtest import (MEMGRADE, Server, add_user, check, dbarg, finish, query,  # noqa: E402
                    query_many, reference, tempdir, wait_until)

PORT = 18080
TOOL = "http://127.0.0.1:%d" % PORT
LTI = lp.LTI


def run(*args, db=None):
    cmd = [MEMGRADE] + list(args) + (["--db", dbarg(db)] if db else [])
    return subprocess.run(cmd, capture_output=True, text=True)


def q(db, sql, *args):
    return query(db, sql, args)


def landed(res, course, assignment):
    return res.status in (302, 303) and res.location == "/courses/%s/%s" % (course, assignment)


def refused(res, status, words):
    """A 4xx page (HTML) that says words."""
    body = html.unescape(res.body)
    ok = res.status == status and "text/html" in (res.final.header("Content-Type") or "")
    ok = ok and words.lower() in body.lower()
    if not ok:
        print("     got %s: %s" % (res.status, re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", body))[:400]))
    return ok


class _Forms(html.parser.HTMLParser):
    """Every form of a page by id: action and fields (the page shell has
    its own logout form before the page's)."""

    def __init__(self):
        super().__init__()
        self.forms, self._cur = {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._cur = self.forms.setdefault(a.get("id") or "", lp._FormParser())
            self._cur.action, self._cur.method = a.get("action"), (a.get("method") or "get").upper()
        elif tag == "input" and self._cur is not None and a.get("name"):
            if a.get("type") != "radio":
                self._cur.fields[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._cur = None


def form_by_id(page, fid):
    p = _Forms()
    p.feed(page)
    return p.forms.get(fid) or lp._FormParser()


def course_of(location):
    m = re.match(r"^/courses/([^/]+)/", location or "")
    return m.group(1) if m else None


def main():
    work = tempdir("mglti.")
    db = os.path.join(work, "memgrade.db")
    srv = Server(db=db, port=PORT, workdir=work, args=["--workers", "1"]).start()
    plat = lp.Platform(tool=TOOL)
    try:
        tests(srv, db, plat)
    finally:
        srv.stop()
        plat.close()
    finish()


def tests(srv, db, plat):
    # ---- registration ----
    r = plat.register(MEMGRADE, dbarg(db))
    check(r.returncode == 0 and "platform 1" in r.stdout, "lti add-platform registers the test platform")

    # ---- good launches ----
    t_first_fetch = time.time()
    stu = plat.launch(sub="stu-1", roles=("Learner",), assignment="vector", name="Ada Student",
                      email="ada@example.edu")
    course = course_of(stu.location)
    check(stu.stage == "launch" and course and landed(stu, course, "vector"),
          "a student's launch lands on /courses/C/vector (%r)" % stu)
    check(re.fullmatch(r"[a-z0-9_-]{1,32}", course or "") is not None,
          "the course id is [a-z0-9_-]{1,32}: %s" % course)
    check(any(c.startswith("mg_session=") and "HttpOnly" in c for c in stu.set_cookies),
          "the launch sets the session cookie")
    page = stu.browser.request("GET", TOOL + stu.location)
    check(page.status == 200 and "vector" in page.text.lower(),
          "the assignment page loads with the launch's cookie")
    check(q(db, "SELECT title FROM courses WHERE id = ?", course) == [("Operating Systems",)],
          "the course is titled with the context's title")
    rows = q(db, "SELECT u.name, u.role, m.role FROM users u JOIN course_members m"
                 " ON m.user_id = u.id AND m.course_id = ? JOIN lti_users l ON l.user_id = u.id"
                 " WHERE l.sub = 'stu-1'", course)
    check(rows == [("ada@example.edu", "student", "student")],
          "sub → a student user named after the email, student in the course: %r" % rows)
    again = plat.launch(sub="stu-1", roles=("Learner",), assignment="vector")
    check(landed(again, course, "vector") and
          q(db, "SELECT COUNT(*) FROM lti_users WHERE sub = 'stu-1'") == [(1,)],
          "a second launch of the same sub is the same user in the same course")
    li = q(db, "SELECT lineitem_url FROM lti_links WHERE resource_link_id = 'rl-1'")
    check(li and li[0][0] and li[0][0].startswith(plat.base + "/api/lti/courses/") and "?foo=bar" in li[0][0],
          "the AGS line item URL of the launch is stored: %r" % li)
    nrps = q(db, "SELECT nrps_url FROM lti_contexts WHERE course_id = ?", course)
    check(nrps == [(plat.nrps_url("ctx-os"),)], "the NRPS URL of the context is stored")

    ins = plat.launch(sub="ins-1", roles=("Instructor",), assignment="vector", name="Ian Teacher",
                      email="ian@example.edu")
    check(landed(ins, course, "vector"), "an instructor's launch lands on the same course")
    rows = q(db, "SELECT u.role, m.role FROM users u JOIN course_members m ON m.user_id = u.id"
                 " AND m.course_id = ? WHERE u.name = 'ian@example.edu'", course)
    check(rows == [("student", "instructor")],
          "Instructor → instructor of the course only, not a global instructor: %r" % rows)
    dash = ins.browser.request("GET", TOOL + "/dashboard/%s/vector" % course)
    check(dash.status == 200, "the launched instructor sees the course's dashboard")
    ta = plat.launch(sub="ta-1", roles=("TeachingAssistant",), assignment="vector")
    adm = plat.launch(sub="adm-1", roles=("Administrator",), assignment="vector")
    roles = dict(q(db, "SELECT l.sub, m.role FROM lti_users l JOIN course_members m"
                       " ON m.user_id = l.user_id AND m.course_id = ?"
                       " WHERE l.sub IN ('ta-1', 'adm-1')", course))
    check(landed(ta, course, "vector") and roles.get("ta-1") == "ta",
          "TeachingAssistant (membership/Instructor#TeachingAssistant) → ta, not instructor")
    check(roles.get("adm-1") == "instructor", "Administrator → instructor")
    other = plat.launch(sub="stu-1", context_id="ctx-2", context_title="Compilers",
                        context_label="CC", resource_link_id="rl-9", assignment="mystr")
    c2 = course_of(other.location)
    check(c2 and c2 != course and landed(other, c2, "mystr") and
          q(db, "SELECT title FROM courses WHERE id = ?", c2) == [("Compilers",)],
          "another context is another course (%s)" % c2)
    nohint = plat.launch(sub="stu-1", assignment="vector", login_overrides={"client_id": lp.REMOVE,
                                                                         "lti_deployment_id": lp.REMOVE})
    check(landed(nohint, course, "vector"),
          "a login without client_id and deployment id works while the issuer has one registration")
    get = plat.launch(sub="stu-1", assignment="vector", method="GET")
    check(landed(get, course, "vector"), "GET /lti/login works as POST does")
    check(stu.login.status == 302 and stu.auth_params.get("redirect_uri") == TOOL + "/lti/launch"
          and stu.auth_params.get("prompt") == "none", "the login redirects (302) with the OIDC parameters")
    sc = [c for c in stu.login.header_all("Set-Cookie") if c.startswith("mg_lti_browser=")]
    check(sc and "HttpOnly" in sc[0] and "SameSite=Lax" in sc[0] and "Path=/lti/" in sc[0],
          "the login's browser cookie: HttpOnly, SameSite=Lax over http: %r" % sc)
    check(plat.auth_errors == [], "the platform found nothing wrong in the tool's auth requests")

    # ---- a launch inside the LMS's iframe hands over to a window of its own ----
    bf = lp.Browser()
    login = bf.request("POST", plat.login_url,
                       form=plat.login_params(plat.prepare(sub="stu-1", assignment="vector"), "stu-1"))
    auth = bf.request("GET", urllib.parse.urljoin(plat.login_url, login.header("Location")))
    form = lp.parse_form(auth.text)
    fr = bf.request("POST", form.action, form=form.fields, headers={"Sec-Fetch-Dest": "iframe"})
    csp = fr.header("Content-Security-Policy") or ""
    m = re.search(r'id="lti-open" href="([^"]+)" target="_blank"', fr.text)
    check(fr.status == 200 and m and "frame-ancestors " + plat.base in csp and
          not fr.header("X-Frame-Options"),
          "a framed launch gets a page the platform may frame, with a button to a new window: %s" % csp)
    link = html.unescape(m.group(1)) if m else "/"
    nw = lp.Browser()
    opened = nw.request("GET", TOOL + link)
    check(opened.status == 303 and opened.header("Location") == "/courses/%s/vector" % course and
          any(c.startswith("mg_session=") for c in opened.header_all("Set-Cookie")),
          "the button's one-time link logs the new window in and goes on to the assignment")
    check(nw.request("GET", TOOL + link).status == 404, "the link works once")
    evil = nw.request("GET", TOOL + link.split("?")[0] + "?next=//evil.example/")
    check(evil.status == 404, "a used link with another next goes nowhere")

    # a refused launch inside the frame is readable there
    bf = lp.Browser()
    login = bf.request("POST", plat.login_url, form=plat.login_params(
        plat.prepare(sub="stu-1", assignment="vector", exp_in=-600), "stu-1"))
    auth = bf.request("GET", urllib.parse.urljoin(plat.login_url, login.header("Location")))
    af = lp.parse_form(auth.text)
    fref = bf.request("POST", af.action, form=af.fields, headers={"Sec-Fetch-Dest": "iframe"})
    check(fref.status == 401 and "expired" in fref.text and not fref.header("X-Frame-Options") and
          "frame-ancestors *" in (fref.header("Content-Security-Policy") or "") and
          "/logout" not in fref.text,
          "a refusal shown in the LMS's frame may be framed, and has no form to click through it")

    # ---- forged and broken tokens ----
    forged = lp.Key(kid=plat.key.kid)
    check(refused(plat.launch(sign={"key": forged}), 401, "signature does not match"),
          "a token signed with another key under the platform's kid is refused")
    check(refused(plat.launch(aud="someone-else"), 401, "audience"), "wrong aud is refused")
    check(refused(plat.launch(aud=["someone-else", plat.client_id],
                              overrides={"azp": "someone-else"}), 401, "authorized party"),
          "aud with several entries and a wrong azp is refused")
    check(refused(plat.launch(exp_in=-600), 401, "expired 10 minutes ago"),
          "an expired token is refused, saying how long ago")
    check(refused(plat.launch(iat_offset=600, exp_in=600), 401, "in the future"),
          "a token issued in the future is refused")
    check(landed(plat.launch(exp_in=-30, assignment="vector"), course, "vector"),
          "30 s past exp is within the allowed clock skew")
    good = plat.launch(sub="stu-1", assignment="vector")
    check(landed(good, course, "vector"), "a launch to replay")
    check(refused(plat.replay(good), 400, "already used"),
          "the same id_token and state posted again are refused (replay)")
    fresh = plat.launch(sub="stu-1", assignment="vector", browser=good.browser)
    b = good.browser
    login = b.request("POST", plat.login_url, form=plat.login_params(plat.prepare(sub="stu-1"), "stu-1"))
    auth = b.request("GET", urllib.parse.urljoin(plat.login_url, login.header("Location")))
    st = lp.parse_form(auth.text).fields["state"]
    rep = plat.post_token(fresh.id_token, st, b)
    check(refused(rep, 401, "nonce is not the one"),
          "an earlier id_token with a new login's state is refused (nonce of another login)")
    check(refused(plat.launch(deployment_id="dep-7"), 400, "unknown deployment id dep-7 for issuer " + plat.issuer),
          "an unknown deployment is refused at login, naming it and the issuer")
    check(refused(plat.launch(deployment_id="dep-7", login_overrides={"lti_deployment_id": plat.deployment_id}),
                  403, "unknown deployment id dep-7"),
          "an unknown deployment in the id_token is refused at launch")
    check(refused(plat.launch(sign={"alg": "none"}), 401, 'algorithm "none"'), "alg none is refused")
    check(refused(plat.launch(sign={"alg": "HS256-pubkey"}), 401, "HS256"),
          "HS256 with the public key as the secret is refused")
    check(refused(plat.post_token(good.id_token), 400, "no state"), "a launch without state is refused")
    check(refused(plat.post_token(good.id_token, "made-up-state", good.browser), 400, "unknown"),
          "a made-up state is refused")
    # a login in one browser, the launch posted from another
    b1, b2 = lp.Browser(), lp.Browser()
    hint = plat.prepare(sub="stu-1", assignment="vector")
    login = b1.request("POST", plat.login_url, form=plat.login_params(hint, "stu-1"))
    auth = b1.request("GET", urllib.parse.urljoin(plat.login_url, login.header("Location")))
    form = lp.parse_form(auth.text).fields
    check(refused(plat.post_token(form["id_token"], form["state"], b2), 401, "no login cookie"),
          "a launch from a browser without the login cookie is refused")
    hint = plat.prepare(sub="stu-1", assignment="vector")
    b2.request("POST", plat.login_url, form=plat.login_params(plat.prepare(sub="x"), "x"))
    login = b1.request("POST", plat.login_url, form=plat.login_params(hint, "stu-1"))
    auth = b1.request("GET", urllib.parse.urljoin(plat.login_url, login.header("Location")))
    form = lp.parse_form(auth.text).fields
    check(refused(plat.post_token(form["id_token"], form["state"], b2), 401, "another browser"),
          "a launch from a browser with another login cookie is refused")
    # a login left waiting past its 10 minutes
    b3 = lp.Browser()
    hint = plat.prepare(sub="stu-1", assignment="vector")
    login = b3.request("POST", plat.login_url, form=plat.login_params(hint, "stu-1"))
    auth = b3.request("GET", urllib.parse.urljoin(plat.login_url, login.header("Location")))
    form = lp.parse_form(auth.text).fields
    q(db, "UPDATE lti_states SET expires_at = ?", int(time.time() * 1000) - 180000)
    check(refused(plat.post_token(form["id_token"], form["state"], b3), 400, "expired 3 minutes ago"),
          "a login older than 10 minutes is refused, saying how long ago it expired")
    check(refused(plat.launch(message_type="LtiSubmissionReviewRequest"), 400, "message type"),
          "an unknown message type is refused")
    check(refused(plat.launch(overrides={LTI + "version": "1.1.0"}), 400, "version 1.1.0"),
          "another LTI version is refused")
    check(refused(plat.launch(overrides={"iss": "https://evil.example"}), 401, "issuer"),
          "a token whose iss is not the platform's is refused")
    check(refused(plat.launch(overrides={"nonce": "abc"}), 401, "nonce"), "a wrong nonce is refused")
    check(refused(plat.launch(overrides={"sub": lp.REMOVE}), 400, "sub"), "a launch without sub is refused")
    check(refused(plat.launch(target_link_uri="https://evil.example/lti/launch"), 400, "not this tool"),
          "a launch for another tool's address is refused")
    check(refused(plat.launch(overrides={LTI + "context": lp.REMOVE}), 400, "context"),
          "a launch without a context is refused")
    check(refused(plat.launch(assignment="nosuch"), 400, 'assignment "nosuch"'),
          "a link naming an assignment the server lacks is refused")
    check(refused(plat.launch(sign={"kid": "no-such-kid"}), 401, "does not have"),
          "a token naming an unknown kid is refused after the key set was fetched")

    # ---- hostile claims ----
    xss = plat.launch(sub="stu-x", context_id="ctx-x", context_title="<script>alert(1)</script>\u202e\x01",
                      context_label="../../x; DROP TABLE courses;--", resource_link_id="rl-x",
                      assignment="vector", name="<img src=x onerror=alert(1)>", email="")
    cx = course_of(xss.location)
    check(cx and re.fullmatch(r"[a-z0-9_-]{1,32}", cx) is not None and landed(xss, cx, "vector"),
          "markup and punctuation in the context label make a safe course id: %s" % cx)
    p = xss.browser.request("GET", TOOL + "/")
    check(p.status == 200 and "<script>alert(1)" not in p.text and "&lt;script&gt;" in p.text,
          "a context title with markup is shown escaped")
    uname = q(db, "SELECT u.name FROM users u JOIN lti_users l ON l.user_id = u.id WHERE l.sub = 'stu-x'")
    check(uname and re.fullmatch(r"[A-Za-z0-9._@-]{1,64}", uname[0][0]) is not None,
          "a user name with markup becomes a plain name: %r" % uname)
    t = q(db, "SELECT title FROM courses WHERE id = ?", cx)
    check(t and "\x01" not in t[0][0], "control characters are dropped from course titles")
    ssrf = plat.launch(sub="stu-1", resource_link_id="rl-ssrf", assignment="vector",
                       lineitem="http://169.254.169.254/latest/meta-data/",
                       overrides={lp.NRPS_CLAIM: {"context_memberships_url": "http://10.0.0.1/x"}})
    check(landed(ssrf, course, "vector"), "a launch with service URLs on other hosts still lands")
    check(q(db, "SELECT lineitem_url FROM lti_links WHERE resource_link_id = 'rl-ssrf'") == [(None,)],
          "a line item URL on another host is not kept (no SSRF through claims)")
    check(q(db, "SELECT nrps_url FROM lti_contexts WHERE course_id = ?", course) ==
          [(plat.nrps_url("ctx-os"),)], "a roster URL on another host is not kept")
    check("ignoring the AGS line item URL http://169.254.169.254" in srv.log(),
          "the server logs why it ignored the line item URL")
    big = plat.launch(sub="stu-1", assignment="vector", overrides={"pad": "x" * 70000})
    check(big.status == 413, "an id_token over 64 KiB is refused (413): %s" % big.status)
    long_sub = plat.launch(sub="s" * 300, assignment="vector")
    check(refused(long_sub, 400, "sub"), "a sub over 255 characters is refused")
    uni = plat.launch(sub="stü-ünï-\u200b", context_id="ctx-ü", context_title="Systèmes d'exploitation ✓",
                      context_label="Systèmes", resource_link_id="rl-ü", assignment="vector",
                      name="Zoë Ünicode", email="")
    cu = course_of(uni.location)
    check(cu and landed(uni, cu, "vector") and
          q(db, "SELECT title FROM courses WHERE id = ?", cu) == [("Systèmes d'exploitation ✓",)],
          "unicode context titles are kept as they are (%s)" % cu)
    for token, words in (("a.b.c", "header"), ("....", "not a signed JWT"),
                         ("eyJhbGciOiJSUzI1NiJ9+.e30.e30", "header"), ("\u00e9.\u00e9.\u00e9", "header")):
        b = lp.Browser()
        login = b.request("POST", plat.login_url, form=plat.login_params(plat.prepare(sub="z"), "z"))
        auth = b.request("GET", urllib.parse.urljoin(plat.login_url, login.header("Location")))
        st = lp.parse_form(auth.text).fields["state"]
        check(refused(plat.post_token(token, st, b), 401, words),
              "a malformed id_token %r is refused" % token)
    far = plat.launch(sub="stu-1", assignment="vector", overrides={"exp": 1e300, "iat": -1e300})
    check(landed(far, course, "vector"), "absurd exp/iat numbers are handled (a far expiry is an expiry)")
    check(refused(plat.launch(overrides={"exp": -1e300}), 401, "expired"), "a hugely negative exp is expired")
    check(refused(plat.launch(overrides={"exp": "tomorrow"}), 401, "expiry"), "a non-numeric exp is refused")
    nl = plat.launch(overrides={LTI + "message_type": "Evil\nmemgrade: forged log line"})
    check(nl.status == 400 and "\nmemgrade: forged log line" not in srv.log(),
          "claims with line breaks cannot forge server log lines")
    st, _, _ = srv.request("GET", "/healthz")
    check(st == 200, "the server is still up after the hostile launches")

    # ---- Deep Linking ----
    dl = plat.launch(sub="ins-1", roles=("Instructor",), message_type="LtiDeepLinkingRequest")
    form = form_by_id(dl.body, "lti-pick")
    if dl.status != 200:
        print("     DL answered %s: %s" % (dl.status, re.sub("<[^>]+>", " ", dl.body)[:600]))
    check(dl.status == 200 and form.action == "/lti/deep-link" and "dl" in form.fields and
          "csrf" in form.fields and 'value="vector"' in dl.body,
          "an instructor's Deep Linking request shows the assignment picker")
    fields = dict(form.fields, assignment="vector")
    ret = dl.browser.request("POST", TOOL + "/lti/deep-link", form=fields)
    rform = form_by_id(ret.text, "lti-return")
    csp = ret.header("Content-Security-Policy") or ""
    check(ret.status == 200 and rform.action == plat.dl_return_url and "JWT" in rform.fields,
          "the pick answers a form posting the signed response to the return URL")
    check("form-action 'self' " + plat.base in csp, "the page's CSP lets that form post to the platform only: %s" % csp)
    check("/static/lti.js" in ret.text, "the form is sent by a script file (no inline script)")
    h, c = lp.jwt_parts(rform.fields["JWT"])
    back = dl.browser.request("POST", rform.action, form=rform.fields)
    rec = plat.deep_links[-1] if plat.deep_links else {}
    check(back.status == 200 and rec.get("errors") == [],
          "the platform verifies the Deep Linking response: %r" % rec.get("errors"))
    item = (c.get(lp.DL + "content_items") or [{}])[0]
    tok = add_user(db, "prof", "instructor")
    st, _, cat = srv.json("GET", "/api/v1/assignments", token=tok)
    cat = cat if isinstance(cat, list) else (cat or {}).get("assignments", [])
    vector_max = [a.get("max_score") for a in cat if a.get("name") == "vector"]
    check(item.get("type") == "ltiResourceLink" and item.get("url") == TOOL + "/lti/launch" and
          item.get("custom") == {"assignment": "vector"} and item.get("lineItem", {}).get("resourceId") == "vector"
          and vector_max and item.get("lineItem", {}).get("scoreMaximum") == vector_max[0],
          "the content item is an ltiResourceLink with the line item and the custom parameter")
    check(c.get("aud") == plat.issuer and c.get("iss") == plat.client_id and "request" in rec
          and h.get("alg") == "RS256" and h.get("kid"),
          "the response is RS256 from the client id to the issuer, echoing the request's data")
    later = plat.launch(sub="stu-1", resource_link_id="rl-dl", assignment=None,
                        custom=item.get("custom"), lineitem=(rec.get("lineitem_urls") or [None])[0])
    check(landed(later, course, "vector"), "a later launch of the deep-linked link lands on the chosen assignment")
    sdl = plat.launch(sub="stu-1", roles=("Learner",), message_type="LtiDeepLinkingRequest")
    check(refused(sdl, 403, "only instructors"), "a student cannot deep link (403)")
    forged_dl = dl.browser.request("POST", TOOL + "/lti/deep-link",
                                   form=dict(form.fields, assignment="vector", dl="a.b.c"))
    check(forged_dl.status == 400, "a Deep Linking form with a made-up token is refused")
    stolen = stu.browser.request("POST", TOOL + "/lti/deep-link",
                                 form=dict(form.fields, assignment="vector"))
    check(stolen.status == 403, "a student posting an instructor's Deep Linking form is refused (403): %s"
          % stolen.status)

    # Deep Linking inside the LMS's frame: the pick comes back without the session cookie
    bf = lp.Browser()
    login = bf.request("POST", plat.login_url, form=plat.login_params(
        plat.prepare(sub="ins-1", roles=("Instructor",), message_type="LtiDeepLinkingRequest"), "ins-1"))
    auth = bf.request("GET", urllib.parse.urljoin(plat.login_url, login.header("Location")))
    af = lp.parse_form(auth.text)
    fdl = bf.request("POST", af.action, form=af.fields, headers={"Sec-Fetch-Dest": "iframe"})
    pf = form_by_id(fdl.text, "lti-pick")
    check(fdl.status == 200 and "frame-ancestors " + plat.base in (fdl.header("Content-Security-Policy") or "")
          and not fdl.header("X-Frame-Options") and "dl" in pf.fields,
          "a framed Deep Linking request gets a picker the platform may frame")
    cookieless = lp.Browser()
    fret = cookieless.request("POST", TOOL + "/lti/deep-link", form=dict(pf.fields, assignment="mystr"))
    rf = form_by_id(fret.text, "lti-return")
    check(fret.status == 200 and rf.action == plat.dl_return_url and
          "frame-ancestors " + plat.base in (fret.header("Content-Security-Policy") or ""),
          "the framed pick works without the session cookie (the signed form is the credential)")
    back = cookieless.request("POST", rf.action, form=rf.fields)
    check(back.status == 200 and plat.deep_links[-1].get("errors") == [],
          "... and the platform verifies its response")
    nof = lp.Browser().request("POST", TOOL + "/lti/deep-link", form=dict(form.fields, assignment="vector"))
    check(nof.status == 401, "an unframed form posted without the session is refused (401): %s" % nof.status)
    q(db, "UPDATE course_members SET role = 'student' WHERE user_id = (SELECT user_id FROM lti_users"
          " WHERE sub = 'ins-1') AND course_id = ?", course)
    demoted = lp.Browser().request("POST", TOOL + "/lti/deep-link", form=dict(pf.fields, assignment="mystr"))
    check(demoted.status == 403, "a framed form of someone no longer staff is refused (403)")
    q(db, "UPDATE course_members SET role = 'instructor' WHERE user_id = (SELECT user_id FROM lti_users"
          " WHERE sub = 'ins-1') AND course_id = ?", course)

    # a link without an assignment: the instructor picks one there
    nolink = plat.launch(sub="ins-1", roles=("Instructor",), resource_link_id="rl-none", assignment=None)
    f = form_by_id(nolink.body, "lti-pick")
    check(nolink.status == 200 and "lti-unset" in nolink.body and f.action and f.action.startswith("/lti/links/"),
          "a link without an assignment offers the instructor a choice")
    pick = nolink.browser.request("POST", TOOL + f.action, form=dict(f.fields, assignment="list"))
    check(pick.status == 303 and pick.header("Location") == "/courses/%s/list" % course,
          "the instructor's pick is kept")
    after = plat.launch(sub="stu-1", resource_link_id="rl-none", assignment=None)
    check(landed(after, course, "list"), "a student's later launch of that link lands on the pick")
    # ... also when the LMS shows it in a frame: a window of its own opens on the picker
    bf = lp.Browser()
    login = bf.request("POST", plat.login_url, form=plat.login_params(
        plat.prepare(sub="ins-1", roles=("Instructor",), resource_link_id="rl-none3", assignment=None), "ins-1"))
    auth = bf.request("GET", urllib.parse.urljoin(plat.login_url, login.header("Location")))
    af = lp.parse_form(auth.text)
    fpk = bf.request("POST", af.action, form=af.fields, headers={"Sec-Fetch-Dest": "iframe"})
    m = re.search(r'id="lti-open" href="([^"]+)"', fpk.text)
    nw = lp.Browser()
    opened = nw.request("GET", TOOL + html.unescape(m.group(1))) if m else None
    loc = opened.header("Location") if opened else ""
    pg = nw.request("GET", TOOL + loc) if loc else None
    pf = form_by_id(pg.text, "lti-pick") if pg else lp._FormParser()
    check(fpk.status == 200 and loc.startswith("/lti/links/") and pg.status == 200 and pf.action == loc,
          "a framed instructor on a link without an assignment gets a window with the picker: %s" % loc)
    check(nw.request("GET", TOOL + loc.replace("/lti/links/", "/lti/links/9999")).status == 404,
          "the picker of an unknown link is 404")
    spk = stu.browser.request("GET", TOOL + loc)
    check(spk.status == 403, "a student cannot open a link's picker (403)")
    snol = plat.launch(sub="stu-9", resource_link_id="rl-none2", assignment=None)
    check(snol.status == 200 and "has not chosen" in snol.body and "/lti/links/" not in snol.body,
          "a student on a link without an assignment is told to wait, with no picker")

    # ---- grade passback of a launched student's submission (AGS) ----
    sp = stu.browser.request("GET", TOOL + "/courses/%s/vector" % course)
    m = re.search(r'name="csrf-token" content="([0-9a-f]{64})"', sp.text)
    body = json.dumps({"assignment": "vector", "course": course,
                       "files": {"vector.c": reference("vector")}}).encode()
    sub = stu.browser.request("POST", TOOL + "/api/v1/submissions", body=body,
                              headers={"Content-Type": "application/json",
                                       "X-CSRF-Token": m.group(1) if m else ""})
    check(sub.status == 202, "the launched student submits through the session: %s" % sub.status)
    lineitem = q(db, "SELECT lineitem_url FROM lti_links WHERE resource_link_id = 'rl-1'")[0][0]
    got = wait_until(lambda: plat.scores_for(lineitem, "stu-1"), timeout=120)
    sc = got[-1] if got else {}
    check(sc.get("activityProgress") == "Completed" and sc.get("gradingProgress") == "FullyGraded"
          and sc.get("scoreMaximum") == vector_max[0] and sc.get("scoreGiven") == vector_max[0]
          and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", sc.get("timestamp", "")),
          "the graded score reaches the launch's line item: %r" % {k: sc.get(k) for k in
                                                                  ("scoreGiven", "scoreMaximum", "timestamp")})
    posts = [p for p in plat.score_posts if p["status"] == 200]
    check(posts and posts[-1]["path"].split("?")[0].endswith("/scores") and posts[-1]["path"].endswith("?foo=bar")
          and posts[-1]["content_type"] == lp.SCORE_TYPE,
          "the Score went to LINEITEM/scores?foo=bar with the score media type: %s" % (posts[-1]["path"] if posts else None))

    # a platform that forgot the cached access token answers 401 once
    with plat.lock:
        plat.tokens.clear()
    n_tok, n_posts = plat.tokens_issued, len(plat.score_posts)
    sub = stu.browser.request("POST", TOOL + "/api/v1/submissions", body=body,
                              headers={"Content-Type": "application/json",
                                       "X-CSRF-Token": m.group(1) if m else ""})
    wait_until(lambda: len(plat.scores_for(lineitem, "stu-1")) >= 2, timeout=120)
    item_id = int(urllib.parse.urlsplit(lineitem).path.rstrip("/").split("/")[-1])
    st401 = [p["status"] for p in plat.score_posts[n_posts:] if p["lineitem"] == item_id]
    all_st = [p["status"] for p in plat.score_posts[n_posts:]]
    # (the student launched two links of vector, so two line items get it;
    # whichever goes first meets the 401, the other uses the new token)
    check(sub.status == 202 and st401 and st401[-1] == 200 and all_st.count(401) == 1 and
          plat.tokens_issued == n_tok + 1,
          "a 401 drops the cached access token and the Score is sent again with a new one: %r" % all_st)

    # ---- platform key rotation ----
    time.sleep(max(0, t_first_fetch + 10.5 - time.time()))
    plat.rotate_key()
    rot = plat.launch(sub="stu-1", assignment="vector")
    check(landed(rot, course, "vector"), "after the platform rotates its key, a launch with the new kid works")
    plat.drop_old_keys()

    # ---- tool key rotation (client assertions to the token endpoint) ----
    jwks = json.loads(srv.request("GET", "/lti/jwks")[2])
    k0 = [k["kid"] for k in jwks["keys"]]
    st, hd, _ = srv.request("GET", "/lti/jwks")
    check(len(k0) == 1 and all(k["kty"] == "RSA" and k["alg"] == "RS256" and k["use"] == "sig"
                               and k["n"] and k["e"] == "AQAB" for k in jwks["keys"])
          and "max-age" in hd.get("cache-control", ""),
          "/lti/jwks publishes the tool's key as an RS256 JWK, cacheable")
    plat.token_ttl = 20  # not cached: every sync asks for a token
    plat.add_member("ctx-os", "stu-1")
    st, _, doc = srv.json("POST", "/api/v1/courses/%s/roster/sync" % course, token=tok)
    treq = plat.token_requests[-1] if plat.token_requests else {}
    check(st == 200 and treq.get("status") == 200 and
          lp.jwt_parts(treq["form"]["client_assertion"])[0]["kid"] == k0[0],
          "the token endpoint accepts the tool's client assertion (kid %s): %s %r" % (k0[0], st, treq.get("errors")))
    r = run("lti", "keys", "rotate", db=db)
    check(r.returncode == 0 and "new key" in r.stdout, "memgrade lti keys rotate")
    k1 = [k["kid"] for k in json.loads(srv.request("GET", "/lti/jwks")[2])["keys"]]
    check(len(k1) == 2 and k0[0] in k1 and k1[0] != k0[0], "both kids are published after the rotation: %r" % k1)
    n = len(plat.token_requests)
    st, _, _ = srv.json("POST", "/api/v1/courses/%s/roster/sync" % course, token=tok)
    treq = plat.token_requests[-1] if len(plat.token_requests) > n else {}
    check(st == 200 and treq.get("status") == 200 and
          lp.jwt_parts(treq["form"]["client_assertion"])[0]["kid"] == k1[0],
          "new assertions are signed by the new kid and accepted")
    r = run("lti", "keys", "list", db=db)
    check(r.returncode == 0 and "current" in r.stdout and "previous" in r.stdout, "lti keys list shows both")
    r = run("lti", "keys", "rotate", "--grace", "0", db=db)
    k2 = [k["kid"] for k in json.loads(srv.request("GET", "/lti/jwks")[2])["keys"]]
    check(r.returncode == 0 and len(k2) == 2 and k1[0] not in k2 and k0[0] in k2 and k2[0] not in k1,
          "a rotation with --grace 0 drops the previous key at once; an older one in grace stays: %r" % k2)

    # ---- the CLI ----
    r = run("lti", "list", db=db)
    check(r.returncode == 0 and plat.issuer in r.stdout and plat.client_id in r.stdout, "lti list")
    r = plat.register(MEMGRADE, dbarg(db), deployment_id="dep-2")
    check(r.returncode == 0 and "added deployment dep-2" in r.stdout,
          "add-platform with a known issuer and client id adds a deployment")
    d2 = plat.launch(sub="stu-1", deployment_id="dep-2", assignment="vector")
    c3 = course_of(d2.location)
    check(c3 and c3 != course and landed(d2, c3, "vector"), "a launch through the second deployment works")
    r = plat.register(MEMGRADE, dbarg(db), deployment_id="dep-2")
    check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, "the same deployment twice: one line, exit 2")
    args = plat.add_platform_args()
    bad = list(args)
    bad[bad.index("--jwks-url") + 1] = "http://lms.example.edu/jwks"
    r = run(*bad, db=db)
    check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "https" in r.stderr,
          "http on a non-loopback host is refused in one line: %s" % r.stderr.strip())
    bad[bad.index("--jwks-url") + 1] = "not a url"
    r = run(*bad, db=db)
    check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, "a malformed URL is refused in one line")
    bad[bad.index("--jwks-url") + 1] = "https://user:pw@lms.example.edu/jwks"
    r = run(*bad, db=db)
    check(r.returncode == 2, "a URL with credentials is refused")
    r = run("lti", "add-platform", "--issuer", "https://canvas.example.edu", db=db)
    check(r.returncode == 2, "add-platform without every option is a usage error")
    r = run("lti", "add-platform", "--issuer", "https://canvas.instructure.com", "--client-id", "1000",
            "--deployment-id", "7:abc", "--auth-url", "https://sso.canvaslms.com/api/lti/authorize_redirect",
            "--token-url", "https://sso.canvaslms.com/login/oauth2/token",
            "--jwks-url", "https://sso.canvaslms.com/api/lti/security/jwks", db=db)
    check(r.returncode == 0 and "platform 2" in r.stdout, "a second platform (https) is registered")
    r = run("lti", "set", "2", "--jwks-url", "https://canvas.example.edu/jwks", db=db)
    check(r.returncode == 0 and q(db, "SELECT jwks_url FROM lti_platforms WHERE id = 2") ==
          [("https://canvas.example.edu/jwks",)], "lti set changes a URL")
    r = run("lti", "set", "2", "--token-url", "http://canvas.example.edu/t", db=db)
    check(r.returncode == 2, "lti set holds URLs to the same policy")
    r = run("lti", "set", "99", "--jwks-url", "https://x.example/j", db=db)
    check(r.returncode == 2 and "no platform 99" in r.stderr, "lti set of an unknown platform")
    # line items on a host of their own (hosted Canvas: the school's address)
    alt = plat.lineitem_for_link("ctx-os", "rl-alt").replace("127.0.0.1", "localhost")
    plat.launch(sub="stu-1", resource_link_id="rl-alt", assignment="vector", lineitem=alt)
    check(q(db, "SELECT lineitem_url FROM lti_links WHERE resource_link_id = 'rl-alt'") == [(None,)],
          "a line item on an unregistered host is ignored")
    r = run("lti", "set", "1", "--service-url", "http://localhost:%d" % plat.port, db=db)
    again = plat.launch(sub="stu-1", resource_link_id="rl-alt", assignment="vector", lineitem=alt)
    check(r.returncode == 0 and landed(again, course, "vector") and
          q(db, "SELECT lineitem_url FROM lti_links WHERE resource_link_id = 'rl-alt'") == [(alt,)],
          "with --service-url naming that host the line item is kept")
    r = run("lti", "list", db=db)
    check("services=http://localhost:%d" % plat.port in r.stdout, "lti list shows the service URL")
    r = run("lti", "set", "1", "--service-url", "http://school.example.edu", db=db)
    check(r.returncode == 2 and "https" in r.stderr, "the service URL is held to the platform URL policy")
    r = run("lti", "set", "1", "--service-url", "", db=db)
    check(r.returncode == 0 and q(db, "SELECT service_url FROM lti_platforms WHERE id = 1") == [(None,)],
          "--service-url '' clears it")
    r = run("lti", "remove-deployment", "1", "--deployment-id", "dep-2", db=db)
    check(r.returncode == 0, "lti remove-deployment")
    check(refused(plat.launch(deployment_id="dep-2", assignment="vector"), 400, "unknown deployment id dep-2"),
          "a removed deployment no longer launches")
    r = run("lti", "remove", "2", db=db)
    check(r.returncode == 0 and "removed platform 2" in r.stdout, "lti remove")
    r = run("lti", "remove", "2", db=db)
    check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, "removing it again: one line, exit 2")
    r = run("lti", "frobnicate", db=db)
    check(r.returncode == 2, "an unknown lti command is a usage error")
    # several client ids under one issuer: the login must say which
    other = list(args)
    other[other.index("--client-id") + 1] = "second-client"
    run(*other, db=db)
    amb = plat.launch(sub="stu-1", assignment="vector", login_overrides={"client_id": lp.REMOVE})
    check(refused(amb, 400, "did not say which"), "two client ids on one issuer: a login without client_id says so")
    check(landed(plat.launch(sub="stu-1", assignment="vector"), course, "vector"),
          "with client_id the login finds its registration")
    # a flood of unauthenticated logins cannot grow the state table without bound
    far = int(time.time() * 1000) + 600000
    query_many(db, "INSERT INTO lti_states(hash, platform_id, nonce, browser, expires_at)"
               " VALUES (?, 1, 'n', ?, ?)",
               ((os.urandom(32), os.urandom(32), far) for _ in range(100000)))
    flood = plat.launch(sub="stu-1", assignment="vector")
    check(flood.stage == "login" and refused(flood, 503, "too many lms logins") and
          flood.login.header("Retry-After") == "60",
          "with 100,000 logins in progress a new one is refused (503, Retry-After)")
    q(db, "DELETE FROM lti_states")
    check(landed(plat.launch(sub="stu-1", assignment="vector"), course, "vector"),
          "once they are gone, logins work again")
    check(srv.proc.poll() is None, "the server is still running")

    # behind https (--public-url): the login cookie must reach a cross-site POST
    https = Server(port=PORT + 1, workdir=tempdir("mglti2."),
                   args=["--workers", "1", "--public-url", "https://grader.example.edu"])
    plat.register(MEMGRADE, dbarg(https.db))
    https.start()
    try:
        st, hd, _ = https.request("GET", "/lti/login?" + urllib.parse.urlencode(
            plat.login_params("mh-x", "stu-1")))
        sc = hd.get("set-cookie", "")
        loc = urllib.parse.parse_qs(urllib.parse.urlsplit(hd.get("location", "")).query)
        check(st == 302 and "SameSite=None; Secure; Partitioned" in sc and "HttpOnly" in sc,
              "over https the login cookie is SameSite=None; Secure; Partitioned: %s" % sc)
        check(loc.get("redirect_uri") == ["https://grader.example.edu/lti/launch"],
              "the redirect_uri is on the public URL")
    finally:
        https.stop()
    r = subprocess.run([MEMGRADE, "serve", "--public-url", "https://x.example/", "--db", dbarg(db)],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "--public-url" in r.stderr, "a public URL with a trailing slash is refused")


if __name__ == "__main__":
    main()
