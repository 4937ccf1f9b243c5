"""LTI 1.3 in a real browser (headless Chromium): the launch as an LMS
makes it (login initiation, the platform's auto-submitting form_post, the
tool's cookies under the browser's own SameSite rules) lands logged in on
the assignment, and a Deep Linking pick goes back to the platform through
the tool's own script under its Content-Security-Policy (form-action to
the platform only, no inline script)."""
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "server"))
import ltiplatform as lp  # noqa: E402
from mgtest import MEMGRADE, Server, check, dbarg, finish, tempdir, wait_until  # noqa: E402

PORT = 18080
TOOL = "http://127.0.0.1:%d" % PORT

missing = [what for what, ok in [
    ("chromium (apt: chromium)", os.path.exists("/usr/bin/chromium")),
    ("chromedriver (apt: chromium-driver)", os.path.exists("/usr/bin/chromedriver")),
] if not ok]
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:
    missing.append("selenium (apt: python3-selenium)")
if missing:
    # Not a skip: a machine without the browser fails, saying what to install.
    check(False, "the browser LTI test needs: %s (deploy/install-deps.sh --test)" % ", ".join(missing))
    finish()


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="mgchrome.")
    for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run",
              "--disable-dev-shm-usage", "--window-size=1200,900", "--user-data-dir=" + profile]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP reports land there
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.set_page_load_timeout(60)
    d._mg_profile = profile
    return d


def login_url(plat, hint, sub):
    return plat.login_url + "?" + urllib.parse.urlencode(plat.login_params(hint, sub))


def main():
    work = tempdir("mgltib.")
    db = os.path.join(work, "memgrade.db")
    srv = Server(db=db, port=PORT, workdir=work, args=["--workers", "1"]).start()
    plat = lp.Platform(tool=TOOL)
    d = None
    try:
        r = plat.register(MEMGRADE, dbarg(db))
        check(r.returncode == 0, "the platform is registered")
        d = browser()
        # a student's launch, every hop made by the browser itself
        d.get(login_url(plat, plat.prepare(sub="stu-b", assignment="vector"), "stu-b"))
        wait_until(lambda: "/courses/" in d.current_url, timeout=30)
        path = urllib.parse.urlsplit(d.current_url).path
        check(path.startswith("/courses/") and path.endswith("/vector"),
              "the browser lands on the assignment: %s" % d.current_url)
        check("vector" in d.page_source.lower() and "stu-b@example.edu" in d.page_source,
              "the assignment page shows the launched user, logged in")
        names = {c["name"]: c for c in d.get_cookies()}
        check("mg_session" in names and names["mg_session"].get("httpOnly"),
              "the browser holds the HttpOnly session cookie")
        d.delete_all_cookies()

        # an instructor's Deep Linking: pick, and the answer goes back by itself
        d.get(login_url(plat, plat.prepare(sub="ins-b", roles=("Instructor",),
                                           message_type="LtiDeepLinkingRequest"), "ins-b"))
        wait_until(lambda: d.find_elements(By.ID, "lti-pick"), timeout=30)
        radios = d.find_elements(By.CSS_SELECTOR, "#lti-pick input[value='vector']")
        check(bool(radios), "the picker lists vector")
        n = len(plat.deep_links)
        if radios:
            radios[0].click()
            d.find_element(By.CSS_SELECTOR, "#lti-pick button[type=submit]").click()
        got = wait_until(lambda: len(plat.deep_links) > n, timeout=30)
        rec = plat.deep_links[-1] if got else {}
        check(got and rec.get("errors") == [],
              "lti.js posts the signed response to the platform, which verifies it: %r"
              % rec.get("errors"))
        check("deep link received" in d.page_source, "the browser ends on the platform's page")
        logs = []
        try:
            logs = [e for e in d.get_log("browser") if "Content Security Policy" in e.get("message", "")]
        except Exception:  # noqa: BLE001 -- some drivers keep no log
            pass
        check(not logs, "no Content-Security-Policy violation on the way: %r" % logs[:2])
    finally:
        if d:
            try:
                d.quit()
            finally:
                shutil.rmtree(d._mg_profile, ignore_errors=True)
        srv.stop()
        plat.close()
    finish()


if __name__ == "__main__":
    main()
