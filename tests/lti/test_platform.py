"""The test platform itself (ltiplatform.py), before the LTI tests lean on
it: its signing, token endpoint, AGS, NRPS and deep-linking checks (the
self-test), and its browser-like launch dance against a minimal stand-in
tool here that does what SPEC §8 asks of /lti/login and /lti/launch (state
cookie, nonce, signature against the platform's JWKS). A platform that
accepted what it should refuse would make every LTI test pass for nothing."""
import http.server
import os
import secrets
import socketserver
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "server"))
import ltiplatform as lp  # noqa: E402
from mgtest import check, finish  # noqa: E402


class StandInTool:
    """/lti/login → 302 to the platform's /auth with state and nonce and a
    state cookie; /lti/launch checks cookie, state, nonce and the id_token's
    signature, then 302 to /courses/C/A with a session cookie."""

    def __init__(self):
        self.platform = None
        self.states = {}          # state -> (nonce, browser cookie)
        self.used_nonces = set()
        tool = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, status, text="", headers=()):
                body = text.encode()
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def params(self):
                n = int(self.headers.get("Content-Length") or 0)
                q = urllib.parse.urlsplit(self.path).query
                raw = self.rfile.read(n).decode() if n else q
                return dict(urllib.parse.parse_qsl(raw))

            def cookie(self, name):
                for part in (self.headers.get("Cookie") or "").split(";"):
                    k, _, v = part.strip().partition("=")
                    if k == name:
                        return v
                return None

            def login(self):
                p, plat = self.params(), tool.platform
                if p.get("iss") != plat.issuer or p.get("client_id") != plat.client_id:
                    return self.reply(400, "unknown issuer")
                state, nonce, browser = (secrets.token_hex(8) for _ in range(3))
                tool.states[state] = (nonce, browser)
                q = urllib.parse.urlencode({
                    "scope": "openid", "response_type": "id_token", "response_mode": "form_post",
                    "prompt": "none", "client_id": plat.client_id,
                    "redirect_uri": plat.launch_url, "login_hint": p["login_hint"],
                    "lti_message_hint": p["lti_message_hint"], "state": state, "nonce": nonce})
                self.reply(302, "", [("Location", plat.auth_url + "?" + q),
                                     ("Set-Cookie", "lti_state=%s; Path=/lti; HttpOnly" % browser)])

            def do_GET(self):
                if self.path.startswith("/lti/login"):
                    return self.login()
                self.reply(404)

            def do_POST(self):
                if self.path.startswith("/lti/login"):
                    return self.login()
                p = self.params()
                st = tool.states.pop(p.get("state"), None)
                if not st or self.cookie("lti_state") != st[1]:
                    return self.reply(400, "state or browser cookie does not match")
                try:
                    c = lp.verify_with_jwks(p.get("id_token", ""), tool.platform.jwks(),
                                            audience=tool.platform.client_id)
                except Exception as e:  # noqa: BLE001
                    return self.reply(401, "bad token: %s" % e)
                if c.get("nonce") != st[0] or c["nonce"] in tool.used_nonces:
                    return self.reply(401, "nonce")
                tool.used_nonces.add(c["nonce"])
                self.reply(302, "", [("Location", "/courses/c1/" + c[lp.LTI + "custom"]["assignment"]),
                                     ("Set-Cookie", "mg_session=s-%s; Path=/" % c["sub"])])

        class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.httpd = S(("127.0.0.1", 0), H)
        self.base = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def main():
    check(lp._selftest() == 0, "the platform's self-test passes")

    tool = StandInTool()
    plat = lp.Platform(tool=tool.base)
    tool.platform = plat
    try:
        r = plat.launch(sub="alice", roles=("Learner",), assignment="vector")
        check(r.stage == "launch" and r.status == 302 and r.location == "/courses/c1/vector",
              "the dance reaches the tool's launch: %r" % r)
        check(r.cookies.get("mg_session") == "s-alice", "the session cookie is in the jar")
        ap = r.auth_params
        check(ap["redirect_uri"] == plat.launch_url and ap["response_mode"] == "form_post",
              "the tool's /auth query is kept for the tests")
        r2 = plat.launch(method="GET", sub="bob", roles=("Instructor",))
        check(r2.status == 302, "a GET login works too: %r" % r2)
        rp = plat.replay(r)
        check(rp.status == 400, "a replayed id_token and state are refused: %d" % rp.status)
        fresh = plat.post_token(plat.id_token(), "no-such-state")
        check(fresh.status == 400, "a token without the login is refused: %d" % fresh.status)
        bad = plat.launch(sign={"alg": "none"})
        check(bad.stage == "launch" and bad.status == 401 and "bad token" in bad.body,
              "an alg none token goes through the dance and is refused by the tool")
        bad = plat.launch(sign={"alg": "HS256-pubkey"})
        check(bad.status == 401, "an HS256-with-the-public-key token is refused by the tool")
        bad = plat.launch(sign={"key": lp.Key(), "kid": plat.key.kid})
        check(bad.status == 401, "a token of another key is refused by the tool")
        # A tool that sends a wrong redirect_uri or drops the nonce is stopped at /auth.
        plat.redirect_uris = ["http://127.0.0.1:1/elsewhere"]
        r = plat.launch()
        check(r.stage == "auth" and r.status == 400 and "redirect_uri" in r.body
              and plat.auth_errors, "/auth refuses an unregistered redirect_uri")
        plat.redirect_uris = [plat.launch_url]
        plat.rotate_key()
        r = plat.launch(sub="carol")
        check(r.status == 302 and lp.jwt_parts(r.id_token)[0]["kid"] == plat.key.kid,
              "after rotate_key the new kid signs")
    finally:
        plat.close()
        tool.httpd.shutdown()
    finish()


if __name__ == "__main__":
    main()
