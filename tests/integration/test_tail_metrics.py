"""Live tail (GET /loki/api/v1/tail over a WebSocket) and GET /metrics.

The tail is driven by a real WebSocket client (PyPI `websockets`), /metrics
is read by Prometheus' own text parser (PyPI `prometheus_client`); both
pinned in tests/integration/requirements.txt. No sleeps: every wait polls a
condition (a frame, a metric) with a deadline.
"""

import json
import subprocess
import threading
import time
import urllib.parse

import pytest

from conftest import loge_bin, stream, use_test_venv, wait_for

use_test_venv()

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

DEADLINE_S = 60.0
KEY = "tail-Key-1"


def tail_url(server, query, **params):
    q = urllib.parse.urlencode({"query": query, **params})
    return f"ws://127.0.0.1:{server.port}/loki/api/v1/tail?{q}"


class Tail:
    """A tail connection that collects (labels, ts, line) entries and drops."""

    def __init__(self, url, headers=None, **kw):
        self.ws = connect(url, additional_headers=headers, open_timeout=DEADLINE_S, max_size=None, **kw)
        self.entries = []
        self.drops = []
        self.frames = []

    def read_frame(self, timeout):
        text = self.ws.recv(timeout=timeout)
        frame = json.loads(text)
        assert set(frame) == {"streams", "dropped_entries"}, frame
        for s in frame["streams"]:
            for ts, line in s["values"]:
                assert isinstance(ts, str) and ts.isdigit() and len(ts) > 6, ts
                self.entries.append((tuple(sorted(s["stream"].items())), int(ts), line))
        for d in frame["dropped_entries"]:
            assert isinstance(d["timestamp"], str) and d["timestamp"].isdigit(), d
            assert isinstance(d["labels"], dict), d
            self.drops.append(d)
        self.frames.append(frame)
        return frame

    def read_until(self, cond, what, timeout=DEADLINE_S):
        deadline = time.monotonic() + timeout
        while not cond():
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"timed out waiting for {what}; have {len(self.entries)} entries, {len(self.drops)} drops")
            try:
                self.read_frame(left)
            except TimeoutError:
                pass

    def lines(self):
        return [e[2] for e in self.entries]

    def close(self):
        self.ws.close()


def metrics(server):
    r = server.request("GET", "/metrics")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers
    return {f.name: f for f in text_string_to_metric_families(r.body.decode())}


def sample(families, family, name=None, **labels):
    for s in families[family].samples:
        if (name is None or s.name == name) and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError(f"no sample {name or family} {labels} in {families[family].samples}")


@pytest.fixture
def server(loge):
    return loge()


def test_backfill_comes_first_then_live_lines(server, clock):
    old = [clock.next() for _ in range(3)]
    server.push_ok([stream({"app": "tail"}, [(t, f"before {i}") for i, t in enumerate(old)])])
    server.push_ok([stream({"app": "other"}, [(clock.next(), "not mine")])])
    tail = Tail(tail_url(server, '{app="tail"}'))
    try:
        first = tail.read_frame(DEADLINE_S)
        assert [v[1] for s in first["streams"] for v in s["values"]] == ["before 0", "before 1", "before 2"]
        # Labels as /query_range writes them: stream labels, structured
        # metadata (detected_level, added at ingest) and parsed labels merged.
        assert first["streams"][0]["stream"] == {"app": "tail", "detected_level": "unknown"}
        assert [v[0] for v in first["streams"][0]["values"]] == [str(t) for t in old]
        new = [clock.next() for _ in range(2)]
        server.push_ok([stream({"app": "tail"}, [(t, f"after {i}") for i, t in enumerate(new)])])
        server.push_ok([stream({"app": "other"}, [(clock.next(), "still not mine")])])
        tail.read_until(lambda: len(tail.entries) >= 5, "the live lines")
        assert tail.lines() == ["before 0", "before 1", "before 2", "after 0", "after 1"]
        assert [e[1] for e in tail.entries[3:]] == new
    finally:
        tail.close()


def test_line_filter_and_pipeline_apply_to_live_lines(server, clock):
    tail = Tail(tail_url(server, '{app="f"} |= "keep" | logfmt | level="error"', limit="10"))
    try:
        lines = []
        for i in range(40):
            lines.append((clock.next(), f"level={'error' if i % 2 else 'info'} n={i} {'keep' if i % 3 else 'skip'}"))
        lines.append((clock.next(), "level=error keep last"))
        server.push_ok([stream({"app": "f"}, lines[:20])])
        server.push_ok([stream({"app": "f"}, lines[20:])])
        tail.read_until(lambda: "level=error keep last" in tail.lines(), "the last line")
        want = [line for _, line in lines if "keep" in line and "level=error" in line]
        assert tail.lines() == want
        # Frames hold `limit` entries at most; the logfmt labels are part of the stream.
        assert all(sum(len(s["values"]) for s in f["streams"]) <= 10 for f in tail.frames)
        assert dict(tail.entries[0][0]) == {"app": "f", "detected_level": "error", "level": "error", "n": "1"}
    finally:
        tail.close()


def test_delay_for_holds_entries_back_and_sorts_them(server, clock):
    tail = Tail(tail_url(server, '{app="d"}', delay_for="1"))
    try:
        t1, t2 = clock.next(), clock.next()
        pushed_at = time.monotonic()
        server.push_ok([stream({"app": "d"}, [(t2, "second")])])
        server.push_ok([stream({"app": "d"}, [(t1, "first")])])
        tail.read_until(lambda: len(tail.entries) >= 2, "the delayed lines")
        # A lower bound only: the entries waited at least delay_for.
        assert time.monotonic() - pushed_at >= 1.0
        assert tail.lines() == ["first", "second"] and len(tail.frames) == 1
    finally:
        tail.close()


def test_twenty_tailers_while_pushes_run(server, clock):
    tails = [Tail(tail_url(server, '{app="many"}', limit="1000")) for _ in range(20)]
    try:
        pushed = []
        for p in range(50):
            vals = [(clock.next(), f"push {p} line {i}") for i in range(20)]
            pushed += [line for _, line in vals]
            r = server.push([stream({"app": "many"}, vals)])
            assert r.status in (200, 204), r
        for t in tails:
            t.read_until(lambda t=t: len(t.entries) >= len(pushed), "every pushed line")
            assert t.lines() == pushed and t.drops == []
        fams = metrics(server)
        assert sample(fams, "loge_tailers") == 20
    finally:
        for t in tails:
            t.close()
    wait_for(lambda: sample(metrics(server), "loge_tailers") == 0, DEADLINE_S, "closed tailers to be removed")


def test_slow_tailer_loses_entries_and_is_told_while_pushes_continue(loge, clock):
    server = loge("--tail-queue-size", "20")
    # This client stops reading once one frame is buffered: the server's
    # socket buffers fill, its write stalls, and its queue overflows.
    slow = Tail(tail_url(server, '{app="slow"}', limit="5"), max_queue=1)
    try:
        big = "x" * 60000
        total = 0
        for p in range(30):
            vals = [(clock.next(), f"{p}-{i} {big}") for i in range(20)]
            total += len(vals)
            r = server.push([stream({"app": "slow"}, vals)])
            assert r.status in (200, 204), r
        # Every push was acknowledged while the tailer read nothing; the
        # server dropped (and counted) what did not fit.
        wait_for(lambda: sample(metrics(server), "loge_tail_dropped_entries") > 0, DEADLINE_S, "a counted drop")
        # Each entry is either delivered or reported in dropped_entries.
        slow.read_until(lambda: len(slow.entries) + len(slow.drops) == total, "every entry delivered or reported")
        assert slow.drops and all(d["labels"] == {"app": "slow"} for d in slow.drops)
        got = {int(e[2].split()[0].split("-")[0]) for e in slow.entries}
        assert got, "some entries were delivered"
        assert sample(metrics(server), "loge_tail_dropped_entries") == len(slow.drops)
    finally:
        slow.close()


def test_tail_needs_the_api_key_before_the_upgrade(loge, clock):
    server = loge("--api-key", KEY)
    for headers in (None, {"Authorization": "Bearer wrong"}):
        with pytest.raises(InvalidStatus) as e:
            connect(tail_url(server, '{app="a"}'), additional_headers=headers, open_timeout=DEADLINE_S)
        assert e.value.response.status_code == 401
    tail = Tail(tail_url(server, '{app="a"}'), headers={"Authorization": "Bearer " + KEY})
    try:
        server.push_ok([stream({"app": "a"}, [(clock.next(), "hello")])])
        tail.read_until(lambda: tail.lines() == ["hello"], "the line")
    finally:
        tail.close()
    # /metrics stays open, as Loki's is.
    assert "loge_tailers" in metrics(server)


@pytest.mark.parametrize("params,why", [
    ({"query": 'sum(count_over_time({app="a"}[1m]))'}, "log queries"),
    ({"query": '{app="a"'}, "parse error"),
    ({"query": '{app="a"}', "delay_for": "6"}, "delay_for"),
    ({"query": '{app="a"}', "limit": "0"}, "limit"),
    ({"query": '{app="a"}', "start": "yesterday"}, "yesterday"),
])
def test_bad_tail_parameters_answer_400_before_the_upgrade(server, params, why):
    url = f"ws://127.0.0.1:{server.port}/loki/api/v1/tail?{urllib.parse.urlencode(params)}"
    with pytest.raises(InvalidStatus) as e:
        connect(url, open_timeout=DEADLINE_S)
    assert e.value.response.status_code == 400
    assert why in e.value.response.body.decode()


def test_shutdown_closes_tailers_cleanly(server):
    tail = Tail(tail_url(server, '{app="a"}'))
    closed = {}

    def reader():
        try:
            while True:
                tail.ws.recv()
        except ConnectionClosed as e:
            closed["code"] = e.rcvd.code if e.rcvd else None

    t = threading.Thread(target=reader)
    t.start()
    wait_for(lambda: sample(metrics(server), "loge_tailers") == 1, DEADLINE_S, "the tailer")
    server.stop()  # asserts a clean exit
    t.join(DEADLINE_S)
    assert closed.get("code") == 1001


def test_metrics_parse_and_count_exactly_the_lines_pushed(server, clock):
    before = metrics(server)
    lines0 = sample(before, "loge_ingested_lines", "loge_ingested_lines_total")
    bytes0 = sample(before, "loge_ingested_bytes", "loge_ingested_bytes_total")
    vals = [(clock.next(), f"metric line {i}") for i in range(37)]
    server.push_ok([stream({"app": "m"}, vals[:30]), stream({"app": "n"}, vals[30:])])
    r = server.request("GET", "/loki/api/v1/query_range?" + urllib.parse.urlencode({"query": '{app="m"}'}))
    assert r.status == 200, r
    after = metrics(server)
    assert sample(after, "loge_ingested_lines", "loge_ingested_lines_total") - lines0 == 37
    assert sample(after, "loge_ingested_bytes", "loge_ingested_bytes_total") - bytes0 == sum(len(v[1]) for v in vals)
    for fam in ("loge_push_duration_seconds", "loge_query_duration_seconds", "loge_wal_fsync_duration_seconds",
                "loge_flush_duration_seconds"):
        assert after[fam].type == "histogram", fam
    assert sample(after, "loge_push_duration_seconds", "loge_push_duration_seconds_count",
                  endpoint="/api/v1/push") >= 1
    assert sample(after, "loge_query_duration_seconds", "loge_query_duration_seconds_count",
                  endpoint="/loki/api/v1/query_range") == 1
    assert sample(after, "loge_wal_fsync_duration_seconds", "loge_wal_fsync_duration_seconds_count") >= 1
    for fam in ("loge_files", "loge_file_bytes"):
        assert {s.labels["tier"] for s in after[fam].samples} == {"local", "remote"}
    for fam in ("loge_head_rows", "loge_merge_backlog_files", "loge_merge_backlog_bytes", "loge_merge_lag_seconds",
                "loge_merges", "loge_flushes", "loge_tailers", "loge_tail_dropped_entries"):
        assert fam in after, fam
    # A flush shows up in the flush counter, its histogram and the level-0 files.
    r = server.request("POST", "/api/v1/admin/compact")
    assert r.status == 200, r
    done = metrics(server)
    assert sample(done, "loge_flushes", "loge_flushes_total") >= 1
    assert sample(done, "loge_flush_duration_seconds", "loge_flush_duration_seconds_count") >= 1
    assert sample(done, "loge_head_rows") == 0
    assert sum(s.value for s in done["loge_level_files"].samples) == sample(done, "loge_files", tier="local")


def test_heap_figures_name_the_allocator_the_binary_runs_on(server):
    # The release binary is linked with jemalloc (docs/memory.md); sanitizer
    # builds run on the sanitizer's allocator, which answers neither interface.
    libs = subprocess.run(["ldd", loge_bin()], capture_output=True, text=True).stdout
    if "libasan" in libs or "libtsan" in libs:
        pytest.skip("sanitizer build")
    assert "libjemalloc" in libs, "the release binary should be linked with jemalloc (cmake -DLOGE_JEMALLOC=ON)"
    st = server.request("GET", "/api/v1/stats").json()
    assert st["heap_allocator"] == "jemalloc"
    assert 0 < st["heap_allocated_bytes"] <= st["heap_resident_bytes"]
    m = metrics(server)
    assert sample(m, "loge_heap_allocated_bytes") > 0
    assert sample(m, "loge_heap_resident_bytes") >= sample(m, "loge_heap_allocated_bytes") * 0.5
