"""Retention against the real binary (docs/retention.md): queries clip old
rows before any pass runs, the age and size passes delete files, the size
bound holds under ingest, and stats, /metrics and drilldown-limits say so.
Every wait polls a condition with a deadline."""

import random
import subprocess
import time

from conftest import loge_bin, stream, wait_for

HOUR_NS = 3600 * 10**9


def stats(s):
    r = s.request("GET", "/api/v1/stats")
    assert r.status == 200, r
    return r.json()


def push_at(s, newest_ns, n, app="web", tag=""):
    """n rows of {app} ending at newest_ns, one a millisecond apart."""
    values = [(newest_ns - (n - 1 - i) * 10**6, f"{app} row {i} {tag} at {newest_ns}") for i in range(n)]
    s.push_ok(stream({"app": app}, values))
    return values


def test_queries_clip_expired_rows_before_the_pass_and_the_pass_deletes_them(loge):
    # No pass during the first half: the interval is an hour.
    s = loge("--retention", "1h", "--retention-interval", "1h", "--flush-interval", "50ms",
             "--checkpoint-interval", "100ms", "--compact-interval", "0")
    now = time.time_ns()
    push_at(s, now - 3 * HOUR_NS, 50, tag="old")
    # Its own file: a file goes only when its newest row is past the retention.
    wait_for(lambda: stats(s)["head_rows"] == 0, 30, "the head to flush")
    fresh = push_at(s, now, 50, tag="new")
    wait_for(lambda: stats(s)["head_rows"] == 0, 30, "the head to flush")
    st = stats(s)
    assert st["rows_total"] == 100, st  # both still on disk
    rows = s.query_all()
    assert sorted(r["line"] for r in rows) == sorted(v for _, v in fresh)
    # Loki's query_range and a metric query agree.
    r = s.request("GET", "/loki/api/v1/query_range?query=%7Bapp%3D%22web%22%7D&limit=1000"
                  f"&start={now - 4 * HOUR_NS}&end={now + 10**9}")
    assert r.status == 200, r
    lines = [v[1] for res in r.json()["data"]["result"] for v in res["values"]]
    assert len(lines) == 50 and all("new" in line for line in lines), lines
    r = s.request("GET", "/loki/api/v1/query?query=count_over_time(%7Bapp%3D%22web%22%7D%5B5h%5D)"
                  f"&time={now + 10**9}")
    assert r.status == 200, r
    assert [res["value"][1] for res in r.json()["data"]["result"]] == ["50"], r.json()
    # Label values and volume too: the old rows' labels alone would not show,
    # but count through the index endpoints.
    r = s.request("GET", f"/loki/api/v1/index/stats?query=%7Bapp%3D%22web%22%7D&start={now - 4 * HOUR_NS}"
                  f"&end={now + 10**9}")
    assert r.status == 200, r
    assert r.json()["entries"] == 50, r.json()
    r = s.request("GET", "/loki/api/v1/drilldown-limits")
    assert r.status == 200, r
    assert r.json()["limits"]["retention_period"] == "1h", r.json()

    # A restart with a short interval: the pass deletes the old file.
    s.stop()
    s.args[s.args.index("--retention-interval") + 1] = "100ms"
    s.start()
    st = wait_for(lambda: (lambda x: x if x["retention_deleted_rows"] >= 50 else None)(stats(s)), 30,
                  "the retention pass")
    assert st["rows_total"] == 50, st
    assert st["retention_deleted_files"] >= 1, st
    assert st["retention_floor"] > now - HOUR_NS - 60 * 10**9, st
    r = s.request("GET", "/metrics")
    assert r.status == 200, r
    text = r.body.decode()
    assert "loge_retention_deleted_rows_total 50" in text, text
    assert 'loge_tier_rows{tier="local"} 50' in text, text


def test_size_bound_holds_under_ingest(loge, clock):
    bound = 64 * 1024
    s = loge("--retention-size", str(bound), "--retention-interval", "50ms", "--flush-interval", "50ms",
             "--checkpoint-interval", "50ms", "--compact-interval", "0")
    # Random hex, so files have real size: ~10 KB compressed per batch, each
    # its own flush file (a file is deleted whole; one larger than the bound
    # would go at once). While the batches arrive, passes run every 50 ms.
    rnd = random.Random(15)
    tags = []
    peak = 0
    for b in range(30):
        tag = f"b{b:03d}"
        tags.append(tag)
        values = [(clock.next(), f"{tag} {rnd.getrandbits(256):064x} {rnd.getrandbits(256):064x}")
                  for _ in range(150)]
        s.push_ok(stream({"app": "load"}, values))
        st = wait_for(lambda: (lambda x: x if x["head_rows"] == 0 else None)(stats(s)), 30, "the head to flush")
        peak = max(peak, st["bytes_local"])
    # Once ingest stops, the bound holds after the next passes.
    st = wait_for(lambda: (lambda x: x if x["head_rows"] == 0 and x["bytes_local"] <= bound else None)(stats(s)),
                  60, f"local bytes <= {bound}")
    assert st["retention_deleted_files"] > 0, st
    assert st["retention_deleted_rows"] > 0, st
    assert st["rows_total"] + st["retention_deleted_rows"] == 30 * 150, st
    # Never far past the bound while ingesting: at most the files written
    # since the last pass (30 batches would be ~300 KB without it).
    assert peak < 3 * bound, (peak, st)
    # What is left is the newest data: the last batch is whole, the first gone.
    rows = s.query_all()
    left = {r["line"].split(" ")[0] for r in rows}
    assert tags[-1] in left, sorted(left)
    assert tags[0] not in left, sorted(left)
    assert len(rows) == st["rows_total"], st


def test_bad_retention_flags_are_refused(tmp_path):
    for args in (("--retention", "soon"), ("--retention", "-1h"), ("--retention-size", "lots"),
                 ("--retention-rule", '{app="x"}'), ("--retention-rule", '{app="x"} |= "y"=1h'),
                 ("--s3-retention-size", "1GiB")):  # the last one needs --s3-bucket
        p = subprocess.run([loge_bin(), "--port", "0", "--output-path", str(tmp_path / "data"), *args],
                           capture_output=True, timeout=30)
        assert p.returncode != 0, (args, p.stdout, p.stderr)


def test_per_stream_rule_hides_its_streams_rows_and_may_lengthen(loge):
    s = loge("--retention", "2h", "--retention-rule", '{app="debug"}=1h', "--retention-rule", '{app="audit"}=30d',
             "--retention-interval", "1h", "--flush-interval", "50ms")
    now = time.time_ns()
    for app in ("debug", "web", "audit"):
        push_at(s, now - 90 * 60 * 10**9, 10, app=app, tag="90m")   # past debug's 1h only
        push_at(s, now - 5 * HOUR_NS, 10, app=app, tag="5h")         # past 2h too; audit keeps 30d
    rows = s.query_all()
    seen = sorted({(r["line"].split(" ")[0], r["line"].split(" ")[3]) for r in rows})  # (app, tag)
    assert seen == [("audit", "5h"), ("audit", "90m"), ("web", "90m")], seen
