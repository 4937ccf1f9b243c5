#!/usr/bin/env python3
"""Grades every reference and every buggy variant of the bundled assignments
through the real `memgrade grade --json` (real gcc, real sandbox) and checks
graders/DRIVER.md §3: a reference gets full marks with no memory error; a
variant gets a lower score and, if it names a kind, that kind at that line
(or, for kind null, no memory error at all). variants/scores.json (optional)
says, per variant, the tests its bug must fail ("failing") and the score it
may get at most ("score"); with "only": true no other test may fail (a bug
in a cleanup function costs that function's tests and no other).

usage: grade_assignments.py MEMGRADE ASSIGNMENTS_DIR [NAME...]"""
import json, os, subprocess, sys, tempfile
from concurrent.futures import ThreadPoolExecutor

memgrade, adir = sys.argv[1], sys.argv[2]
names = sys.argv[3:] or sorted(d for d in os.listdir(adir)
                               if os.path.exists(os.path.join(adir, d, "manifest.json")))
failures = []


def grade(name, src, tmp):
    manifest = json.load(open(os.path.join(adir, name, "manifest.json")))
    target = os.path.join(tmp, manifest["files"][0])
    with open(src, "rb") as f, open(target, "wb") as g:
        g.write(f.read())
    p = subprocess.run([memgrade, "grade", "--json", "--assignments", adir,
                        "--assignment", name, target], capture_output=True, timeout=300)
    if p.returncode != 0:
        return None, manifest, "exit %d: %s" % (p.returncode, p.stderr.decode()[-300:])
    return json.loads(p.stdout), manifest, None


def pinned(name, file):
    p = os.path.join(adir, name, "variants", "scores.json")
    return json.load(open(p)).get(file) if os.path.exists(p) else None


def check_scores(doc, pin):
    """What scores.json says of the variant, or None when it holds."""
    failed = {t["name"] for t in doc["tests"] if t["status"] != "passed"}
    want = set(pin.get("failing", []))
    if not want <= failed:
        return "tests %s should fail and pass" % sorted(want - failed)
    if pin.get("only") and failed != want:
        return "only %s should fail, also failing: %s" % (sorted(want), sorted(failed - want))
    if "score" in pin and doc["score"] > pin["score"]:
        return "score %s, at most %s expected" % (doc["score"], pin["score"])
    return None


def check(job):
    name, src, want = job
    label = "%s/%s" % (name, os.path.relpath(src, os.path.join(adir, name)))
    with tempfile.TemporaryDirectory() as tmp:
        doc, manifest, err = grade(name, src, tmp)
    if err:
        return label, err
    if doc.get("status") != "graded":
        return label, "status %s: %s" % (doc.get("status"), doc["compile"]["output"][:300])
    errs = doc["memory_errors"]
    short = [(e["kind"], e["location"], e["alloc_location"]) for e in errs]
    if want == "reference" or want.get("full_marks"):
        if doc["score"] != doc["max_score"] or errs:
            bad = [t["name"] + ": " + t["output"][:200] for t in doc["tests"] if t["status"] != "passed"]
            return label, "expected full marks: score %s/%s, errors %s, failing %s" % (
                doc["score"], doc["max_score"], short, bad)
        return label, None
    if not doc["score"] < doc["max_score"]:
        return label, "variant got full marks (errors %s)" % short
    pin = pinned(name, os.path.basename(src))
    if pin is not None:
        problem = check_scores(doc, pin)
        if problem:
            return label, problem
    said = want.get("feedback")
    if said and not any(said in t["output"] for t in doc["tests"]):
        return label, "no test's feedback says %r: %s" % (said, [t["output"][:200] for t in doc["tests"]])
    kind, line = want.get("kind"), want.get("line")
    if kind is None:
        if errs:
            return label, "wrong-but-clean variant reported memory errors %s" % short
        return label, None
    loc = "%s:%d" % (manifest["files"][0], line)
    if not any(e["kind"] == kind and e["location"] == loc for e in errs):
        return label, "expected %s at %s, got %s" % (kind, loc, short)
    return label, None


jobs = []
for name in names:
    man = json.load(open(os.path.join(adir, name, "manifest.json")))
    ref = os.path.join(adir, name, "reference", man["files"][0])
    jobs.append((name, ref, "reference"))
    exp = os.path.join(adir, name, "variants", "expected.json")
    if os.path.exists(exp):
        for v in json.load(open(exp))["variants"]:
            jobs.append((name, os.path.join(adir, name, "variants", v["file"]), v))

with ThreadPoolExecutor(max_workers=2) as ex:
    for label, problem in ex.map(check, jobs):
        print("%-60s %s" % (label, "ok" if problem is None else "FAIL: " + problem), flush=True)
        if problem is not None:
            failures.append(label)

print("\n%d graded, %d failed" % (len(jobs), len(failures)))
sys.exit(1 if failures or not jobs else 0)
