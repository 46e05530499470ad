"""Interop with Loki clients nobody here wrote: winston-loki (protobuf +
snappy to /loki/api/v1/push) and pino-loki (JSON with structured metadata),
installed from npm at the versions pinned by package-lock.json (`npm ci`,
run by scripts/install-deps.sh).

Each test starts the real server, has ship.mjs log LINES lines through the
client (which batches them), waits for the client to report every batch
acknowledged, then checks through POST /api/v1/query that every line arrived
once with the right labels, timestamp and metadata. The query is polled with
a deadline rather than trusted once, though after the acknowledgement the
lines are already queryable."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from conftest import loge, wait_for  # noqa: E402,F401  (loge is a fixture)

LINES = 3000
LEVELS = ["info", "warn", "error", "debug"]
SHIP_TIMEOUT_S = 120.0
QUERY_DEADLINE_S = 30.0


def node():
    path = shutil.which("node")
    if path is None:
        pytest.fail("node not found: run scripts/install-deps.sh")
    for pkg in ("winston-loki", "pino-loki", "winston", "pino", "snappy"):
        if not os.path.isdir(os.path.join(HERE, "node_modules", pkg)):
            pytest.fail(f"tests/interop/node_modules/{pkg} missing: run scripts/install-deps.sh (npm ci)")
    return path


def ship(client, port, run_id, base_ms):
    cmd = [node(), os.path.join(HERE, "ship.mjs"), client, f"http://127.0.0.1:{port}", str(LINES), run_id,
           str(base_ms)]
    p = subprocess.run(cmd, cwd=HERE, capture_output=True, timeout=SHIP_TIMEOUT_S)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    assert p.returncode == 0, f"{client} exited {p.returncode}\nstdout: {out}\nstderr: {err}"
    # pino-loki reports a failed push on stderr and carries on: any output there is a failure.
    assert err.strip() == "", f"{client} wrote to stderr:\n{err}"
    return json.loads(out.strip().splitlines()[-1])


def all_rows(server, run_id):
    """Every row of the run, newest first (LINES fits one page)."""
    doc = server.query(query='{run="%s"}' % run_id, start=1, end=2**62, limit=5000)
    return doc["data"]


def wait_for_rows(server, run_id):
    return wait_for(lambda: (lambda r: r if len(r) >= LINES else None)(all_rows(server, run_id)),
                    QUERY_DEADLINE_S, f"{LINES} rows of run {run_id}", interval=0.1)


def run_id(client):
    return f"{client}-{os.getpid()}-{time.monotonic_ns()}"


def test_winston_loki_protobuf_lines_arrive_with_labels_and_timestamps(loge):
    s = loge("--flush-interval", "1s")  # flush files while the client ships
    rid = run_id("winston")
    base_ms = 1_700_000_000_000
    summary = ship("winston", s.port, rid, base_ms)
    assert summary == {"client": "winston", "lines": LINES, "contentType": "application/x-protobuf"}, summary

    rows = wait_for_rows(s, rid)
    assert len(rows) == LINES
    by_line = {r["line"]: r for r in rows}
    assert len(by_line) == LINES, "a line arrived twice"
    for i in range(LINES):
        line = f"interop winston line {i} {rid}"
        assert line in by_line, f"line {i} missing"
        r = by_line[line]
        assert r["timestamp"] == (base_ms + i) * 1_000_000, (i, r)
        # service_name and detected_level are what Loki adds to every push.
        assert r["labels"] == {"client": "winston", "job": "interop", "level": LEVELS[i % 4], "run": rid,
                               "service_name": "interop", "shard": str(i % 3)}, (i, r)
        # winston-loki sends no structured metadata over protobuf: only the detected level.
        assert r["metadata"] == {"detected_level": LEVELS[i % 4]}, r


def test_pino_loki_json_lines_arrive_with_labels_timestamps_and_metadata(loge):
    s = loge("--flush-interval", "1s")
    rid = run_id("pino")
    base_ms = 1_700_000_100_000
    summary = ship("pino", s.port, rid, base_ms)
    assert summary == {"client": "pino", "lines": LINES}, summary

    rows = wait_for_rows(s, rid)
    assert len(rows) == LINES
    pino_level = {"info": (30, "info"), "warn": (40, "warning"), "error": (50, "error"), "debug": (20, "debug")}
    seen = set()
    for r in rows:
        doc = json.loads(r["line"])  # pino-loki ships the pino record as the line
        i = int(r["metadata"]["seq"])
        assert i not in seen, f"line {i} arrived twice"
        seen.add(i)
        number, label = pino_level[LEVELS[i % 4]]
        assert doc["msg"] == f"interop pino line {i} {rid}" and doc["level"] == number, (i, doc)
        assert r["timestamp"] == (base_ms + i) * 1_000_000, (i, r)
        assert r["labels"] == {"client": "pino", "hostname": "interop-host", "job": "interop", "level": label,
                               "run": rid, "service_name": "interop", "shard": str(i % 3)}, (i, r)
        # The level label, normalised (warning -> warn), as Loki's detected_level.
        assert r["metadata"] == {"seq": str(i), "detected_level": LEVELS[i % 4]}, (i, r)
    assert seen == set(range(LINES))
    # The metadata is matchable: one line by its seq.
    one = s.query(query='{run="%s"} | seq="1234"' % rid, start=1, end=2**62)["data"]
    assert [json.loads(r["line"])["msg"] for r in one] == [f"interop pino line 1234 {rid}"]
