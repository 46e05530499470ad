#!/usr/bin/python3
"""LogQL benchmark (issue 12): metric and pipeline queries on the query
benchmark's data.

Generates the rows of run_query_bench.py (same generator, same seed: web
access logs, JSON app logs, loghub and Zeek samples over the 7 days ending
now), pushes them into a fresh loge, compacts, then times over the last day
of data, through POST /api/v1/query:

  (m1) sum by (app) (count_over_time({app=~".+"}[5m]))        step 5m
  (m2) sum by (level) (rate({app="web"} |= "error" [1m]))     step 1m
  (l1) {app="web"} | json | status >= 500                      limit 100
  (m3) quantile_over_time(0.99, {app="web"} | logfmt | unwrap duration [5m]) by (host)   step 5m

and the same shapes on fields the generated data has (m2*, l1*, m3*: the web
lines are access logs, so m2, l1 and m3 find nothing).

Each query runs once, then up to --reps times in all (--reps-slow when the
first run took over 0.5 s); the report gives first run, p50, p99 and max in
ms, the answer's size and the server's scan counters. Standard library only.
"""

import argparse
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_query_bench as qb  # noqa: E402

DAY_NS = 24 * 3600 * qb.NS
QUERIES = [
    ("m1", 'sum by (app) (count_over_time({app=~".+"}[5m]))', "5m", None),
    ("m2", 'sum by (level) (rate({app="web"} |= "error" [1m]))', "1m", None),
    ("l1", '{app="web"} | json | status >= 500', None, 100),
    ("m3", 'quantile_over_time(0.99, {app="web"} | logfmt | unwrap duration [5m]) by (host)', "5m", None),
    # The generator's web lines are access logs with no "error", no JSON and
    # no `duration` field, so m2, l1 and m3 measure a scan that finds nothing.
    # The same shapes on fields the data has:
    ("m2*", 'sum by (level) (rate({app="api"} |= "error" [1m]))', "1m", None),
    ("l1*", '{app="api"} | json | duration_ms >= 200', None, 100),
    ("m3*", 'quantile_over_time(0.99, {app="web"} | logfmt | unwrap rt [5m]) by (host)', "5m", None),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    repo = os.path.dirname(os.path.dirname(HERE))
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=20240607)
    ap.add_argument("--real-share", type=float, default=0.10)
    ap.add_argument("--loge", default=os.path.join(repo, "build/release/loge"))
    ap.add_argument("--loghub", default="/work/shared/data/loghub")
    ap.add_argument("--zeek", default="/work/shared/data/zeek-json")
    ap.add_argument("--work-dir", default="/tmp/loge-logqlbench")
    ap.add_argument("--report", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the run's work dir (its data can be --reuse'd)")
    ap.add_argument("--reuse", default=None,
                    help="a kept run's work dir: query its compacted data again instead of generating and pushing")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--durable", default="false", choices=["true", "false"])
    ap.add_argument("--payload-size", type=int, default=10000)
    ap.add_argument("--flush-interval", default="2s")
    ap.add_argument("--compact-min-files", type=int, default=8)
    ap.add_argument("--buckets", type=int, default=0)
    ap.add_argument("--loge-arg", action="append", default=[])
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--reps-slow", type=int, default=5)
    ap.add_argument("--no-progress", dest="progress", action="store_false")
    args = ap.parse_args()
    if not os.access(args.loge, os.X_OK):
        sys.exit(f"no loge binary at {args.loge}")
    machine = qb.machine_info(args)
    os.makedirs(args.work_dir, exist_ok=True)
    work = args.reuse or os.path.join(args.work_dir, time.strftime("run-%Y%m%d-%H%M%S-") + str(os.getpid()))
    os.makedirs(work, exist_ok=True)
    if args.reuse:
        args.keep = True
    server = None
    gen_s = push_s = drain_s = compact_s = 0.0
    try:
        qb.log(f"work dir {work}")
        if not args.reuse:
            t = time.time()
            qb.generate(args, work)
            gen_s = time.time() - t
        server = qb.Loge(args, os.path.join(work, "data"), os.path.join(work, "loge.log"))
        if not args.reuse:
            push_s, drain_s, compact_s = qb.load_and_compact(server, args, work)
        st = server.stats()
        qb.log(f"pushed {args.lines:,} in {push_s:.0f}s, compacted in {compact_s:.0f}s: {st}")
        end = st["max_timestamp"]
        start = end - DAY_NS
        results = []
        for name, q, step, limit in QUERIES:
            body = {"query": q, "start": start, "end": end}
            if step:
                body["step"] = step
            if limit:
                body["limit"] = limit
            payload = json.dumps(body).encode()
            answer = {}

            def once():
                status, _, data, secs = server.request("POST", "/api/v1/query", payload)
                if status != 200:
                    raise RuntimeError(f"{q}: HTTP {status}: {data[:300]!r}")
                answer["body"] = json.loads(data)
                return secs, None

            m = qb.measure(once, args.reps, args.reps_slow)
            d = answer["body"]["data"]
            size = (f"{len(d['result'])} series, {sum(len(s.get('values', [])) for s in d['result'])} points"
                    if isinstance(d, dict) else f"{len(d)} rows")
            results.append((name, q, m, size, answer["body"].get("stats", {})))
            qb.log(f"{name}: p50 {m['p50'] * 1000:.0f} ms, {size}")
        report = build_report(args, machine, gen_s, push_s, drain_s, compact_s, st, results)
        print(report)
        if args.report:
            with open(args.report, "w") as f:
                f.write(report)
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def build_report(args, machine, gen_s, push_s, drain_s, compact_s, st, results):
    out = [f"## LogQL queries on {args.lines:,} lines (issue 12)", ""]
    out.append("Machine: " + "; ".join(f"{k} {v}" for k, v in machine) + ".")
    out.append("")
    out.append(f"Rows: {st['rows_total']:,} in {st['segments_total'] if 'segments_total' in st else st.get('segments', '?')} "
               f"segments; generate {gen_s:.0f} s, push {push_s:.0f} s, drain {drain_s:.0f} s, compact {compact_s:.0f} s. "
               "Window: the last 24 h of data; warm page cache.")
    out.append("")
    out.append("| query | first ms | p50 ms | p99 ms | max ms | answer | scan |")
    out.append("|---|---|---|---|---|---|---|")
    for name, q, m, size, stats in results:
        scan = ", ".join(f"{k} {v}" for k, v in stats.items() if k in
                         ("files_opened", "blocks_scanned", "blocks_from_headers", "rows_processed"))
        out.append(f"| ({name}) `{q}` | {m['first'] * 1000:.0f} | {m['p50'] * 1000:.0f} | "
                   f"{m['p99'] * 1000:.0f} | {m['max'] * 1000:.0f} | {size} ({m['reps']} runs) | {scan} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
