"""Assignment upload (SPEC §6, issue 10): POST /api/v1/assignments takes a
gzip'd tar of an assignment folder, checks it as `memgrade assignment check`
does, installs it durably and serves it without a restart. Hostile archives
(absolute paths, "..", links, devices, a gzip bomb) are refused with nothing
written outside the staging folder. A broken assignment on disk is left out
without taking the others down."""
import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid

from mgtest import ASSIGNMENTS, MEMGRADE, Server, add_user, check, finish, tempdir

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixtures", "strrev")

work = tempdir("mgupload.")
adir = os.path.join(work, "assignments")
shutil.copytree(ASSIGNMENTS, adir)
# A broken assignment on disk: the others must still be served.
os.mkdir(os.path.join(adir, "broken"))
with open(os.path.join(adir, "broken", "manifest.json"), "w") as f:
    json.dump({"name": "broken", "kind": "functions", "files": ["b.c"], "driver": "d.c",
               "tests": [{"name": "t", "pionts": 1}]}, f)

# ---- memgrade assignment check: exit 0 when good, 1 and a line per problem ----------
p = subprocess.run([MEMGRADE, "assignment", "check", FIXTURE], capture_output=True, text=True,
                   timeout=600)
check(p.returncode == 0 and p.stdout == "strrev: ok\n", "check of the worked example: %d %r %r"
      % (p.returncode, p.stdout, p.stderr[-300:]))
bad = os.path.join(work, "check", "strrev")
shutil.copytree(FIXTURE, bad)
m = json.load(open(os.path.join(bad, "manifest.json")))
m["tests"][3]["points"] = 0
m["tests"][1]["pionts"] = 1
m["tests"][2]["points"] = "1"
m["limits"] = {"test_ms": "fast"}
json.dump(m, open(os.path.join(bad, "manifest.json"), "w"))
p = subprocess.run([MEMGRADE, "assignment", "check", bad], capture_output=True, text=True, timeout=600)
want = ["manifest.json: limits.test_ms: wrong type: must be a whole number",
        "manifest.json: tests[1].pionts: unknown key",
        "manifest.json: tests[2].points: wrong type: must be a number",
        "manifest.json: tests[3].points: must be > 0"]
check(p.returncode == 1 and p.stdout.splitlines() == want, "check names each problem: %d %r"
      % (p.returncode, p.stdout))
shutil.rmtree(bad)
shutil.copytree(FIXTURE, bad)
with open(os.path.join(bad, "variants", "expected.json"), "w") as f:
    json.dump({"variants": [{"file": "no_room_for_nul.c", "kind": "leak", "line": 3}]}, f)
p = subprocess.run([MEMGRADE, "assignment", "check", bad], capture_output=True, text=True, timeout=600)
check(p.returncode == 1 and p.stdout == "variants/no_room_for_nul.c: expected leak at strrev.c:3, "
      "not reported\n", "check grades the variants: %d %r" % (p.returncode, p.stdout))
shutil.rmtree(bad)
shutil.copytree(FIXTURE, bad)
m = json.load(open(os.path.join(bad, "manifest.json")))
m["tests"].append({"name": "rev_twice", "points": 1, "expect": {"rev": "\"x\""}})
json.dump(m, open(os.path.join(bad, "manifest.json"), "w"))
p = subprocess.run([MEMGRADE, "assignment", "check", bad], capture_output=True, text=True, timeout=600)
check(p.returncode == 1 and len(p.stdout.splitlines()) == 1 and "rev_twice" in p.stdout and
      "missing from the driver" in p.stdout, "a test the driver lacks is named: %r" % p.stdout)
p = subprocess.run([MEMGRADE, "assignment", "check", os.path.join(work, "nonexistent")],
                   capture_output=True, text=True)
check(p.returncode == 2 and p.stderr.count("\n") == 1, "check of no folder: exit 2, one line")

db = os.path.join(work, "memgrade.db")
prof = add_user(db, "prof", "instructor")
ann = add_user(db, "ann", "student")


def folder_tar(src, name, edit=None):
    """A .tar.gz of folder src stored as name/..., manifest edited by edit."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.USTAR_FORMAT) as t:
        for root, dirs, files in os.walk(src):
            dirs.sort()
            rel = os.path.relpath(root, src)
            arc = name if rel == "." else name + "/" + rel
            t.add(root, arcname=arc, recursive=False)
            for fn in sorted(files):
                data = open(os.path.join(root, fn), "rb").read()
                if fn == "manifest.json" and rel == "." and edit:
                    m = json.loads(data)
                    edit(m)
                    data = json.dumps(m).encode()
                ti = tarfile.TarInfo(arc + "/" + fn)
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def raw_tar(entries):
    """A .tar.gz from (TarInfo-field dict, data) pairs, written verbatim."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as t:
        for fields, data in entries:
            ti = tarfile.TarInfo("x")
            for k, v in fields.items():
                setattr(ti, k, v)
            ti.size = len(data) if data else 0
            t.addfile(ti, io.BytesIO(data) if data else None)
    return buf.getvalue()


def upload(body, token=prof, ctype="application/gzip"):
    return srv.json("POST", "/api/v1/assignments", body, token,
                    headers={"Content-Type": ctype})


def names():
    st, _, doc = srv.json("GET", "/api/v1/assignments", token=ann)
    return {a["name"]: a for a in doc["assignments"]} if st == 200 else {}


def outside_listing():
    """Everything under work except the assignments folder's own
    assignment subfolders (which the upload may add)."""
    seen = set()
    for root, dirs, files in os.walk(work):
        for n in dirs + files:
            seen.add(os.path.relpath(os.path.join(root, n), work))
    return seen


srv = Server(db=db, workdir=work, port=18097,
             args=["--workers", "2", "--rate-limit", "0", "--assignments", adir]).start()
have = names()
check(set(have) == {"addrspace", "list", "memuser", "mystr", "vector"},
      "a broken assignment is left out, the others served: %s" % sorted(have))
check("left out" in srv.log() and "broken/manifest.json" in srv.log() and "pionts" in srv.log(),
      "the server says which assignment it left out and why")

good = folder_tar(FIXTURE, "strrev")
st, _, doc = upload(good, token=ann)
check(st == 403, "a student cannot upload: %d" % st)
st, _, doc = upload(good, ctype="text/plain")
check(st == 415, "an upload must be gzip or multipart: %d" % st)

# ---- hostile archives --------------------------------------------------------------
sentinel = "evil-" + uuid.uuid4().hex
before = outside_listing()
hostile = [
    ("absolute path", raw_tar([({"name": "/tmp/" + sentinel}, b"x")]), "absolute"),
    ("dot-dot", raw_tar([({"name": "strrev/../../" + sentinel}, b"x")]), ".."),
    ("leading dot-dot", raw_tar([({"name": "../" + sentinel}, b"x")]), ".."),
    ("symlink", raw_tar([({"name": "strrev", "type": tarfile.DIRTYPE}, None),
                         ({"name": "strrev/manifest.json", "type": tarfile.SYMTYPE,
                           "linkname": "/etc/passwd"}, None)]), "links"),
    ("hard link", raw_tar([({"name": "strrev/a"}, b"x"),
                           ({"name": "strrev/b", "type": tarfile.LNKTYPE, "linkname": "/etc/passwd"},
                            None)]), "links"),
    ("character device", raw_tar([({"name": "strrev/null", "type": tarfile.CHRTYPE,
                                    "devmajor": 1, "devminor": 3}, None)]), "regular"),
    ("fifo", raw_tar([({"name": "strrev/fifo", "type": tarfile.FIFOTYPE}, None)]), "regular"),
    ("two folders", raw_tar([({"name": "strrev/a"}, b"x"), ({"name": "other/b"}, b"y")]), "one folder"),
    ("hidden name", raw_tar([({"name": "strrev/.bashrc"}, b"x")]), "hidden"),
    ("not gzip", b"plain bytes, not a gzip stream", "gzip"),
    ("truncated gzip", good[:len(good) // 2], "truncated"),
]
for what, body, word in hostile:
    st, _, doc = upload(body)
    check(st == 400 and word in doc.get("error", ""), "%s refused: %d %s" % (what, st, doc))
# A gzip bomb: 64 MiB of zeros in one file, about 64 KiB compressed.
bomb = io.BytesIO()
with gzip.GzipFile(fileobj=bomb, mode="wb", compresslevel=9) as g:
    ti = tarfile.TarInfo("strrev/zeros")
    ti.size = 64 << 20
    g.write(ti.tobuf(format=tarfile.USTAR_FORMAT))
    chunk = b"\0" * (1 << 20)
    for _ in range(64):
        g.write(chunk)
st, _, doc = upload(bomb.getvalue())
check(st == 413 and "MiB" in doc.get("error", ""), "a gzip bomb is refused: %d %s (%d bytes sent)"
      % (st, doc, len(bomb.getvalue())))
check(not os.path.exists("/tmp/" + sentinel) and not os.path.exists(os.path.join(work, sentinel)) and
      not os.path.exists(os.path.join(os.path.dirname(adir), sentinel)),
      "nothing was written outside the staging folder")
check(outside_listing() == before, "the tree is as it was: %s" % (outside_listing() ^ before))
check("strrev" not in names(), "no hostile upload installed anything")

# ---- a manifest or a reference that fails the check: 422 with the problems ----------
st, _, doc = upload(folder_tar(FIXTURE, "strrev", lambda m: m["tests"][0].update(pionts=2)))
check(st == 422 and any("tests[0].pionts: unknown key" in p for p in doc.get("problems", [])),
      "a misspelt key is 422 with the problem: %d %s" % (st, doc))


def wrong_expect(m):
    m["tests"][0]["expect"]["rev"] = "\"hello\""


st, _, doc = upload(folder_tar(FIXTURE, "strrev", wrong_expect))
check(st == 422 and any("reference" in p and "rev_basic" in p for p in doc.get("problems", [])),
      "a reference that fails its own test is 422: %d %s" % (st, doc))
check("strrev" not in names() and not [n for n in os.listdir(adir) if n.startswith(".")],
      "refused uploads leave no staging folder behind")

# ---- a good upload: served at once, gradable, durable -----------------------------------
st, hd, doc = upload(good)
check(st == 201 and doc.get("name") == "strrev" and doc.get("max_score") == 8 and not doc["replaced"],
      "strrev installed: %d %s" % (st, doc))
check("strrev" in names(), "listed without a restart")
ref = open(os.path.join(FIXTURE, "reference", "strrev.c")).read()
st, _, doc = srv.submit(ann, "strrev", {"strrev.c": ref})
g = srv.wait_graded(ann, doc["id"]) if st == 202 else None
check(g is not None and g["result"]["score"] == 8, "a submission to it is graded: %s" %
      (g and g["result"]["score"]))
st, _, doc = upload(folder_tar(FIXTURE, "strrev", lambda m: m.update(title="Reversed, v2")))
check(st == 200 and doc["replaced"] and "regrade" in doc, "a replacement offers a regrade: %d %s" % (st, doc))
check(names().get("strrev", {}).get("title") == "Reversed, v2", "the new version is served")
# multipart: the archive as the one file part
boundary = "mgbound" + uuid.uuid4().hex
two = folder_tar(FIXTURE, "strrev2", lambda m: m.update(name="strrev2"))
body = (("--%s\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"strrev2.tar.gz\"\r\n"
         "Content-Type: application/gzip\r\n\r\n" % boundary).encode() + two +
        ("\r\n--%s--\r\n" % boundary).encode())
st, _, doc = upload(body, ctype="multipart/form-data; boundary=" + boundary)
check(st == 201 and doc.get("name") == "strrev2", "a multipart upload: %d %s" % (st, doc))
srv.stop()
srv = Server(db=db, workdir=work, port=18097,
             args=["--workers", "1", "--rate-limit", "0", "--assignments", adir]).start()
have = names()
check({"strrev", "strrev2"} <= set(have) and have["strrev"]["title"] == "Reversed, v2",
      "uploads survive a restart: %s" % sorted(have))
check(not [n for n in os.listdir(adir) if n.startswith(".")], "no staging folder is left")
srv.stop()
finish()
