"""Reader isolation (docs/reliability.md, "Queries cannot starve ingestion"):
pushes and probes never wait behind queries; a query past --query-timeout
is answered 504; a query whose client went away is stopped; beyond
--max-concurrent-queries a query gets 429; query bodies are capped
(--max-query-size) and so are line filters; --max-connections caps open
connections; unknown API paths answer a JSON 404.

The expensive query: KEPT_REGEXES regex alternatives that match nothing,
over LINES stored lines: every line is searched by every regex, seconds of
CPU per query, so without cancellation a few of them hold their threads far
longer than the bounds below (on the old single pool of 16 handler threads,
16 such queries made every push wait behind them)."""

import json
import re
import select
import socket
import time
import urllib.parse

from conftest import stream, wait_for

LINES = 100_000
LINES_PER_PUSH = 10_000
KEPT_REGEXES = 500  # under the 512-filter limit (query/logql.h kMaxLineFilters)
ABANDONED = 20  # more than the 16 read slots (--max-concurrent-queries default)
PROMPT_S = 10.0  # a push or /ready must answer within this while queries run
CANCEL_S = 60.0  # generous: abandoned queries stop at their next block


def load(s, clock):
    """LINES distinct lines in files (not the head), so queries scan them."""
    c = s.connect()
    for p in range(LINES // LINES_PER_PUSH):
        vals = [(clock.next(), f"GET /api/item/{p}-{i} status=200 bytes={i * 7 % 9973} took={i % 97}ms")
                for i in range(LINES_PER_PUSH)]
        c.push_ok(stream({"app": "iso"}, vals))
    c.close()

    def flushed():
        r = s.request("GET", "/api/v1/stats")
        return r.status == 200 and r.json()["head_rows"] == 0

    wait_for(flushed, 60, "the head to flush")


def expensive_logql(n=KEPT_REGEXES):
    # Character classes, no literal prefix: RE2 walks every byte of every
    # line for each alternative, and none matches (lines have no 'Q').
    alts = " or ".join(f'"[a-y]+{i}Q"' for i in range(n))
    return '{app="iso"} |~ ' + alts


def query_range_request(logql, path="/loki/api/v1/query_range"):
    body = urllib.parse.urlencode({"query": logql, "start": "0", "end": str(time.time_ns() + 10**9),
                                   "limit": "100"}).encode()
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: loge\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


def send_raw(port, data):
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(data)
    return sock


def read_response(sock, timeout):
    """(status, headers, body) of one response, or None if none within timeout."""
    sock.settimeout(timeout)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            buf += chunk
        head, body = buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        n = int(headers.get("content-length", "0"))
        while len(body) < n:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, headers, body
    except socket.timeout:
        return None


def metric(s, name, labels=""):
    r = s.request("GET", "/metrics")
    assert r.status == 200, r
    m = re.search(r"^" + re.escape(name + labels) + r" (\S+)$", r.body.decode(), re.M)
    return float(m.group(1)) if m else None


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


def test_abandoned_queries_never_hold_up_pushes_or_ready(loge, clock):
    s = loge()
    load(s, clock)
    socks = [send_raw(s.port, query_range_request(expensive_logql())) for _ in range(ABANDONED)]
    # While they run: pushes (on their own threads) and /ready answer promptly.
    pusher = s.connect()
    for round_ in range(3):
        r, took = timed(lambda: pusher.push(stream({"app": "iso-push"}, [(clock.next(), f"during {round_}")])))
        assert r.status == 200, r
        assert took < PROMPT_S, f"push took {took:.1f}s behind running queries"
        r, took = timed(lambda: pusher.request("GET", "/ready"))
        assert r.status == 200, r
        assert took < PROMPT_S, f"/ready took {took:.1f}s behind running queries"
    # Beyond the 16 read slots: 429 at once, with Retry-After and a JSON reason.
    answered = []
    deadline = time.monotonic() + PROMPT_S
    while len(answered) < ABANDONED - 16 and time.monotonic() < deadline:
        ready, _, _ = select.select([x for x in socks if x not in answered], [], [], 0.5)
        for x in ready:
            resp = read_response(x, 5)
            assert resp is not None
            status, headers, body = resp
            assert status == 429, (status, body)
            assert int(headers["retry-after"]) >= 1
            doc = json.loads(body)
            assert doc["status"] == "error" and "--max-concurrent-queries" in doc["error"], doc
            answered.append(x)
    assert len(answered) == ABANDONED - 16, f"{len(answered)} queries got 429, want {ABANDONED - 16}"
    # The clients give up: their queries stop, and the read slots come back.
    for x in socks:
        x.close()
    wait_for(lambda: (metric(s, "loge_queries_cancelled_total") or 0) >= 16, CANCEL_S,
             "the 16 abandoned queries to be cancelled")
    wait_for(lambda: metric(s, "loge_http_in_flight", '{pool="query"}') == 0, CANCEL_S, "the read slots to free")
    r, took = timed(lambda: s.request("GET", "/loki/api/v1/query_range?query=" +
                                      urllib.parse.quote('{app="iso-push"}') + "&start=0&limit=10"))
    assert r.status == 200, r
    assert len(r.json()["data"]["result"]) == 1, r
    pusher.close()


def test_query_past_its_timeout_is_504_with_a_reason(loge, clock):
    s = loge("--query-timeout", "1s")
    load(s, clock)
    c = s.connect()
    # loge's API: a JSON reason.
    r, took = timed(lambda: c.query_raw(json.dumps({"query": expensive_logql(), "limit": 100})))
    assert r.status == 504, r
    doc = r.json()
    assert doc["status"] == "error" and "timed out" in doc["error"] and "--query-timeout" in doc["error"], doc
    assert took < 30, f"a 1s timeout answered after {took:.1f}s"
    # Loki's API: Loki's status and text.
    body = urllib.parse.urlencode({"query": expensive_logql(), "start": "0", "limit": "100"})
    r, took = timed(lambda: c.request("POST", "/loki/api/v1/query_range", body,
                                      {"Content-Type": "application/x-www-form-urlencoded"}))
    assert r.status == 504, r
    assert b"request timed out" in r.body, r
    assert took < 30, f"a 1s timeout answered after {took:.1f}s"
    assert metric(s, "loge_queries_timed_out_total") == 2
    # The same server still answers a cheap query.
    r = c.request("GET", "/loki/api/v1/labels")
    assert r.status == 200, r
    c.close()


def test_query_size_and_line_filters_are_bounded(loge):
    s = loge("--max-query-size", "16KiB")
    # A body past --max-query-size: 413 naming the flag, before parsing.
    big = urllib.parse.urlencode({"query": '{app="x"} |= "' + "a" * 20000 + '"'})
    r = s.request("POST", "/loki/api/v1/query_range", big, {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 413, r
    assert "--max-query-size" in r.json()["error"], r
    # A declared 60 MiB body is refused before it is sent.
    sock = send_raw(s.port, b"POST /api/v1/query HTTP/1.1\r\nHost: loge\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 62914560\r\n\r\n")
    resp = read_response(sock, 10)
    sock.close()
    assert resp is not None and resp[0] == 413, resp
    assert b"--max-query-size" in resp[2], resp
    # The same size as a query string (GET): 413 too.
    r = s.request("GET", "/loki/api/v1/query_range?" + big)
    assert r.status == 413, r
    # Pushes keep their own, larger limit (--max-body-size).
    r = s.push(stream({"app": "x"}, [(1, "y" * 20000)]))
    assert r.status == 200, r
    # More than 512 line filters: 400 naming the limit, fast.
    c = loge()
    logql = '{app="x"} |= ' + " or ".join(f'"n{i}"' for i in range(600))
    r, took = timed(lambda: c.request("GET", "/loki/api/v1/query_range?" + urllib.parse.urlencode({"query": logql})))
    assert r.status == 400, r
    assert b"512" in r.body and b"line filters" in r.body, r
    assert took < PROMPT_S
    r = c.query_raw(json.dumps({"query": logql}))
    assert r.status == 400, r
    assert "512" in r.json()["error"], r


def test_max_connections_holds_new_clients_until_one_closes(loge):
    s = loge("--max-connections", "2")
    s.client.close()
    first = [s.connect(), s.connect()]
    for c in first:
        assert c.request("GET", "/ready").status == 200
    # A third client waits in the listen backlog: no answer while both are open.
    third = send_raw(s.port, b"GET /ready HTTP/1.1\r\nHost: loge\r\n\r\n")
    assert read_response(third, 1.0) is None, "a third connection was served past --max-connections 2"
    first[0].close()
    resp = read_response(third, PROMPT_S)
    assert resp is not None and resp[0] == 200, resp
    third.close()
    assert (metric_via(first[1], "loge_http_accept_paused_total") or 0) >= 1
    first[1].close()


def metric_via(c, name):
    r = c.request("GET", "/metrics")
    assert r.status == 200, r
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", r.body.decode(), re.M)
    return float(m.group(1)) if m else None


def test_unknown_api_paths_answer_json_404(loge):
    # Issue 14 item 13; the full table is test_loki_read_api.py's
    # test_unknown_api_paths_are_json_404s.
    s = loge()
    for method, path in (("GET", "/loki/api/v1/nope"), ("POST", "/loki/api/v2/push"), ("GET", "/api/v1/nope")):
        r = s.request(method, path)
        assert r.status == 404, (method, path, r)
        assert r.json()["status"] == "error", r
