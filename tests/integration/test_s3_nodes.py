"""Several nodes on one bucket (issue 7, "Reconcile and several nodes";
docs/s3.md "Rotation, keys, grace, reconcile and the node id"): two loge
servers A and B rotate into the same bucket and prefix under their own node
ids, and a third server C started on an empty output path catalogs every
segment of both from the listing (reconcile at startup) and answers queries
over both nodes' cold data exactly as a brute-force scan of what was pushed.

Rotation happens only when forced (`--s3-rotate-age 0s` with a one-hour
`--s3-rotate-interval`): POST /api/v1/admin/rotate runs a pass (rotate,
reconcile, retire) and answers its counts, so nothing here waits for a timer.

MinIO is started once per module by scripts/minio.sh (the suite skips when it
is not installed), with a bucket policy that allows anonymous GetObject:
queries read rotated segments from their public URL. Credentials reach loge
only through the environment. The bucket is read with curl --aws-sigv4, not
with loge's own client.
"""

import json
import os
import re
import subprocess
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from s3util import REGION, run_minio, s3_curl, use_credentials
from conftest import loge_bin, stream, wait_for

BUCKET = "loge-nodes"
PREFIX = "shared/"
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
SEC = 10**9

FAST = ("--flush-interval", "50ms", "--compact-interval", "0", "--compact-min-files", "1",
        "--checkpoint-interval", "100ms",
        # Each compaction's segment is final (>= half of it), so segments stay apart.
        "--segment-size", "4KiB")
# Rotation only when forced: every compacted segment is old enough, but the
# background pass is an hour away.
FORCED_ROTATION = ("--s3-rotate-age", "0s", "--s3-rotate-interval", "1h", "--s3-rotate-grace", "0s")

KEY_RE = re.compile(re.escape(PREFIX) + r"([0-9a-f]{16})/segment-(\d+)-(\d+)-(\d+)\.sqlite\.zst")


@pytest.fixture(scope="module")
def minio():
    yield from run_minio(BUCKET)


@pytest.fixture
def s3env(minio, monkeypatch):
    return use_credentials(minio, monkeypatch)


def s3_flags(minio):
    return ("--s3-bucket", BUCKET, "--s3-prefix", PREFIX, "--s3-endpoint", minio["LOGE_S3_ENDPOINT"],
            "--s3-region", REGION, "--s3-force-path-style", "true")


def segment_keys(minio):
    """{key: (node id, min_ts, max_ts)} of every segment object under PREFIX."""
    q = "list-type=2&prefix=" + urllib.parse.quote(PREFIX, safe="")
    code, body = s3_curl(minio, "GET", f"/{BUCKET}?{q}")
    assert code == 200, body
    root = ET.fromstring(body)
    assert root.find(S3_NS + "IsTruncated").text == "false", "more than one page: list with continuation"
    out = {}
    for c in root.iter(S3_NS + "Contents"):
        key = c.find(S3_NS + "Key").text
        m = KEY_RE.fullmatch(key)
        assert m, f"unexpected object {key}"
        assert int(c.find(S3_NS + "Size").text) > 0, key
        out[key] = (m.group(1), int(m.group(2)), int(m.group(3)))
    return out


def public_url(minio, key):
    return f"{minio['LOGE_S3_ENDPOINT']}/{BUCKET}/{key}"


def stats(s):
    r = s.request("GET", "/api/v1/stats")
    assert r.status == 200, r
    return r.json()


def node_id(s):
    m = re.search(r"S3 tier: node id ([0-9a-f]{16}),", s.log())
    assert m, s.log()
    return m.group(1)


def admin_rotate(s):
    r = s.request("POST", "/api/v1/admin/rotate")
    assert r.status == 200, r
    return r.json()["data"]


def compact(s):
    wait_for(lambda: stats(s)["head_rows"] == 0, 10, "the head to flush")
    r = s.request("POST", "/api/v1/admin/compact")
    assert r.status == 200, r
    st = stats(s)
    assert st["flush_files"] == 0, st
    return st


# --- the data ----------------------------------------------------------------

# Two streams per node; app="api" and env="prod" are shared across the nodes,
# the node label keeps every stream distinct.
STREAMS = {
    "a": [{"app": "api", "env": "prod", "node": "a"}, {"app": "web", "env": "dev", "node": "a"}],
    "b": [{"app": "api", "env": "prod", "node": "b"}, {"app": "db", "env": "prod", "node": "b"}],
}
ROWS_PER_NODE_BATCH = 60


class Row:
    def __init__(self, ts, line, labels):
        self.ts, self.line, self.labels = ts, line, labels

    def key(self):
        return (self.ts, self.line, tuple(sorted(self.labels.items())))


def make_rows(base, node, batch, offset):
    """Batch `batch` of a node: global sequence numbers g in the batch's
    range, every other one (offset 0 for a, 1 for b), so the two nodes'
    timestamps interleave. Distinct timestamps across everything."""
    rows = []
    first = batch * 2 * ROWS_PER_NODE_BATCH
    for i in range(ROWS_PER_NODE_BATCH):
        g = first + 2 * i + offset
        labels = STREAMS[node][i % 2]
        level = "error" if g % 5 == 0 else "info"
        extra = " upstream timeout" if g % 13 == 0 else ""
        line = f"node={node} app={labels['app']} seq={g} level={level} user=u{g % 7}{extra}"
        rows.append(Row(base + g * SEC + 17, line, labels))
    return rows


def push(s, rows):
    by_stream = {}
    for r in rows:
        by_stream.setdefault(tuple(sorted(r.labels.items())), []).append((r.ts, r.line))
    s.push_ok([stream(dict(k), v) for k, v in by_stream.items()])


def expect(rows, match, start=None, end=None, limit=100):
    """Brute force: rows matching, within [start, end], newest first, top limit."""
    hits = [r for r in rows if match(r) and (start is None or r.ts >= start) and (end is None or r.ts <= end)]
    hits.sort(key=lambda r: r.ts, reverse=True)
    return [(r.ts, r.line, r.labels) for r in hits[:limit]]


def got(doc):
    return [(d["timestamp"], d["line"], d["labels"]) for d in doc["data"]]


# (LogQL, brute-force predicate, window as (start, end) offsets in seconds
# from base or None, limit)
def queries(base):
    def w(a, b):
        return (base + a * SEC, base + b * SEC)
    return [
        ('{env="prod"}', lambda r: r.labels["env"] == "prod", None, 5000),
        ('{app="api"}', lambda r: r.labels["app"] == "api", None, 25),
        ('{app=~"api|db", node!="a"}', lambda r: r.labels["app"] in ("api", "db") and r.labels["node"] != "a",
         None, 5000),
        ('{node=~"a|b"} |= "level=error"', lambda r: "level=error" in r.line, None, 5000),
        ('{app="api"} |= "timeout"', lambda r: r.labels["app"] == "api" and "timeout" in r.line, None, 5000),
        ('{env=~".+"}', lambda r: True, w(50, 170), 5000),
        ('{env="prod"} |= "user=u3"', lambda r: r.labels["env"] == "prod" and "user=u3" in r.line, w(33, 201), 40),
        ('{app="web"}', lambda r: r.labels["app"] == "web", w(0, 119), 5000),
        ('{app="nope"}', lambda r: False, None, 100),
    ]


def run_query(s, q, window, limit):
    body = {"query": q, "limit": limit}
    if window:
        body["start"], body["end"] = window
    doc = s.query(**body)
    assert doc["partial"] is False, doc["warnings"]
    assert doc["warnings"] == []
    return doc


def search(s, selector, window, limit, *flags):
    cmd = [loge_bin(), "search", selector, "--addr", f"http://127.0.0.1:{s.port}", "--output", "json",
           "--limit", str(limit), *flags]
    if window:
        cmd += ["--start", str(window[0]), "--end", str(window[1])]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, (cmd, out.stderr)
    return out


def check_queries(c, rows, base):
    for q, match, window, limit in queries(base):
        want = expect(rows, match, *(window or (None, None)), limit=limit)
        doc = run_query(c, q, window, limit)
        assert got(doc) == want, (q, window, limit, len(got(doc)), len(want))


def test_third_node_on_an_empty_output_path_answers_over_both_nodes(loge, s3env):
    # Two hours ago: old enough for any rotate age, and far from "now" so the
    # windows below that exclude the cold data are unambiguous.
    base = (time.time_ns() - 2 * 3600 * SEC) // SEC * SEC

    # 1. Two nodes, one bucket and prefix, separate output paths.
    a = loge(*FAST, *s3_flags(s3env), *FORCED_ROTATION)
    b = loge(*FAST, *s3_flags(s3env), *FORCED_ROTATION)
    id_a, id_b = node_id(a), node_id(b)
    assert id_a != id_b

    # 2. Two segments per node, interleaved in time across the nodes.
    pushed = {"a": [], "b": []}
    for batch in range(2):
        for node, s, offset in (("a", a, 0), ("b", b, 1)):
            rows = make_rows(base, node, batch, offset)
            push(s, rows)
            pushed[node] += rows
            compact(s)
    seg_a, seg_b = stats(a)["segments_total"], stats(b)["segments_total"]
    assert seg_a >= 1 and seg_b >= 1
    assert stats(a)["rows_total"] == stats(b)["rows_total"] == 2 * ROWS_PER_NODE_BATCH

    # A first, then B: B's pass reconciles after its rotation, so it also
    # adopts A's segments (and A knows only its own until its next pass).
    for s, n, adopted in ((a, seg_a, 0), (b, seg_b, seg_a)):
        data = admin_rotate(s)
        assert data["uploaded"] == n and data["upload_failed"] == 0, data
        assert data["adopted"] == adopted, data
        st = stats(s)
        assert st["segments_remote"] == n + adopted and st["segments_local"] == 0, st
    keys = segment_keys(s3env)
    by_node = {}
    for key, (nid, lo, hi) in keys.items():
        by_node.setdefault(nid, []).append((lo, hi))
    assert sorted(by_node) == sorted([id_a, id_b]), keys
    assert len(by_node[id_a]) == seg_a and len(by_node[id_b]) == seg_b, keys
    # The key bounds are the rows' bounds, per node.
    for nid, node in ((id_a, "a"), (id_b, "b")):
        assert min(lo for lo, _ in by_node[nid]) == min(r.ts for r in pushed[node])
        assert max(hi for _, hi in by_node[nid]) == max(r.ts for r in pushed[node])
    # Interleaved: each node's time range overlaps the other's.
    assert min(r.ts for r in pushed["b"]) < max(r.ts for r in pushed["a"])
    assert min(r.ts for r in pushed["a"]) < max(r.ts for r in pushed["b"])

    # 3. A third node on an empty output path: its startup reconcile (before
    # the port opens) catalogs every segment of both nodes as remote.
    c = loge(*FAST, *s3_flags(s3env), "--s3-rotate-interval", "1h")
    id_c = node_id(c)
    assert id_c not in (id_a, id_b)
    st = stats(c)
    assert st["segments_total"] == seg_a + seg_b, st
    assert st["segments_remote"] == seg_a + seg_b, st
    assert st["segments_local"] == 0 and st["flush_files"] == 0, st
    everything = pushed["a"] + pushed["b"]
    assert st["min_timestamp"] == min(r.ts for r in everything), st
    assert st["max_timestamp"] == max(r.ts for r in everything), st
    # Every object, by its public URL (the plan lists all remote segments when
    # there are no hot rows to beat).
    r = c.request("GET", "/api/v1/search/plan?" + urllib.parse.urlencode({"query": "", "limit": 5000}))
    assert r.status == 200, r
    plan = r.json()
    assert plan["hot"] == []
    assert sorted(p["url"].split("?")[0] for p in plan["segments"]) == sorted(public_url(s3env, k) for k in keys)

    # The first query reads the bucket (the zero-request check at step 5 is
    # meaningful only if this counter moves).
    first = run_query(c, '{env=~".+"}', None, 5000)
    assert got(first) == expect(everything, lambda r: True, limit=5000)
    assert len(first["data"]) == 4 * ROWS_PER_NODE_BATCH
    assert first["stats"]["remote_requests"] > 0, first["stats"]
    check_queries(c, everything, base)

    # loge search --local scans the same segments on this machine: the same
    # lines as the server-side search, which are the brute-force answer.
    for q, match, window, limit in queries(base):
        server_side = search(c, q, window, limit)
        local = search(c, q, window, limit, "--local")
        assert local.stderr == "", local.stderr  # no "partial results" warning
        assert local.stdout == server_side.stdout, q
        lines = [json.loads(x)["line"] for x in server_side.stdout.splitlines()]
        assert lines == [w[1] for w in expect(everything, match, *(window or (None, None)), limit=limit)], q

    # 4. A rotates one more (newer) segment; a forced pass on C (rotate +
    # reconcile) makes its rows visible there.
    newer = make_rows(base, "a", 2, 0)
    push(a, newer)
    pushed["a"] += newer
    everything = pushed["a"] + pushed["b"]
    compact(a)
    assert stats(a)["segments_local"] == 1
    data = admin_rotate(a)
    assert data["uploaded"] == 1 and data["upload_failed"] == 0, data
    assert len(segment_keys(s3env)) == seg_a + seg_b + 1
    # Not on C until it reconciles.
    assert stats(c)["segments_total"] == seg_a + seg_b
    assert got(run_query(c, '{node="a"}', None, 5000)) == expect(pushed["a"][:-ROWS_PER_NODE_BATCH],
                                                                 lambda r: True, limit=5000)
    data = admin_rotate(c)
    assert data["adopted"] == 1 and data["uploaded"] == 0 and data["dropped"] == 0, data
    st = stats(c)
    assert st["segments_remote"] == seg_a + seg_b + 1 and st["segments_local"] == 0, st
    assert st["max_timestamp"] == max(r.ts for r in newer), st
    check_queries(c, everything, base)
    doc = run_query(c, '{node="a"} |= "seq=2"', None, 5000)
    assert got(doc) == expect(pushed["a"], lambda r: "seq=2" in r.line, limit=5000)
    assert {ts for ts, _, _ in got(doc)} & {r.ts for r in newer}

    # 5. Windows that exclude all cold data are pruned from the catalog
    # before any S3 request: after the newest row, and before the oldest.
    n_segments = seg_a + seg_b + 1
    newest, oldest = max(r.ts for r in everything), min(r.ts for r in everything)
    for window in ((newest + 1, time.time_ns()), (oldest - 3600 * SEC, oldest - 1)):
        for q in ('{env=~".+"}', '{app="api"} |= "timeout"'):
            doc = run_query(c, q, window, 5000)
            assert doc["data"] == [], doc
            assert doc["stats"]["remote_requests"] == 0, doc["stats"]
            assert doc["stats"]["remote_files_opened"] == 0, doc["stats"]
            assert doc["stats"]["pruned_by_time"] == n_segments, doc["stats"]

    # Nothing of C's own reached the bucket, and C never wrote locally.
    assert {nid for nid, _, _ in segment_keys(s3env).values()} == {id_a, id_b}
    assert c.data_files() == []
    for s in (a, b, c):
        assert s3env["AWS_SECRET_ACCESS_KEY"] not in s.log()
        s.stop()
