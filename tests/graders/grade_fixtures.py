#!/usr/bin/env python3
"""Tamper attempts and hostile programs graded through the real
`memgrade grade --json`: each must end within limits with a verdict
(exit 0, a result document), and none may raise its score by cheating.

usage: grade_fixtures.py MEMGRADE SOURCE_DIR tamper|hostile|programs|twins

twins: tests/graders/tamper/twins/ASSIGNMENT/NAME.c is a cheat and
NAME.honest.c its honest twin (the same bugs or wrong answers, no trick).
Both are graded through the real `memgrade grade --json`, two grades at a
time, and the pair fails when:
  - the twin does not compile or grade (status must be "graded");
  - the fixture scores above the twin (a fixture whose build is refused,
    status compile_error, counts as 0: refusing the trick is a defence);
  - the fixture passes a test in which the twin shows a memory error,
    without showing that kind there too (a test the trick ended, with a
    refused call or a crash at the trick, never ran the twin's bug; a
    fixture refused at build time hides nothing); and,
    for each such error with a location, the fixture must show that kind
    at a line with the same text (the fixture is the twin plus its trick,
    so lines move but keep their text; "cheat_" prefixes are ignored).
    A fixture whose first comment says "lower-score-suffices" (memory the
    runtime never handed out, where no check can see inside) passes the
    kind rule when it scores strictly below its twin instead; one whose
    first comment says "errors-move" (its trick changes where the same
    kind of error happens: a retry loop fails at its malloc where its twin
    crashes on the NULL after it) keeps the kind rule and skips the line
    rule;
  - either grade's memgrade process peaks above 100 MB resident (VmHWM,
    polled; class 7: a record flood must not make the parser allocate);
  - for a fixture whose first comment says "class 6" (hidden-test data):
    the student-visible parts of either grade, refused or not (compile output, top-level
    memory_errors, visible tests' output and memory_errors) contain a
    hidden test's name or a string listed on a "secret:" line of that
    comment (what the fixture tries to read back from hidden inputs).
A grade that fails (memgrade exits non-zero) fails the pair."""
import glob, json, os, re, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor

memgrade, src, which = sys.argv[1], sys.argv[2], sys.argv[3]
adir = os.path.join(src, "assignments")
fixtures = os.path.join(src, "tests", "graders", "fixtures")


def grade(assignments, assignment, name, path):
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, name)
        with open(path, "rb") as f, open(target, "wb") as g:
            g.write(f.read())
        t0 = time.time()
        p = subprocess.run([memgrade, "grade", "--json", "--assignments", assignments,
                            "--assignment", assignment, target], capture_output=True, timeout=180)
        took = time.time() - t0
    if p.returncode != 0:
        return None, "exit %d: %s" % (p.returncode, p.stderr.decode()[-300:]), took
    return json.loads(p.stdout), None, took


def test_status(doc, name):
    return next((t["status"] for t in doc["tests"] if t["name"] == name), None)


def kinds(doc):
    return {e["kind"] for e in doc["memory_errors"]}


def calibrated_limit(output):
    """The test was stopped at its own limit, from the reference's time
    (graders/grd_calib.c), well under the manifest's 2000 ms."""
    m = re.search(r"after (\d+) ms of CPU time \(its limit: 20 times what the reference", output)
    return bool(m) and 250 <= int(m.group(1)) < 2000


def test_output(doc, name):
    return next((t["output"] for t in doc["tests"] if t["name"] == name), "")


# Each tamper fixture (a mystr submission) and what must hold for it.
TAMPER = {
    "define_malloc.c": lambda d: d["status"] == "compile_error" and "may not define them" in d["compile"]["output"],
    "main_defined.c": lambda d: d["status"] == "compile_error" and "remove yours" in d["compile"]["output"],
    "libc_malloc.c": lambda d: {"leak", "heap_overflow"} <= kinds(d),
    # Its handler is installed from a constructor, which the build refuses;
    # were it not, the fault must still be seen.
    "segv_handler.c": lambda d: (d["status"] == "compile_error" and "constructor" in d["compile"]["output"]) or
                                ("heap_overflow" in kinds(d) and test_status(d, "dup_basic") != "passed"),
    "close_fds.c": lambda d: d["score"] == 0,
    "dup2_fd3.c": lambda d: d["score"] == 0,
    "exit_constructor.c": lambda d: d["score"] == 0,
    "fake_records.c": lambda d: test_status(d, "dup_basic") != "passed" and d["score"] <= d["max_score"] / 3,
    "exit_in_test.c": lambda d: test_status(d, "dup_basic") == "error" and d["score"] <= d["max_score"] / 3,
    "kill_server.c": lambda d: d["score"] == 0,
    "forge_observation.c": lambda d: test_status(d, "dup_basic") != "passed" and test_status(d, "concat_basic") != "passed",
    "hang_everywhere.c": lambda d: d["score"] == 0 and test_status(d, "dup_basic") == "timeout" and d["duration_ms"] < 90000
                                   and "still running at mystr.c:7 " in test_output(d, "dup_basic")
                                   and calibrated_limit(test_output(d, "dup_basic")),
    "hide_in_section.c": lambda d: {"leak", "unchecked_alloc_failure"} <= kinds(d),
    "redefine_write.c": lambda d: d["status"] == "compile_error" and "a C library function" in d["compile"]["output"],
    "output_flood.c": lambda d: all(test_status(d, n) == "passed" for n in ("dup_basic", "dup_null", "dup_long", "dup_alloc_failure")),
    "fork_leftovers.c": lambda d: all(test_status(d, n) == "passed" for n in ("dup_basic", "dup_alloc_failure")),
    "call_runtime.c": lambda d: d["status"] == "compile_error" and "undefined reference" in d["compile"]["output"],
    "incbin_driver.c": lambda d: d["status"] == "compile_error" and "file not found" in d["compile"]["output"],
    "read_box.c": lambda d: all(test_status(d, n) == "passed" for n in ("dup_basic", "dup_long", "dup_alloc_failure")),
    "printf_inputs.c": lambda d: "your code printed:\ninput: hello (5 bytes)" in test_output(d, "dup_basic") and
                                 not any("your code printed" in t["output"] for t in d["tests"] if t["visibility"] != "visible"),
}


def run_tamper(path):
    name = os.path.basename(path)
    doc, err, took = grade(adir, "mystr", "mystr.c", path)
    if err:
        return name, err
    if name not in TAMPER:
        return name, "no expectation for this fixture in grade_fixtures.py"
    if not TAMPER[name](doc):
        return name, "expectation failed: status %s score %s/%s errors %s tests %s" % (
            doc["status"], doc["score"], doc["max_score"], sorted(kinds(doc)),
            [(t["name"], t["status"]) for t in doc["tests"]][:6])
    return name, None


# Whole programs (graded against the fixture assignment "programs", whose one
# test wants the canary line, with a CPU limit that leaves the stress
# fixtures (threads.c: 24000 allocator calls) room on a loaded machine): kind and line each must report, or None for
# a correct program that must get full marks.
PROGRAMS = {
    "threads.c": None,
    "lecture_leak_loop.c": ("leak", 9),
    "lecture_dangling.c": ("use_after_free", 9),
    # a list of errors: exactly these, in one run (it goes on after each)
    "every_error.c": [("heap_overflow", 10), ("use_after_free", 14), ("leak", 15),
                      ("double_free", 18)],
    "destroy_reads_freed.c": [("use_after_free", 23)],
    "write_before_block.c": [("heap_overflow", 13)],
    "local_unset.c": [("uninitialized_read", 10)],  # the run sees the branch: charged
    "overflow_widths.c": [("heap_overflow", 15), ("heap_overflow", 17)],
    "lecture_double_free.c": ("double_free", 9),
    "lecture_too_small.c": ("heap_overflow", 10),
    "recursion_overflow.c": ("stack_overflow", 8),
    "many_blocks.c": None,
    "lecture_uninitialized.c": ("uninitialized_read", 8),
    "many_blocks_overflow.c": ("heap_overflow", 14),  # found when freed: the free line
    "libc_caches.c": None,           # the C library's caches are not leaks
    "asprintf_leak.c": ("leak", 10), # a block the C library made for the program
    "unchecked_malloc.c": ("unchecked_alloc_failure", 11),  # its one allocation failed on purpose
    "retry_malloc.c": ("unchecked_alloc_failure", 11),      # retried forever: the malloc line
    # issue 9: what Valgrind found and memgrade missed
    "read_before_block.c": [("heap_overflow", 11)],  # a read, with no write to give it away
    "compare_unset.c": [("uninitialized_read", 14), ("uninitialized_read", 25),
                        ("uninitialized_read", 30)],  # outputs never differ
    "compare_unset_switch.c": [("uninitialized_read", 11), ("uninitialized_read", 15)],
    "accumulator_unset.c": [("uninitialized_read", 10)],  # gcc -O1: reported, not charged
    "underflow_and_unset.c": [("heap_overflow", 15), ("uninitialized_read", 10)],
    "crash_leak.c": [("leak", 15), ("null_dereference", 31)],  # not the blocks still reached
    # comparisons the C library makes (memcmp, strcmp, strncmp by pointer)
    "compare_library.c": [("uninitialized_read", 16), ("uninitialized_read", 17),
                          ("uninitialized_read", 19)],
    "write_unset.c": [("uninitialized_read", 26), ("uninitialized_read", 27)],  # to files
}


# what the message at a line must say: worded by the access, not generic
MESSAGES = {
    "overflow_widths.c": [(15, "a string needs strlen(s) + 1 bytes"),
                          (17, "an array of n elements needs n * sizeof *p bytes")],
}

# errors found at compile time, shown but not taken off any test's score
NOT_CHARGED = {"accumulator_unset.c"}


def run_program(path):
    name = os.path.basename(path)
    doc, err, took = grade(fixtures, "programs", "hostile.c", path)
    if err:
        return name, err
    if name not in PROGRAMS:
        return name, "no expectation for this fixture in grade_fixtures.py"
    want = PROGRAMS[name]
    errs = [(e["kind"], e["location"]) for e in doc["memory_errors"]]
    if isinstance(want, list):
        exact = sorted((k, "hostile.c:%d" % l) for k, l in want)
        for line, words in MESSAGES.get(name, []):
            said = [e["message"] for e in doc["memory_errors"] if e["location"] == "hostile.c:%d" % line]
            if not any(words in m for m in said) or any(("strlen(s)" in m) == ("sizeof *p" in m) for m in said):
                return name, "line %d should say only %r: %s" % (line, words, said)
        charged = name not in NOT_CHARGED
        if sorted(errs) != exact or (doc["score"] != 0) == charged:
            return name, "expected exactly %s and score 0, got %s with %s" % (exact, doc["score"], errs)
    elif want is None:
        if doc["score"] != doc["max_score"] or errs:
            return name, "expected full marks, got %s with %s" % (doc["score"], errs)
    elif (want[0], want[1] and "hostile.c:%d" % want[1]) not in errs or doc["score"] != 0:
        return name, "expected %s at line %s and score 0, got %s with %s" % (want[0], want[1], doc["score"], errs)
    return name, None


MARKERS = ["/mg_hostile_marker", "/usr/mg_hostile_marker", "/etc/mg_hostile_marker"]


def run_hostile(path):
    name = os.path.basename(path)
    doc, err, took = grade(fixtures, "hostile", "hostile.c", path)
    if err:
        return name, err
    if doc["status"] not in ("graded", "compile_error"):
        return name, "status " + doc["status"]
    if doc["score"] != 0:
        return name, "a hostile program scored %s" % doc["score"]
    if took > 60:
        return name, "took %.0f s" % took
    for m in MARKERS:
        if os.path.exists(m):
            return name, "left %s outside the box" % m
    return name, None


TWIN_RSS_KB = 100 * 1024


def grade_rss(assignment, path):
    """grade() of path as the assignment's file, also returning the peak
    resident size (KiB) of the memgrade process itself (polled VmHWM)."""
    m = json.load(open(os.path.join(adir, assignment, "manifest.json")))
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, m["files"][0])
        with open(path, "rb") as f, open(target, "wb") as g:
            g.write(f.read())
        out = tempfile.TemporaryFile()
        errf = tempfile.TemporaryFile()
        p = subprocess.Popen([memgrade, "grade", "--json", "--assignments", adir,
                              "--assignment", assignment, target], stdout=out, stderr=errf)
        hwm, t0 = 0, time.time()
        while p.poll() is None:
            try:
                with open("/proc/%d/status" % p.pid) as st:
                    for line in st:
                        if line.startswith("VmHWM:"):
                            hwm = max(hwm, int(line.split()[1]))
            except OSError:
                pass
            if time.time() - t0 > 180:
                p.kill()
            time.sleep(0.02)
        out.seek(0)
        errf.seek(0)
        if p.returncode != 0:
            return None, "exit %d: %s" % (p.returncode, errf.read().decode()[-300:]), hwm
        return json.loads(out.read()), None, hwm


def first_comment(path):
    text = open(path, errors="replace").read()
    end = text.find("*/")
    return text[:end] if text.startswith("/*") and end > 0 else ""


def line_text(path, loc):
    """The stripped source text at FILE:LINE, "cheat_" prefixes removed."""
    try:
        n = int(loc.rsplit(":", 1)[1])
        return open(path, errors="replace").read().split("\n")[n - 1].strip().replace("cheat_", "")
    except (ValueError, IndexError, AttributeError):
        return None


def visible_text(doc):
    """Everything of a result a student sees: compile output, top-level
    memory errors, visible tests' output and memory errors."""
    parts = [doc.get("compile", {}).get("output") or "", json.dumps(doc.get("memory_errors", []))]
    for t in doc.get("tests", []):
        if t.get("visibility") == "visible":
            parts += [t.get("output") or "", json.dumps(t.get("memory_errors", []))]
    return "\n".join(parts)


def hidden_problems(assignment, fixture, doc, who):
    comment = first_comment(fixture)
    if "class 6" not in comment.lower():
        return []
    m = json.load(open(os.path.join(adir, assignment, "manifest.json")))
    secrets = [t["name"] for t in m["tests"] if t.get("visibility") == "hidden"]
    for line in comment.splitlines():
        line = line.strip(" */")
        if line.lower().startswith("secret:"):
            secrets.append(json.loads(line.split(":", 1)[1].strip()))
    text = visible_text(doc)
    return ["%s shows hidden data %r to the student" % (who, s) for s in secrets if s in text]


def judge_pair(fixture, twin, fdoc, tdoc):
    assignment = os.path.basename(os.path.dirname(fixture))
    problems = []
    if tdoc["status"] != "graded":
        return ["the twin did not grade: status %s %s" % (tdoc["status"],
                (tdoc.get("compile", {}).get("output") or "")[-300:])]
    refused = fdoc["status"] == "compile_error"
    fscore = 0 if refused else fdoc["score"]
    if fscore > tdoc["score"]:
        problems.append("the fixture scores %s, its twin %s" % (fscore, tdoc["score"]))
    lower_ok = "lower-score-suffices" in first_comment(fixture) and fscore < tdoc["score"]
    if not refused and not lower_ok:
        fk = kinds(fdoc)
        # An error is hidden when the fixture passes a test in which the
        # twin shows it without showing it too; a test the trick ended
        # (a refused call, a crash at the trick) never ran the twin's bug.
        ftests = {t["name"]: t for t in fdoc["tests"]}
        hidden = set()
        for t in tdoc["tests"]:
            ft = ftests.get(t["name"])
            for e in t["memory_errors"]:
                shown = ft and e["kind"] in {x["kind"] for x in ft["memory_errors"]}
                if not shown and (ft is None or ft["status"] == "passed"):
                    hidden.add(e["kind"])
        for k in sorted(hidden):
            problems.append("hides %s (the twin shows it)" % k)
        floc = {(e["kind"], line_text(fixture, e["location"])) for e in fdoc["memory_errors"] if e["location"]}
        moved = "errors-move" in first_comment(fixture)
        for e in tdoc["memory_errors"]:
            if e["kind"] in fk and e["location"] and not moved:
                txt = line_text(twin, e["location"])
                if txt and (e["kind"], txt) not in floc:
                    problems.append("hides %s at %s (\"%s\")" % (e["kind"], e["location"], txt))
    problems += hidden_problems(assignment, fixture, tdoc, "the twin")
    problems += hidden_problems(assignment, fixture, fdoc, "the fixture")
    return problems


# Pairs whose cheat still works: the grader's known open holes, each named
# in graders/INTEGRITY.md section 4. Such a pair must keep failing the rules
# above (a strict expected failure); the day it passes, this list is wrong.
OPEN = {
}


def run_twins(paths):
    jobs = []
    for p in paths:
        jobs += [p, p[:-2] + ".honest.c"]
    def one(path):
        return path, grade_rss(os.path.basename(os.path.dirname(path)), path)
    results = {}
    with ThreadPoolExecutor(max_workers=2) as ex:
        for path, res in ex.map(one, jobs):
            results[path] = res
    failed = opened = 0
    for p in paths:
        t = p[:-2] + ".honest.c"
        name = os.path.relpath(p, os.path.join(src, "tests", "graders", "tamper", "twins"))
        (fdoc, ferr, frss), (tdoc, terr, trss) = results[p], results[t]
        if not os.path.exists(t):
            problems = ["no honest twin " + os.path.basename(t)]
        elif ferr or terr:
            problems = ["grade failed: " + (ferr or terr)]
        else:
            problems = judge_pair(p, t, fdoc, tdoc)
        for who, rss in (("fixture", frss), ("twin", trss)):
            if rss > TWIN_RSS_KB:
                problems.append("memgrade peaked at %d MB grading the %s" % (rss // 1024, who))
        summary = "" if ferr or terr or not os.path.exists(t) else " [%s %s/%s vs twin %s]" % (
            fdoc["status"], fdoc.get("score"), tdoc.get("score"), sorted(kinds(tdoc)))
        if name in OPEN and not ferr and not terr:
            # Known to beat the grader (graders/INTEGRITY.md section 4): it
            # must still do so, or the list and that section are out of date.
            if problems:
                print("%-40s open, as %s says: %s%s" % (name, OPEN[name], "; ".join(problems), summary))
                opened += 1
                continue
            problems = ["no longer beats the grader: take it off OPEN and update %s" % OPEN[name]]
        print("%-40s %s%s" % (name, "ok" if not problems else "FAIL: " + "; ".join(problems), summary), flush=True)
        failed += bool(problems)
    print("\n%d pairs, %d failed, %d open (known, see graders/INTEGRITY.md)" % (len(paths), failed, opened))
    sys.exit(1 if failed or not paths else 0)


if which == "programs":
    paths = sorted(glob.glob(os.path.join(src, "tests", "graders", "programs", "*.c")))
    fn = run_program
elif which == "twins":
    paths = sorted(p for p in glob.glob(os.path.join(src, "tests", "graders", "tamper", "twins", "*", "*.c"))
                   if not p.endswith(".honest.c"))
    fn = None
elif which == "tamper":
    paths = sorted(glob.glob(os.path.join(src, "tests", "graders", "tamper", "*.c")))
    fn = run_tamper
else:
    paths = sorted(glob.glob(os.path.join(src, "tests", "hostile", "*.c")))
    fn = run_hostile
failed = 0
if which == "twins":
    run_twins(paths)
with ThreadPoolExecutor(max_workers=2) as ex:
    for name, problem in ex.map(fn, paths):
        print("%-30s %s" % (name, "ok" if problem is None else "FAIL: " + problem), flush=True)
        failed += problem is not None
print("\n%d fixtures, %d failed" % (len(paths), failed))
sys.exit(1 if failed or not paths else 0)
