#!/usr/bin/env python3
"""Tamper attempts and hostile programs graded through the real
`memgrade grade --json`: each must end within limits with a verdict
(exit 0, a result document), and none may raise its score by cheating.

usage: grade_fixtures.py MEMGRADE SOURCE_DIR tamper|hostile|programs"""
import glob, json, os, subprocess, sys, tempfile, time
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


# Each tamper fixture (a mystr submission) and what must hold for it.
TAMPER = {
    "define_malloc.c": lambda d: d["status"] == "compile_error" and "may not define them" in d["compile"]["output"],
    "main_defined.c": lambda d: d["status"] == "compile_error" and "remove yours" in d["compile"]["output"],
    "libc_malloc.c": lambda d: {"leak", "heap_overflow"} <= kinds(d),
    "segv_handler.c": lambda d: "heap_overflow" in kinds(d) and test_status(d, "dup_basic") != "passed",
    "close_fds.c": lambda d: d["score"] == 0,
    "dup2_fd3.c": lambda d: d["score"] == 0,
    "exit_constructor.c": lambda d: d["score"] == 0,
    "fake_records.c": lambda d: test_status(d, "dup_basic") != "passed" and d["score"] <= d["max_score"] / 3,
    "exit_in_test.c": lambda d: test_status(d, "dup_basic") == "error" and d["score"] <= d["max_score"] / 3,
    "kill_server.c": lambda d: d["score"] == 0,
    "forge_observation.c": lambda d: test_status(d, "dup_basic") != "passed" and test_status(d, "concat_basic") != "passed",
    "hang_everywhere.c": lambda d: d["score"] == 0 and test_status(d, "dup_basic") == "timeout" and d["duration_ms"] < 90000,
    "hide_in_section.c": lambda d: {"leak", "unchecked_alloc_failure"} <= kinds(d),
    "redefine_write.c": lambda d: d["status"] == "compile_error" and "a C library function" in d["compile"]["output"],
    "output_flood.c": lambda d: all(test_status(d, n) == "passed" for n in ("dup_basic", "dup_null", "dup_long", "dup_alloc_failure")),
    "fork_leftovers.c": lambda d: all(test_status(d, n) == "passed" for n in ("dup_basic", "dup_alloc_failure")),
    "call_runtime.c": lambda d: d["status"] == "compile_error" and "undefined reference" in d["compile"]["output"],
    "incbin_driver.c": lambda d: d["status"] == "compile_error" and "file not found" in d["compile"]["output"],
    "read_box.c": lambda d: all(test_status(d, n) == "passed" for n in ("dup_basic", "dup_long", "dup_alloc_failure")),
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


# Whole programs (graded against the fixture assignment "hostile", whose one
# test wants the canary line): kind and line each must report, or None for
# a correct program that must get full marks.
PROGRAMS = {
    "threads.c": None,
    "lecture_leak_loop.c": ("leak", 9),
    "lecture_dangling.c": ("use_after_free", 9),
    "lecture_double_free.c": ("double_free", 9),
    "lecture_too_small.c": ("heap_overflow", 10),
    "recursion_overflow.c": ("stack_overflow", 8),
    "many_blocks.c": None,
    "lecture_uninitialized.c": ("uninitialized_read", 8),
    "many_blocks_overflow.c": ("heap_overflow", 14),  # found when freed: the free line
}


def run_program(path):
    name = os.path.basename(path)
    doc, err, took = grade(fixtures, "hostile", "hostile.c", path)
    if err:
        return name, err
    if name not in PROGRAMS:
        return name, "no expectation for this fixture in grade_fixtures.py"
    want = PROGRAMS[name]
    errs = [(e["kind"], e["location"]) for e in doc["memory_errors"]]
    if want is None:
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


if which == "programs":
    paths = sorted(glob.glob(os.path.join(src, "tests", "graders", "programs", "*.c")))
    fn = run_program
elif which == "tamper":
    paths = sorted(glob.glob(os.path.join(src, "tests", "graders", "tamper", "*.c")))
    fn = run_tamper
else:
    paths = sorted(glob.glob(os.path.join(src, "tests", "hostile", "*.c")))
    fn = run_hostile
failed = 0
with ThreadPoolExecutor(max_workers=2) as ex:
    for name, problem in ex.map(fn, paths):
        print("%-30s %s" % (name, "ok" if problem is None else "FAIL: " + problem), flush=True)
        failed += problem is not None
print("\n%d fixtures, %d failed" % (len(paths), failed))
sys.exit(1 if failed or not paths else 0)
