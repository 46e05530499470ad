"""Crash safety: `kill -9` while clients push, restart on the same directory,
and check that every acknowledged line is there exactly once and nothing else
is there but lines of pushes that were in flight at the kill."""

import collections
import re
import signal
import threading
import time

import pytest

from conftest import stream, wait_for

CLIENTS = 4
LINES_PER_PUSH = 40  # split over 2 streams per push, so a push spans buckets
MAX_PUSH_SECONDS = 3.0  # bound on each client's pushing if the kill never came
MAX_PUSHES_PER_CLIENT = 2000
# A graceful stop flushes a few batches and answers in-flight requests.
GRACEFUL_STOP_S = 10.0


class Pusher(threading.Thread):
    """Pushes unique lines ("c<id>-<counter>") until told to stop or the
    server goes away; records which pushes were acknowledged with 200."""

    def __init__(self, server, cid, base_ts):
        super().__init__(daemon=True)
        self.server = server
        self.cid = cid
        self.base_ts = base_ts
        self.stop = threading.Event()
        self.acked = []  # lines of pushes answered 200
        self.unacked = []  # lines of pushes that failed in flight or got another status
        self.statuses = collections.Counter()
        self.error = None  # the transport error that ended the thread

    def run(self):
        client = self.server.connect()
        n = 0
        deadline = time.monotonic() + MAX_PUSH_SECONDS
        try:
            for _ in range(MAX_PUSHES_PER_CLIENT):
                if self.stop.is_set() or time.monotonic() > deadline:
                    return
                vals = {0: [], 1: []}
                batch = []
                for _ in range(LINES_PER_PUSH):
                    line = f"c{self.cid}-{n}"
                    # Distinct timestamps per client, so queries can page by time.
                    vals[n % 2].append((self.base_ts + n, line))
                    batch.append(line)
                    n += 1
                streams = [stream({"client": f"c{self.cid}", "part": str(p)}, v) for p, v in vals.items()]
                try:
                    r = client.push(streams)
                except Exception as e:  # the server died with this push in flight
                    self.unacked.extend(batch)
                    self.error = e
                    return
                self.statuses[r.status] += 1
                (self.acked if r.status == 200 else self.unacked).extend(batch)
        finally:
            client.close()


def start_pushers(server):
    base = time.time_ns()
    # Far enough apart that the clients' timestamp ranges never overlap.
    pushers = [Pusher(server, i, base + i * 10**12) for i in range(CLIENTS)]
    for p in pushers:
        p.start()
    return pushers


def acked_pushes(pushers):
    return sum(p.statuses[200] for p in pushers)


def check_after_restart(server, pushers):
    """Every acknowledged line exactly once; every other line present was
    part of a push that was not acknowledged."""
    for p in pushers:
        rows = server.client.query_all(matchers=[{"name": "client", "value": f"c{p.cid}"}])
        counts = collections.Counter(r["line"] for r in rows)
        missing = [l for l in p.acked if counts[l] == 0]
        dup = [l for l in p.acked if counts[l] > 1]
        attempted = set(p.acked) | set(p.unacked)
        foreign = [l for l in counts if l not in attempted]
        assert not missing, f"client {p.cid}: {len(missing)} acknowledged lines lost, e.g. {missing[:5]}"
        assert not dup, f"client {p.cid}: {len(dup)} acknowledged lines duplicated, e.g. {dup[:5]}"
        assert not foreign, f"client {p.cid}: lines never pushed: {foreign[:5]}"
        for r in rows[:50]:
            assert r["labels"]["client"] == f"c{p.cid}"
            assert r["labels"]["part"] == str(int(r["line"].split("-")[1]) % 2)


def crash_and_check(server, pushers):
    server.kill9()
    for p in pushers:
        p.stop.set()
    for p in pushers:
        p.join(30)
        assert not p.is_alive(), "a pusher hung after the kill"
    print(f"acknowledged pushes per client: {[p.statuses[200] for p in pushers]}, "
          f"in flight at the kill: {[len(p.unacked) // LINES_PER_PUSH for p in pushers]}")
    assert acked_pushes(pushers) > 0, "no push was acknowledged before the kill"
    for p in pushers:
        assert set(p.statuses) <= {200}, f"client {p.cid} got statuses {dict(p.statuses)}"

    server.start()
    check_after_restart(server, pushers)
    # A second crash right after the replay, and a graceful cycle: the
    # replayed lines must not come back twice.
    server.kill9()
    server.start()
    check_after_restart(server, pushers)
    server.restart(graceful=True)
    check_after_restart(server, pushers)
    server.stop()


@pytest.mark.parametrize("kill_after_s,flags", [
    (0.5, ()),  # default 1s flush interval: everything comes back from the WAL
    (1.5, ("--flush-interval", "200ms", "--checkpoint-interval", "500ms")),  # part flushed, part in the WAL
], ids=["kill_at_0.5s", "kill_at_1.5s"])
def test_acknowledged_lines_survive_kill9(loge, kill_after_s, flags):
    s = loge(*flags)
    pushers = start_pushers(s)
    # The kill time is the experiment's parameter, not a wait for a condition.
    time.sleep(kill_after_s)
    crash_and_check(s, pushers)


def test_acknowledged_lines_survive_kill9_right_after_a_flush(loge):
    s = loge("--flush-interval", "100ms", "--payload-size", "500", "--checkpoint-interval", "300ms")
    pushers = start_pushers(s)
    wait_for(lambda: acked_pushes(pushers) >= 200, 20, "200 acknowledged pushes")
    seen = set(s.flush_files())
    wait_for(lambda: set(s.flush_files()) - seen, 20, "a new flush file")
    crash_and_check(s, pushers)


# --- lines both in the WAL and in flushed files -------------------------------


def test_lines_in_wal_and_flushed_files_are_not_duplicated_after_kill9(loge, clock):
    # One bucket, batches of 100 rows, no flush by time, no checkpoint: the
    # WAL keeps every push while two batches sit in flush files.
    s = loge("--buckets", "1", "--payload-size", "100", "--flush-interval", "1h", "--checkpoint-interval", "1h")
    pushed = []
    for i in range(5):
        vals = [(clock.next(), f"w-{i}-{j}") for j in range(50)]
        s.push_ok(stream({"app": "web"}, vals))
        pushed += [v[1] for v in vals]
    wait_for(lambda: len(s.flush_files()) >= 2, 20, "two flush files")
    assert len(s.flush_files()) == 2
    assert sum(size for _, size in s.wal_files()) > 0, "the WAL should still hold the flushed pushes"

    for _ in range(2):  # a second crash after a replay must not duplicate either
        s.kill9()
        s.start()
        got = [r["line"] for r in s.rows(limit=5000)]
        dups = [l for l, c in collections.Counter(got).items() if c > 1]
        assert not dups, f"{len(dups)} lines duplicated after replay, e.g. {dups[:5]}"
        assert sorted(got) == sorted(pushed)
    s.restart(graceful=True)
    assert sorted(r["line"] for r in s.rows(limit=5000)) == sorted(pushed)


def bucket_of(loge, labels_list, buckets):
    """Which bucket each label set goes to, learned from the flush file names
    of a probe server that flushes every row."""
    probe = loge("--buckets", str(buckets), "--payload-size", "1", "--flush-interval", "1h")
    out = []
    for i, labels in enumerate(labels_list):
        before = set(probe.flush_files())
        probe.push_ok(stream(labels, [(1000 + i, "probe")]))
        new = wait_for(lambda: set(probe.flush_files()) - before, 20, "the probe's flush file")
        assert len(new) == 1, new
        out.append(int(re.match(r"flush-(\d+)-", new.pop()).group(1)))
    probe.stop()
    return out


def test_push_split_over_a_flushed_and_an_unflushed_bucket_replays_once(loge, clock):
    candidates = [{"app": f"a{i}"} for i in range(8)]
    buckets = bucket_of(loge, candidates, 2)
    if len(set(buckets)) < 2:
        pytest.fail(f"8 label sets all went to one of 2 buckets: {buckets}")
    a = candidates[buckets.index(0)]
    b = candidates[buckets.index(1)]

    s = loge("--buckets", "2", "--payload-size", "100", "--flush-interval", "1h", "--checkpoint-interval", "1h")
    va = [(clock.next(), f"A-{j}") for j in range(100)]  # fills a's batch: flushes
    vb = [(clock.next(), f"B-{j}") for j in range(10)]  # stays in memory
    s.push_ok([stream(a, va), stream(b, vb)])  # one push, one WAL record, two parts
    wait_for(s.flush_files, 20, "the flush file of the full bucket")
    assert len(s.flush_files()) == 1

    s.kill9()
    s.start()
    got = collections.Counter(r["line"] for r in s.rows(limit=5000))
    want = [v[1] for v in va + vb]
    assert sorted(got) == sorted(want)
    assert all(c == 1 for c in got.values()), [l for l, c in got.items() if c > 1][:5]


def test_lines_pushed_after_a_graceful_restart_survive_kill9(loge, clock):
    # A graceful stop flushes everything and empties the WAL; the next run
    # must not mistake its own new WAL records for ones already in the old
    # run's flush files.
    s = loge("--flush-interval", "1h", "--checkpoint-interval", "1h")
    first = [(clock.next(), f"first-{i}") for i in range(5)]
    for v in first:
        s.push_ok(stream({"app": "web"}, [v]))
    s.stop()
    s.start()
    second = [(clock.next(), f"second-{i}") for i in range(5)]
    for v in second:
        s.push_ok(stream({"app": "web"}, [v]))  # acknowledged: in the WAL only
    assert [r["line"] for r in s.rows()] == [v[1] for v in reversed(first + second)]
    s.kill9()
    s.start()
    got = [r["line"] for r in s.rows()]
    missing = [v[1] for v in second if v[1] not in got]
    assert not missing, f"acknowledged lines lost after graceful restart + kill -9: {missing}"
    assert got == [v[1] for v in reversed(first + second)]


def test_replay_after_changing_buckets_does_not_duplicate(loge, clock):
    # Flushed with 2 buckets, replayed with 3: which WAL parts are already in
    # files must be judged by the layout that wrote them.
    s = loge("--buckets", "2", "--payload-size", "60", "--flush-interval", "1h", "--checkpoint-interval", "1h")
    want = []
    for i in range(10):
        vals = [(clock.next(), f"b-{i}-{j}") for j in range(30)]
        s.push_ok([stream({"app": f"a{i % 5}"}, vals[:15]), stream({"app": f"z{i % 3}"}, vals[15:])])
        want += [v[1] for v in vals]
    wait_for(s.flush_files, 20, "a flush file")
    s.kill9()
    s.args = ["--buckets", "3", "--flush-interval", "1h", "--checkpoint-interval", "1h"]
    s.start()
    got = collections.Counter(r["line"] for r in s.rows(limit=5000))
    assert all(c == 1 for c in got.values()), [l for l, c in got.items() if c > 1][:5]
    assert sorted(got) == sorted(want)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_graceful_stop_while_clients_push_keeps_every_acknowledged_line(loge, sig):
    s = loge("--flush-interval", "200ms")
    pushers = start_pushers(s)
    wait_for(lambda: acked_pushes(pushers) >= 100, 20, "100 acknowledged pushes")
    # Past the deadline the server is killed; the data checks still apply.
    rc = s.stop(sig=sig, timeout=GRACEFUL_STOP_S, check=False)
    for p in pushers:
        p.stop.set()
    for p in pushers:
        p.join(30)
        assert not p.is_alive(), "a pusher hung after the stop"
        # A push that raced the shutdown may be refused (503).
        assert set(p.statuses) <= {200, 503}, f"client {p.cid} got statuses {dict(p.statuses)}"
    if rc == 0:
        assert sum(size for _, size in s.wal_files()) == 0, f"a clean stop leaves no WAL records: {s.wal_files()}"
    s.start()
    check_after_restart(s, pushers)
    # Checked last, so a slow stop does not hide the data checks above.
    assert rc is not None, f"loge did not exit within {GRACEFUL_STOP_S}s of {sig.name} while clients pushed"
    assert rc == 0, f"exit code {rc} after {sig.name}"
