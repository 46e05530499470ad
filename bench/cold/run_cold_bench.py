#!/usr/bin/python3
"""Cold-tier (S3) query benchmark for loge: latency and bytes fetched per query
against segment size, next to the same queries on the hot (local) tier.

One run, per segment size S in --segment-lines (default 100k, 500k, 1M):

  1. start a real MinIO (scripts/minio.sh, loopback) once, with a bucket that
     allows anonymous GetObject (remote reads use the public URL);
  2. start a fresh loge with --s3-* flags (rotate age 0s, rotate interval 1h so
     nothing rotates until POST /api/v1/admin/rotate), one bucket worker and
     --payload-size S; push the same N generated rows in N/S time-ordered
     chunks, and after each chunk wait for its one flush file and compact it:
     every segment holds exactly S rows (see README.md for why this way);
  3. hot tier: each query (a)-(d) after a fresh restart of loge (first query,
     in-process caches empty) --first-reps times, then --warm-reps repeats;
  4. POST /api/v1/admin/rotate: every segment goes to the bucket and its local
     copy is deleted (grace 0s);
  5. cold tier: the same queries the same way; per query the stats
     remote_requests / remote_bytes / remote_files_opened;
  6. every answer is compared with the rows the generator recorded and every
     cold answer with the hot one (same rows, same order, same labels); any
     difference fails the run (exit code 1).

Standard library only (imports helpers from bench/query/run_query_bench.py).
See bench/cold/README.md.
"""

import argparse
import collections
import http.client
import json
import math
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "bench", "query"))
import run_query_bench as qb  # noqa: E402  (generator pools, Loge process, push, percentiles, tables)

NS = qb.NS
SPAN_NS = qb.SPAN_NS
TOP = qb.TOP
BUCKET = "loge-cold-bench"
REGION = "us-east-1"
COMMON = qb.COMMON_SUBSTRING  # "GET /api"
PLANTED = 20
# (d): one web stream, a 10-minute window in the middle of the data.
D_STREAM = {"app": "web", "env": "prod", "host": "web-03"}
D_WINDOW_NS = 600 * NS
D_LIMIT = 1000
log = qb.log


# ---------------------------------------------------------------- data

WEB_ENVS = [("prod", 8, 0.85), ("staging", 2, 0.15)]  # 10 web streams
APP_STREAMS = [(svc, "prod") for svc, _ in qb.SERVICES] + [("api", "staging"), ("auth", "staging")]  # 10
WEB_SHARE = 0.55


def generate(args, work, chunk_lines):
    """N rows over the 7 days ending now, strictly increasing timestamps, into
    push-body files of chunk_lines rows each (chunk-NNNN.bin, time order).
    Returns the expected answers and a few counts."""
    rng = random.Random(args.seed)
    r, bits = rng.random, rng.getrandbits
    n = args.lines
    t_end = time.time_ns()
    t0 = t_end - SPAN_NS
    step = SPAN_NS // n
    web = [(qb.labels_json({"app": "web", "env": e, "host": f"web-{h:02d}"}), w / k)
           for e, k, w in WEB_ENVS for h in range(1, k + 1)]
    app = [(qb.labels_json({"app": s, "env": e}), s) for s, e in APP_STREAMS]
    web_pool = qb.pool(web, 2000)
    method_pool, status_pool = qb.pool(qb.METHODS), qb.pool(qb.STATUSES)
    level_pool = qb.pool(qb.LEVELS)
    ips = ["%d.%d.%d.%d" % (rng.choice([10, 66, 81, 172, 203]), rng.randrange(256), rng.randrange(256),
                            rng.randrange(1, 255)) for _ in range(5000)]
    paths = ["/api/v1/users/{i}", "/api/v1/orders/{i}", "/api/v2/search?q={w}", "/static/js/app.{h}.js",
             "/images/products/{i}.jpg", "/cart/items/{i}", "/checkout/{i}", "/login", "/health", "/metrics"]
    path_pool = qb.pool(list(zip(paths, [18, 12, 8, 10, 12, 6, 4, 4, 5, 3])))
    svcs = [s for s, _ in qb.SERVICES]

    def web_line(ts, rid):
        p = path_pool[int(r() * len(path_pool))].format(i=int(r() * 1_000_000), h="%08x" % int(r() * 40),
                                                         w=qb.WORDS[int(r() * len(qb.WORDS))])
        st = status_pool[int(r() * len(status_pool))]
        return (f'{ips[int(r() * 5000)]} - - [{time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(ts // NS))}] '
                f'"{method_pool[int(r() * len(method_pool))]} {p} HTTP/1.1" {st} {0 if st == 304 else int(r() * 40000)} '
                f'"{qb.REFERERS[int(r() * len(qb.REFERERS))]}" "{qb.USER_AGENTS[int(r() * len(qb.USER_AGENTS))]}" '
                f"request_id={rid} rt={r() * r() * 2:.3f}")

    def app_line(svc):
        lvl = level_pool[int(r() * len(level_pool))]
        msgs = qb.APP_MSGS[lvl]
        msg = msgs[int(r() * len(msgs))].format(u=int(r() * 500000), o=int(r() * 10_000_000), j=int(r() * 100000),
                                                ms=int(r() * 5000), n=int(r() * 9) + 1,
                                                svc=svcs[int(r() * len(svcs))])
        return ('{"level":"%s","msg":"%s","service":"%s","trace_id":"%032x","request_id":"%032x","duration_ms":%.1f}'
                % (lvl, msg, svc, bits(128), bits(128), r() * r() * 500))

    token = "rq-%032x" % bits(128)
    planted = set(rng.sample(range(n), PLANTED))
    d_labels = qb.labels_json(D_STREAM)
    d_start = t0 + SPAN_NS // 2
    d_end = d_start + D_WINDOW_NS
    hour = t_end - qb.LAST_HOUR_NS
    exp = {"a": collections.deque(maxlen=TOP), "b": [], "c": collections.deque(maxlen=TOP), "d": []}
    line_bytes = 0
    chunks = []
    bw = None
    for i in range(n):
        if i % chunk_lines == 0:
            if bw:
                bw.close()
            chunks.append(os.path.join(work, "chunk-%04d.bin" % len(chunks)))
            bw = qb.BodyWriter(chunks[-1])
        ts = t0 + (i * SPAN_NS) // n + int(r() * step)
        if i in planted or r() < WEB_SHARE:
            lj = web_pool[int(r() * len(web_pool))]
            line = web_line(ts, token if i in planted else "%032x" % bits(128))
            if i in planted:
                exp["b"].append((ts, line))
            if ts >= hour:
                exp["a"].append((ts, line))
            if lj == d_labels and d_start <= ts <= d_end:
                exp["d"].append((ts, line))
        else:
            lj, svc = app[int(r() * len(app))]
            line = app_line(svc)
        if COMMON in line:
            exp["c"].append((ts, line))
        line_bytes += len(line)
        bw.add(lj, ts, line)
    bw.close()
    if len(exp["d"]) >= D_LIMIT:
        sys.exit(f"(d) would return {len(exp['d'])} rows, more than its limit {D_LIMIT}; use fewer --lines")
    return {"t0": t0, "t_end": t_end, "token": token, "chunks": chunks, "line_bytes": line_bytes,
            "expect": {k: list(v) for k, v in exp.items()}, "d_window": (d_start, d_end),
            "streams": len(web) + len(app)}


def queries(gen):
    d0, d1 = gen["d_window"]
    return [
        ("a", '`{app="web"}`, last hour, limit 100',
         {"start": gen["t_end"] - qb.LAST_HOUR_NS, "matchers": [{"name": "app", "value": "web", "type": "="}],
          "limit": TOP}),
        ("b", "rare token (20 rows), all data, limit 100", {"line": gen["token"], "limit": TOP}),
        ("c", f'common substring `{COMMON}`, all data, limit 100', {"line": COMMON, "limit": TOP}),
        ("d", '`{app="web",env="prod",host="web-03"}`, 10 min in mid-data, limit 1000',
         {"start": d0, "end": d1, "matchers": [{"name": k, "value": v, "type": "="} for k, v in D_STREAM.items()],
          "limit": D_LIMIT}),
    ]


# ---------------------------------------------------------------- MinIO

def start_minio(work):
    minio_sh = os.path.join(REPO, "scripts", "minio.sh")
    r = subprocess.run(["bash", minio_sh, "start", "--bucket", BUCKET, "--data", os.path.join(work, "minio")],
                       capture_output=True, text=True, timeout=900)  # may build MinIO first (5-10 min)
    if r.returncode != 0:
        sys.exit(f"scripts/minio.sh start failed:\n{r.stderr}")
    env = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
    # Remote reads go to the public URL: allow anonymous GetObject, as in
    # tests/integration/test_s3_rotation.py.
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": ["s3:GetObject"],
        "Resource": [f"arn:aws:s3:::{BUCKET}/*"]}]})
    p = subprocess.run(["curl", "-sS", "-f", "-X", "PUT", "--aws-sigv4", f"aws:amz:{REGION}:s3",
                        "--user", f"{env['AWS_ACCESS_KEY_ID']}:{env['AWS_SECRET_ACCESS_KEY']}",
                        "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "--data-binary", policy,
                        f"{env['LOGE_S3_ENDPOINT']}/{BUCKET}?policy="], capture_output=True, text=True)
    if p.returncode != 0:
        stop_minio(env)
        sys.exit(f"could not set the bucket policy: {p.stderr}")
    return env


def stop_minio(env):
    pid = int(env["LOGE_S3_PID"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


# ---------------------------------------------------------------- loge

def restart(server):
    """SIGTERM and start again on the same data dir: empties every in-process
    cache (decoded frames, seek tables); the OS page cache stays warm."""
    server.conn.close()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=120)
    t = time.perf_counter()
    server._start()
    return time.perf_counter() - t


def run_query(server, body):
    raw = json.dumps(body).encode()
    status, _, data, secs = server.request("POST", "/api/v1/query", raw)
    if status != 200:
        raise RuntimeError(f"query {body} -> HTTP {status}: {data[:300]!r}")
    resp = json.loads(data)
    if resp.get("partial") or resp.get("warnings"):
        raise RuntimeError(f"query {body}: partial answer: {resp.get('warnings')}")
    return secs, resp


def measure_tier(server, qs, args, tier):
    """Per query: --first-reps samples each after a restart, then --warm-reps
    repeats in the last process. Returns {key: {"first": [...], "warm": [...],
    "answer": data}} where each sample is (seconds, stats)."""
    out = {}
    for key, _, body in qs:
        first, warm, answers = [], [], []
        for _ in range(args.first_reps):
            restart(server)
            secs, resp = run_query(server, body)
            first.append((secs, resp["stats"]))
            answers.append(resp["data"])
        for _ in range(args.warm_reps):
            secs, resp = run_query(server, body)
            warm.append((secs, resp["stats"]))
            answers.append(resp["data"])
        for a in answers[1:]:
            if a != answers[0]:
                raise SystemExit(f"FAIL: {tier} ({key}) gave different answers on repetition")
        out[key] = {"first": first, "warm": warm, "answer": answers[0]}
        f50 = qb.pct([s for s, _ in first], 50)
        w50 = qb.pct([s for s, _ in warm], 50) if warm else float("nan")
        st = first[-1][1]
        log(f"  {tier} ({key}): rows={len(answers[0])} first p50 {f50 * 1000:.1f} ms, warm p50 {w50 * 1000:.1f} ms; "
            f"first: {st}")
    return out


def check_expected(key, data, expect):
    got = sorted((h["timestamp"], h["line"]) for h in data)
    if got != sorted(expect):
        missing = sorted(set(expect) - set(got))[:3]
        extra = sorted(set(got) - set(expect))[:3]
        raise SystemExit(f"FAIL: hot ({key}) returned {len(got)} rows, expected {len(expect)}; "
                         f"missing {missing} extra {extra}")
    if key == "a" and any(h["labels"].get("app") != "web" for h in data):
        raise SystemExit("FAIL: hot (a) returned a row without app=web")


def segment_files(data_dir):
    return {n: os.path.getsize(os.path.join(data_dir, n)) for n in os.listdir(data_dir)
            if re.fullmatch(r"segment-\d+-\d+-\d+\.sqlite\.zst", n)}


def run_round(args, gen, qs, seg_lines, chunk_lines, work, minio):
    rdir = os.path.join(work, f"round-{seg_lines}")
    os.makedirs(rdir)
    data_dir = os.path.join(rdir, "data")
    head_mib = max(64, math.ceil(seg_lines * 1024 / 1048576))  # ~1 KiB accounted per row: generous
    s3 = ["--s3-bucket", BUCKET, "--s3-prefix", f"cold-bench/{seg_lines}/", "--s3-endpoint",
          minio["LOGE_S3_ENDPOINT"], "--s3-region", REGION, "--s3-force-path-style", "true",
          "--s3-rotate-age", "0s", "--s3-rotate-interval", "1h", "--s3-rotate-grace", "0s"]
    ns = argparse.Namespace(loge=args.loge, compact_min_files=1, payload_size=seg_lines, flush_interval="1m",
                            durable="false", buckets=1,
                            loge_arg=["--max-head-size", f"{head_mib}MiB", *s3, *args.loge_arg])
    server = qb.Loge(ns, data_dir, os.path.join(rdir, "loge.log"))
    res = {"seg_lines": seg_lines, "cmd": server.cmd, "load": [os.getloadavg()[0]]}
    try:
        per = seg_lines // chunk_lines
        t_push = t_compact = 0.0
        for k in range(0, len(gen["chunks"]), per):
            t = time.perf_counter()
            for path in gen["chunks"][k:k + per]:
                qb.push_all(server, path, args.threads)
            qb.wait_for(lambda: server.stats()["head_rows"] == 0, 600, "the segment's rows to flush")
            t_push += time.perf_counter() - t
            t = time.perf_counter()
            server.json("POST", "/api/v1/admin/compact")
            t_compact += time.perf_counter() - t
        st = server.stats()
        nseg = args.lines // seg_lines
        if st["rows_total"] != args.lines or st["segments_total"] != nseg or st["flush_files"] != 0:
            raise SystemExit(f"FAIL: expected {nseg} segments of {seg_lines} rows, got stats {st}")
        segs = segment_files(data_dir)
        res.update(push_s=t_push, compact_s=t_compact, segments=len(segs), seg_bytes=sorted(segs.values()),
                   peak_rss=server.memory().get("VmHWM", 0))
        log(f"round S={seg_lines:,}: {len(segs)} segments, {sum(segs.values()) / len(segs) / 1048576:.1f} MiB each; "
            f"push+flush {t_push:.1f}s, compaction {t_compact:.1f}s")

        res["hot"] = measure_tier(server, qs, args, "hot")
        for key, _, _ in qs:
            check_expected(key, res["hot"][key]["answer"], gen["expect"][key])
        res["load"].append(os.getloadavg()[0])

        t = time.perf_counter()
        rot, _ = server.json("POST", "/api/v1/admin/rotate")
        res["rotate_s"] = time.perf_counter() - t
        st = server.stats()
        if rot["data"]["uploaded"] != nseg or st["segments_remote"] != nseg:
            raise SystemExit(f"FAIL: rotation: {rot} stats {st}")
        qb.wait_for(lambda: not segment_files(data_dir), 60, "the local copies to go")
        log(f"rotated {nseg} segments in {res['rotate_s']:.1f}s: {rot['data']}")

        res["cold"] = measure_tier(server, qs, args, "cold")
        for key, _, _ in qs:
            if res["cold"][key]["answer"] != res["hot"][key]["answer"]:
                h, c = res["hot"][key]["answer"], res["cold"][key]["answer"]
                raise SystemExit(f"FAIL: cold ({key}) differs from hot: {len(c)} vs {len(h)} rows; first difference "
                                 f"{next(((x, y) for x, y in zip(h, c) if x != y), None)}")
            for s, stt in res["cold"][key]["first"]:
                if stt["files_opened"] != stt["remote_files_opened"]:
                    raise SystemExit(f"FAIL: cold ({key}) opened a local file: {stt}")
        res["load"].append(os.getloadavg()[0])
        res["peak_rss"] = max(res["peak_rss"], server.peak_hwm)
        for tier in ("hot", "cold"):
            for key in res[tier]:
                res[tier][key]["n"] = len(res[tier][key].pop("answer"))
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return res


# ---------------------------------------------------------------- report

def fmt_bytes(b):
    if b >= 1048576:
        return "%.2f MiB" % (b / 1048576)
    if b >= 1024:
        return "%.0f KiB" % (b / 1024)
    return "%d B" % b


def summary(samples, seg_mean):
    secs = [s for s, _ in samples]
    st = [x for _, x in samples]
    req = [x["remote_requests"] for x in st]
    byt = [x["remote_bytes"] for x in st]
    opened = [x["files_opened"] for x in st]
    ropened = [x["remote_files_opened"] for x in st]

    def rng(v, f=str):
        lo, hi = min(v), max(v)
        return f(lo) if lo == hi else f"{f(lo)}–{f(hi)}"
    mean_b = sum(byt) / len(byt)
    mean_o = sum(ropened) / len(ropened)
    frac = "—" if not mean_b else "%.2f%%" % (100 * mean_b / (max(mean_o, 1) * seg_mean))
    blocks = rng([x["blocks_scanned"] for x in st])
    skipped = rng([x["block_groups_skipped"] for x in st])
    return [len(secs), qb.ms(qb.pct(secs, 50)), qb.ms(qb.pct(secs, 99)), rng(opened), f"{blocks} / {skipped}",
            rng(req), rng(byt, fmt_bytes), frac]


def report(args, gen, qs, rounds, minio_cmd, command, machine, load0, t_total):
    out = [f"# loge cold-tier benchmark — {args.lines:,} lines", ""]
    out.append(f"Run {time.strftime('%Y-%m-%d %H:%M %Z')} ({t_total / 60:.1f} min). Command:\n\n```\n{command}\n```\n")
    out.append(qb.table(["machine", ""], machine + [
        ("load average (1 min) at start / end", f"{load0:.2f} / {os.getloadavg()[0]:.2f}"),
        ("MinIO", minio_cmd)]))
    out.append("")
    out.append(f"Data: {args.lines:,} rows over 7 days in {gen['streams']} streams (web access lines with "
               f"request_id, JSON app lines), {gen['line_bytes'] / args.lines:.1f} B/line; rare token "
               f"`{gen['token']}` planted {PLANTED}×.")
    out.append("")
    out.append("Queries:\n")
    for k, d, _ in qs:
        out.append(f"- ({k}) {d}")
    out.append("")
    rows = []
    for r in rounds:
        sb = r["seg_bytes"]
        rows.append((f"{r['seg_lines']:,}", r["segments"], fmt_bytes(sum(sb) / len(sb)),
                     "%.1f" % (sum(sb) / len(sb) / r["seg_lines"]), "%.1f" % r["push_s"], "%.1f" % r["compact_s"],
                     "%.1f" % r["rotate_s"], "%.1f MiB" % (r["peak_rss"] / 1048576),
                     " / ".join("%.1f" % l for l in r["load"])))
    out.append(qb.table(["rows/segment", "segments", "segment size (mean)", "B/row", "push+flush s", "compact s",
                         "rotate (upload) s", "loge peak RSS", "load avg (start/hot/cold)"], rows))
    out.append("")
    out.append(f"first = first query after a restart of loge ({args.first_reps} samples: caches of decoded frames "
               f"and seek tables empty, OS page cache warm); warm = {args.warm_reps} repeats in that process. "
               "Requests and bytes are per query (min–max over the samples); *fetched / opened* = remote_bytes ÷ "
               "(remote_files_opened × mean segment size).")
    out.append("")
    for r in rounds:
        seg_mean = sum(r["seg_bytes"]) / len(r["seg_bytes"])
        out.append(f"### {r['seg_lines']:,} rows per segment ({r['segments']} × {fmt_bytes(seg_mean)})")
        out.append("")
        rows = []
        for k, _, _ in qs:
            for tier in ("hot", "cold"):
                for mode in ("first", "warm"):
                    s = r[tier][k][mode]
                    if s:
                        rows.append([k, tier, mode, r[tier][k]["n"]] + summary(s, seg_mean))
        out.append(qb.table(["q", "tier", "mode", "rows", "reps", "p50 ms", "p99 ms", "files opened",
                             "blocks scanned / groups skipped", "remote requests", "remote bytes", "fetched / opened"], rows))
        out.append("")
    out.append("All hot answers equal the generator's rows; every cold answer equals the hot one (rows, order, labels).")
    return "\n".join(out)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="rows pushed in every round (default 1M)")
    ap.add_argument("--segment-lines", default="100000,500000,1000000",
                    help="rows per segment, one round each (multiples of 5000 dividing --lines)")
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--first-reps", type=int, default=5, help="first-query samples (one restart each)")
    ap.add_argument("--warm-reps", type=int, default=20, help="repeats after the last restart")
    ap.add_argument("--threads", type=int, default=4, help="push connections")
    ap.add_argument("--loge", default=os.path.join(REPO, "build/release/loge"))
    ap.add_argument("--loge-arg", action="append", default=[], help="extra loge serve argument (repeat)")
    ap.add_argument("--work-dir", default="/tmp/loge-coldbench")
    ap.add_argument("--report", help="also write the Markdown report here")
    ap.add_argument("--json", help="also write the raw samples here")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (data dirs, logs, MinIO data)")
    args = ap.parse_args()
    if args.first_reps < 1 or args.warm_reps < 0:
        sys.exit("--first-reps must be at least 1 and --warm-reps at least 0")
    sizes = [int(x) for x in args.segment_lines.split(",")]
    for s in sizes:
        if s % qb.BODY_LINES or args.lines % s:
            sys.exit(f"--segment-lines {s}: must be a multiple of {qb.BODY_LINES} and divide --lines {args.lines}")
    if not os.access(args.loge, os.X_OK):
        sys.exit(f"no loge binary at {args.loge}; build it first")
    command = " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)
    os.makedirs(args.work_dir, exist_ok=True)
    args.work_dir = os.path.abspath(args.work_dir)
    machine = qb.machine_info(argparse.Namespace(loge=args.loge, work_dir=args.work_dir))
    machine = [m for m in machine if m[0] not in ("python / sqlite", "zstd / grep")]
    work = os.path.join(args.work_dir, time.strftime("run-%Y%m%d-%H%M%S-") + str(os.getpid()))
    os.makedirs(work)
    load0 = os.getloadavg()[0]
    t_start = time.perf_counter()
    minio = None
    ok = False
    try:
        chunk = math.gcd(*sizes)
        t = time.perf_counter()
        gen = generate(args, work, chunk)
        log(f"generated {args.lines:,} rows in {time.perf_counter() - t:.1f}s into {len(gen['chunks'])} chunks; "
            f"expect a={len(gen['expect']['a'])} b={len(gen['expect']['b'])} c={len(gen['expect']['c'])} "
            f"d={len(gen['expect']['d'])}")
        minio = start_minio(work)
        minio_bin = subprocess.run(["bash", os.path.join(REPO, "scripts", "minio.sh"), "bin"], capture_output=True,
                                   text=True).stdout.strip()
        minio_cmd = f"`scripts/minio.sh start` ({minio_bin}, loopback {minio['LOGE_S3_ENDPOINT']})"
        log(f"MinIO at {minio['LOGE_S3_ENDPOINT']} (pid {minio['LOGE_S3_PID']})")
        os.environ["AWS_ACCESS_KEY_ID"] = minio["AWS_ACCESS_KEY_ID"]
        os.environ["AWS_SECRET_ACCESS_KEY"] = minio["AWS_SECRET_ACCESS_KEY"]
        for k in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
            os.environ.pop(k, None)
        qs = queries(gen)
        rounds = []
        for s in sizes:
            rounds.append(run_round(args, gen, qs, s, chunk, work, minio))
        text = report(args, gen, qs, rounds, minio_cmd, command, machine, load0, time.perf_counter() - t_start)
        print(text)
        if args.report:
            with open(args.report, "w") as f:
                f.write(text + "\n")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"args": vars(args), "rounds": rounds}, f, indent=1)
        ok = True
        return 0
    finally:
        if minio:
            stop_minio(minio)
        if args.keep or not ok:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
