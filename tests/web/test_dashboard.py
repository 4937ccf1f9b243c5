"""The staff dashboard (SPEC §7, issue 11): /dashboard and /dashboard/C/A on
the real `memgrade serve`, with submissions graded in the real sandbox. Over
HTTP (webtest.Client, logged in with the login form): who may see it (404
like the API for everyone else), the histogram's bars and the kinds table's
shares against the API's own gradebook and result documents, HTML escaping,
server-side sorting, the extension form (refused without its CSRF token;
with it the late figures are recomputed), the regrade button and its
progress, CSV through the session cookie. Then in headless Chromium: sorting
by the header buttons (aria-sort, mouse and keyboard), the regrade progress
updating live, axe-core on the dashboard pages, phone width, and
screenshots into the build's test output (WEB_OUT)."""
import html
import json
import os
import re
import subprocess
import time

from webtest import (ASSIGNMENTS, MEMGRADE, PASSWORD, Client, Server, add_user, check, dbarg,
                     finish, set_password, tempdir, variant, wait_until)

work = tempdir("mgdash.")
db = os.path.join(work, "memgrade.db")
clock = os.path.join(work, "now")
T0 = 1796083200  # 2026-12-01T00:00:00Z
DAY = 86400


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def set_now(t):
    with open(clock + ".tmp", "w") as f:
        f.write(iso(t) + "\n")
    os.replace(clock + ".tmp", clock)


def cli(*args):
    p = subprocess.run([MEMGRADE] + list(args) + ["--db", dbarg(db)], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError("%s: %s" % (args, p.stderr))
    return p.stdout


set_now(T0)
os.environ["MEMGRADE_TEST_NOW"] = "@" + clock
TITLE = "<script>alert(1)</script> Operating Systems & \"C\""
tok = {}
for name, role in [("prof", "instructor"), ("teach", "student"), ("assist", "student"),
                   ("othta", "student"), ("s1", "student"), ("s2", "student"), ("s3", "student"),
                   ("s4", "student"), ("s5", "student"), ("s6", "student")]:
    tok[name] = add_user(db, name, role)
for name in ("prof", "teach", "assist", "othta", "s1"):
    set_password(db, name)
cli("course", "add", "os", "--title", TITLE)
cli("course", "add", "other", "--title", "Another course")
cli("course", "enrol", "os", "teach", "--role", "instructor")
cli("course", "enrol", "os", "assist", "--role", "ta")
cli("course", "enrol", "other", "othta", "--role", "ta")
for s in ["s1", "s2", "s3", "s4", "s5", "s6"]:
    cli("course", "enrol", "os", s, "--role", "student")
cli("course", "offer", "os", "mystr", "--due", iso(T0 + DAY), "--accept-until", iso(T0 + 5 * DAY),
    "--late-penalty", "10", "--policy", "best")

srv = Server(db=db, workdir=work, port=18093,
             args=["--workers", "2", "--rate-limit", "0"]).start()


def session(name):
    """A browser as far as HTTP goes: logged in with the login form."""
    c = Client(srv.port)
    st, _, _ = c.login(name)
    check(st == 303 and c.cookies.get("mg_session"), "%s logs in: %d" % (name, st))
    c.name = name
    return c


def csrf_of(page):
    m = re.search(r'name="csrf" value="([^"]+)"', page) or \
        re.search(r'name="csrf-token" content="([^"]+)"', page)
    return m.group(1) if m else ""


def api(method, path, body=None, who="prof"):
    return srv.json(method, path, body, token=tok[who])


def gradebook():
    st, _, g = api("GET", "/api/v1/courses/os/assignments/mystr/grades")
    check(st == 200, "the API's gradebook: %d" % st)
    return g or {"students": [], "max_score": 0}


def book_of(user):
    return {s["user"]: s for s in gradebook()["students"]}[user]


# ---- the class's work, graded for real -------------------------------------------------
with open(os.path.join(ASSIGNMENTS, "mystr", "reference", "mystr.c")) as f:
    REF = f.read()
BROKEN = "int this does not compile ;\n"
plan = [("s1", REF), ("s2", BROKEN),
        ("s3", variant("mystr", "split_free_forgets_array.c")), ("s4", BROKEN),
        ("s6", variant("mystr", "split_use_after_free.c")),
        ("s6", variant("mystr", "dup_no_room_for_nul.c")),
        ("s3", variant("mystr", "dup_no_room_for_nul.c"))]
ids = []


def submit(who, code):
    st, _, doc = srv.json("POST", "/api/v1/submissions",
                          {"assignment": "mystr", "course": "os", "files": {"mystr.c": code}},
                          token=tok[who])
    check(st == 202, "%s submits: %d %s" % (who, st, doc))
    ids.append((who, (doc or {}).get("id", 0)))


for who, code in plan:
    submit(who, code)
# s2 hands the reference in 1.5 days after the due date: 2 late days, 2 x 10%
# of the maximum off, and still better than their broken first try.
set_now(T0 + DAY + DAY * 3 // 2)
submit("s2", REF)
docs = {}
for who, sid in ids:
    d = srv.wait_graded(tok["prof"], sid, timeout=300)
    check(d is not None and d.get("result_status") in ("graded", "compile_error"),
          "submission %d of %s graded: %s" % (sid, who, d and d.get("result_status")))
    docs[sid] = (who, d or {})

book = gradebook()
max_score = book["max_score"]
finals = {s["user"]: s["final_score"] for s in book["students"]}
check(finals.get("s1") == max_score and finals.get("s4") == 0 and finals.get("s5") is None and
      abs((finals.get("s2") or 0) - max_score * 0.8) < 1e-6,
      "known scores: reference full marks, reference 2 days late 80%%, broken 0, none for who "
      "never submitted: %s" % finals)

# ---- who sees it ----------------------------------------------------------------------------
teach, assist, othta, s1 = session("teach"), session("assist"), session("othta"), session("s1")
st, hd, _ = Client(srv.port).request("GET", "/dashboard/os/mystr")
check(st == 303 and hd.get("location", "").startswith("/login"),
      "not logged in: to the login page (%d %s)" % (st, hd.get("location")))
for who, path in [(s1, "/dashboard/os/mystr"), (othta, "/dashboard/os/mystr"),
                  (s1, "/dashboard/os/mystr/students/s2"), (teach, "/dashboard/nope/mystr"),
                  (teach, "/dashboard/os/list"), (teach, "/dashboard/os/mystr/students/s9"),
                  (teach, "/dashboard/os/mystr/students/assist"),
                  (othta, "/dashboard/os/mystr/students/s1"), (s1, "/dashboard/default/mystr")]:
    st, _, page = who.request("GET", path)
    check(st == 404 and "<html" in page, "%s gets 404 for %s: %d" % (who.name, path, st))
st, _, page = s1.request("POST", "/dashboard/os/mystr/regrade", b"csrf=" + csrf_of(
    s1.request("GET", "/")[2]).encode(), {"Content-Type": "application/x-www-form-urlencoded"})
check(st == 404, "a student's regrade POST (with their own token) is 404: %d" % st)
st, _, page = othta.request("GET", "/dashboard")
check(st == 200 and "Another course" in page and "/dashboard/os/" not in page,
      "a TA of another course sees only theirs on /dashboard")
st, _, page = s1.request("GET", "/dashboard")
check(st == 200 and "not a TA or instructor" in page, "a student's /dashboard says there is nothing")
st, _, page = session("prof").request("GET", "/dashboard")
check(st == 200 and all('id="course-%s"' % c in page for c in ("default", "os", "other")) and
      'href="/dashboard/default/mystr"' in page,
      "a global instructor sees every course, the default one with the whole catalog")

# ---- /dashboard ----------------------------------------------------------------------------
st, _, page = teach.request("GET", "/dashboard")
check(st == 200 and 'href="/dashboard/os/mystr"' in page, "the overview links the assignment")
row = re.search(r'href="/dashboard/os/mystr".*?</tr>', page, re.S)
row = row.group(0) if row else ""
fin = sorted(v for v in finals.values() if v is not None)
mean = sum(fin) / len(fin)
median = (fin[len(fin) // 2] + fin[(len(fin) - 1) // 2]) / 2


def shown(v):
    return ("%.2f" % v).rstrip("0").rstrip(".")


check('"num">%d<' % len(ids) in row and ">5 of 6<" in row and
      ">%s / %s<" % (shown(mean), shown(max_score)) in row and
      ">%s / %s<" % (shown(median), shown(max_score)) in row,
      "the overview: %d submissions from 5 of 6 students, mean %s, median %s: %s"
      % (len(ids), shown(mean), shown(median), row))

# ---- the assignment page: escaping, histogram, kinds -------------------------------------
st, _, page = teach.request("GET", "/dashboard/os/mystr")
check(st == 200, "the instructor opens /dashboard/os/mystr: %d" % st)
check("<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page,
      "a course title with <script> shows as text")
check(" style=" not in page and "<script>" not in page, "no inline style or script")

bars = re.findall(r'<g class="bar" data-from="([^"]*)" data-to="([^"]*)" data-count="(\d+)">',
                  page)
expect = [0] * 10
for v in fin:
    expect[min(9, int(v / max_score * 10 + 1e-9))] += 1
got = [int(c) for _, _, c in bars]
check(len(bars) == 10 and got == expect and got[9] >= 1 and got[0] >= 1 and got[8] >= 1,
      "histogram bars %s match the known final scores %s" % (got, expect))
check(re.search(r'<svg id="histogram"[^>]*role="img"[^>]*aria-labelledby="hist-title hist-desc"',
                page) and '<title id="hist-title">' in page and '<desc id="hist-desc">' in page,
      "the histogram has a title and a description for screen readers")
check(all(re.search(r'<text class="count"[^>]*>%d</text>' % c, page) for c in got),
      "each bar carries its count as text, not only as a height")

kinds_of = {}  # user -> [set of kinds of each graded submission, oldest first]
for sid in sorted(docs):
    who, d = docs[sid]
    errs = (d.get("result") or {}).get("memory_errors") or []
    kinds_of.setdefault(who, []).append({e["kind"] for e in errs})
ngraded = sum(len(v) for v in kinds_of.values())
all_kinds = set().union(*[k for ks in kinds_of.values() for k in ks])
check({"heap_overflow", "leak", "use_after_free"} <= all_kinds,
      "the class shows several kinds: %s" % sorted(all_kinds))
ksec = re.search(r'<table id="kinds".*?</table>', page, re.S)
ksec = ksec.group(0) if ksec else ""
for kind in sorted(all_kinds):
    nsub = sum(kind in ks for ksl in kinds_of.values() for ks in ksl)
    nstu = sum(any(kind in ks for ks in ksl) for ksl in kinds_of.values())
    nlast = sum(kind in ksl[-1] for ksl in kinds_of.values())
    m = re.search(r'<tr data-kind="%s">(.*?)</tr>' % kind, ksec, re.S)
    cells = re.findall(r'data-count="(\d+)" data-of="(\d+)" data-share="([0-9.]+)"',
                       m.group(1)) if m else []
    want = [(nsub, ngraded), (nstu, len(kinds_of)), (nlast, len(kinds_of))]
    check([(int(a), int(b)) for a, b, _ in cells] == want and
          all(abs(float(sh) - a / b) < 1e-3 for (a, b), (_, _, sh) in zip(want, cells)),
          "kinds row %s: %s, expected %s (submissions, students, still in latest)"
          % (kind, cells, want))
check(re.search(r'<tr data-kind="heap_overflow"><th scope="row">Not allocating enough memory',
                ksec) and "<code>heap_overflow</code>" in ksec,
      "kinds are named in the lecture's words and by their SPEC name")
check(not re.search(r'<tr data-kind="(?!(%s)")' % "|".join(all_kinds), ksec),
      "no kind row the documents do not have")

# ---- the students' table and sorting --------------------------------------------------------


def table_rows(p):
    t = re.search(r'<table id="students".*?</table>', p, re.S)
    rows = re.findall(r'<tr><th scope="row" data-v="([^"]*)">(.*?)</tr>', t.group(0) if t else "",
                      re.S)
    return [(n, [float(v) for v in re.findall(r'<td class="num" data-v="([-0-9.]+)"', rest)])
            for n, rest in rows]  # best, last, final, attempts, late days


rows = table_rows(page)
check([n for n, _ in rows] == ["s1", "s2", "s3", "s4", "s5", "s6"],
      "the table lists the students by name: %s" % [n for n, _ in rows])
byname = dict(rows)
check(all(abs(byname[u][2] - (finals[u] if finals[u] is not None else -1)) < 1e-6 for u in finals),
      "final scores match the API's gradebook")
check(byname["s2"][4] == book_of("s2")["late_days"] == 2, "s2's 2 late days: %s" % byname["s2"])
check(byname["s6"][3] == 2 and byname["s5"][3] == 0, "attempts counted")
for sort, col, desc, label in [("-final", 2, True, "Final"), ("final", 2, False, "Final"),
                               ("-attempts", 3, True, "Attempts"), ("-name", None, True, "Student"),
                               ("-late", 4, True, "Late days")]:
    st, _, p = teach.request("GET", "/dashboard/os/mystr?sort=" + sort)
    rs = table_rows(p)
    keys = [((-r[1][col] if desc else r[1][col]) if col is not None else None, r[0]) for r in rs]
    ok = keys == sorted(keys) if col is not None else [r[0] for r in rs] == sorted(
        [r[0] for r in rs], reverse=True)
    th = re.search(r'<th scope="col"[^>]*aria-sort="(\w+)"><button[^>]*>%s<' % label, p)
    check(st == 200 and ok and len(rs) == 6 and th and
          th.group(1) == ("descending" if desc else "ascending"),
          "?sort=%s orders the rows (%s), ties by name, and says so in aria-sort" %
          (sort, [r[0] for r in rs]))
m = re.search(r'<tr><th scope="row" data-v="s1">.*?</tr>', page, re.S)
check(m and re.search(r'href="/submissions/%d"' % ids[0][1], m.group(0)),
      "a student's score links to the submission (drill-down)")
st, _, sp = teach.request("GET", "/dashboard/os/mystr/students/s6")
sub_links = re.findall(r'href="/submissions/(\d+)"', sp)
check(st == 200 and sorted(map(int, sub_links)) == sorted(i for w, i in ids if w == "s6"),
      "the student page links each of s6's submissions: %s" % sub_links)
check('data-kind="use_after_free"' in sp and 'data-kind="heap_overflow"' in sp,
      "the student page names the kinds of each submission")
st, _, drill = teach.request("GET", "/submissions/%s" % (sub_links or ["0"])[0])
check(st == 200, "the instructor opens that submission: %d" % st)

# ---- CSV through the session cookie -------------------------------------------------------
m = re.search(r'href="(/api/v1/courses/os/assignments/mystr/grades\?format=csv)"', page)
check(m is not None, "the page links the CSV export")
st, hd, data = teach.request("GET", html.unescape(m.group(1)) if m else "/")
check(st == 200 and hd.get("content-type", "").startswith("text/csv") and
      data.startswith("user,attempts,best_score"), "the CSV downloads with the cookie: %d" % st)

# ---- extensions --------------------------------------------------------------------------------
st, _, sp = teach.request("GET", "/dashboard/os/mystr/students/s2")
token = csrf_of(sp)
check(st == 200 and token and 'action="/dashboard/os/mystr/extensions/s2"' in sp,
      "the instructor's student page has the extension form")
check('<label for="ext-due">' in sp and 'id="ext-due"' in sp and
      '<label for="ext-until">' in sp and 'id="ext-until"' in sp,
      "the extension fields are labelled")
new_due = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(T0 + 3 * DAY))
st, _, _ = teach.form("/dashboard/os/mystr/extensions/s2", {"due": new_due, "tz": "0"})
check(st == 403, "an extension without the CSRF token is refused: %d" % st)
st, _, _ = teach.form("/dashboard/os/mystr/extensions/s2",
                      {"due": new_due, "tz": "0", "csrf": "0" * 64})
check(st == 403, "an extension with a wrong CSRF token is refused: %d" % st)
check(book_of("s2")["late_days"] == 2, "the refused forms changed nothing")
st, _, sp_a = assist.request("GET", "/dashboard/os/mystr/students/s2")
st, _, _ = assist.form("/dashboard/os/mystr/extensions/s2",
                       {"due": new_due, "tz": "0", "csrf": csrf_of(sp_a)})
check(st == 403 and "extensions/s2" not in sp_a,
      "a TA has no extension form and cannot post one: %d" % st)
st, hd, _ = teach.form("/dashboard/os/mystr/extensions/s2",
                       {"due": new_due, "accept_until": "", "tz": "0", "csrf": token})
check(st == 303 and hd.get("location", "").startswith("/dashboard/os/mystr/students/s2"),
      "with the token the extension is saved: %d %s" % (st, hd.get("location")))
s2 = book_of("s2")
check(s2["late_days"] == 0 and s2["final_score"] == max_score,
      "the extension recomputed s2's late figures (API): %s" % s2)
st, _, page = teach.request("GET", "/dashboard/os/mystr")
byname = dict(table_rows(page))
check(byname["s2"][4] == 0 and byname["s2"][2] == max_score and "due <time" in page,
      "the dashboard shows the recomputed figures and the extension: %s" % byname["s2"])
st, _, sp = teach.request("GET", "/dashboard/os/mystr/students/s2?extended=1")
check('<span id="late">0</span>' in sp and "extension is saved" in sp,
      "the student page too")
# A browser in UTC+2 sends its offset: 13:00 there is 11:00 UTC.
st, _, _ = teach.form("/dashboard/os/mystr/extensions/s3",
                      {"due": time.strftime("%Y-%m-%dT13:00", time.gmtime(T0 + 2 * DAY)),
                       "tz": "-120", "csrf": token})
_, _, d = api("GET", "/api/v1/courses/os/assignments")
ext = {e["user"]: e for a in (d or {}).get("assignments", []) for e in a.get("extensions", [])}
check(st == 303 and ext.get("s3", {}).get("due") == iso(T0 + 2 * DAY + 11 * 3600),
      "the form's local time is converted with the browser's offset: %s" % ext.get("s3"))
st, _, body = teach.form("/dashboard/os/mystr/extensions/s3",
                         {"due": "next tuesday", "tz": "0", "csrf": token})
check(st == 400 and "<html" in body, "a malformed date is a readable 400 page: %d" % st)

# ---- regrade -----------------------------------------------------------------------------------
st, _, page = assist.request("GET", "/dashboard/os/mystr")
check(st == 200 and 'action="/dashboard/os/mystr/regrade"' not in page,
      "a TA sees the dashboard without the regrade button")
st, _, _ = assist.form("/dashboard/os/mystr/regrade", {"csrf": csrf_of(page)})
check(st == 403, "and cannot post one: %d" % st)
st, _, page = teach.request("GET", "/dashboard/os/mystr")
st, _, _ = teach.form("/dashboard/os/mystr/regrade", {})
check(st == 403, "a regrade without the CSRF token is refused: %d" % st)
st, hd, _ = teach.form("/dashboard/os/mystr/regrade", {"csrf": csrf_of(page)})
loc = hd.get("location", "")
m = re.search(r"\?regrade=(\d+)", loc)
check(st == 303 and m, "the regrade starts: %d %s" % (st, loc))
rid = m.group(1) if m else "0"
st, _, page = teach.request("GET", loc.split("#")[0])
check(st == 200 and 'data-poll="/api/v1/courses/os/regrades/%s"' % rid in page and
      '<progress id="regrade-progress"' in page, "the page shows the regrade's progress")


def regrade_done():
    st, _, data = teach.request("GET", "/api/v1/courses/os/regrades/" + rid)
    g = json.loads(data) if st == 200 else {}
    return g if g.get("status") == "done" else None


g = wait_until(regrade_done, timeout=300, step=0.5)
check(g and g["done"] == g["total"] == len(ids),
      "the regrade reaches done (polled with the session cookie): %s" % g)
st, _, page = teach.request("GET", loc.split("#")[0])
check('data-status="done"' in page, "the page then says the regrade is done")

# ---- in the browser: sorting, live progress, axe, phone width, screenshots --------------------
out = os.path.join(os.environ.get("WEB_OUT") or os.path.join(work, "out"), "dashboard")
os.makedirs(out, exist_ok=True)
AXE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_modules", "axe-core",
                   "axe.min.js")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    have_browser = os.path.exists(AXE)
except ImportError as e:
    have_browser = False
    print("selenium: %s" % e)
check(have_browser, "Selenium and axe-core are there (deploy/install-deps.sh --test)")
if have_browser:
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1280,900", "--lang=en-US", "--no-first-run",
              "--user-data-dir=" + tempdir("mgdash-chrome.")):
        opts.add_argument(a)
    if os.path.exists("/usr/bin/chromium"):
        opts.binary_location = "/usr/bin/chromium"
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    base = "http://127.0.0.1:%d" % srv.port
    try:
        drv.set_page_load_timeout(60)
        drv.get(base + "/login")
        drv.find_element(By.NAME, "username").send_keys("teach")
        drv.find_element(By.NAME, "password").send_keys(PASSWORD + Keys.ENTER)
        WebDriverWait(drv, 30).until(lambda d: "/login" not in d.current_url)
        with open(AXE) as f:
            axe_src = f.read()

        def axe():
            drv.execute_script(axe_src)
            res = drv.execute_async_script(
                "var done = arguments[arguments.length - 1];"
                "axe.run(document).then(function (r) { done(r.violations.map(function (v) {"
                " return v.id + ': ' + v.nodes.map(function (n) { return n.target.join(' '); })"
                ".join(', '); })); }, function (e) { done(['axe failed: ' + e]); });")
            return res

        def shot(name):
            h = drv.execute_script("return document.documentElement.scrollHeight")
            w = drv.execute_script("return window.outerWidth")
            drv.set_window_size(w, min(max(int(h) + 120, 600), 6000))
            drv.save_screenshot(os.path.join(out, name))
            drv.set_window_size(w, 900)

        drv.set_script_timeout(60)
        for path, name in [("/dashboard", "dashboard.png"),
                           ("/dashboard/os/mystr", "dashboard-assignment.png"),
                           ("/dashboard/os/mystr/students/s2", "dashboard-student.png"),
                           ("/dashboard/os/deliveries", "dashboard-deliveries.png")]:
            drv.get(base + path)
            v = axe()
            check(v == [], "axe-core finds no violation on %s: %s" % (path, v))
            shot(name)

        drv.get(base + "/dashboard/os/mystr")

        def order(col):
            return drv.execute_script(
                "var t = document.getElementById('students'); var out = [];"
                "for (var r of t.tBodies[0].rows) out.push([r.cells[0].getAttribute('data-v'),"
                " parseFloat(r.cells[arguments[0]].getAttribute('data-v'))]); return out;", col)

        def aria(key):
            return drv.execute_script(
                "var b = document.querySelector('#students button[data-key=\"' + arguments[0] +"
                " '\"]'); return b.closest('th').getAttribute('aria-sort');", key)

        url0 = drv.current_url
        drv.find_element(By.CSS_SELECTOR, '#students button[data-key="final"]').click()
        o = order(3)
        check([v for _, v in o] == sorted((v for _, v in o), reverse=True) and
              aria("final") == "descending" and aria("name") is None and
              drv.current_url.endswith("?sort=-final") and drv.current_url != url0,
              "clicking Final sorts in place, highest first; aria-sort and the URL follow: %s" % o)
        drv.find_element(By.CSS_SELECTOR, '#students button[data-key="final"]').click()
        o = order(3)
        check([v for _, v in o] == sorted(v for _, v in o) and aria("final") == "ascending",
              "clicking again sorts lowest first: %s" % o)
        live = drv.find_element(By.ID, "dash-live").text if drv.find_elements(By.ID, "dash-live") \
            else ""
        check("sorted by Final, ascending" in live, "the new order is announced: %r" % live)
        btn = drv.find_element(By.CSS_SELECTOR, '#students button[data-key="attempts"]')
        drv.execute_script("arguments[0].focus()", btn)
        webdriver.ActionChains(drv).send_keys(Keys.ENTER).perform()
        o = order(4)
        check(aria("attempts") == "descending" and
              [v for _, v in o] == sorted((v for _, v in o), reverse=True),
              "Enter on a focused header button sorts (keyboard): %s" % o)
        webdriver.ActionChains(drv).send_keys(Keys.SPACE).perform()
        check(aria("attempts") == "ascending", "Space sorts the other way")
        drv.refresh()
        check(aria("attempts") == "ascending",
              "a reload keeps the order (the URL's ?sort= is served)")

        drv.set_window_size(380, 800)
        drv.get(base + "/dashboard/os/mystr")
        wide = drv.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        check(wide[0] <= wide[1], "at phone width the page does not scroll sideways: %s" % wide)
        shot("dashboard-phone.png")
        drv.set_window_size(1280, 900)

        drv.get(base + "/dashboard/os/mystr")
        drv.find_element(By.CSS_SELECTOR, 'form[action$="/regrade"] button').click()
        WebDriverWait(drv, 30).until(lambda d: "regrade=" in d.current_url)
        first = drv.find_element(By.ID, "regrade-status").get_attribute("data-status")
        url = drv.current_url
        WebDriverWait(drv, 300, poll_frequency=0.5).until(
            lambda d: d.find_element(By.ID, "regrade-status").get_attribute("data-status") == "done")
        prog = drv.execute_script("var p = document.getElementById('regrade-progress');"
                                  " return [p.value, p.max];")
        text = drv.find_element(By.ID, "regrade-status").text
        check(first != "done" and drv.current_url == url and prog[0] == prog[1] == len(ids) and
              "Done: %d of %d" % (len(ids), len(ids)) in text,
              "the regrade's progress updates live without a reload (%s → done, %s, %r)"
              % (first, prog, text))
        shot("dashboard-regrade.png")
    finally:
        drv.quit()
    print("screenshots in " + out, flush=True)

srv.stop()
# In the sanitizer build (tests/run.sh) a report lands in the server's log.
log = srv.log()
check(not re.search(r"AddressSanitizer|LeakSanitizer|runtime error:", log),
      "the server's log has no sanitizer report: %s" % log[-2000:])
finish()
