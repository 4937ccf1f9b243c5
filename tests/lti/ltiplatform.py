"""A test LTI 1.3 platform (an LMS as memgrade sees it), for the tests of
SPEC §8. It runs in a thread on 127.0.0.1 and speaks the real protocol to
the real `memgrade serve`:

  /jwks         the platform's public keys (rotate_key / drop_old_keys)
  /auth         OIDC authorization: checks the tool's redirect after its
                /lti/login and answers with a form_post of the id_token
  /token        OAuth2 client credentials with the tool's RS256
                client_assertion, checked against the tool's /lti/jwks
  /api/lti/courses/N/line_items/M?foo=bar    AGS line items whose URLs carry
                a query string, as Canvas's do; .../M/scores?foo=bar takes
                Scores
  /api/lti/courses/N/names_and_roles         NRPS memberships, paged with
                Link: <...>; rel="next"
  /deep_link_return                          Deep Linking responses

and a browser-like client (Browser, Platform.launch) that performs the
OIDC launch dance against the tool with a cookie jar. Everything that
arrives is recorded on the Platform object for the tests to assert on.

Needs Debian's python3-jwt (PyJWT 2.6) and python3-cryptography; the rest
is the standard library. `python3 ltiplatform.py --selftest` checks the
signing and verification offline (and over loopback against itself).
"""
import base64
import datetime
import hashlib
import hmac
import html
import html.parser
import http.cookiejar
import http.server
import json
import re
import secrets
import socketserver
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_RO = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_RO = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ALL_SCOPES = (SCOPE_LINEITEM, SCOPE_LINEITEM_RO, SCOPE_RESULT_RO, SCOPE_SCORE, SCOPE_NRPS)
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
NRPS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

ROLE_URIS = {
    "Learner": "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
    "Instructor": "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
    "TeachingAssistant":
        "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
    "ContentDeveloper": "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",
    "Mentor": "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor",
    "Administrator": "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
}

# A claim value that removes the claim (overrides={"nonce": REMOVE}).
REMOVE = object()


def role_uri(r):
    """Full LIS role URI for a short name (Learner, Instructor, ...); a full
    URI (or anything else) is passed through as it is."""
    return ROLE_URIS.get(r, r)


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(token):
    """(header, claims) of a compact JWS, not verified."""
    h, p, _ = token.split(".")
    return json.loads(b64u_decode(h)), json.loads(b64u_decode(p))


class Key:
    """An RSA key pair with a kid, as a platform or a tool holds it."""

    def __init__(self, kid=None, bits=2048):
        self.kid = kid or "plat-" + secrets.token_hex(6)
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        self.public = self.private.public_key()

    def jwk(self):
        d = json.loads(RSAAlgorithm.to_jwk(self.public))
        d.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return d

    def public_pem(self):
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, claims, headers=None):
        return jwt.encode(claims, self.private, algorithm="RS256",
                          headers=dict({"kid": self.kid}, **(headers or {})))


def unsigned_token(claims, kid=None):
    """A JWT with alg "none" and an empty signature (a forgery)."""
    h = {"alg": "none", "typ": "JWT"}
    if kid:
        h["kid"] = kid
    return b64u(json.dumps(h)) + "." + b64u(json.dumps(claims)) + "."


def hs256_token(claims, secret, kid=None):
    """A JWT signed HS256 with secret (bytes): with the platform's public key
    PEM as the secret, the classic algorithm-confusion forgery. PyJWT
    refuses to do this, so it is built by hand."""
    h = {"alg": "HS256", "typ": "JWT"}
    if kid:
        h["kid"] = kid
    signing_input = b64u(json.dumps(h)) + "." + b64u(json.dumps(claims))
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64u(sig)


def verify_with_jwks(token, jwks, **decode_args):
    """Claims of an RS256 token whose kid is in jwks ({"keys": [...]});
    raises jwt.InvalidTokenError (or ValueError for an unknown kid)."""
    header = jwt.get_unverified_header(token)
    if header.get("alg") != "RS256":
        raise jwt.InvalidAlgorithmError("alg %r, not RS256" % header.get("alg"))
    for k in jwks.get("keys", []):
        if k.get("kid") == header.get("kid"):
            key = RSAAlgorithm.from_jwk(json.dumps(k))
            return jwt.decode(token, key, algorithms=["RS256"], **decode_args)
    raise ValueError("kid %r not in the JWKS" % header.get("kid"))


def parse_ts(ts):
    """A Score timestamp (ISO 8601, Z or offset) as an aware datetime."""
    if ts.endswith("Z"):
        ts = ts[:-1] + "+00:00"
    d = datetime.datetime.fromisoformat(ts)
    if d.tzinfo is None:
        raise ValueError("timestamp without a time zone")
    return d


def now_iso_ms(offset=0.0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


# ---- the browser-like client -------------------------------------------------------------

class _LoopbackPolicy(http.cookiejar.DefaultCookiePolicy):
    """Browsers treat http://127.0.0.1 and localhost as secure contexts, so a
    Secure cookie set there is sent back there; the stdlib would not."""

    def return_ok_secure(self, cookie, request):
        host = urllib.parse.urlsplit(request.get_full_url()).hostname
        if host in ("127.0.0.1", "localhost", "::1"):
            return True
        return super().return_ok_secure(cookie, request)

    def set_ok(self, cookie, request):
        return super().set_ok(cookie, request)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Response:
    def __init__(self, status, headers, body, url):
        self.status = status
        self.headers = headers          # list of (name, value)
        self.body = body                # bytes
        self.url = url

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


class Browser:
    """A cookie jar and requests that do not follow redirects, so each hop of
    a launch can be checked."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar(policy=_LoopbackPolicy())
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, method, url, form=None, body=None, headers=None, timeout=30):
        h = dict(headers or {})
        data = body
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
            if method == "GET":
                url += ("&" if "?" in url else "?") + data.decode()
                data = None
        req = urllib.request.Request(url, data=data, headers=h, method=method)
        try:
            r = self.opener.open(req, timeout=timeout)
        except urllib.error.HTTPError as e:
            r = e
        try:
            return Response(r.status if hasattr(r, "status") else r.code,
                            list(r.headers.items()), r.read(), url)
        finally:
            r.close()

    def cookies(self, host=None):
        return {c.name: c.value for c in self.jar
                if host is None or c.domain in (host, host + ".local")}


class _FormParser(html.parser.HTMLParser):
    """The first form of a page: its action, method and inputs."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.method = None
        self.fields = {}
        self._in = False
        self._done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and not self._done:
            self._in = True
            self.action = a.get("action")
            self.method = (a.get("method") or "get").upper()
        elif tag == "input" and self._in and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form" and self._in:
            self._in = False
            self._done = True


def parse_form(page):
    p = _FormParser()
    p.feed(page)
    return p


class LaunchResult:
    """What the browser saw during one launch. status/location/body/cookies
    are those of the final answer (the tool's answer to the form_post, or
    the first hop that stopped the dance)."""

    def __init__(self):
        self.stage = None          # "login", "auth" or "launch": where it ended
        self.login = None          # Response of the tool's /lti/login
        self.auth = None           # Response of the platform's /auth
        self.launch = None         # Response of the tool's /lti/launch
        self.id_token = None
        self.state = None
        self.auth_params = None    # the query the tool sent to /auth
        self.browser = None

    @property
    def final(self):
        return self.launch or self.auth or self.login

    @property
    def status(self):
        return self.final.status

    @property
    def location(self):
        return self.final.header("Location")

    @property
    def body(self):
        return self.final.text

    @property
    def set_cookies(self):
        return self.final.header_all("Set-Cookie")

    @property
    def cookies(self):
        return self.browser.cookies()

    def __repr__(self):
        return "<launch %s %s %s>" % (self.stage, self.status, self.location)


# ---- the platform ----------------------------------------------------------------------

class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Platform:
    """One LMS: an issuer with a client id for memgrade and one or more
    deployments. tool is memgrade's base URL (http://127.0.0.1:PORT)."""

    def __init__(self, tool=None, client_id="memgrade-test-client", deployment_id="dep-1",
                 issuer=None, lineitem_query="foo=bar"):
        self.lock = threading.RLock()
        self.keys = [Key()]                 # keys[-1] signs; all are published
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.lineitem_query = lineitem_query
        self.tool = None
        self.httpd = _Server(("127.0.0.1", 0), _make_handler(self))
        self.port = self.httpd.server_address[1]
        self.base = "http://127.0.0.1:%d" % self.port
        self.issuer = issuer or self.base
        self.auth_url = self.base + "/auth"
        self.token_url = self.base + "/token"
        self.jwks_url = self.base + "/jwks"
        self.dl_return_url = self.base + "/deep_link_return"
        if tool:
            self.set_tool(tool)
        # switches
        self.down = False                  # AGS and NRPS answer 503 Retry-After: 1
        self.token_down = False            # the token endpoint does too
        self.token_ttl = 3600
        self.nrps_page_size = 2
        self.nrps_next_override = None     # a URL put in the first page's Link (SSRF tests)
        self.nrps_raw = None               # bytes answered as the membership page (hostile tests)
        self.tool_jwks_override = None     # a JWKS to use instead of fetching the tool's
        # state
        self.pending = {}                  # lti_message_hint -> launch spec
        self.auth_requests = []            # dict(params, errors)
        self.auth_errors = []
        self.token_requests = []           # dict(form, claims, errors, status)
        self.tokens = {}                   # access token -> (scopes set, expires_at)
        self.tokens_issued = 0
        self.jtis = set()
        self.lineitems = {}                # id -> dict(course, label, score_max, resource_link_id, ...)
        self._lineitem_by_link = {}
        self._courses = {}                 # context id -> number in URLs
        self.scores = []                   # accepted Scores (dict)
        self.score_posts = []              # every POST to a scores URL: dict(status, reason, ...)
        self.requests = []                 # (method, path?query, status) of everything served
        self.not_found = []                # (method, path?query) answered 404
        self.members = {}                  # context id -> [member dict]
        self.nrps_requests = []            # dict(url, status, auth)
        self.deep_links = []               # dict(claims, errors, ...) per DL response
        self.dl_pending = {}               # data -> dict(nonce, deployment_id)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def set_tool(self, tool):
        self.tool = tool.rstrip("/")
        self.login_url = self.tool + "/lti/login"
        self.launch_url = self.tool + "/lti/launch"
        self.tool_jwks_url = self.tool + "/lti/jwks"
        self.redirect_uris = [self.launch_url]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- keys ----

    @property
    def key(self):
        return self.keys[-1]

    def jwks(self):
        with self.lock:
            return {"keys": [k.jwk() for k in self.keys]}

    def rotate_key(self):
        """A new signing key with a new kid; the old ones stay published."""
        with self.lock:
            self.keys.append(Key())
            return self.key

    def drop_old_keys(self):
        with self.lock:
            self.keys = self.keys[-1:]

    # ---- registration in memgrade ----

    def add_platform_args(self, deployment_id=None):
        """The arguments of `memgrade lti add-platform` for this platform."""
        return ["lti", "add-platform", "--issuer", self.issuer, "--client-id", self.client_id,
                "--deployment-id", deployment_id or self.deployment_id,
                "--auth-url", self.auth_url, "--token-url", self.token_url,
                "--jwks-url", self.jwks_url]

    def register(self, memgrade, db, deployment_id=None):
        """Runs `memgrade lti add-platform` for this platform on db; returns
        the CompletedProcess (text output)."""
        import subprocess
        return subprocess.run([memgrade] + self.add_platform_args(deployment_id) + ["--db", db],
                              capture_output=True, text=True)

    # ---- courses, line items, members ----

    def course_num(self, context_id):
        with self.lock:
            return self._courses.setdefault(context_id, len(self._courses) + 7)

    def lineitems_url(self, context_id):
        return "%s/api/lti/courses/%d/line_items%s" % (
            self.base, self.course_num(context_id),
            "?" + self.lineitem_query if self.lineitem_query else "")

    def lineitem_url(self, item_id):
        li = self.lineitems[item_id]
        return "%s/api/lti/courses/%d/line_items/%d%s" % (
            self.base, li["course"], item_id,
            "?" + self.lineitem_query if self.lineitem_query else "")

    def create_lineitem(self, context_id, label="Assignment", score_max=100,
                        resource_link_id=None, tag=None):
        """A new line item; returns its URL (with the query string)."""
        with self.lock:
            item_id = len(self.lineitems) + 3
            self.lineitems[item_id] = {"id": item_id, "course": self.course_num(context_id),
                                       "context_id": context_id, "label": label,
                                       "scoreMaximum": score_max,
                                       "resourceLinkId": resource_link_id, "tag": tag}
            if resource_link_id:
                self._lineitem_by_link[(context_id, resource_link_id)] = item_id
            return self.lineitem_url(item_id)

    def lineitem_for_link(self, context_id, resource_link_id, label="Assignment", score_max=100):
        with self.lock:
            item_id = self._lineitem_by_link.get((context_id, resource_link_id))
            if item_id:
                return self.lineitem_url(item_id)
            return self.create_lineitem(context_id, label, score_max, resource_link_id)

    def scores_for(self, lineitem_url=None, user=None):
        """Accepted Scores, optionally of one line item (its URL) and user."""
        item_id = None
        if lineitem_url:
            item_id = int(urllib.parse.urlsplit(lineitem_url).path.rstrip("/").split("/")[-1])
        with self.lock:
            return [s for s in self.scores
                    if (item_id is None or s["lineitem"] == item_id)
                    and (user is None or s["userId"] == user)]

    def nrps_url(self, context_id):
        return "%s/api/lti/courses/%d/names_and_roles" % (self.base, self.course_num(context_id))

    def add_member(self, context_id, sub, roles=("Learner",), name=None, email=None,
                   status="Active", **extra):
        """A member of a context for NRPS (status Active / Inactive /
        Deleted); replaces an earlier entry for sub."""
        m = {"status": status, "name": name or sub.title(), "given_name": (name or sub).split()[0],
             "family_name": (name or sub).split()[-1], "email": email or sub + "@example.edu",
             "user_id": sub, "lis_person_sourcedid": "sis-" + sub,
             "roles": [role_uri(r) for r in roles]}
        m.update(extra)
        with self.lock:
            lst = self.members.setdefault(context_id, [])
            lst[:] = [x for x in lst if x["user_id"] != sub] + [m]
        return m

    # ---- id_tokens ----

    def claims(self, nonce, sub="student1", roles=("Learner",), message_type="LtiResourceLinkRequest",
               deployment_id=None, context_id="ctx-os", context_title="Operating Systems",
               context_label="OS101", resource_link_id="rl-1", resource_link_title="Vector",
               assignment="vector", custom=None, lineitem="auto", score_max=100, ags=True,
               nrps=True, name=None, email=None, target_link_uri=None, dl_data=None,
               exp_in=600, iat_offset=0, aud=None, overrides=None, **_ignored):
        """The claims of an id_token. lineitem: "auto" (one per resource link,
        created here), a URL, or None (no lineitem in the AGS claim). ags /
        nrps False leave those claims out. overrides: claim -> value, or
        REMOVE to drop it; applied last."""
        now = int(time.time()) + iat_offset
        name = name or sub.replace("_", " ").title()
        dep = deployment_id or self.deployment_id
        c = {
            "iss": self.issuer,
            "aud": aud if aud is not None else self.client_id,
            "azp": self.client_id,
            "sub": sub,
            "exp": now + exp_in,
            "iat": now,
            "nbf": now - 5,
            "nonce": nonce,
            "name": name,
            "given_name": name.split()[0],
            "family_name": name.split()[-1],
            "email": email or sub + "@example.edu",
            LTI + "message_type": message_type,
            LTI + "version": "1.3.0",
            LTI + "deployment_id": dep,
            LTI + "target_link_uri": target_link_uri or self.launch_url,
            LTI + "roles": [role_uri(r) for r in roles],
            LTI + "context": {"id": context_id, "label": context_label, "title": context_title,
                              "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]},
            LTI + "tool_platform": {"guid": "platform-" + str(self.port), "name": "Test LMS",
                                    "product_family_code": "memgrade-tests", "version": "1"},
            LTI + "launch_presentation": {"document_target": "iframe",
                                          "return_url": self.base + "/return"},
        }
        if custom is None:
            custom = {"assignment": assignment} if assignment is not None else {}
        if custom:
            c[LTI + "custom"] = custom
        if message_type == "LtiResourceLinkRequest":
            c[LTI + "resource_link"] = {"id": resource_link_id, "title": resource_link_title}
        if ags:
            ep = {"scope": [SCOPE_LINEITEM, SCOPE_LINEITEM_RO, SCOPE_RESULT_RO, SCOPE_SCORE],
                  "lineitems": self.lineitems_url(context_id)}
            if lineitem == "auto" and message_type == "LtiResourceLinkRequest":
                lineitem = self.lineitem_for_link(context_id, resource_link_id,
                                                  resource_link_title, score_max)
            if lineitem and lineitem != "auto":
                ep["lineitem"] = lineitem
            c[AGS_CLAIM] = ep
        if nrps:
            c[NRPS_CLAIM] = {"context_memberships_url": self.nrps_url(context_id),
                             "service_versions": ["2.0"]}
        if message_type == "LtiDeepLinkingRequest":
            data = dl_data if dl_data is not None else "dl-" + secrets.token_hex(8)
            c[DL_SETTINGS] = {"deep_link_return_url": self.dl_return_url,
                              "accept_types": ["ltiResourceLink"],
                              "accept_presentation_document_targets": ["iframe", "window"],
                              "accept_multiple": False, "auto_create": True,
                              "title": "Pick a memgrade assignment", "data": data}
            with self.lock:
                self.dl_pending[data] = {"nonce": nonce, "deployment_id": dep,
                                         "context_id": context_id}
        for k, v in (overrides or {}).items():
            if v is REMOVE:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    def sign(self, claims, alg="RS256", key=None, kid=None, headers=None):
        """A compact JWS of claims. alg "RS256" (with key, default the
        current platform key; kid overrides the header's kid), "none", or
        "HS256-pubkey" (HMAC with the current public key's PEM: a forgery)."""
        if alg == "none":
            return unsigned_token(claims, kid or self.key.kid)
        if alg == "HS256-pubkey":
            return hs256_token(claims, self.key.public_pem(), kid or self.key.kid)
        if alg != "RS256":
            raise ValueError("alg " + alg)
        k = key or self.key
        h = dict(headers or {})
        if kid is not None:
            h["kid"] = kid
        return k.sign(claims, h)

    def id_token(self, nonce=None, sign=None, **claim_args):
        """An id_token as /auth would answer it (nonce made up if None).
        sign: keyword args of sign() (alg, key, kid)."""
        return self.sign(self.claims(nonce or secrets.token_hex(12), **claim_args), **(sign or {}))

    # ---- the launch dance ----

    def prepare(self, login_hint=None, sign=None, **claim_args):
        """Registers a launch the next /auth with the returned
        lti_message_hint answers. claim_args go to claims()."""
        hint = "mh-" + secrets.token_hex(8)
        with self.lock:
            self.pending[hint] = {"login_hint": login_hint or claim_args.get("sub", "student1"),
                                  "sign": sign or {}, "claims": claim_args}
        return hint

    def login_params(self, hint, login_hint, deployment_id=None, target_link_uri=None):
        return {"iss": self.issuer, "login_hint": login_hint,
                "target_link_uri": target_link_uri or self.launch_url,
                "lti_message_hint": hint, "client_id": self.client_id,
                "lti_deployment_id": deployment_id or self.deployment_id}

    def launch(self, browser=None, method="POST", login_overrides=None, sign=None,
               **claim_args):
        """A whole launch, as a browser does it: the tool's /lti/login →
        302 to /auth → form_post of id_token and state to the tool's
        redirect_uri with the browser's cookies. Returns a LaunchResult."""
        res = LaunchResult()
        res.browser = b = browser or Browser()
        hint = self.prepare(sign=sign, **claim_args)
        login_hint = self.pending[hint]["login_hint"]
        params = self.login_params(hint, login_hint, claim_args.get("deployment_id"),
                                   claim_args.get("target_link_uri"))
        for k, v in (login_overrides or {}).items():
            if v is REMOVE:
                params.pop(k, None)
            else:
                params[k] = v
        res.stage = "login"
        res.login = b.request(method, self.login_url, form=params)
        loc = res.login.header("Location")
        if res.login.status not in (302, 303) or not loc:
            return res
        loc = urllib.parse.urljoin(self.login_url, loc)
        res.auth_params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))
        res.stage = "auth"
        res.auth = b.request("GET", loc)
        if res.auth.status != 200:
            return res
        form = parse_form(res.auth.text)
        res.id_token = form.fields.get("id_token")
        res.state = form.fields.get("state")
        res.stage = "launch"
        res.launch = b.request(form.method or "POST", form.action, form=form.fields)
        return res

    def post_token(self, id_token, state=None, browser=None):
        """POSTs an id_token (and state) straight to the tool's launch URL,
        as a forger without the login would. Returns a LaunchResult."""
        res = LaunchResult()
        res.browser = b = browser or Browser()
        res.id_token, res.state = id_token, state
        form = {"id_token": id_token}
        if state is not None:
            form["state"] = state
        res.stage = "launch"
        res.launch = b.request("POST", self.launch_url, form=form)
        return res

    def replay(self, result):
        """The id_token and state of an earlier launch, posted again from the
        same browser."""
        return self.post_token(result.id_token, result.state, result.browser)

    # ---- what the handlers do ----

    def _auth(self, params):
        errors = []
        want = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
                "prompt": "none", "client_id": self.client_id}
        for k, v in want.items():
            if params.get(k) != v:
                errors.append("%s is %r, not %r" % (k, params.get(k), v))
        if params.get("redirect_uri") not in self.redirect_uris:
            errors.append("redirect_uri %r is not registered" % params.get("redirect_uri"))
        for k in ("login_hint", "lti_message_hint", "state", "nonce"):
            if not params.get(k):
                errors.append(k + " missing")
        with self.lock:
            spec = self.pending.pop(params.get("lti_message_hint"), None)
        if params.get("lti_message_hint") and spec is None:
            errors.append("unknown or used lti_message_hint")
        if spec and params.get("login_hint") != spec["login_hint"]:
            errors.append("login_hint %r does not match" % params.get("login_hint"))
        rec = {"params": params, "errors": errors}
        with self.lock:
            self.auth_requests.append(rec)
            if errors:
                self.auth_errors.append(rec)
        if errors:
            return 400, "text/plain", ("; ".join(errors)).encode()
        token = self.id_token(nonce=params["nonce"], sign=spec["sign"], **spec["claims"])
        rec["id_token"] = token
        page = ('<!DOCTYPE html><html><body onload="document.forms[0].submit()">'
                '<form method="post" action="%s">'
                '<input type="hidden" name="id_token" value="%s">'
                '<input type="hidden" name="state" value="%s">'
                '</form></body></html>') % (html.escape(params["redirect_uri"]),
                                            html.escape(token), html.escape(params["state"]))
        return 200, "text/html", page.encode()

    def tool_jwks(self):
        if self.tool_jwks_override is not None:
            return self.tool_jwks_override
        with urllib.request.urlopen(self.tool_jwks_url, timeout=10) as r:
            return json.loads(r.read())

    def _verify_tool_jwt(self, token, audience):
        """Claims of a JWT the tool signed, checked against its JWKS."""
        return verify_with_jwks(token, self.tool_jwks(), audience=audience,
                                options={"require": ["exp", "iat", "iss", "aud"]})

    def _token(self, form):
        rec = {"form": form, "errors": [], "claims": None}
        with self.lock:
            self.token_requests.append(rec)
        if self.token_down:
            rec["status"] = 503
            return 503, {"error": "temporarily_unavailable"}, {"Retry-After": "1"}
        errs = rec["errors"]
        if form.get("grant_type") != "client_credentials":
            errs.append("grant_type %r" % form.get("grant_type"))
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            errs.append("client_assertion_type %r" % form.get("client_assertion_type"))
        claims = None
        try:
            claims = self._verify_tool_jwt(form.get("client_assertion", ""), self.token_url)
        except Exception as e:  # noqa: BLE001 -- any failure is the tool's
            errs.append("client_assertion: %s: %s" % (type(e).__name__, e))
        if claims is not None:
            rec["claims"] = claims
            if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
                errs.append("iss %r / sub %r are not the client id" % (claims.get("iss"),
                                                                      claims.get("sub")))
            jti = claims.get("jti")
            with self.lock:
                if not jti:
                    errs.append("jti missing")
                elif jti in self.jtis:
                    errs.append("jti reused")
                else:
                    self.jtis.add(jti)
        scopes = set((form.get("scope") or "").split())
        if not scopes:
            errs.append("scope missing")
        elif not scopes <= set(ALL_SCOPES):
            errs.append("unknown scope %s" % " ".join(sorted(scopes - set(ALL_SCOPES))))
        if errs:
            rec["status"] = 400
            return 400, {"error": "invalid_grant" if claims is not None else "invalid_client",
                         "error_description": "; ".join(errs)}, {}
        tok = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[tok] = (scopes, time.time() + self.token_ttl)
            self.tokens_issued += 1
        rec["status"] = 200
        return 200, {"access_token": tok, "token_type": "Bearer",
                     "expires_in": self.token_ttl, "scope": " ".join(sorted(scopes))}, {}

    def _bearer_ok(self, auth, scope):
        m = re.match(r"Bearer\s+(\S+)$", auth or "")
        if not m:
            return "no Bearer token"
        with self.lock:
            t = self.tokens.get(m.group(1))
        if not t:
            return "unknown access token"
        if t[1] < time.time():
            return "access token expired"
        if scope not in t[0]:
            return "access token lacks scope " + scope
        return None

    def _score(self, item_id, headers, body, path_qs):
        rec = {"lineitem": item_id, "path": path_qs, "status": None, "reason": None,
               "auth": headers.get("Authorization"),
               "content_type": headers.get("Content-Type"), "body": body}
        with self.lock:
            self.score_posts.append(rec)

        def answer(status, reason, extra=None):
            rec["status"], rec["reason"] = status, reason
            return status, {"error": reason} if reason else {}, extra or {}

        if self.down:
            return answer(503, "platform down", {"Retry-After": "1"})
        why = self._bearer_ok(headers.get("Authorization"), SCOPE_SCORE)
        if why:
            return answer(401, why)
        if (headers.get("Content-Type") or "").split(";")[0].strip() != SCORE_TYPE:
            return answer(415, "Content-Type must be " + SCORE_TYPE)
        try:
            doc = json.loads(body)
            for k in ("userId", "activityProgress", "gradingProgress", "timestamp"):
                if k not in doc:
                    raise ValueError(k + " missing")
            ts = parse_ts(doc["timestamp"])
            if "scoreGiven" in doc and not isinstance(doc["scoreGiven"], (int, float)):
                raise ValueError("scoreGiven is not a number")
            if "scoreGiven" in doc and not isinstance(doc.get("scoreMaximum"), (int, float)):
                raise ValueError("scoreMaximum missing")
        except (ValueError, TypeError, AttributeError) as e:
            return answer(400, "bad score: %s" % e)
        with self.lock:
            if item_id not in self.lineitems:
                return answer(404, "no line item %d" % item_id)
            last = [s for s in self.scores
                    if s["lineitem"] == item_id and s["userId"] == doc["userId"]]
            if last and ts < last[-1]["ts"]:
                return answer(400, "timestamp %s is older than the last score's %s"
                              % (doc["timestamp"], last[-1]["timestamp"]))
            s = dict(doc)
            s.update({"lineitem": item_id, "ts": ts, "path": path_qs,
                      "received_at": time.time()})
            self.scores.append(s)
        return answer(200, None)

    def _nrps(self, course, query, url, auth):
        rec = {"url": url, "auth": auth, "status": None}
        with self.lock:
            self.nrps_requests.append(rec)
        if self.down:
            rec["status"] = 503
            return 503, {"error": "platform down"}, {"Retry-After": "1"}
        why = self._bearer_ok(auth, SCOPE_NRPS)
        if why:
            rec["status"] = 401
            return 401, {"error": why}, {}
        ctx = [c for c, n in self._courses.items() if n == course]
        if not ctx:
            rec["status"] = 404
            return 404, {"error": "no such course"}, {}
        members = self.members.get(ctx[0], [])
        page = int(query.get("page", "1"))
        size = self.nrps_page_size
        chunk = members[(page - 1) * size: page * size]
        base = self.nrps_url(ctx[0])
        doc = {"id": url, "context": {"id": ctx[0], "label": "OS101", "title": ctx[0]},
               "members": chunk}
        extra = {"Content-Type": NRPS_TYPE}
        nxt = None
        if page * size < len(members):
            nxt = "%s?page=%d" % (base, page + 1)
        if page == 1 and self.nrps_next_override:
            nxt = self.nrps_next_override
        if nxt:
            extra["Link"] = '<%s>; rel="next"' % nxt
        rec["status"] = 200
        if self.nrps_raw is not None:
            return 200, self.nrps_raw, extra
        return 200, doc, extra

    def _deep_link_return(self, form):
        rec = {"form": form, "claims": None, "errors": []}
        with self.lock:
            self.deep_links.append(rec)
        errs = rec["errors"]
        token = form.get("JWT")
        if not token:
            errs.append("JWT missing")
            return 400, "; ".join(errs)
        try:
            c = self._verify_tool_jwt(token, self.issuer)
        except Exception as e:  # noqa: BLE001
            errs.append("JWT: %s: %s" % (type(e).__name__, e))
            return 400, "; ".join(errs)
        rec["claims"] = c
        if c.get("iss") != self.client_id:
            errs.append("iss %r is not the client id" % c.get("iss"))
        if c.get(LTI + "message_type") != "LtiDeepLinkingResponse":
            errs.append("message_type %r" % c.get(LTI + "message_type"))
        if c.get(LTI + "version") != "1.3.0":
            errs.append("version %r" % c.get(LTI + "version"))
        if not c.get("nonce"):
            errs.append("nonce missing")
        with self.lock:
            req = self.dl_pending.get(c.get(DL + "data"))
        if req is None:
            errs.append("data %r was not sent in a deep linking request" % c.get(DL + "data"))
        else:
            rec["request"] = req
            rec["nonce_echoed"] = c.get("nonce") == req["nonce"]
            if c.get(LTI + "deployment_id") != req["deployment_id"]:
                errs.append("deployment_id %r" % c.get(LTI + "deployment_id"))
        items = c.get(DL + "content_items")
        links = [i for i in items or [] if isinstance(i, dict) and i.get("type") == "ltiResourceLink"]
        if not links:
            errs.append("no ltiResourceLink in content_items")
        for i in links:
            li = i.get("lineItem") or {}
            if not li.get("label") or not isinstance(li.get("scoreMaximum"), (int, float)):
                errs.append("lineItem without label and scoreMaximum: %r" % li)
            if not (i.get("custom") or {}).get("assignment"):
                errs.append("custom.assignment missing")
        rec["items"] = links
        if errs:
            return 400, "; ".join(errs)
        if req is not None:
            for i in links:
                rec.setdefault("lineitem_urls", []).append(self.create_lineitem(
                    req["context_id"], i["lineItem"]["label"], i["lineItem"]["scoreMaximum"],
                    tag=i["custom"]["assignment"]))
        return 200, "deep link received"


def _make_handler(p):
    line_re = re.compile(r"^/api/lti/courses/(\d+)/line_items/(\d+)(/scores)?$")
    nrps_re = re.compile(r"^/api/lti/courses/(\d+)/names_and_roles$")

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def _send(self, status, body, ctype="application/json", extra=None):
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            elif isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            h = {"Content-Type": ctype}
            h.update(extra or {})
            for k, v in h.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with p.lock:
                p.requests.append((self.command, self.path, status))
                if status == 404:
                    p.not_found.append((self.command, self.path))

        def _body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _form(self, raw):
            return dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"),
                                               keep_blank_values=True))

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
            if u.path == "/jwks":
                return self._send(200, p.jwks())
            if u.path == "/auth":
                st, ct, body = p._auth(q)
                return self._send(st, body, ct)
            m = nrps_re.match(u.path)
            if m:
                st, doc, extra = p._nrps(int(m.group(1)), q, p.base + self.path,
                                         self.headers.get("Authorization"))
                ct = extra.pop("Content-Type", "application/json")
                return self._send(st, doc, ct, extra)
            m = line_re.match(u.path)
            if m and not m.group(3) and int(m.group(2)) in p.lineitems:
                li = dict(p.lineitems[int(m.group(2))])
                li["id"] = p.lineitem_url(li["id"])
                return self._send(200, li, LINEITEM_TYPE)
            return self._send(404, {"error": "not found: " + self.path})

        def do_POST(self):
            u = urllib.parse.urlsplit(self.path)
            raw = self._body()
            if u.path == "/auth":
                st, ct, body = p._auth(self._form(raw))
                return self._send(st, body, ct)
            if u.path == "/token":
                st, doc, extra = p._token(self._form(raw))
                return self._send(st, doc, "application/json", extra)
            if u.path == "/deep_link_return":
                st, text = p._deep_link_return(self._form(raw))
                return self._send(st, text, "text/plain")
            m = line_re.match(u.path)
            if m and m.group(3):
                st, doc, extra = p._score(int(m.group(2)), self.headers, raw, self.path)
                return self._send(st, doc, "application/json", extra)
            if m:
                # A POST to the line item itself: what a tool that glued
                # /scores after the query string sends. Recorded as 404.
                with p.lock:
                    p.score_posts.append({"lineitem": int(m.group(2)), "path": self.path,
                                          "status": 404, "reason": "not a scores URL",
                                          "body": raw})
            return self._send(404, {"error": "not found: " + self.path})

    return H


# ---- self-test -------------------------------------------------------------------------

def _selftest():
    fails = []

    def ok(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            fails.append(what)

    tool_key = Key("tool-1")
    p = Platform(tool="http://127.0.0.1:9")          # the tool is never reached here
    p.tool_jwks_override = {"keys": [tool_key.jwk()]}
    try:
        tok = p.id_token(nonce="n1")
        h, c = jwt_parts(tok)
        ok(h["alg"] == "RS256" and h["kid"] == p.key.kid, "id_token header RS256 with kid")
        claims = verify_with_jwks(tok, p.jwks(), audience=p.client_id)
        ok(claims["nonce"] == "n1" and claims[LTI + "version"] == "1.3.0"
           and claims[LTI + "message_type"] == "LtiResourceLinkRequest",
           "id_token verifies against the JWKS")
        li = claims[AGS_CLAIM]["lineitem"]
        ok(re.search(r"/api/lti/courses/\d+/line_items/\d+\?foo=bar$", li) is not None,
           "line item URL carries a query string: " + li)
        ok(claims[LTI + "roles"] == [ROLE_URIS["Learner"]], "roles are full URIs")
        old_kid = p.key.kid
        p.rotate_key()
        kids = [k["kid"] for k in p.jwks()["keys"]]
        ok(old_kid in kids and p.key.kid in kids and len(kids) == 2, "rotation keeps the old kid")
        ok(verify_with_jwks(tok, p.jwks(), audience=p.client_id)["sub"] == "student1",
           "a token of the old key still verifies before drop_old_keys")
        p.drop_old_keys()
        try:
            verify_with_jwks(tok, p.jwks(), audience=p.client_id)
            ok(False, "old kid refused after drop_old_keys")
        except ValueError:
            ok(True, "old kid refused after drop_old_keys")
        for alg in ("none", "HS256-pubkey"):
            forged = p.id_token(sign={"alg": alg})
            try:
                verify_with_jwks(forged, p.jwks(), audience=p.client_id)
                ok(False, alg + " token refused by an RS256 verifier")
            except jwt.InvalidTokenError:
                ok(True, alg + " token refused by an RS256 verifier")
        forged = p.id_token(sign={"alg": "HS256-pubkey"})
        ok(jwt.decode(forged, options={"verify_signature": False})["iss"] == p.issuer
           and hmac.compare_digest(
               b64u_decode(forged.split(".")[2]),
               hmac.new(p.key.public_pem(), forged.rsplit(".", 1)[0].encode(),
                        hashlib.sha256).digest()),
           "HS256 forgery is an HMAC with the public key PEM")
        wrong = p.id_token(sign={"key": Key(), "kid": p.key.kid})
        try:
            verify_with_jwks(wrong, p.jwks(), audience=p.client_id)
            ok(False, "token of another key under our kid refused")
        except jwt.InvalidSignatureError:
            ok(True, "token of another key under our kid refused")
        dl = p.claims("n2", roles=("Instructor",), message_type="LtiDeepLinkingRequest")
        ok(DL_SETTINGS in dl and LTI + "resource_link" not in dl
           and dl[DL_SETTINGS]["accept_types"] == ["ltiResourceLink"], "deep linking claims")
        rm = p.claims("n3", overrides={"nonce": REMOVE, "aud": "other"})
        ok("nonce" not in rm and rm["aud"] == "other", "overrides replace and remove claims")

        # Over loopback: the token endpoint with an assertion "the tool" signed.
        def assertion(**over):
            c = {"iss": p.client_id, "sub": p.client_id, "aud": p.token_url,
                 "iat": int(time.time()), "exp": int(time.time()) + 60,
                 "jti": secrets.token_hex(8)}
            c.update(over)
            return tool_key.sign(c)

        def token_req(a, scope=SCOPE_SCORE):
            b = Browser()
            return b.request("POST", p.token_url, form={
                "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": a, "scope": scope})

        r = token_req(assertion())
        ok(r.status == 200 and r.json()["token_type"] == "Bearer" and p.tokens_issued == 1,
           "token endpoint accepts a good assertion: %d %s" % (r.status, r.text))
        access = r.json().get("access_token")
        a = assertion()
        token_req(a)
        r = token_req(a)
        ok(r.status == 400 and "jti reused" in r.text, "a reused jti is refused")
        r = token_req(assertion(exp=int(time.time()) - 10))
        ok(r.status == 400 and "Expired" in r.text, "an expired assertion is refused")
        r = token_req(assertion(aud="http://elsewhere/token"))
        ok(r.status == 400, "an assertion for another audience is refused")
        r = token_req(Key("tool-1").sign({"iss": p.client_id, "sub": p.client_id,
                                          "aud": p.token_url, "exp": int(time.time()) + 60,
                                          "iat": int(time.time()), "jti": "x"}))
        ok(r.status == 400 and "Signature" in r.text, "an assertion of another key is refused")

        b = Browser()
        li_path = urllib.parse.urlsplit(li)
        scores = "%s://%s%s/scores?%s" % (li_path.scheme, li_path.netloc, li_path.path,
                                          li_path.query)
        body = {"userId": "student1", "scoreGiven": 10, "scoreMaximum": 10,
                "activityProgress": "Completed", "gradingProgress": "FullyGraded",
                "timestamp": now_iso_ms()}
        hdr = {"Authorization": "Bearer " + access, "Content-Type": SCORE_TYPE}
        r = b.request("POST", scores, body=json.dumps(body).encode(), headers=hdr)
        ok(r.status == 200 and len(p.scores) == 1, "a Score is recorded: %d" % r.status)
        older = dict(body, timestamp=now_iso_ms(-60))
        r = b.request("POST", scores, body=json.dumps(older).encode(), headers=hdr)
        ok(r.status == 400 and len(p.scores) == 1, "an older Score is refused: %d" % r.status)
        r = b.request("POST", li + "/scores", body=json.dumps(body).encode(), headers=hdr)
        ok(r.status == 404 and p.not_found, "a scores URL glued after the query is a 404")
        p.down = True
        r = b.request("POST", scores, body=json.dumps(body).encode(), headers=hdr)
        ok(r.status == 503 and r.header("Retry-After") == "1", "down: 503 with Retry-After")
        p.down = False
        r = b.request("POST", scores, body=json.dumps(body).encode(),
                      headers={"Content-Type": SCORE_TYPE})
        ok(r.status == 401, "a Score without a token is refused")

        nr = token_req(assertion(), SCOPE_NRPS).json()["access_token"]
        for i in range(5):
            p.add_member("ctx-os", "u%d" % i)
        url, pages, got = p.nrps_url("ctx-os"), 0, []
        while url:
            r = b.request("GET", url, headers={"Authorization": "Bearer " + nr})
            if r.status != 200:
                break
            pages += 1
            got += r.json()["members"]
            m = re.match(r'<([^>]+)>;\s*rel="next"', r.header("Link") or "")
            url = m.group(1) if m else None
        ok(pages == 3 and len(got) == 5, "NRPS pages through Link: %d pages" % pages)
        r = b.request("GET", p.nrps_url("ctx-os"), headers={"Authorization": "Bearer " + access})
        ok(r.status == 401, "NRPS needs the membership scope")

        dlc = p.claims("n4", message_type="LtiDeepLinkingRequest")
        data = dlc[DL_SETTINGS]["data"]
        resp = {"iss": p.client_id, "aud": p.issuer, "iat": int(time.time()),
                "exp": int(time.time()) + 60, "nonce": "n4",
                LTI + "message_type": "LtiDeepLinkingResponse", LTI + "version": "1.3.0",
                LTI + "deployment_id": p.deployment_id, DL + "data": data,
                DL + "content_items": [{"type": "ltiResourceLink", "title": "Vector",
                                        "lineItem": {"label": "Vector", "scoreMaximum": 100},
                                        "custom": {"assignment": "vector"}}]}
        r = b.request("POST", p.dl_return_url, form={"JWT": tool_key.sign(resp)})
        ok(r.status == 200 and p.deep_links[-1]["nonce_echoed"],
           "a deep linking response verifies: %d %s" % (r.status, r.text))
        r = b.request("POST", p.dl_return_url, form={"JWT": Key("tool-1").sign(resp)})
        ok(r.status == 400, "a deep linking response of another key is refused")
    finally:
        p.close()
    print("selftest: %d failure(s)" % len(fails))
    return 1 if fails else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        sys.exit(_selftest())
    print("usage: ltiplatform.py --selftest", file=sys.stderr)
    sys.exit(2)
