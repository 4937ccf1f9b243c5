"""deploy.files: the deployment files in deploy/ against the source they deploy.

Nothing here starts a container or a cluster (CI has neither): it checks what
can drift without anyone noticing until a deadline night --
  - every YAML file parses (no duplicate keys, which YAML tools accept
    silently and compose/kubectl resolve differently);
  - the worker's capabilities (compose cap_add, Kubernetes securityContext,
    systemd CapabilityBoundingSet) are exactly grader_caps in
    server/grader_proc.c, and the API gets none;
  - every `memgrade serve` / `memgrade worker` command line (compose, k8s,
    systemd units, the Containerfile's CMD) uses only options the built
    binary's --help lists;
  - compose has PostgreSQL 15 + 2 API + 2 workers, nginx upstreams of both
    APIs with the settings README-server.md recommends; Kubernetes has the
    API Deployment/Service with /healthz probes, the worker Deployment with a
    grace period above the longest grading the catalog allows, the scaler on
    a metric the server exports;
  - the systemd units pass `systemd-analyze verify` where it exists, and are
    parsed and checked in any case;
  - the Containerfile builds with deploy/install-deps.sh and cmake --install.
Run by ctest with MEMGRADE (the built binary) and MEMGRADE_SOURCE_DIR set."""
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "server"))
import mgtest  # noqa: E402  (check/finish: the suites' assertion helpers)
from mgtest import check  # noqa: E402

try:
    import yaml
except ImportError:
    print("FAIL python3-yaml is missing: deploy/install-deps.sh --test installs it")
    sys.exit(1)

SRC = mgtest.SOURCE_DIR
DEPLOY = os.path.join(SRC, "deploy")
MEMGRADE = mgtest.MEMGRADE


def read(*path):
    with open(os.path.join(*path)) as f:
        return f.read()


# ---- YAML without duplicate keys ---------------------------------------------------

class StrictLoader(yaml.SafeLoader):
    pass


def _no_duplicates(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, "duplicate key %r" % (key,), key_node.start_mark)
        seen.add(key)
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node, deep=deep))


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load_yaml(path):
    """All documents of one file, or None (a FAIL recorded) when it does not parse."""
    try:
        with open(path) as f:
            docs = [d for d in yaml.load_all(f, Loader=StrictLoader) if d is not None]
        check(True, "%s parses (%d document(s))" % (os.path.relpath(path, SRC), len(docs)))
        return docs
    except yaml.YAMLError as e:
        check(False, "%s parses: %s" % (os.path.relpath(path, SRC), e))
        return None


# ---- what the source says ---------------------------------------------------------

def grader_caps():
    text = read(SRC, "server", "grader_proc.c")
    m = re.search(r"static const int grader_caps\[\]\s*=\s*\{(.*?)\};", text, re.S)
    if not check(m is not None, "grader_caps found in server/grader_proc.c"):
        return set()
    caps = set(re.findall(r"CAP_([A-Z_]+)", m.group(1)))
    check(len(caps) >= 3, "grader_caps lists capabilities (%s)" % " ".join(sorted(caps)))
    return caps


def longest_wall_s():
    """The most an assignment may give its sandboxed run (graders/grd_catalog.c)."""
    text = read(SRC, "graders", "grd_catalog.c")
    m = re.search(r'limit\(lim,\s*"wall_ms",\s*\d+,\s*(\d+)\)', text)
    check(m is not None, "wall_ms's maximum found in graders/grd_catalog.c")
    return int(m.group(1)) // 1000 if m else 600


def help_options(sub):
    """The options `memgrade SUB --help` lists; empty (a FAIL) if it has none."""
    try:
        p = subprocess.run([MEMGRADE, sub, "--help"], capture_output=True, text=True, timeout=30)
    except OSError as e:
        check(False, "memgrade %s --help runs: %s" % (sub, e))
        return set()
    opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", p.stdout + p.stderr))
    check(p.returncode == 0 and "--db" in opts,
          "memgrade %s --help lists its options (exit %d, %d options)" %
          (sub, p.returncode, len(opts)))
    return opts


CAPS = grader_caps()
WALL_S = longest_wall_s()
HELP = {"serve": help_options("serve"), "worker": help_options("worker")}
commands_seen = {"serve": 0, "worker": 0}


def check_command(argv, where):
    """argv: a memgrade command line (maybe behind the image's entrypoint).
    Returns the subcommand ("serve"/"worker") or None."""
    argv = [a for a in argv if not a.endswith("memgrade-entrypoint")]
    if len(argv) < 2 or os.path.basename(argv[0]) != "memgrade" or argv[1] not in HELP:
        check(False, "%s runs memgrade serve or memgrade worker: %s" % (where, argv[:2]))
        return None
    sub = argv[1]
    commands_seen[sub] += 1
    opts = [a for a in argv[2:] if a.startswith("--")]
    unknown = [o for o in opts if o not in HELP[sub]]
    check(opts and not unknown, "%s: memgrade %s options %s are all in --help%s" %
          (where, sub, " ".join(opts), " (unknown: %s)" % " ".join(unknown) if unknown else ""))
    db = argv[argv.index("--db") + 1] if "--db" in argv[:-1] else ""
    if db and not db.startswith("/"):  # not a SQLite path
        check(not re.match(r"postgres(ql)?://[^/@]*:[^/@]*@", db),
              "%s: --db carries no password (%s): libpq reads PGPASSWORD" % (where, db))
    if sub == "serve" and "--workers" in argv[:-1]:
        check(argv[argv.index("--workers") + 1] == "0", "%s: the API grades nothing (--workers 0)"
              % where)
    return sub


def option(argv, name):
    return argv[argv.index(name) + 1] if name in argv[:-1] else None


# ---- every YAML file ----------------------------------------------------------------

yaml_files = sorted(set(glob.glob(os.path.join(DEPLOY, "**", "*.yaml"), recursive=True) +
                        glob.glob(os.path.join(DEPLOY, "**", "*.yml"), recursive=True)))
check(len(yaml_files) >= 5, "deploy/ has its YAML files (%d)" % len(yaml_files))
parsed = {p: load_yaml(p) for p in yaml_files}

# ---- compose ------------------------------------------------------------------------

compose_path = os.path.join(DEPLOY, "compose.yaml")
compose = (parsed.get(compose_path) or [{}])[0]
services = compose.get("services", {}) if isinstance(compose, dict) else {}
check(bool(services), "compose.yaml has services")
api_svcs, worker_svcs = [], []
for name, svc in services.items():
    cmd = svc.get("command")
    if isinstance(cmd, str):
        cmd = shlex.split(cmd)
    if cmd and "memgrade" in os.path.basename(str(cmd[0])):
        sub = check_command(cmd, "compose service %s" % name)
        (api_svcs if sub == "serve" else worker_svcs).append(name)
pg = [n for n, s in services.items() if str(s.get("image", "")).split("/")[-1].startswith("postgres:15")]
check(len(pg) == 1, "compose: one PostgreSQL 15 service (official image): %s" % pg)
if pg:
    s = services[pg[0]]
    check(any(str(v).endswith(":/var/lib/postgresql/data") for v in s.get("volumes", [])),
          "compose: PostgreSQL's data is on a volume")
    check("test" in s.get("healthcheck", {}), "compose: PostgreSQL has a healthcheck")
check(len(api_svcs) == 2, "compose: two API services (memgrade serve): %s" % api_svcs)
check(len(worker_svcs) == 2, "compose: two worker services (memgrade worker): %s" % worker_svcs)

for name in worker_svcs:
    s = services[name]
    added = {c.upper().replace("CAP_", "") for c in s.get("cap_add", [])}
    check(s.get("cap_drop") == ["ALL"], "compose %s: cap_drop ALL" % name)
    check(added == CAPS, "compose %s: cap_add equals grader_caps%s" %
          (name, "" if added == CAPS else " (extra %s, missing %s)" %
           (sorted(added - CAPS), sorted(CAPS - added))))
    check(not s.get("privileged"), "compose %s: not privileged" % name)
    check(s.get("cgroup") == "private", "compose %s: its own cgroup namespace" % name)
    sec = s.get("security_opt", [])
    check("seccomp=unconfined" in sec and "apparmor=unconfined" in sec,
          "compose %s: seccomp and AppArmor unconfined (pivot_root, mount)" % name)
    check(str(s.get("user", "")).split(":")[0] == "0", "compose %s: runs as root" % name)
    check("ports" not in s, "compose %s: publishes no port" % name)
    grace = s.get("stop_grace_period", "")
    m = re.fullmatch(r"(\d+)m", str(grace))
    check(m and int(m.group(1)) * 60 > WALL_S,
          "compose %s: stop_grace_period %s above the longest grading (%d s)" %
          (name, grace, WALL_S))

for name in api_svcs:
    s = services[name]
    check(s.get("cap_drop") == ["ALL"] and not s.get("cap_add"),
          "compose %s: no capabilities" % name)
    check(str(s.get("user", "0")).split(":")[0] not in ("0", "root"),
          "compose %s: non-root user (%s)" % (name, s.get("user")))
    check(s.get("read_only") is True, "compose %s: read-only root filesystem" % name)
    check("no-new-privileges:true" in s.get("security_opt", []),
          "compose %s: no-new-privileges" % name)
    hc = " ".join(s.get("healthcheck", {}).get("test", []))
    check("/healthz" in hc, "compose %s: healthcheck on /healthz" % name)
    check("ports" not in s, "compose %s: reached only through the load balancer" % name)

# The env file the services name: its example exists and defines the secrets.
env_files = {e for s in services.values()
             for e in ([s["env_file"]] if isinstance(s.get("env_file"), str)
                       else s.get("env_file", []))}
for e in env_files:
    example = os.path.join(DEPLOY, e + ".example")
    ok = os.path.exists(example)
    check(ok, "compose: %s.example documents the env file" % e)
    if ok:
        keys = set(re.findall(r"^([A-Z_]+)=", read(example), re.M))
        check({"PGPASSWORD", "POSTGRES_PASSWORD"} <= keys,
              "compose: %s.example sets PGPASSWORD and POSTGRES_PASSWORD" % e)
check("secrets.env" in read(DEPLOY, "compose", ".gitignore"),
      "compose: the real env file is git-ignored")

# nginx: an upstream of both APIs, with what README-server.md recommends.
lb = [n for n, s in services.items() if str(s.get("image", "")).split("/")[-1].startswith("nginx")]
check(len(lb) == 1, "compose: one nginx load balancer: %s" % lb)
nginx = read(DEPLOY, "compose", "nginx.conf")
up = re.search(r"upstream\s+\S+\s*\{(.*?)\}", nginx, re.S)
ups = set(re.findall(r"server\s+([\w-]+):8080", up.group(1))) if up else set()
check(ups == set(api_svcs), "nginx upstream is both APIs: %s" % sorted(ups))
readme = read(DEPLOY, "README-server.md")
block = re.search(r"For nginx:\n\n((?:    .*\n)+)", readme)
wanted = re.findall(r"^\s+((?:limit_conn|client_header_timeout|client_max_body_size|"
                    r"proxy_request_buffering)\b[^;]*;)", block.group(1) if block else "", re.M)
check(len(wanted) >= 4, "README-server.md's nginx settings found (%d)" % len(wanted))
for w in wanted:
    check(re.search(r"^\s*" + re.escape(w), nginx, re.M) is not None, "nginx.conf has `%s`" % w)
check(re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$remote_addr;", nginx) is not None,
      "nginx replaces X-Forwarded-For (memgrade runs --trust-proxy 1 behind it)")
for name in api_svcs:
    argv = services[name]["command"]
    check(option(argv, "--trust-proxy") == "1", "compose %s: --trust-proxy 1 behind nginx" % name)

# ---- Kubernetes ---------------------------------------------------------------------

K8S = os.path.join(DEPLOY, "k8s")
kust = (parsed.get(os.path.join(K8S, "kustomization.yaml")) or [{}])[0]
resources = kust.get("resources", [])
check(bool(resources), "k8s: kustomization.yaml lists resources")
objs = []
for r in resources:
    p = os.path.join(K8S, r)
    if check(os.path.isfile(p), "k8s: resource %s exists" % r):
        objs += [(r, d) for d in parsed.get(p) or []]
# The optional manifests parse too (above) and are well-formed objects.
for p in glob.glob(os.path.join(K8S, "optional", "*.yaml")):
    for d in parsed.get(p) or []:
        check(bool(d.get("kind") and d.get("apiVersion") and d.get("metadata", {}).get("name")),
              "k8s: %s: %s is a Kubernetes object" % (os.path.relpath(p, K8S), d.get("kind")))


def k8s(kind, name):
    found = [d for _, d in objs if d.get("kind") == kind and d["metadata"]["name"] == name]
    check(len(found) == 1, "k8s: one %s %s" % (kind, name))
    return found[0] if found else {}


def container(dep, name):
    cs = [c for c in dep.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
          if c.get("name") == name]
    return cs[0] if cs else {}


api = k8s("Deployment", "memgrade-api")
api_pod = api.get("spec", {}).get("template", {}).get("spec", {})
check(api.get("spec", {}).get("replicas") == 2, "k8s api: 2 replicas")
c = container(api, "api")
argv = c.get("command", []) + c.get("args", [])
check_command(argv, "k8s api")
check(option(argv, "--db") == "$(MEMGRADE_DB_URL)" and
      any(e.get("name") == "MEMGRADE_DB_URL" for e in c.get("env", [])),
      "k8s api: --db from the Secret through $(MEMGRADE_DB_URL)")
for probe in ("readinessProbe", "livenessProbe"):
    check(c.get(probe, {}).get("httpGet", {}).get("path") == "/healthz",
          "k8s api: %s on /healthz" % probe)
sc = c.get("securityContext", {})
check(api_pod.get("securityContext", {}).get("runAsNonRoot") is True and
      api_pod["securityContext"].get("runAsUser", 0) != 0, "k8s api: non-root")
check(sc.get("capabilities") == {"drop": ["ALL"]}, "k8s api: drops every capability, adds none")
check(sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True,
      "k8s api: no privilege escalation, read-only root filesystem")
svc = k8s("Service", "memgrade-api")
check(svc.get("spec", {}).get("selector") ==
      api.get("spec", {}).get("selector", {}).get("matchLabels"),
      "k8s: the Service selects the API pods")

wk = k8s("Deployment", "memgrade-worker")
wk_pod = wk.get("spec", {}).get("template", {}).get("spec", {})
c = container(wk, "worker")
argv = c.get("command", []) + c.get("args", [])
check_command(argv, "k8s worker")
check("command" not in c, "k8s worker: args only, the image's entrypoint (cgroup) stays")
sc = c.get("securityContext", {})
caps = sc.get("capabilities", {})
added = {x.upper().replace("CAP_", "") for x in caps.get("add", [])}
check(caps.get("drop") == ["ALL"], "k8s worker: drops ALL")
check(added == CAPS, "k8s worker: capabilities.add equals grader_caps%s" %
      ("" if added == CAPS else " (extra %s, missing %s)" % (sorted(added - CAPS),
                                                           sorted(CAPS - added))))
check(not sc.get("privileged"), "k8s worker: not privileged")
check(sc.get("allowPrivilegeEscalation") is not False,
      "k8s worker: allowPrivilegeEscalation not false (the API server refuses it with SYS_ADMIN)")
check(sc.get("seccompProfile", {}).get("type") == "Unconfined" and
      sc.get("appArmorProfile", {}).get("type") == "Unconfined",
      "k8s worker: seccomp and AppArmor unconfined (pivot_root, mount)")
check(sc.get("readOnlyRootFilesystem") is True, "k8s worker: read-only root filesystem")
grace = wk_pod.get("terminationGracePeriodSeconds", 30)
check(grace > WALL_S, "k8s worker: terminationGracePeriodSeconds %d above the longest grading "
      "(%d s)" % (grace, WALL_S))
check(not [d for _, d in objs if d.get("kind") == "Service" and
           d.get("spec", {}).get("selector") ==
           wk.get("spec", {}).get("selector", {}).get("matchLabels")],
      "k8s worker: no Service (it listens on nothing)")

server_src = "".join(read(p) for p in glob.glob(os.path.join(SRC, "server", "*.c")))
scalers = [d for _, d in objs if d.get("kind") in ("ScaledObject", "HorizontalPodAutoscaler")]
check(len(scalers) == 1, "k8s: one scaler for the workers")
for so in scalers:
    check(so["spec"].get("scaleTargetRef", {}).get("name") == "memgrade-worker",
          "k8s: the scaler targets memgrade-worker")
    queries = [t.get("metadata", {}).get("query", "") for t in so["spec"].get("triggers", [])]
    metrics = set(re.findall(r"memgrade_[a-z_]+", " ".join(queries)))
    check("memgrade_queue_depth" in metrics, "k8s: scaled on memgrade_queue_depth (%s)" % queries)
    for mname in metrics:
        check(mname in server_src, "k8s: the server exports %s" % mname)

# --trust-proxy 1 believes X-Forwarded-For: only the ingress may reach the API.
api_labels = api.get("spec", {}).get("selector", {}).get("matchLabels")
check(any(d.get("kind") == "NetworkPolicy" and
          d["spec"].get("podSelector", {}).get("matchLabels") == api_labels and
          "Ingress" in d["spec"].get("policyTypes", []) for _, d in objs),
      "k8s: a NetworkPolicy limits who reaches the API (it trusts X-Forwarded-For)")

sec = k8s("Secret", "memgrade-db")
data = sec.get("stringData", {})
check({"url", "password"} <= set(data), "k8s: the Secret has url and password")
check(not re.match(r"postgres(ql)?://[^/@]*:[^/@]*@", data.get("url", "")),
      "k8s: the Secret's url has no password (it is on a command line)")
for d in (api, wk):
    envs = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {})
            for c in d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
            for e in c.get("env", [])}
    check(envs.get("PGPASSWORD", {}).get("name") == "memgrade-db",
          "k8s %s: PGPASSWORD from the Secret" % d["metadata"]["name"])

# ---- systemd ------------------------------------------------------------------------


def unit(path):
    """{section: {key: [values]}} of a unit file, continuation lines joined."""
    out, sec = {}, None
    text = re.sub(r"\\\n", " ", read(path))
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            sec = out.setdefault(line.strip("[]"), {})
        elif "=" in line and sec is not None:
            k, v = line.split("=", 1)
            sec.setdefault(k.strip(), []).append(v.strip())
    return out


units = {n: unit(os.path.join(DEPLOY, n)) for n in
         ("memgrade.service", "memgrade-api.service", "memgrade-worker.service")}
for n, u in units.items():
    exe = u.get("Service", {}).get("ExecStart", [""])[-1]
    check_command(shlex.split(exe), n + " ExecStart")
api_u = units["memgrade-api.service"]["Service"]
check(api_u.get("DynamicUser") == ["yes"], "memgrade-api.service: DynamicUser=yes")
check(api_u.get("CapabilityBoundingSet") == [""], "memgrade-api.service: no capabilities")
check("User" not in api_u, "memgrade-api.service: no fixed (root) user")
wk_u = units["memgrade-worker.service"]["Service"]
check(wk_u.get("User") == ["root"], "memgrade-worker.service: User=root")
check(wk_u.get("Delegate") == ["yes"], "memgrade-worker.service: Delegate=yes (cgroup v2)")
bset = {c.replace("CAP_", "") for v in wk_u.get("CapabilityBoundingSet", []) for c in v.split()}
check(bset == CAPS, "memgrade-worker.service: CapabilityBoundingSet equals grader_caps%s" %
      ("" if bset == CAPS else " (extra %s, missing %s)" % (sorted(bset - CAPS),
                                                           sorted(CAPS - bset))))
stop = int(re.sub(r"s$", "", wk_u.get("TimeoutStopSec", ["0"])[-1]))
check(stop > WALL_S, "memgrade-worker.service: TimeoutStopSec %d above the longest grading" % stop)
single = read(DEPLOY, "memgrade.service")
check("serve" in single and "worker" not in units["memgrade.service"]["Service"]["ExecStart"][-1],
      "memgrade.service: still the single-machine serve")

analyze = shutil.which("systemd-analyze")
print("systemd-analyze: %s" % (analyze or "not installed: the units were parsed only"))
if analyze:
    tmp = tempfile.mkdtemp(prefix="mg-units-")
    mgtest.workdirs.append(tmp)
    for n in units:
        # The units name the installed binary; verify needs it to exist.
        with open(os.path.join(tmp, n), "w") as f:
            f.write(read(DEPLOY, n).replace("/usr/local/bin/memgrade", os.path.abspath(MEMGRADE)))
        p = subprocess.run([analyze, "verify", "--man=no", os.path.join(tmp, n)],
                           capture_output=True, text=True, timeout=60)
        msg = (p.stdout + p.stderr).strip()
        check(p.returncode == 0 and not msg,
              "systemd-analyze verify %s%s" % (n, ": " + msg if msg else ""))

# ---- the container image ----------------------------------------------------------

cf = read(DEPLOY, "container", "Containerfile")
steps = re.sub(r"\\\n", " ", cf)
steps = [ln for ln in steps.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
from_ = [ln.split()[1] for ln in steps if ln.startswith("FROM ")]
check(len(from_) >= 1 and all(re.search(r"(^|/)debian:12", f) for f in from_),
      "Containerfile: Debian 12 base (%s)" % from_)
check(any(ln.startswith("COPY ") and "deploy/install-deps.sh" in ln for ln in steps) and
      any(ln.startswith("RUN ") and "install-deps.sh" in ln for ln in steps),
      "Containerfile: dependencies from deploy/install-deps.sh")
check(any(ln.startswith("RUN ") and "cmake --build" in ln and "cmake --install" in ln
          for ln in steps), "Containerfile: cmake --build and cmake --install")
users = [ln.split()[1] for ln in steps if ln.startswith("USER ")]
check(users and users[-1].split(":")[0] not in ("0", "root"),
      "Containerfile: runs as a non-root user by default (%s)" % users)
check(users and users[-1].split(":")[0] == "10001" and
      api_pod.get("securityContext", {}).get("runAsUser") == 10001 and
      all(str(services[n].get("user", "")).startswith("10001") for n in api_svcs),
      "the image's user (10001) is the one compose and Kubernetes run the API as")
cmd = [ln for ln in steps if ln.startswith("CMD ")]
if check(len(cmd) == 1, "Containerfile: one CMD"):
    import json
    check_command(json.loads(cmd[0][4:]), "Containerfile CMD")
entry = read(DEPLOY, "container", "entrypoint.sh")
check(entry.rstrip().endswith('exec "$@"'), "entrypoint.sh: execs the command (memgrade is PID 1)")
check(os.access(os.path.join(DEPLOY, "container", "entrypoint.sh"), os.X_OK),
      "entrypoint.sh is executable")
p = subprocess.run(["sh", "-n", os.path.join(DEPLOY, "container", "entrypoint.sh")],
                   capture_output=True, text=True)
check(p.returncode == 0, "entrypoint.sh is valid sh %s" % p.stderr.strip())
ignore = read(SRC, ".dockerignore").split()
check(".git" in ignore and "build" in ignore, ".dockerignore leaves out .git and build trees")

check(commands_seen["serve"] >= 5 and commands_seen["worker"] >= 4,
      "command lines checked: %d serve, %d worker" % (commands_seen["serve"],
                                                      commands_seen["worker"]))
mgtest.finish()
