"""The write-ahead log holds only what is not yet safely flushed: the
checkpointer deletes WAL files behind the flushes under steady ingest, and a
graceful restart replays nothing twice."""

import collections
import os
import re
import threading
import time

from conftest import stream, wait_for

FAST = ("--checkpoint-interval", "200ms", "--flush-interval", "100ms")
# The WAL rotates files at 64 MiB (wal::Options::segment_bytes; no flag) and
# never deletes the active file, so "small" means at most the active file
# and the one before it, and about one segment of bytes.
SEGMENT_BYTES = 64 << 20
SLACK_BYTES = 16 << 20  # a file may pass the segment size by one group commit
PUSH_BYTES = 4 * SEGMENT_BYTES  # enough for several rotations
BODY_LINES = 5000
PAD = "x" * 180  # ~200-byte lines


def body(tag, base_ts):
    vals = ",".join(f'["{base_ts + i}","{tag} {i} {PAD}"]' for i in range(BODY_LINES))
    return '{"streams":[{"stream":{"app":"wal","push":"%s"},"values":[%s]}]}' % (tag, vals)


# A push the server cannot take yet gets 429 after --backpressure-wait, whole
# (nothing of it is written), and a shipper sends it again. On a loaded
# machine (CI runs under ASan beside other work) the two clients below can
# outrun the flushes for a while; that is backpressure working, and this
# file is about what the WAL holds, so its clients retry as shippers do.
MAX_ATTEMPTS = 20


def push_like_a_shipper(c, b):
    for _ in range(MAX_ATTEMPTS):
        r = c.push_raw(b)
        if r.status != 429:
            return r
        assert "retry-after" in r.headers, r
    return r


def wal_bytes(s):
    return sum(size for _, size in s.wal_files())


def test_wal_stays_small_under_steady_ingest(loge):
    s = loge(*FAST, "--payload-size", "100000")
    pushed = [0]
    tags = []
    lock = threading.Lock()
    errors = []

    def client(k):
        c = s.connect()
        base = time.time_ns() + k * 10**12
        j = 0
        try:
            while True:
                with lock:
                    if pushed[0] >= PUSH_BYTES:
                        return
                tag = f"k{k}j{j}"
                b = body(tag, base + j * BODY_LINES)
                r = push_like_a_shipper(c, b)
                if r.status != 200:
                    errors.append(r)
                    return
                with lock:
                    pushed[0] += len(b)
                    tags.append(tag)
                j += 1
        except Exception as e:
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    peak = 0
    first_file = s.wal_files()[0][0]
    while any(t.is_alive() for t in threads):
        files = s.wal_files()
        peak = max(peak, sum(size for _, size in files))
        time.sleep(0.02)  # sampling period of the WAL size, not a wait for a condition
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert pushed[0] >= PUSH_BYTES

    # The WAL never held the whole ingest.
    assert peak < pushed[0] * 0.75, f"WAL peaked at {peak >> 20} MiB of {pushed[0] >> 20} MiB pushed"

    def small():
        files = s.wal_files()
        return len(files) <= 2 and sum(sz for _, sz in files) <= SEGMENT_BYTES + SLACK_BYTES

    wait_for(small, 30, "WAL to shrink to <= 2 files and about one segment", interval=0.05)
    assert first_file not in {n for n, _ in s.wal_files()}, f"{first_file} was never deleted"

    # Spot check: a few pushes came through whole and once.
    for tag in tags[:2] + tags[-2:]:
        rows = s.rows(matchers=[{"name": "push", "value": tag}], limit=5000)
        assert len(rows) == BODY_LINES, (tag, len(rows))
        assert len({r["line"] for r in rows}) == BODY_LINES


def test_graceful_stop_empties_the_wal_and_restart_does_not_duplicate(loge, clock):
    s = loge(*FAST)
    want = []
    for i in range(40):
        vals = [(clock.next(), f"g-{i}-{j}") for j in range(250)]
        s.push_ok([stream({"app": f"a{i % 7}"}, vals[:125]), stream({"app": "b", "i": str(i)}, vals[125:])])
        want += [v[1] for v in vals]
    s.stop()
    assert wal_bytes(s) == 0, f"after a clean stop the WAL should be empty: {s.wal_files()}"

    for _ in range(2):
        s.start()
        got = collections.Counter(r["line"] for r in s.client.query_all())
        dups = [l for l, c in got.items() if c > 1]
        assert not dups, f"{len(dups)} lines duplicated, e.g. {dups[:5]}"
        assert sorted(got) == sorted(want)
        s.stop()


def test_checkpoint_deletes_wal_files_left_by_a_crash(loge, clock):
    # After kill -9 the old WAL file is replayed; once its lines are flushed
    # again the checkpointer must delete it (it is no longer the active file).
    s = loge(*FAST)
    vals = [(clock.next(), f"k-{i}") for i in range(500)]
    for i in range(0, 500, 50):
        s.push_ok(stream({"app": "web"}, vals[i:i + 50]))
    s.kill9()
    assert wal_bytes(s) > 0
    old = {n for n, _ in s.wal_files()}
    s.start()
    wait_for(lambda: not (old & {n for n, _ in s.wal_files()}), 20, f"the checkpointer to delete {old}")
    got = [r["line"] for r in s.rows(limit=5000)]
    assert sorted(got) == sorted(v[1] for v in vals)


def damage_and_restart(loge, clock, damage):
    s = loge("--flush-interval", "1h", "--checkpoint-interval", "1h")
    pushes = []
    for i in range(10):
        vals = [(clock.next(), f"p{i}-{j}") for j in range(5)]
        s.push_ok(stream({"app": "web"}, vals))  # one push = one WAL record
        pushes.append([v[1] for v in vals])
    s.kill9()
    files = s.wal_files()
    assert len(files) == 1, files
    path = os.path.join(s.dir, "wal", files[0][0])
    damage(path)
    s.start()
    got = sorted(r["line"] for r in s.rows(limit=5000))
    return s, pushes, got


def test_torn_wal_tail_is_dropped_and_logged(loge, clock):
    def truncate(path):
        os.truncate(path, os.path.getsize(path) - 7)

    s, pushes, got = damage_and_restart(loge, clock, truncate)
    assert got == sorted(l for p in pushes[:9] for l in p), "intact records must all replay, the torn one not"
    m = re.search(r"(\d+) bytes[^\n]*dropped", s.log())
    assert m and int(m.group(1)) > 0, f"the log should say how many bytes were dropped:\n{s.log()}"


def test_corrupt_last_wal_record_is_dropped_and_logged(loge, clock):
    def flip_last_byte(path):
        with open(path, "r+b") as f:
            f.seek(-1, os.SEEK_END)
            b = f.read(1)
            f.seek(-1, os.SEEK_END)
            f.write(bytes([b[0] ^ 0xFF]))

    s, pushes, got = damage_and_restart(loge, clock, flip_last_byte)
    assert got == sorted(l for p in pushes[:9] for l in p), "a CRC mismatch must end replay at that record"
    m = re.search(r"(\d+) bytes[^\n]*dropped", s.log())
    assert m and int(m.group(1)) > 0, f"the log should say how many bytes were dropped:\n{s.log()}"
    # The server keeps working, and a later restart does not resurrect anything.
    s.push_ok(stream({"app": "web"}, [(clock.next(), "after")]))
    s.restart()
    assert sorted(r["line"] for r in s.rows(limit=5000)) == sorted(got + ["after"])
