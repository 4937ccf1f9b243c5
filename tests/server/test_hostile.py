#!/usr/bin/env python3
"""Clients that try to hold the service's capacity (issue 14): connections
that trickle a byte at a time are closed at a deadline a trickle does not
reset; one client address gets a bounded number of connections while
others, and /healthz, are still served; unfinished uploads hold at most the
body budget (per user: 429, in total: 503), and one past it is refused."""
import re
import select
import socket
import threading
import time

from mgtest import Server, add_user, check, finish, wait_until


def connect(port, source="127.0.0.1", timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def closed_by_server(s, within):
    """Whether the server closes s within `within` seconds."""
    s.settimeout(within)
    try:
        return s.recv(4096) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def closed_among(socks, within):
    """The sockets of `socks` the server closes within `within` seconds
    (waiting the whole time, to see a second close too)."""
    closed, end = [], time.time() + within
    while time.time() < end:
        live = [s for s in socks if s not in closed]
        ready, _, _ = select.select(live, [], [], max(0.0, end - time.time()))
        for s in ready:
            try:
                gone = s.recv(4096) == b""
            except OSError:
                gone = True
            if gone:
                closed.append(s)
    return closed


def healthz(port, source="127.0.0.1", timeout=5):
    try:
        s = connect(port, source, timeout)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
        s.close()
        return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def metric(srv, name):
    st, _, data = srv.request("GET", "/metrics")
    m = re.search(r"^%s (\d+)" % re.escape(name), data.decode(), re.M)
    return int(m.group(1)) if m else None


# ---- trickling connections: a deadline a byte does not reset ---------------------------
srv = Server(port=18321, args=["--max-connections", "16", "--max-connections-per-ip", "0"]).start()
trickle = [connect(srv.port) for _ in range(16)]
stop = threading.Event()


def drip():
    line = b"GET /healthz?" + b"a" * 200
    i = 0
    while not stop.is_set() and i < len(line):
        for s in trickle:
            try:
                s.send(line[i:i + 1])
            except OSError:
                pass
        i += 1
        stop.wait(2)


t = threading.Thread(target=drip)
t.start()
time.sleep(3)
check(not healthz(srv.port, timeout=2), "16 trickling connections fill a 16-connection server")
t0 = time.time()
served = wait_until(lambda: healthz(srv.port, timeout=2), timeout=40, step=0.5)
took = time.time() - t0
check(served and took < 30, "the trickles are closed at their header deadline and /healthz is "
      "served again after %.0f s (they sent a byte every 2 s)" % took)
check(sum(closed_by_server(s, 1) for s in trickle) == 16, "every trickling connection was closed")
check((metric(srv, "memgrade_http_deadline_closes_total") or 0) >= 16,
      "deadline closes are counted in /metrics")
stop.set()
t.join()
for s in trickle:
    s.close()
srv.stop()

# ---- connections per client address ------------------------------------------------------
srv = Server(port=18322, args=["--max-connections-per-ip", "8"]).start()
mine = [connect(srv.port, "127.0.0.2") for _ in range(9)]
# The server's HTTP threads accept from one queue, so which of the nine is
# refused is a race between them; that exactly one is, is not.
refused = closed_among(mine, 3)
check(len(refused) == 1, "one of nine connections from one address is refused (%d were)"
      % len(refused))
check(healthz(srv.port, "127.0.0.3"), "another address is served meanwhile")
check(healthz(srv.port, "127.0.0.1"), "/healthz answers meanwhile")
for s in mine:
    s.close()
check(wait_until(lambda: healthz(srv.port, "127.0.0.2"), 10), "the address is served again once "
      "its connections close")
srv.stop()

# ---- the body budget ---------------------------------------------------------------------
MAXREQ = 256 * 1024
srv = Server(port=18323, args=["--max-request", "256K", "--max-file", "256K",
                               "--body-budget-user", "512K", "--body-budget", "1M",
                               "--rate-limit", "0"]).start()
toks = {n: add_user(srv.db, n, "student") for n in ("ann", "ben", "cat", "dan", "eve")}


def start_upload(tok, sent):
    """A JSON submission of 250,000 declared bytes, `sent` of them sent."""
    head, tail = b'{"assignment": "mystr", "files": {"mystr.c": "', b'"}}'
    body = head + b"x" * (250000 - len(head) - len(tail)) + tail
    s = connect(srv.port)
    s.sendall(b"POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
              tok.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
              % len(body) + body[:sent])
    return s, body[sent:]


def finish_upload(s, rest):
    s.sendall(rest)
    data = b""
    s.settimeout(20)
    while b"\r\n\r\n" not in data:
        c = s.recv(65536)
        if not c:
            break
        data += c
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None


# A declared body is counted whole when its headers arrive.
held = [start_upload(toks["ann"], 200000) for _ in range(2)]
check(wait_until(lambda: metric(srv, "memgrade_request_body_bytes") == 500000, 10),
      "two unfinished uploads of one student are held, 250,000 bytes each (%s)"
      % metric(srv, "memgrade_request_body_bytes"))
third = start_upload(toks["ann"], 200000)
time.sleep(1)
check(metric(srv, "memgrade_request_body_bytes") == 500000,
      "a third is not held: the student's 512 KiB would not fit it (%s bytes)"
      % metric(srv, "memgrade_request_body_bytes"))
st = finish_upload(*third)
check(st == 429, "and is answered 429 once it ends (%s)" % st)
# Other students, up to the total: 1 MiB.
others = [start_upload(toks[n], 200000) for n in ("ben", "cat")]
time.sleep(1)
total = metric(srv, "memgrade_request_body_bytes") or 0
check(total <= 1024 * 1024, "all clients together hold at most the 1 MiB budget (%d)" % total)
past = start_upload(toks["dan"], 200000)
st = finish_upload(*past)
check(st == 503, "an upload past the total budget is answered 503 (%s)" % st)
sts = [finish_upload(*u) for u in held]
check(sts == [202, 202], "the held uploads complete normally (%s)" % sts)
for u in others:
    finish_upload(*u)
check(wait_until(lambda: metric(srv, "memgrade_request_body_bytes") == 0, 10),
      "every held byte is released when the requests end")
st, _, _ = srv.submit(toks["eve"], "mystr", {"mystr.c": "int x;"})
check(st == 202, "a normal submission goes through afterwards")
srv.stop()
finish()
