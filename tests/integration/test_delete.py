"""The delete API against the real binary (docs/retention.md, "Deleting
lines"): a request hides its rows on every read path at once, is listed,
can be cancelled while pending, survives a restart, and after the
processing pass its bytes are in no file under --output-path while every
other row is still there exactly once. Every wait polls with a deadline."""

import collections
import json
import os
import subprocess
import threading
import time
import urllib.parse

from conftest import Client, loge_bin, stream, wait_for

SECRET = "password=hunter2"
KEY = "delete-key-1"
WEB = '{app="web"}'
ANY = '{app=~".+"}'
AUTH = {"Authorization": f"Bearer {KEY}"}


def q(s):
    return urllib.parse.quote(s, safe="")


def get(s, path):
    r = s.request("GET", path, headers=AUTH)
    assert r.status == 200, r
    return r.json()


def all_rows(s):
    """Every row through loge's own query API (POST /api/v1/query)."""
    r = s.request("POST", "/api/v1/query", json.dumps({"matchers": [], "limit": 5000}),
                  {"Content-Type": "application/json", **AUTH})
    assert r.status == 200, r
    return r.json()["data"]


def push_lines(s, now):
    """{app=web}: 30 lines, one of them the secret; {app=leak}: 5 lines."""
    web = [(now - (30 - i) * 10**6, f"GET /page/{i} ok") for i in range(30)]
    web[10] = (web[10][0], f"login user=bob {SECRET}")
    leak = [(now - (30 - i) * 10**6, f"leaky line {i}") for i in range(5)]
    s.client.push_ok([stream({"app": "web"}, web), stream({"app": "leak"}, leak)])
    return web, leak


def lines_loki(s, query, start, end):
    doc = get(s, f"/loki/api/v1/query_range?query={q(query)}&start={start}&end={end}&limit=1000")
    return sorted(v[1] for res in doc["data"]["result"] for v in res["values"])


def count_loki(s, query, at):
    doc = get(s, f"/loki/api/v1/query?query={q(query)}&time={at}")
    return sum(int(res["value"][1]) for res in doc["data"]["result"])


def post_delete(s, query, start, end=None, prefix="/loki/api/v1/delete"):
    path = f"{prefix}?query={q(query)}&start={start}"
    if end is not None:
        path += f"&end={end}"
    return s.request("POST", path, headers=AUTH)


def decompressed_files(s):
    """The decompressed bytes of every data file under --output-path (the
    files are seekable zstd, which the zstd CLI reads)."""
    out = {}
    for name in s.data_files():
        data = subprocess.run(["zstd", "-q", "-dc", os.path.join(s.dir, name)], check=True,
                              capture_output=True).stdout
        out[name] = data
    return out


def test_every_read_path_hides_at_once_then_the_bytes_go(loge):
    s = loge("--api-key", KEY, "--flush-interval", "50ms", "--checkpoint-interval", "100ms",
             "--compact-interval", "0", "--delete-cancel-period", "0s", "--delete-interval", "0")
    now = time.time_ns()
    start, end = now - 60 * 10**9, now + 60 * 10**9
    web, leak = push_lines(s, now)
    # In a file before the request comes.
    wait_for(lambda: get(s, "/api/v1/stats")["head_rows"] == 0, 30, "the head to flush")
    assert SECRET.encode() in b"".join(decompressed_files(s).values())
    assert any(SECRET in line for line in lines_loki(s, '{app="web"}', start, end))

    # Bad requests: 400 with a reason; without the key: 401.
    for bad in ['{app="web"} | json', "", '|= "x"', '{app="web"']:
        r = post_delete(s, bad, start)
        assert r.status == 400, (bad, r)
        assert r.json()["error"], r
    r = s.request("POST", f"/loki/api/v1/delete?query={q(WEB)}", headers=AUTH)
    assert r.status == 400 and "start" in r.json()["error"], r
    r = s.request("POST", f"/loki/api/v1/delete?query={q(WEB)}&start={start}")
    assert r.status == 401, r

    # Two requests: the secret line of {app=web}, and the whole {app=leak}.
    r = post_delete(s, f'{{app="web"}} |= "{SECRET}"', start // 10**9, end // 10**9)
    assert r.status == 204, r
    r = post_delete(s, '{app="leak"}', start, end, prefix="/api/v1/delete")
    assert r.status == 204, r
    listed = get(s, "/loki/api/v1/delete")
    assert [x["status"] for x in listed] == ["received", "received"], listed
    assert {x["query"] for x in listed} == {f'{{app="web"}} |= "{SECRET}"', '{app="leak"}'}, listed
    assert all(set(x) >= {"request_id", "start_time", "end_time", "query", "status", "created_at"}
               for x in listed), listed
    assert listed[0]["start_time"] == start // 10**9, listed

    kept = sorted(line for _, line in web if SECRET not in line)
    # Log queries: Loki's and loge's.
    assert lines_loki(s, '{app=~".+"}', start, end) == kept
    assert sorted(r["line"] for r in all_rows(s)) == kept
    # Metric queries.
    assert count_loki(s, 'sum(count_over_time({app=~".+"}[5m]))', end) == 29
    assert count_loki(s, 'count_over_time({app="web"} |= "hunter2" [5m])', end) == 0
    # Label values, series, index stats and volume.
    assert get(s, f"/loki/api/v1/label/app/values?start={start}&end={end}")["data"] == ["web"]
    series = get(s, f"/loki/api/v1/series?match[]={q(ANY)}&start={start}&end={end}")["data"]
    assert [x["app"] for x in series] == ["web"], series
    assert get(s, f"/loki/api/v1/index/stats?query={q(ANY)}&start={start}&end={end}")["entries"] == 29
    vol = get(s, f"/loki/api/v1/index/volume?query={q(ANY)}&start={start}&end={end}&targetLabels=app")
    assert sum(int(x["value"][1]) for x in vol["data"]["result"]) == sum(len(line) for line in kept), vol
    assert [x["metric"].get("app") for x in vol["data"]["result"]] == ["web"], vol
    # The search plan's rows, and `loge search`.
    plan = get(s, f"/api/v1/search/plan?query={q(ANY)}&limit=1000&start={start}&end={end}")
    assert sorted(x["line"] for x in plan["hot"]) == kept, plan
    assert [d["query"] for d in plan["deletes"]] == [x["query"] for x in listed], plan
    for local in ([], ["--local"]):
        out = subprocess.run([loge_bin(), "search", "--addr", f"http://127.0.0.1:{s.port}", "--api-key", KEY,
                              "--since", "1h", "--limit", "1000", *local, '{app=~".+"}'], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert SECRET not in out.stdout and "leaky" not in out.stdout, out.stdout
        assert out.stdout.count("GET /page/") == 29, out.stdout

    # Stats and metrics.
    st = get(s, "/api/v1/stats")
    assert st["delete_requests_pending"] == 2, st
    r = s.request("GET", "/metrics")
    assert "loge_delete_requests_pending 2" in r.body.decode(), r

    # A restart keeps the requests, pending.
    s.stop()
    s.start()
    assert [x["status"] for x in get(s, "/loki/api/v1/delete")] == ["received", "received"]
    assert lines_loki(s, '{app=~".+"}', start, end) == kept

    # The pass: the files are rewritten, the requests processed.
    r = s.request("POST", "/api/v1/admin/deletes", headers=AUTH)
    assert r.status == 200, r
    listed = get(s, "/loki/api/v1/delete")
    assert [x["status"] for x in listed] == ["processed", "processed"], listed
    assert sum(x["rows_deleted"] for x in listed) == 6, listed
    st = get(s, "/api/v1/stats")
    assert st["delete_requests_pending"] == 0 and st["delete_rows_deleted"] == 6, st
    metrics = s.request("GET", "/metrics").body.decode()
    assert "loge_delete_rows_deleted_total 6" in metrics
    # The bytes removed: the deleted lines' text.
    deleted_bytes = len(web[10][1]) + sum(len(line) for _, line in leak)
    assert st["delete_bytes_deleted"] == deleted_bytes, st
    assert f"loge_delete_bytes_deleted_total {deleted_bytes}" in metrics, metrics
    # The bytes are gone from every file; every other row is there once.
    files = decompressed_files(s)
    assert files, "no data files"
    for name, data in files.items():
        assert SECRET.encode() not in data, name
        assert b"leaky line" not in data, name
    rows = all_rows(s)
    assert sorted(r["line"] for r in rows) == kept
    assert len({(r["timestamp"], r["line"]) for r in rows}) == len(rows) == 29
    # A processed request cannot be cancelled.
    r = s.request("DELETE", f"/loki/api/v1/delete?request_id={listed[0]['request_id']}", headers=AUTH)
    assert r.status == 400, r


def test_cancel_a_pending_request_brings_the_rows_back(loge):
    s = loge("--api-key", KEY, "--flush-interval", "50ms", "--delete-interval", "0")
    now = time.time_ns()
    start, end = now - 60 * 10**9, now + 60 * 10**9
    web, leak = push_lines(s, now)
    r = post_delete(s, '{app="leak"}', start, end)
    assert r.status == 204, r
    assert lines_loki(s, '{app="leak"}', start, end) == []
    [req] = get(s, "/loki/api/v1/delete")
    r = s.request("DELETE", "/loki/api/v1/delete?request_id=nosuchid", headers=AUTH)
    assert r.status == 404, r
    r = s.request("DELETE", f"/loki/api/v1/delete?request_id={req['request_id']}", headers=AUTH)
    assert r.status == 204, r
    assert get(s, "/loki/api/v1/delete") == []
    assert lines_loki(s, '{app="leak"}', start, end) == sorted(line for _, line in leak)
    # The default cancel period (24h) keeps a new request pending through a pass.
    assert post_delete(s, '{app="leak"}', start, end).status == 204
    assert s.request("POST", "/api/v1/admin/deletes", headers=AUTH).status == 200
    assert [x["status"] for x in get(s, "/loki/api/v1/delete")] == ["received"]
    assert lines_loki(s, '{app="leak"}', start, end) == []


def test_the_live_tail_leaves_out_lines_a_pending_request_matches(loge):
    from test_tail_metrics import Tail, tail_url  # the tail suite's WebSocket client

    s = loge("--api-key", KEY, "--delete-interval", "0")
    now = time.time_ns()
    # Pending for a day (the default cancel period): it hides new lines in its window too.
    assert post_delete(s, f'{WEB} |= "hunter2"', now - 60 * 10**9, now + 3600 * 10**9).status == 204
    tail = Tail(tail_url(s, WEB), headers=AUTH)
    try:
        s.client.push_ok([stream({"app": "web"}, [(now + 1, "before"), (now + 2, f"oops {SECRET}"),
                                                   (now + 3, "after")])])
        tail.read_until(lambda: "after" in tail.lines(), "the line after the secret")
        assert tail.lines() == ["before", "after"], tail.lines()
    finally:
        tail.close()
    # A query agrees.
    assert lines_loki(s, WEB, now - 10**9, now + 10**9) == ["after", "before"]


def test_kill9_during_the_rewrite_loses_nothing_kept_and_resurrects_nothing(loge):
    """The pass is started on its own connection and the server killed as
    soon as a rewrite's temporary file shows (or the pass is over): wherever
    the kill lands, after the restart the secret stays hidden, every other
    row is there once, and the next pass removes the secret's bytes."""
    s = loge("--api-key", KEY, "--buckets", "1", "--flush-interval", "50ms", "--checkpoint-interval", "100ms",
             "--compact-interval", "0", "--delete-cancel-period", "0s", "--delete-interval", "0")
    now = time.time_ns()
    start, end = now - 600 * 10**9, now + 60 * 10**9
    kept = []
    for f in range(4):  # four flush files of 5,000 rows: the rewrite takes a while
        rows = [(now - (20000 - f * 5000 - i) * 10**6, f"row {f}-{i} " + "x" * 40) for i in range(5000)]
        if f == 2:
            rows[77] = (rows[77][0], f"oops {SECRET}")
        kept += [line for _, line in rows if SECRET not in line]
        s.client.push_ok([stream({"app": "web"}, rows)])
        wait_for(lambda: get(s, "/api/v1/stats")["head_rows"] == 0, 30, "the head to flush")
    assert post_delete(s, f'{WEB} |= "hunter2"', start, end).status == 204

    def run_pass():
        c = Client(s.port)
        try:
            c.request("POST", "/api/v1/admin/deletes", headers=AUTH)
        except OSError:
            pass  # killed mid-request
        finally:
            c.close()

    t = threading.Thread(target=run_pass)
    t.start()
    wait_for(lambda: any(n.endswith(".tmp") for n in os.listdir(s.dir)) or not t.is_alive(), 60,
             "a rewrite to start (or the pass to end)")
    s.kill9()
    t.join(60)
    s.start()

    def check():
        rows = all_rows_paged(s, start, end)
        assert not [r for r in rows if SECRET in r["line"]]
        counts = collections.Counter(r["line"] for r in rows)
        assert not [line for line, n in counts.items() if n > 1]
        assert sorted(counts) == sorted(kept)

    check()
    assert s.request("POST", "/api/v1/admin/deletes", headers=AUTH).status == 200
    assert [x["status"] for x in get(s, "/loki/api/v1/delete")] == ["processed"]
    check()
    for name, data in decompressed_files(s).items():
        assert SECRET.encode() not in data, name


def all_rows_paged(s, start, end):
    """Every row in [start, end] through loge's query API, newest first, in
    pages (distinct timestamps)."""
    out = []
    while True:
        r = s.request("POST", "/api/v1/query", json.dumps({"start": start, "end": end, "limit": 5000}),
                      {"Content-Type": "application/json", **AUTH})
        assert r.status == 200, r
        batch = r.json()["data"]
        out += batch
        if len(batch) < 5000:
            return out
        end = batch[-1]["timestamp"] - 1
