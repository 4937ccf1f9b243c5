"""The pages end to end in headless Chromium (Selenium, Debian's chromium and
chromedriver): a student logs in with the form, submits a buggy file with
the file input, watches the result arrive without a reload and finds the
error on its line; a second student gets 404 for it; markup in a file name
and in the source stays text; logout ends the session; axe-core finds no
WCAG A/AA violation on login, /, /courses/C/A and /submissions/ID.
Screenshots of each page go to $WEB_OUT."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from webtest import (PASSWORD, Client, Server, add_student, check, finish, first_link, stop_clean,
                     tempdir, variant, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("WEB_OUT") or tempdir("mgweb-out.")
AXE = os.path.join(HERE, "node_modules", "axe-core", "axe.min.js")

missing = [what for what, ok in [
    ("chromium (apt: chromium)", os.path.exists("/usr/bin/chromium")),
    ("chromedriver (apt: chromium-driver)", os.path.exists("/usr/bin/chromedriver")),
    ("axe-core (npm ci in tests/web)", os.path.exists(AXE)),
] if not ok]
try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:
    missing.append("selenium (apt: python3-selenium)")
if missing:
    # Not a skip: a machine without the browser fails, saying what to install.
    check(False, "browser test needs: %s (deploy/install-deps.sh --test)" % ", ".join(missing))
    finish()

os.makedirs(OUT, exist_ok=True)
with open(AXE) as f:
    AXE_SRC = f.read()


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="mgchrome.")
    for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run",
              "--disable-dev-shm-usage", "--window-size=1200,900",
              "--user-data-dir=" + profile]:
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.set_page_load_timeout(60)
    d._mg_profile = profile
    return d


def quit_browser(d):
    try:
        d.quit()
    finally:
        shutil.rmtree(d._mg_profile, ignore_errors=True)


def axe(d, what):
    """axe-core's WCAG 2 A/AA rules on the current page."""
    d.execute_script(AXE_SRC)
    res = d.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a',"
        " 'wcag21aa']}}).then(function (r) { done(JSON.stringify(r.violations)); },"
        " function (e) { done(JSON.stringify([{id: 'axe failed', help: String(e)}])); });")
    v = json.loads(res)
    check(not v, "axe-core: no WCAG A/AA violations on %s %s" %
          (what, [(x.get("id"), x.get("help"), [n.get("target") for n in x.get("nodes", [])][:3])
                  for x in v]))


def shot(d, name):
    path = os.path.join(OUT, name + ".png")
    d.save_screenshot(path)
    print("screenshot " + path, flush=True)


def shot_full(d, name):
    """The whole page, beyond the window (Chromium's DevTools)."""
    import base64
    w = d.execute_script("return document.documentElement.scrollWidth")
    h = d.execute_script("return document.documentElement.scrollHeight")
    data = d.execute_cdp_cmd("Page.captureScreenshot", {
        "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": w, "height": min(h, 8000), "scale": 1}})
    path = os.path.join(OUT, name + ".png")
    with open(path, "wb") as f:
        f.write(base64.b64decode(data["data"]))
    print("screenshot " + path, flush=True)


def wait_css(d, css, timeout=120):
    return wait_until(lambda: d.find_elements(By.CSS_SELECTOR, css), timeout, 0.2)


srv = Server(port=18321).start()
work = tempdir("mgweb.")
d = None
try:
    add_student(srv.db, "alice")
    add_student(srv.db, "bob")
    base = "http://127.0.0.1:%d" % srv.port
    d = browser()

    # The first minute: serve's one-time link logs the instructor in on the
    # getting-started page.
    link = first_link(srv)
    d.get(base + (link or "/login/once/none"))
    check(d.current_url == base + "/welcome" and "memgrade user add" in d.page_source,
          "the first-start link opens /welcome logged in: %s" % d.current_url)
    axe(d, "/welcome")
    shot(d, "welcome")
    d.delete_all_cookies()

    # Log in with the form.
    d.get(base + "/courses/default/mystr")
    check(d.current_url.startswith(base + "/login"), "a page needs a login: %s" % d.current_url)
    axe(d, "/login")
    shot(d, "login")
    d.find_element(By.ID, "username").send_keys("alice")
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
    wait_until(lambda: "/courses/default/mystr" in d.current_url, 20)
    check(d.current_url == base + "/courses/default/mystr",
          "after logging in, back where alice was going: %s" % d.current_url)
    axe(d, "/courses/default/mystr")
    shot(d, "assignment")

    # Submit a buggy str_dup with the file input (no room for the '\0').
    src = variant("mystr", "dup_no_room_for_nul.c")
    path = os.path.join(work, "mystr.c")
    with open(path, "w") as f:
        f.write(src)
    d.get(base + "/courses/default/mystr")
    d.find_element(By.ID, "files").send_keys(path)
    d.find_element(By.CSS_SELECTOR, "#submit-form button[type=submit]").click()
    wait_until(lambda: "/submissions/" in d.current_url, 30)
    sub_url = d.current_url
    check("/submissions/" in sub_url, "the form lands on the submission: %s" % sub_url)
    # The result arrives without a reload: a marker set now must survive.
    d.execute_script("window.__sameDocument = 1;")
    got = wait_css(d, "#score", 180)
    check(got and d.execute_script("return window.__sameDocument") == 1,
          "the score appeared in the same document (no reload)")
    kinds = d.find_elements(By.CSS_SELECTOR, "[data-kind='heap_overflow']")
    loc = kinds[0].get_attribute("data-location") if kinds else ""
    line = loc.rsplit(":", 1)[-1] if loc else "0"
    check(kinds and loc.startswith("mystr.c:"), "a heap_overflow is listed at %r" % loc)
    bad = d.find_elements(By.CSS_SELECTOR, "#L%s.err" % line)
    check(bad and "strcpy(copy, s)" in bad[0].text and "Heap buffer overflow" in bad[0].text, "line %s is marked as an error in the listing: %r" %
          (line, bad[0].text if bad else None))
    check(d.find_elements(By.CSS_SELECTOR, "li.merr svg[role=img] .svg-bad"),
          "the heap block is drawn with the bad byte")
    link = d.find_elements(By.CSS_SELECTOR, "li.merr a[href='#L%s']" % line)
    check(link, "the error links to its line")
    axe(d, "/submissions/ID")
    shot(d, "submission")
    shot_full(d, "submission-full")
    d.get(base + "/")
    check("String functions on the heap" in d.page_source and
          d.find_elements(By.CSS_SELECTOR, "a[href='%s']" % sub_url[len(base):]),
          "/ lists mystr by its title, the best score linking to the submission")
    axe(d, "/")
    shot(d, "home")
    d.set_window_size(390, 844)
    d.get(sub_url + "#L" + line)
    wait_css(d, "#score", 30)
    width = d.execute_script("return document.documentElement.scrollWidth")
    check(width <= 400, "phone width: the page does not scroll sideways (%d px)" % width)
    shot(d, "submission-phone")
    d.set_window_size(1200, 900)

    # Markup in the source (pasted) and in a file name stays text.
    evil_src = src.replace("#include", "/* <script>window.__pwned = 1;</script> "
                           "<img src=x onerror=window.__pwned=2> */\n#include", 1)
    d.get(base + "/courses/default/mystr")
    d.find_element(By.CSS_SELECTOR, "#paste summary").click()
    box = d.find_element(By.ID, "paste_text")
    d.execute_script("arguments[0].value = arguments[1];", box, evil_src)
    d.find_element(By.CSS_SELECTOR, "#submit-form button[type=submit]").click()
    wait_until(lambda: "/submissions/" in d.current_url and d.current_url != sub_url, 30)
    wait_css(d, "#score", 180)
    check(d.execute_script("return window.__pwned === undefined") and
          "<script>window.__pwned" in d.find_element(By.ID, "L1").text + d.page_source.replace(
              "&lt;", "<").replace("&gt;", ">"),
          "a <script> in the source shows as text and does not run")
    evil_name = os.path.join(work, "<script>window.__pwned=3<\\script>.c".replace("\\", ""))
    try:
        with open(evil_name, "w") as f:
            f.write("int x;\n")
        d.get(base + "/courses/default/mystr")
        d.find_element(By.ID, "files").send_keys(path + "\n" + evil_name)
        d.find_element(By.CSS_SELECTOR, "#submit-form button[type=submit]").click()
        wait_css(d, "#upload-error", 30)
        err = d.find_elements(By.ID, "upload-error")
        check(err and "<script>window.__pwned=3" in err[0].text and
              d.execute_script("return window.__pwned === undefined"),
              "a <script> file name is shown as text in the refusal: %r" %
              (err[0].text if err else None))
    except OSError as e:
        check(False, "cannot create a file named like markup here: %s" % e)

    # Another student: 404 for alice's submission.
    session = d.get_cookie("mg_session")
    d.delete_all_cookies()
    d.get(base + "/login")
    d.find_element(By.ID, "username").send_keys("bob")
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
    wait_until(lambda: d.current_url.rstrip("/") == base, 20)
    d.get(sub_url)
    check("Not found" in d.title and not d.find_elements(By.ID, "score"),
          "bob gets 404 for alice's submission: %r" % d.title)

    # Logout: the button ends the session server-side.
    bob_session = (d.get_cookie("mg_session") or {}).get("value", "")
    d.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
    wait_until(lambda: "/login" in d.current_url, 20)
    check("logged out" in d.page_source, "logout lands on /login saying so")
    old = Client(srv.port)
    old.cookies = {"mg_session": bob_session}
    st, hd, _ = old.request("GET", "/")
    check(bob_session and st == 303 and hd.get("location", "").startswith("/login"),
          "bob's old session cookie is refused after logout: %d" % st)
    st, _, _ = old.request("GET", "/api/v1/me")
    check(st == 401, "... by the API too: %d" % st)
    alive = Client(srv.port)
    alive.cookies = {"mg_session": session["value"] if session else ""}
    st, _, _ = alive.request("GET", "/")
    check(st == 200, "alice's session (not logged out) still works: %d" % st)
finally:
    if d:
        quit_browser(d)
    stop_clean(srv)
finish()
