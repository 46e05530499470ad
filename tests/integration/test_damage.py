"""Damage containment against the real binary (docs/reliability.md): byte
flips in a flush file are quarantined while the rest keeps answering,
startup survives a damaged file and an unreadable catalog, and
`loge check` reports damage with its exit code."""

import os
import subprocess
import urllib.parse

from conftest import loge_bin, stream, wait_for

FAST = ("--flush-interval", "50ms", "--compact-interval", "0", "--checkpoint-interval", "100ms",
        "--buckets", "1")


def stats(s):
    r = s.request("GET", "/api/v1/stats")
    assert r.status == 200, r
    return r.json()


def fill(s, clock, apps, per=50):
    """One flush file per app; returns {app: lines}."""
    pushed = {}
    for app in apps:
        values = [(clock.next(), f"{app} line {i}") for i in range(per)]
        s.push_ok(stream({"app": app}, values))
        wait_for(lambda: stats(s)["head_rows"] == 0, 30, "the head to flush")
        pushed[app] = [v[1] for v in values]
    return pushed


def flip(path, n=32):
    """Flips n bytes a quarter into the file: in its compressed frames."""
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        at = len(data) // 4
        for i in range(at, at + n):
            data[i] ^= 0x5A
        f.seek(0)
        f.write(data)


def check(dirpath):
    return subprocess.run([loge_bin(), "check", "--output-path", dirpath], capture_output=True, text=True,
                          timeout=120)


def test_a_damaged_flush_file_is_quarantined_and_the_rest_answers_partial(loge, clock):
    s = loge(*FAST)
    fill(s, clock, ["a", "b", "c"])
    files = s.flush_files()
    assert len(files) == 3, files
    victim = files[1]  # app "b"
    flip(os.path.join(s.dir, victim))

    doc = s.query(matchers=[], limit=1000)
    assert doc["partial"] is True, doc.get("warnings")
    assert any(victim in w for w in doc["warnings"]), doc["warnings"]
    apps = sorted({r["labels"]["app"] for r in doc["data"]})
    assert apps == ["a", "c"] and len(doc["data"]) == 100

    assert os.path.exists(os.path.join(s.dir, "quarantine", victim))
    assert stats(s)["files_quarantined"] == 1
    metrics = s.request("GET", "/metrics").body.decode()
    assert "loge_files_quarantined_total 1" in metrics
    # Later reads no longer see it; label values, volume and compaction work.
    again = s.query(matchers=[], limit=1000)
    assert again["partial"] is False and len(again["data"]) == 100
    r = s.request("GET", "/loki/api/v1/label/app/values")
    assert r.status == 200, r
    assert r.json()["data"] == ["a", "c"]
    assert s.request("POST", "/api/v1/admin/compact").status == 200
    assert stats(s)["flush_files"] == 0 and stats(s)["segments_total"] == 1
    assert len(s.query(matchers=[], limit=1000)["data"]) == 100


def test_startup_survives_damaged_files_and_an_unreadable_catalog(loge, clock):
    s = loge(*FAST)
    fill(s, clock, ["a", "b", "c"])
    s.stop()
    files = s.flush_files()
    flip(os.path.join(s.dir, files[0]))
    with open(os.path.join(s.dir, "catalog.sqlite"), "r+b") as f:
        f.write(b"not a database at all" * 200)
    os.makedirs(os.path.join(s.dir, "stray.tmp"))
    s.start()
    st = stats(s)
    assert st["catalog_rebuilds"] == 1
    assert st["files_quarantined"] >= 2  # the catalog (and its journal) and the damaged file
    rows = s.query(matchers=[], limit=1000)["data"]
    assert sorted({r["labels"]["app"] for r in rows}) == ["b", "c"] and len(rows) == 100
    assert os.path.exists(os.path.join(s.dir, "quarantine", files[0]))
    assert os.path.exists(os.path.join(s.dir, "quarantine", "catalog.sqlite"))


def test_loge_check_exit_codes(loge, clock):
    s = loge(*FAST)
    fill(s, clock, ["a", "b"])
    busy = check(s.dir)
    assert busy.returncode == 1
    assert "running loge" in busy.stderr, busy.stderr
    s.stop()

    clean = check(s.dir)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "clean" in clean.stdout

    victim = s.flush_files()[0]
    flip(os.path.join(s.dir, victim))
    damaged = check(s.dir)
    assert damaged.returncode == 1, damaged.stdout
    assert f"DAMAGED {os.path.join(s.dir, victim)}" in damaged.stdout, damaged.stdout
    assert "frame 0" in damaged.stdout, damaged.stdout

    missing = check(os.path.join(s.workdir, "nope"))
    assert missing.returncode == 1 and "no such directory" in missing.stderr


def test_loki_answers_over_a_damaged_file_carry_its_warning(loge, clock):
    # Grafana reads Loki's top-level `warnings` (beside `data`) and shows
    # them above the result: a quarantined file's rows are missing, and the
    # answer says so, for log and metric queries alike. (A query reads
    # every file whose time and label names fit, so each part damages a
    # file no query has read yet.)
    s = loge(*FAST)
    fill(s, clock, ["a", "b"])
    files = s.flush_files()
    assert len(files) == 2, files
    flip(os.path.join(s.dir, files[1]))  # app "b"
    window = {"start": str(clock.t - 3_600_000_000_000), "end": str(clock.t + 1_000_000_000_000)}

    r = s.request("GET", "/loki/api/v1/query_range?" + urllib.parse.urlencode({"query": '{app=~".+"}', **window}))
    assert r.status == 200, r
    doc = r.json()
    assert any(files[1] in w for w in doc.get("warnings", [])), doc
    assert [x["stream"]["app"] for x in doc["data"]["result"]] == ["a"]

    fill(s, clock, ["c"])
    victim = [f for f in s.flush_files() if f not in files][0]
    flip(os.path.join(s.dir, victim))
    q = 'sum(count_over_time({app=~".+"} |= "line" [2h]))'  # a line filter: the text must be read
    r = s.request("GET", "/loki/api/v1/query?" + urllib.parse.urlencode({"query": q, "time": window["end"]}))
    assert r.status == 200, r
    doc = r.json()
    assert any(victim in w for w in doc.get("warnings", [])), doc
    assert doc["data"]["result"][0]["value"][1] == "50"

    # Once quarantined, the files are out of every answer: no warning.
    r = s.request("GET", "/loki/api/v1/query_range?" + urllib.parse.urlencode({"query": '{app=~".+"}', **window}))
    assert r.status == 200 and "warnings" not in r.json(), r
