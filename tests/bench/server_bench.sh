#!/bin/sh
# Benchmark of `memgrade serve` (issue 4), on 127.0.0.1 in a private network
# namespace: 8 concurrent clients submit the mystr reference and poll until
# graded (throughput, p50/p99 submit-to-graded latency), wrk against
# GET /api/v1/submissions/ID, and the server's resident memory idle and
# under load. Prints figures; asserts nothing.
# Usage: tests/bench/server_bench.sh [BUILD_DIR] [SECONDS] [WORKERS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
secs=${2:-30}
workers=${3:-$(nproc)}
if [ "${MEMGRADE_IN_NETNS:-}" != 1 ]; then
  exec "$src/tests/server/netns_run.sh" "$0" "$build" "$secs" "$workers"
fi
exec python3 - "$build/memgrade" "$src" "$secs" "$workers" <<'PY'
import json, os, re, subprocess, sys, tempfile, threading, time, http.client
memgrade, src, secs, workers = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
port = 18090
work = tempfile.mkdtemp(prefix="mgbench.")
db = os.path.join(work, "bench.db")
source = open(os.path.join(src, "assignments/mystr/reference/mystr.c")).read()
def add(name, role):
    out = subprocess.run([memgrade, "user", "add", name, "--role", role, "--db", db],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]
# Students, each their own client; the per-student limits are off so that the
# grading pipeline, not the policy, is what is measured.
tokens = [add("student%d" % i, "student") for i in range(8)]
err = open(os.path.join(work, "serve.err"), "w")
proc = subprocess.Popen([memgrade, "serve", "--db", db, "--port", str(port), "--workers", str(workers),
                         "--rate-limit", "0", "--queue-max", "100000", "--queue-max-user", "0",
                         "--running-max-user", "0", "--max-connections-per-ip", "0",
                         "--access-log", os.path.join(work, "access.log")], stdout=err, stderr=err)
def rss_kb():
    with open("/proc/%d/status" % proc.pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
def req(conn, method, path, token, body=None):
    h = {"Authorization": "Bearer " + token}
    if body is not None:
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    return r.status, r.read()
for _ in range(200):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/healthz"); c.getresponse().read(); c.close(); break
    except OSError:
        time.sleep(0.05)
time.sleep(2)
idle = rss_kb()
print("server: %d grading workers, %d CPUs" % (workers, os.cpu_count()))
print("RSS idle: %.1f MB" % (idle / 1024))

# ---- throughput and latency -------------------------------------------------
lat, done_at = [], []
lock = threading.Lock()
stop = threading.Event()
body = json.dumps({"assignment": "mystr", "files": {"mystr.c": source}})
errors = [0]
def client(tok):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while not stop.is_set():
        t0 = time.monotonic()
        st, data = req(c, "POST", "/api/v1/submissions", tok, body)
        if st != 202:
            errors[0] += 1; time.sleep(0.1); continue
        url = json.loads(data)["url"]
        while True:
            st, data = req(c, "GET", url, tok)
            doc = json.loads(data)
            if doc["status"] == "graded":
                t1 = time.monotonic()
                if doc["result"]["score"] != doc["result"]["max_score"]:
                    errors[0] += 1
                with lock:
                    lat.append(t1 - t0); done_at.append(t1)
                break
            time.sleep(0.01)
threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in tokens]
start = time.monotonic()
for t in threads: t.start()
peak = 0
while time.monotonic() - start < secs:
    time.sleep(0.5)
    peak = max(peak, rss_kb())
stop.set()
end = time.monotonic()
for t in threads: t.join(120)
# Sustained rate: completions in the window after a warm-up of 10%.
warm = start + secs * 0.1
n = sum(1 for t in done_at if warm <= t <= end)
lat.sort()
def pct(p): return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
print("graded: %d in %.0f s, sustained %.2f graded/s (8 clients, closed loop)" % (len(lat), end - start, n / (end - warm)))
print("submit-to-graded latency: p50 %.3f s, p99 %.3f s, max %.3f s" % (pct(0.5), pct(0.99), lat[-1] if lat else 0))
print("client-visible errors or wrong scores: %d" % errors[0])
print("RSS under grading load (peak): %.1f MB" % (peak / 1024))
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("GET", "/metrics"); m = c.getresponse().read().decode()
s = float(re.search(r"memgrade_grading_duration_seconds_sum (\S+)", m).group(1))
k = int(re.search(r"memgrade_grading_duration_seconds_count (\d+)", m).group(1))
print("grader time per submission (grd_grade, from /metrics): %.3f s mean over %d" % (s / max(k, 1), k))

# ---- wrk against GET /api/v1/submissions/ID -------------------------------------
c = http.client.HTTPConnection("127.0.0.1", port)
st, data = req(c, "GET", "/api/v1/submissions?limit=1", tokens[0])
sid = json.loads(data)["submissions"][0]["id"]
st, data = req(c, "GET", "/api/v1/submissions/%d" % sid, tokens[0])
lua = os.path.join(work, "auth.lua")
with open(lua, "w") as f:
    f.write('wrk.headers["Authorization"] = "Bearer %s"\n' % tokens[0])
    f.write('done = function(summary, latency, requests)\n'
            '  io.write(string.format("wrk: non-2xx %d, socket errors %d\\n", summary.errors.status,\n'
            '    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))\nend\n')
peak_get = [0]
def sample():
    while not stop2.is_set():
        peak_get[0] = max(peak_get[0], rss_kb()); time.sleep(0.5)
stop2 = threading.Event(); th = threading.Thread(target=sample); th.start()
out = subprocess.run(["wrk", "-t2", "-c64", "-d10s", "-s", lua, "http://127.0.0.1:%d/api/v1/submissions/%d" % (port, sid)],
                     capture_output=True, text=True).stdout
stop2.set(); th.join()
rps = re.search(r"Requests/sec:\s+(\S+)", out)
lat_line = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
print("wrk GET /api/v1/submissions/%d (%d-byte body): %s requests/s, latency avg %s" % (
    sid, len(data), rps.group(1) if rps else "?", lat_line.group(1) if lat_line else "?"))
print([l for l in out.splitlines() if l.startswith("wrk:")][0] if "wrk:" in out else out)
print("RSS under GET load (peak): %.1f MB" % (peak_get[0] / 1024))
time.sleep(3)
print("RSS idle after load: %.1f MB" % (rss_kb() / 1024))
proc.terminate(); proc.wait(60)
print("server exit status after SIGTERM: %d" % proc.returncode)
import shutil
shutil.rmtree(work, ignore_errors=True)
PY
