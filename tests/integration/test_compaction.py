"""Compaction, the catalog and pruned queries over HTTP against the real
binary: segments replace flush files without changing any answer, queries
prune by time, label keys and filters, and a restart keeps it all."""

import os
import random

from conftest import stream, wait_for

# --segment-size 32KiB: each compaction below writes one segment of ~20-30 KB
# of text, which is then final (>= half the size), so two stay two.
FAST = ("--flush-interval", "50ms", "--compact-interval", "0", "--compact-min-files", "2",
        "--checkpoint-interval", "100ms", "--segment-size", "32KiB")


def stats(s):
    r = s.request("GET", "/api/v1/stats")
    assert r.status == 200, r
    return r.json()


def compact(s):
    r = s.request("POST", "/api/v1/admin/compact")
    assert r.status == 200, r


def fill(s, clock, batches, app="web", per=200, tag=""):
    """Pushes `batches` flushes' worth of rows; returns every line pushed."""
    pushed = []
    for b in range(batches):
        values = []
        for i in range(per):
            line = f"{app} GET /item/{b}/{i} request_id=r{b}x{i}{tag} status=200"
            values.append((clock.next(), line))
            pushed.append(line)
        s.push_ok(stream({"app": app, "env": "prod"}, values))
        wait_for(lambda: stats(s)["head_rows"] == 0, 10, "the head to flush")
    return pushed


def test_compaction_merges_files_and_answers_stay_the_same(loge, clock):
    s = loge(*FAST)
    pushed = fill(s, clock, 6)
    before = s.query_all()
    assert stats(s)["flush_files"] >= 2
    compact(s)
    st = stats(s)
    assert st["segments_total"] >= 1
    assert st["flush_files"] == 0
    assert st["rows_total"] == len(pushed)
    after = s.query_all()
    assert [(r["timestamp"], r["line"]) for r in after] == [(r["timestamp"], r["line"]) for r in before]
    names = os.listdir(s.dir)
    assert not [n for n in names if n.startswith("flush-")], names
    assert [n for n in names if n.startswith("segment-")], names
    assert "catalog.sqlite" in names


def test_filters_prune_segments_a_term_cannot_be_in(loge, clock):
    s = loge(*FAST)
    fill(s, clock, 3, tag="a")
    compact(s)
    fill(s, clock, 3, tag="b")
    compact(s)
    assert stats(s)["segments_total"] == 2

    doc = s.query(line="trigram-absent-zzqqxx")
    assert doc["data"] == []
    assert doc["stats"]["files_opened"] == 0
    assert doc["stats"]["pruned_by_filter"] == 2

    # A whole token (bounded inside the term) that only the second segment has.
    doc = s.query(line=" request_id=r1x7b ")
    assert [r["line"] for r in doc["data"]] == ["web GET /item/1/7 request_id=r1x7b status=200"]
    assert doc["stats"]["files_opened"] == 1

    doc = s.query(matchers=[{"name": "team", "value": "x", "type": "="}])
    assert doc["stats"]["pruned_by_labels"] == 2 and doc["stats"]["files_opened"] == 0

    doc = s.query(limit=10)
    assert len(doc["data"]) == 10
    assert doc["stats"]["files_opened"] == 1  # only the newest segment


def test_time_window_opens_only_overlapping_files(loge, clock):
    s = loge(*FAST)
    fill(s, clock, 2)
    compact(s)
    clock.t += 10**12  # a gap, so the next segment's window is disjoint
    mid = clock.t
    fill(s, clock, 2)
    compact(s)
    doc = s.query(start=mid, limit=5000)
    assert len(doc["data"]) == 400
    assert doc["stats"]["pruned_by_time"] == 1


def test_restart_keeps_segments_and_every_row_once(loge, clock):
    s = loge(*FAST)
    pushed = fill(s, clock, 4)
    compact(s)
    segments = stats(s)["segments_total"]
    assert segments >= 1
    more = fill(s, clock, 1, tag="late")  # stays a flush file
    s.restart()
    rows = s.query_all()
    assert sorted(r["line"] for r in rows) == sorted(pushed + more)
    st = stats(s)
    assert st["segments_total"] == segments


def test_kill9_after_compaction_loses_and_duplicates_nothing(loge, clock):
    s = loge(*FAST)
    pushed = fill(s, clock, 5)
    compact(s)
    extra = []
    for i in range(50):
        line = f"after compaction {i}"
        s.push_ok(stream({"app": "api"}, [(clock.next(), line)]))
        extra.append(line)
    s.kill9()
    s.start()
    rows = s.query_all()
    got = [r["line"] for r in rows]
    assert sorted(got) == sorted(pushed + extra)


def test_stats_report_the_store(loge, clock):
    s = loge(*FAST)
    st = stats(s)
    for key in ("segments_total", "segments_local", "segments_remote", "rows_total", "min_timestamp",
                "max_timestamp", "flush_files", "wal_bytes", "head_rows"):
        assert key in st, key
    first = clock.next()
    fill(s, clock, 1)
    st = stats(s)
    assert st["rows_total"] == 200
    assert st["min_timestamp"] > first and st["max_timestamp"] >= st["min_timestamp"]


def test_compaction_result_matches_brute_force_on_random_queries(loge, clock):
    rnd = random.Random(7)
    s = loge(*FAST)
    words = ["alpha", "beta", "gamma", "delta", "timeout", "error"]
    all_rows = []
    for b in range(6):
        streams = []
        for app in ("web", "api", "db"):
            values = []
            for i in range(60):
                line = f"{rnd.choice(words)} {app} n={rnd.randint(0, 999)} {rnd.choice(words)}"
                ts = clock.next()
                values.append((ts, line))
                all_rows.append((ts, app, line))
            streams.append(stream({"app": app}, values))
        s.push_ok(streams)
        wait_for(lambda: stats(s)["head_rows"] == 0, 10, "the head to flush")
        if b == 3:
            compact(s)
    for _ in range(40):
        word = rnd.choice(words + ["n=12", "zz"])
        app = rnd.choice(["web", "api", "db", None])
        limit = rnd.randint(1, 300)
        matchers = [{"name": "app", "value": app, "type": "="}] if app else []
        got = s.rows(line=word, matchers=matchers, limit=limit)
        want = sorted((r for r in all_rows if word in r[2] and (app is None or r[1] == app)),
                      key=lambda r: -r[0])[:limit]
        assert [(r["timestamp"], r["line"]) for r in got] == [(w[0], w[2]) for w in want]
