#!/usr/bin/python3
"""Grafana's Explore sequence (issue 13): what a user waits for when Explore
runs a log query against loge as a Loki data source.

Generates the rows of run_query_bench.py (same generator and seed: web
access logs, JSON app logs, loghub and Zeek samples over the 7 days ending
now), pushes them into a fresh loge (--loge), compacts, then replays what
Explore sends for one log query (/work/shared/specs/grafana-loki-contract.md),
over the last hour and the last 24 h of the data:

  log     GET /loki/api/v1/query_range  query=<Q> limit=1000 direction=backward step=<N>ms, ns times
  volume  GET /loki/api/v1/query_range  query=sum by (level, detected_level) (count_over_time(<Q> | drop __error__[<step>]))
          X-Query-Tags: Source=logvolhist
  labels  GET /loki/api/v1/labels       ns times (autocomplete)

Grafana sends the three at once, so each run issues them concurrently on
three kept-alive connections; the report gives p50/p99 of the run's wall
time (what the user waits for) and of each request, over --reps runs
(>= 20) per window. Standard library only.
"""

import argparse
import os
import shutil
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_query_bench as qb  # noqa: E402

HOUR_NS = 3600 * qb.NS
# Windows, and the steps Grafana derives for them (about 720 points for the
# volume bars; the log query's step is ignored by Loki and loge).
WINDOWS = [("last 1 h", HOUR_NS, 5_000), ("last 24 h", 24 * HOUR_NS, 120_000)]
QUERY = '{app="web"}'  # 45% of the rows


def explore_requests(start, end, step_ms):
    t = {"start": str(start), "end": str(end)}
    vol = f"sum by (level, detected_level) (count_over_time({QUERY} | drop __error__[{step_ms // 1000}s]))"
    return [
        ("log", "/loki/api/v1/query_range?" + urllib.parse.urlencode(
            dict(t, query=QUERY, limit="1000", direction="backward", step=f"{step_ms}ms")), {}),
        ("volume", "/loki/api/v1/query_range?" + urllib.parse.urlencode(dict(t, query=vol, step=f"{step_ms}ms")),
         {"X-Query-Tags": "Source=logvolhist"}),
        ("labels", "/loki/api/v1/labels?" + urllib.parse.urlencode(t), {}),
    ]


def run_once(server, conns, reqs):
    """Sends the requests at once, one connection each; returns (wall s,
    {name: s}, {name: body bytes})."""
    secs, sizes, errors = {}, {}, []

    def one(conn, name, path, headers):
        try:
            t = time.perf_counter()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            secs[name] = time.perf_counter() - t
            sizes[name] = len(data)
            if resp.status != 200:
                errors.append(f"{name}: HTTP {resp.status}: {data[:300]!r}")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"{name}: {e}")

    t = time.perf_counter()
    threads = [threading.Thread(target=one, args=(c, *r)) for c, r in zip(conns, reqs)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    if errors:
        raise RuntimeError("; ".join(errors))
    return wall, secs, sizes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    repo = os.path.dirname(os.path.dirname(HERE))
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=20240607)
    ap.add_argument("--real-share", type=float, default=0.10)
    ap.add_argument("--loge", default=os.path.join(repo, "build/release/loge"))
    ap.add_argument("--loghub", default="/work/shared/data/loghub")
    ap.add_argument("--zeek", default="/work/shared/data/zeek-json")
    ap.add_argument("--work-dir", default="/tmp/loge-explorebench")
    ap.add_argument("--report", default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--durable", default="false", choices=["true", "false"])
    ap.add_argument("--payload-size", type=int, default=10000)
    ap.add_argument("--flush-interval", default="2s")
    ap.add_argument("--compact-min-files", type=int, default=8)
    ap.add_argument("--buckets", type=int, default=0)
    ap.add_argument("--loge-arg", action="append", default=[])
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--no-progress", dest="progress", action="store_false")
    args = ap.parse_args()
    if args.reps < 20:
        sys.exit("--reps must be at least 20")
    if not os.access(args.loge, os.X_OK):
        sys.exit(f"no loge binary at {args.loge}")
    os.makedirs(args.work_dir, exist_ok=True)
    machine = qb.machine_info(args)
    work = os.path.join(args.work_dir, time.strftime("run-%Y%m%d-%H%M%S-") + str(os.getpid()))
    os.makedirs(work, exist_ok=True)
    server = None
    ok = False
    try:
        qb.log(f"work dir {work}")
        t = time.time()
        qb.generate(args, work)
        gen_s = time.time() - t
        server = qb.Loge(args, os.path.join(work, "data"), os.path.join(work, "loge.log"))
        push_s, drain_s, compact_s = qb.load_and_compact(server, args, work)
        st = server.stats()
        qb.log(f"pushed {st['rows_total']:,} rows in {push_s:.0f}s, compacted in {compact_s:.0f}s")
        end = st["max_timestamp"] + 1
        load_before = os.getloadavg()
        conns = [server.connect() for _ in range(3)]
        results = []
        for label, span, step_ms in WINDOWS:
            reqs = explore_requests(end - span, end, step_ms)
            walls, per, sizes = [], {name: [] for name, _, _ in reqs}, {}
            for _ in range(args.reps):
                wall, secs, sizes = run_once(server, conns, reqs)
                walls.append(wall)
                for name, s in secs.items():
                    per[name].append(s)
            results.append((label, step_ms, walls, per, sizes))
            qb.log(f"{label}: sequence p50 {qb.pct(walls, 50) * 1000:.0f} ms, p99 {qb.pct(walls, 99) * 1000:.0f} ms")
        load_after = os.getloadavg()
        report = build_report(args, machine, gen_s, push_s, drain_s, compact_s, st, results, load_before, load_after)
        print(report)
        if args.report:
            with open(args.report, "w") as f:
                f.write(report)
        ok = True
    finally:
        if server is not None:
            server.stop()
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def build_report(args, machine, gen_s, push_s, drain_s, compact_s, st, results, load_before, load_after):
    out = [f"## Grafana's Explore sequence on {st['rows_total']:,} lines (issue 13)", ""]
    out.append("Machine: " + "; ".join(f"{k} {v}" for k, v in machine) + ".")
    out.append(f"Load average (1, 5, 15 min) before the timed runs: {', '.join(f'{x:.2f}' for x in load_before)}; "
               f"after: {', '.join(f'{x:.2f}' for x in load_after)} (the machine is shared).")
    out.append("")
    out.append(f"Rows: {st['rows_total']:,} over 7 days; generate {gen_s:.0f} s, push {push_s:.0f} s, "
               f"drain {drain_s:.0f} s, compact {compact_s:.0f} s. Query `{QUERY}`; the three requests sent "
               f"at once on three connections, {args.reps} runs per window, warm page cache.")
    out.append("")
    out.append("| window | step | sequence p50 ms | sequence p99 ms | log p50/p99 ms | volume p50/p99 ms | "
               "labels p50/p99 ms | answer bytes (log / volume / labels) |")
    out.append("|---|---|---|---|---|---|---|---|")
    for label, step_ms, walls, per, sizes in results:
        cells = [f"{qb.pct(per[n], 50) * 1000:.0f} / {qb.pct(per[n], 99) * 1000:.0f}" for n in ("log", "volume", "labels")]
        out.append(f"| {label} | {step_ms}ms | {qb.pct(walls, 50) * 1000:.0f} | {qb.pct(walls, 99) * 1000:.0f} | "
                   f"{' | '.join(cells)} | {sizes['log']:,} / {sizes['volume']:,} / {sizes['labels']:,} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
