#!/usr/bin/env python3
"""detect_bench.py: memgrade against Valgrind memcheck and AddressSanitizer
on the labelled corpus in tests/bench/corpus/ (issue 9, "Goals").

Each corpus program is a whole C program whose first comment labels its
errors, one per line:  `expect: KIND LINE` (`KIND1|KIND2` and `L1|L2` list
what counts as the right answer: the alternatives a fair reader would accept
for one error, e.g. an uninitialized value's allocation or its use), or
`expect: none` for a clean program. Every program is
  - graded by memgrade through its real CLI in its sandbox, as the one file
    of a fixture assignment of kind "program" (`memory_errors`: kind, line);
  - run under valgrind --leak-check=full --track-origins=yes --xml=yes
    --show-leak-kinds=definite,indirect,possible (so that a block lost
    through a lost block is listed with its allocation, as memgrade and
    LeakSanitizer list it); kinds from the XML, mapped to memgrade's; line
    = first frame in the program, and for uninitialised values the
    origin's first frame too;
  - built with gcc -fsanitize=address and run with detect_leaks=1 (kind
    from the report; line = first frame in the program of each report).
A labelled error is a hit for a tool when the tool reports one of its kinds
at one of its lines; a reported error that matches no label is a false
positive. The table prints, per program, hits/labels and false positives.

Time: memgrade's per-program run is the "tests" phase its CLI prints with
MEMGRADE_DEBUG_REPORT=1 (the sandboxed run or runs of the built program plus
the addr2line that locates its errors; the two builds are excluded, as
Valgrind's figure excludes gcc); Valgrind's is the wall time of the
valgrind command above on the gcc -g -O0 binary. The ratio printed is
median(valgrind) / median(memgrade) over all programs, with the median of
per-program ratios beside it.

usage: sudo tests/bench/detect_bench.py [BUILD_DIR] [--only SUBSTR] [--json FILE] [--verbose]
Programs are untrusted-style code: outside memgrade's sandbox they run only
in fresh namespaces (the script re-executes itself under
`unshare --pid --fork --net --mount --mount-proc` unless it is pid 1).
Needs root (memgrade's sandbox, unshare), gcc with libasan, valgrind.
"""
import glob, json, os, re, shutil, statistics, subprocess, sys, tempfile, time
import xml.etree.ElementTree as ET

if os.getpid() != 1:
    # Valgrind, ASan and native runs of the corpus happen outside memgrade's
    # sandbox: only ever as children of pid 1 of our own namespaces.
    os.execvp("unshare", ["unshare", "--pid", "--fork", "--net", "--mount", "--mount-proc",
                          sys.executable, os.path.abspath(__file__)] + sys.argv[1:])

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
PROG = "prog.c"          # the name every program is built and graded under
RUN_TIMEOUT = 120        # seconds, per tool run
CFLAGS = ["-std=gnu17", "-g", "-O0", "-fno-omit-frame-pointer"]

MANIFEST = {
    "name": "corpus",
    "title": "detection benchmark: one run of a whole program",
    "kind": "program",
    "files": [PROG],
    "headers": [],
    "limits": {"test_ms": 10000, "wall_ms": 60000, "memory_mb": 512},
    "tests": [{"name": "run", "points": 1, "visibility": "visible",
               "description": "one run of the program", "args": []}],
}

KINDS = ["heap_overflow", "use_after_free", "double_free", "invalid_free", "leak",
         "uninitialized_read", "null_dereference", "wild_access", "stack_overflow",
         "unchecked_alloc_failure"]


# ---------------------------------------------------------------- labels

def labels(path):
    """[(kinds list, lines set)] from the program's first comment; [] = clean."""
    text = open(path, errors="replace").read()
    end = text.find("*/")
    if not text.startswith("/*") or end < 0:
        raise SystemExit("%s: no first comment with the labels" % path)
    out = []
    for m in re.finditer(r"expect:\s*(\S+)(?:[ \t]+([\d|]+))?", text[:end]):
        if m.group(1) == "none":
            continue
        kinds = m.group(1).split("|")    # the first names the error's class
        bad = set(kinds) - set(KINDS)
        if bad or not m.group(2):
            raise SystemExit("%s: bad label %r" % (path, m.group(0)))
        out.append((kinds, {int(x) for x in m.group(2).split("|")}))
    if not out and "expect: none" not in text[:end]:
        raise SystemExit("%s: no expect: line" % path)
    return out


# ---------------------------------------------------------------- tools
# Each tool returns (errors, ms, note): errors = [(kind, set of lines)].

def run(cmd, **kw):
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=RUN_TIMEOUT, **kw)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = "timeout", e.stdout or b"", e.stderr or b""
    return rc, out, err, (time.perf_counter() - t0) * 1000


def memgrade(mg, work, src):
    adir = os.path.join(work, "assignments", "corpus")
    os.makedirs(adir, exist_ok=True)
    with open(os.path.join(adir, "manifest.json"), "w") as f:
        json.dump(MANIFEST, f)
    sub = os.path.join(work, "submission")
    os.makedirs(sub, exist_ok=True)
    target = os.path.join(sub, PROG)
    shutil.copyfile(src, target)
    env = dict(os.environ, MEMGRADE_DEBUG_REPORT="1")
    rc, out, err, _ = run([mg, "grade", "--json", "--assignments", os.path.dirname(adir),
                           "--assignment", "corpus", target], env=env)
    if rc != 0:
        return None, None, "memgrade exit %s: %s" % (rc, err.decode(errors="replace")[-200:])
    doc = json.loads(out)
    m = re.search(rb"\[build \d+ ms, tests (\d+) ms\]", err)
    ms = float(m.group(1)) if m else None
    if doc.get("status") != "graded":
        return None, ms, "status " + str(doc.get("status"))
    errs = []
    for e in doc.get("memory_errors", []):
        loc = e.get("location") or ""
        lines = {int(loc.rsplit(":", 1)[1])} if loc.startswith(PROG + ":") else set()
        errs.append((e["kind"], lines))
    return errs, ms, None


def vg_frame_line(stack):
    """Line of the first frame of the stack that is in the program."""
    if stack is None:
        return None
    for fr in stack.findall("frame"):
        if fr.findtext("file") == PROG and fr.findtext("line"):
            return int(fr.findtext("line"))
    return None


def vg_kind(e):
    kind = e.findtext("kind") or ""
    aux = " ".join(a.text or "" for a in e.findall("auxwhat"))
    what = e.findtext("what") or (e.find("xwhat").findtext("text") if e.find("xwhat") is not None else "")
    if kind.startswith("Leak_"):
        return "leak"
    if kind in ("UninitCondition", "UninitValue") or (kind == "SyscallParam" and "uninitialised" in what):
        return "uninitialized_read"
    if kind in ("InvalidRead", "InvalidWrite", "InvalidJump"):
        # "is not stack'd, malloc'd or (recently) free'd" also says free'd
        m = re.search(r"Address (0x[0-9a-fA-F]+) is not stack'd", aux)
        if m:
            return "null_dereference" if int(m.group(1), 16) < 4096 else "wild_access"
        # (sizes are printed with thousands separators: "size 4,096")
        if re.search(r"inside a block of size [\d,]+ free'd", aux):
            return "use_after_free"
        if re.search(r"bytes (after|before|inside) a block of size [\d,]+ alloc'd", aux):
            return "heap_overflow"
        # Memcheck never flags an access to the mapped stack: one "on thread
        # 1's stack" is past what the stack could grow to (a frame bigger
        # than the stack limit).
        if re.search(r"is on thread \d+'s stack", aux):
            return "stack_overflow"
        return "wild_access"
    if kind == "InvalidFree":
        return "double_free" if "free'd" in aux else "invalid_free"
    if kind == "MismatchedFree":
        return "invalid_free"
    return "vg:" + kind          # no memgrade kind (Overlap, FishyValue, ...)


def valgrind(work, binary):
    xml = os.path.join(work, "vg.xml")
    rc, out, err, ms = run(["valgrind", "--tool=memcheck", "--leak-check=full",
                            "--show-leak-kinds=definite,indirect,possible", "--track-origins=yes", "--error-exitcode=99", "--xml=yes",
                            "--xml-file=" + xml, binary], cwd=work)
    text = open(xml, errors="replace").read() if os.path.exists(xml) else ""
    # A program killed by a signal can leave the closing tag twice.
    end = text.find("</valgrindoutput>")
    if end < 0:
        return None, ms, "no valgrind XML (exit %s)" % rc
    root = ET.fromstring(text[:end + len("</valgrindoutput>")])
    errs = []
    for e in root.findall("error"):
        kind = vg_kind(e)
        stacks = e.findall("stack")
        lines = {vg_frame_line(stacks[0])} if stacks else set()
        if kind == "uninitialized_read":
            # --track-origins: the stack after the first is the origin
            # (the allocation, or the function owning the stack variable).
            lines |= {vg_frame_line(s) for s in stacks[1:]}
        errs.append((kind, lines - {None}))
    fatal = root.find("fatal_signal")
    if fatal is not None and b"stack overflow" in err.lower():
        errs.append(("stack_overflow", {vg_frame_line(fatal.find("stack"))} - {None}))
    return errs, ms, None


ASAN_KINDS = [
    ("heap-buffer-overflow", "heap_overflow"),
    ("heap-use-after-free", "use_after_free"),
    ("attempting double-free", "double_free"),
    ("attempting free on address which was not malloc", "invalid_free"),
    ("bad-free", "invalid_free"),
    ("stack-overflow", "stack_overflow"),
]
FRAME = re.compile(r"#\d+ 0x[0-9a-f]+ in \S+ (\S+):(\d+)")


def asan_first_line(block):
    for m in FRAME.finditer(block):
        if os.path.basename(m.group(1)) == PROG:
            return int(m.group(2))
    return None


def asan(work, binary):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:symbolize=1:"
               "handle_segv=1:allocator_may_return_null=1")
    rc, out, err, ms = run([binary], cwd=work, env=env)
    text = err.decode(errors="replace")
    errs = []
    # One report per "ERROR:" (AddressSanitizer stops at the first; the
    # LeakSanitizer report lists every leaked allocation site).
    for block in re.split(r"(?m)^(?==+\n==\d+==ERROR: )", text):
        m = re.search(r"==\d+==ERROR: (\w+): (.*)", block)
        if not m:
            continue
        if m.group(1) == "LeakSanitizer":
            for lb in re.split(r"(?m)^(?=(?:Direct|Indirect) leak of)", block)[1:]:
                errs.append(("leak", {asan_first_line(lb)} - {None}))
            continue
        head = m.group(2)
        kind = next((k for pat, k in ASAN_KINDS if pat in head), None)
        if kind is None:
            s = re.match(r"SEGV on unknown address( 0x[0-9a-f]+)?", head)
            if s:   # no address: a non-canonical one (ASan says "high value address")
                kind = "null_dereference" if s.group(1) and int(s.group(1), 16) < 4096 else "wild_access"
            else:
                kind = "asan:" + head.split(" ")[0]
        errs.append((kind, {asan_first_line(block.split("\n\n")[0])} - {None}))
    return errs, ms, None


def native(work, binary):
    rc, out, err, ms = run([binary], cwd=work)
    return ms


# ---------------------------------------------------------------- scoring

def score(want, errs):
    """(hits: list of bool per label, false positives: list of errors)."""
    if errs is None:
        return None, []
    hits = [any(k in kinds and lines & ls for k, ls in errs) for kinds, lines in want]
    fps = [(k, ls) for k, ls in errs
           if not any(k in kinds and lines & ls for kinds, lines in want)]
    # one error reported at several lines or several times counts once
    seen, uniq = set(), []
    for k, ls in fps:
        key = (k, tuple(sorted(ls)))
        if key not in seen:
            seen.add(key)
            uniq.append((k, ls))
    return hits, uniq


def cell(hits, fps, note):
    if hits is None:
        return "ERR"
    s = "%d/%d" % (sum(hits), len(hits)) if hits else "-"
    if fps:
        s += " +%dfp" % len(fps)
    return s


def fmt_errs(errs):
    return ", ".join("%s@%s" % (k, "|".join(map(str, sorted(ls))) or "?") for k, ls in errs)


def main():
    args = sys.argv[1:]
    only = verbose = jsonout = None
    build = os.path.join(SRC, "build")
    while args:
        a = args.pop(0)
        if a == "--only":
            only = args.pop(0)
        elif a == "--json":
            jsonout = args.pop(0)
        elif a == "--verbose":
            verbose = True
        else:
            build = a
    mg = os.path.join(os.path.abspath(build), "memgrade")
    if not os.access(mg, os.X_OK):
        raise SystemExit("no %s: build it first" % mg)
    for tool in ("gcc", "valgrind"):
        if not shutil.which(tool):
            raise SystemExit(tool + " missing")
    progs = sorted(glob.glob(os.path.join(CORPUS, "*.c")))
    if only:
        progs = [p for p in progs if only in os.path.basename(p)]
    tools = ("memgrade", "valgrind", "asan")
    rows, results = [], []
    print("%-30s %-44s %-10s %-10s %-10s" % ("program", "expected", *tools), flush=True)
    for path in progs:
        name = os.path.basename(path)[:-2]
        want = labels(path)
        work = tempfile.mkdtemp(prefix="mg-detect-")
        try:
            src = os.path.join(work, PROG)
            shutil.copyfile(path, src)
            bin_plain, bin_asan = os.path.join(work, "prog"), os.path.join(work, "prog_asan")
            subprocess.run(["gcc", *CFLAGS, "-w", "-o", bin_plain, PROG], cwd=work, check=True)
            subprocess.run(["gcc", *CFLAGS, "-w", "-fsanitize=address", "-o", bin_asan, PROG],
                           cwd=work, check=True)
            res = {"memgrade": memgrade(mg, work, path),
                   "valgrind": valgrind(work, bin_plain),
                   "asan": asan(work, bin_asan)}
            native_ms = native(work, bin_plain)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        r = {"program": name, "labels": [(k, sorted(l)) for k, l in want],
             "native_ms": native_ms}
        cells = []
        for t in tools:
            errs, ms, note = res[t]
            hits, fps = score(want, errs)
            r[t] = {"errors": [(k, sorted(ls)) for k, ls in errs or []], "hits": hits,
                    "fp": [(k, sorted(ls)) for k, ls in fps], "ms": ms, "note": note}
            cells.append(cell(hits, fps, note))
        exp = fmt_errs([("|".join(k), l) for k, l in want]) or "none"
        print("%-30s %-44s %-10s %-10s %-10s" % (name, exp[:44], *cells), flush=True)
        if verbose:
            for t in tools:
                print("    %-9s %s%s" % (t, fmt_errs(res[t][0] or []),
                                         " (" + res[t][2] + ")" if res[t][2] else ""))
        results.append(r)

    # totals
    labelled = sum(len(r["labels"]) for r in results)
    clean = [r for r in results if not r["labels"]]
    print("\n%-10s %14s %16s %22s" % ("tool", "found/labelled", "false positives", "fp on clean programs"))
    for t in tools:
        found = sum(sum(r[t]["hits"] or []) for r in results)
        fp = sum(len(r[t]["fp"]) for r in results)
        fpc = sum(1 for r in clean if r[t]["fp"])
        errs = sum(1 for r in results if r[t]["hits"] is None)
        print("%-10s %9d/%-4d %16d %15d of %-3d%s" % (t, found, labelled, fp, fpc, len(clean),
                                                     "  (%d runs failed)" % errs if errs else ""))

    # misses by class (the label's first kind)
    print("\nmisses by class (labelled errors not found at their line):")
    print("%-26s %8s %9s %9s %9s" % ("class", "labelled", *tools))
    for k in KINDS:
        ls = [(r, i) for r in results for i, lab in enumerate(r["labels"]) if lab[0][0] == k]
        if ls:
            print("%-26s %8d %9d %9d %9d" % (k, len(ls), *[
                sum(1 for r, i in ls if not (r[t]["hits"] and r[t]["hits"][i])) for t in tools]))

    print("\nfound by valgrind, missed by memgrade:")
    gap = 0
    for r in results:
        for i, lab in enumerate(r["labels"]):
            vg, mgh = r["valgrind"]["hits"], r["memgrade"]["hits"]
            if vg and vg[i] and not (mgh and mgh[i]):
                gap += 1
                print("  %-30s %-28s memgrade said: %s" % (r["program"], "|".join(lab[0]) + "@" + "|".join(map(str, lab[1])),
                                                          fmt_errs(r["memgrade"]["errors"]) or "nothing"))
    print("  (%d)" % gap)

    # time
    mgt = [r["memgrade"]["ms"] for r in results if r["memgrade"]["ms"]]
    vgt = [r["valgrind"]["ms"] for r in results]
    ast = [r["asan"]["ms"] for r in results]
    nat = [r["native_ms"] for r in results]
    ratios = [r["valgrind"]["ms"] / r["memgrade"]["ms"] for r in results if r["memgrade"]["ms"]]
    if mgt:
        print("\nper-program run, median ms over %d programs: memgrade %.0f (its \"tests\" phase: "
              "sandboxed run(s) + locating), valgrind %.0f, asan %.0f, native %.0f" %
              (len(results), statistics.median(mgt), statistics.median(vgt),
               statistics.median(ast), statistics.median(nat)))
        print("valgrind / memgrade: %.1fx (ratio of medians), %.1fx (median of per-program ratios), "
              "min %.1fx" % (statistics.median(vgt) / statistics.median(mgt),
                             statistics.median(ratios), min(ratios)))
    if jsonout:
        with open(jsonout, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
