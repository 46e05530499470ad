#!/usr/bin/python3
"""What one needle costs on an existing store, with nothing else running.

    run_needle_probe.py --loge BIN --data-dir DIR [--queries 400] [--needles 20]
    run_needle_probe.py --loge BIN --head-rows 50000 --loadgen LG --corpus FILE

Opens DIR (a data directory a benchmark kept, e.g. run_sustained.py --keep)
with BIN and its default flags, waits until its background work settles
(merges of a backlog left behind), then picks Zeek uids that occur in at
most --max-rows rows, from dns rows spread over the stored time range, and
asks for them in rotation --queries times. Reports the client-side p50 and
p95, the server's CPU per query (from /proc/<pid>/stat) and the last
answer's stats (files considered, pruned, opened; blocks read). Run it
twice with two binaries on the same directory to compare them: the store
is left as found apart from what its own merges did before the first
query.

With --head-rows N it measures the unflushed head instead: a fresh server
that does not flush (--flush-interval 1h, --max-head-size 1GiB) takes N
lines of a bench/vs/corpus.py FILE from loge-loadgen, then answers needles
no line holds, which read every head row and no file.

Standard library only; the helpers are bench/vs/servers.py's.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "vs"))
from servers import Loge, log, wait_settled  # noqa: E402

UID_RE = re.compile(r'"uid":"(C[0-9A-Za-z]{15,})"')
DNS = [{"name": "app", "value": "zeek", "type": "="}, {"name": "log", "value": "dns", "type": "="}]


def pick_needles(server, want, max_rows):
    """Uids of dns rows spread over the stored time range, each in at most max_rows rows."""
    _, newest, _ = server.query({"matchers": DNS, "start": 1, "limit": 1})
    if not newest:
        raise SystemExit("no {app=\"zeek\",log=\"dns\"} rows in this store")
    hi = newest[0][0]
    # The oldest row, through Loki's API (loge's own query reads newest first).
    q = urllib.parse.urlencode({"query": '{app="zeek",log="dns"}', "start": "1", "end": str(hi + 1),
                                "limit": "1", "direction": "forward"})
    status, body, _ = server.request("GET", "/loki/api/v1/query_range?" + q)
    streams = json.loads(body)["data"]["result"] if status == 200 else []
    lo = int(streams[0]["values"][0][0]) if streams else hi - 600 * 10**9
    needles, tries = [], 0
    while len(needles) < want and tries < want * 10:
        t = hi - (hi - lo) * tries // (want * 10)
        tries += 1
        _, rows, _ = server.query({"matchers": DNS, "start": t - 10**9, "end": t, "limit": 1})
        m = UID_RE.search(rows[0][1]) if rows else None
        if m is None or m.group(1) in needles:
            continue
        _, hits, _ = server.query({"line": m.group(1), "limit": 100})
        if len(hits) <= max_rows:
            needles.append(m.group(1))
    if not needles:
        raise SystemExit("found no rare uid among the dns rows")
    return needles


def summary(lat):
    """p50 and p95 of latencies in ms."""
    lat = sorted(lat)
    return f"p50 {statistics.median(lat):.1f} ms, p95 {lat[int(0.95 * (len(lat) - 1))]:.1f} ms"


def probe_head(args):
    """Absent needles against a head of --head-rows rows and no files."""
    work = tempfile.mkdtemp(prefix="needle-probe-head-")
    server = Loge(args.loge, os.path.join(work, "data"), args.log or os.path.join(work, "loge.log"),
                  extra=["--flush-interval", "1h", "--max-head-size", "1GiB"])
    try:
        subprocess.run([args.loadgen, "--addr", f"http://127.0.0.1:{server.port}", "--path", Loge.push_path,
                        "--corpus", args.corpus, "--batch", "1000", "--lines", str(args.head_rows),
                        "--connections", "4"], check=True, stdout=subprocess.DEVNULL)
        stats = server.stats()
        cpu0, lat = server.cpu(), []
        for i in range(args.queries):
            secs, rows, _ = server.query({"line": f"CzzQzzQzzQzzQzzQzz{i}", "limit": 100})
            assert not rows, "an absent needle was found"
            lat.append(secs * 1000)
        cpu = (server.cpu() - cpu0) * 1000 / args.queries
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"head of {stats['head_rows']:,} rows ({stats['head_bytes'] / 2**20:.1f} MiB), no files: absent needle "
          f"{summary(lat)}, server CPU {cpu:.2f} ms per query ({args.queries} queries)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loge", required=True)
    ap.add_argument("--data-dir", help="a kept data directory (or --head-rows)")
    ap.add_argument("--head-rows", type=int, default=0, help="measure a head of this many rows instead")
    ap.add_argument("--loadgen", help="loge-loadgen, for --head-rows")
    ap.add_argument("--corpus", help="a bench/vs/corpus.py file, for --head-rows")
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--needles", type=int, default=20)
    ap.add_argument("--max-rows", type=int, default=5)
    ap.add_argument("--log", default=None, help="the server's log (default: a new file in the temp dir)")
    args = ap.parse_args()
    if args.head_rows:
        if not (args.loadgen and args.corpus):
            ap.error("--head-rows needs --loadgen and --corpus")
        return probe_head(args)
    if not args.data_dir:
        ap.error("give --data-dir or --head-rows")
    data = os.path.abspath(args.data_dir)
    log_path = args.log or os.path.join(tempfile.gettempdir(), f"needle-probe-{os.getpid()}.log")
    server = Loge(args.loge, data, log_path)
    try:
        log(f"loge pid {server.pid} on {data}; waiting for its background work to settle")
        wait_settled(server)
        stats = server.stats()
        needles = pick_needles(server, args.needles, args.max_rows)
        log(f"{stats['rows_total']:,} rows in {stats.get('segments_total', 0) + stats.get('flush_files', 0)} files; "
            f"{len(needles)} needles")
        cpu0 = server.cpu()
        lat, last = [], None
        for i in range(args.queries):
            secs, _, last = server.query({"line": needles[i % len(needles)], "limit": 100})
            lat.append(secs * 1000)
        cpu = (server.cpu() - cpu0) * 1000 / args.queries
    finally:
        server.stop()
    print(f"needle {summary(lat)}, server CPU {cpu:.2f} ms per query ({args.queries} queries, {len(needles)} needles)")
    print("last answer's stats: " + json.dumps(last["stats"]))


if __name__ == "__main__":
    main()
