#!/usr/bin/python3
"""Sustained ingest of loge at a steady rate, with queries running (issue 17).

    run_sustained.py --rate 50000 --duration 20m
    run_sustained.py --find                       # step the rate up, report the highest sustainable one

One run: a fresh loge with its default flags (only --listen, --port and
--output-path set) takes corpus lines (bench/vs/corpus.py, one cycle of every
loghub and Zeek sample line) from loge-loadgen --corpus at --rate lines/s over
--connections connections, stamped at send time, Zeek uids changed per pass
so no line repeats verbatim. Meanwhile, every --sample seconds: every field of
/api/v1/stats, the server's RSS and CPU, the client's acknowledged lines and
429s, the machine's busy time; every --query-every seconds: a needle (a uid
pushed earlier in the run, all time), a label query ({app="zeek",log="dns"},
last hour, limit 100) and a common word (INFO, limit 100), each timed and its
row count checked. Then a Markdown report, the raw samples as JSON, and a PNG
plot over time (backlog, merge rows/s, query latency, RSS, CPU, ingest rate).

"Sustainable" (see bench/sustained/README.md): every push acknowledged (no
transport errors, 429s in at most --max-429-share of the pushes and none in
the judged window), the achieved rate within 2% of the target, and the backlog
without an upward trend over the judged window (the last 10 minutes, or the
last half of a shorter run).

Standard library + matplotlib (bench/install-bench-deps.sh).
"""
import argparse
import collections
import http.client
import importlib.util
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
REPO = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(BENCH, "vs"))
from servers import NS, Loge, log, machine_busy, proc_cpu, proc_mem  # noqa: E402

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
UID_RE = re.compile(r'"(C[0-9A-Za-z]{17})"')
BATCH = 1000  # lines per push, as a shipper batches
LABELS = {"app": "zeek", "log": "dns"}
COMMON = "INFO"
LIMIT = 100
# Backlog series, in order of preference: the first one the server reports
# is judged for the trend (the storage work adds merge_backlog_*).
BACKLOG_KEYS = ["merge_backlog_files", "flush_files"]
# The merge-rate panel averages over this many seconds: loge counts a pass's
# rows when the pass ends, and passes start every --compact-interval (30 s).
MERGE_RATE_SPAN = 30.0


def parse_duration(s):
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", s)
    if not m or not any(m.groups()):
        raise argparse.ArgumentTypeError(f"want a duration such as 20m, 90s, 1h30m: {s}")
    h, mi, sec = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(sec or 0)


def uid_offset(k, pos):
    """CorpusFeed::UidOffset: 1..61, from splitmix64 of (k * 32 + pos)."""
    m = (1 << 64) - 1
    z = (k * 32 + pos + 0x9E3779B97F4A7C15) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    z ^= z >> 31
    return 1 + z % 61


def shift_uid(uid, k):
    """The uid in pass k of loge-loadgen --corpus (CorpusFeed::ShiftUid)."""
    if k == 0:
        return uid
    return uid[0] + "".join(B62[(B62.index(c) + uid_offset(k, j)) % 62] for j, c in enumerate(uid[1:], 1))


def build_corpus(path):
    """One cycle of corpus.py: every sample line once. Returns (rows, needles:
    [(uid, rows holding it)] for uids in 1-5 rows)."""
    spec = importlib.util.spec_from_file_location("corpus", os.path.join(BENCH, "vs", "corpus.py"))
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)
    streams = corpus.load_streams("/work/shared/data/loghub", "/work/shared/data/zeek-json")
    n = sum(len(lines) for _, lines in streams)
    subprocess.run([sys.executable, os.path.join(BENCH, "vs", "corpus.py"), "--lines", str(n), "--out", path],
                   check=True, capture_output=True)
    counts = collections.Counter()
    with open(path, encoding="utf-8", newline="\n") as f:
        f.readline()
        for row in f:
            if '"uid"' in row:
                counts.update(set(UID_RE.findall(row)))
    needles = sorted(u for u, c in counts.items() if 1 <= c <= 5)
    # A fixed spread of them, so consecutive queries never ask for the same uid.
    step = max(1, len(needles) // 500)
    return n, [(u, counts[u]) for u in needles[::step]]


class Conn:
    """One keep-alive HTTP connection (one per thread)."""

    def __init__(self, port):
        self.port = port
        self.c = None

    def request(self, method, path, body=None):
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                t = time.perf_counter()
                self.c.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
                r = self.c.getresponse()
                data = r.read()
                return r.status, data, time.perf_counter() - t
            except (ConnectionError, http.client.HTTPException, OSError):
                self.c.close()
                self.c = None
                if attempt:
                    raise


def last_progress(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().decode().strip().splitlines()
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def one_run(args, rate, duration, corpus, cycle, needles, work, tag):
    """One fresh server at one rate. Returns everything measured."""
    data = os.path.join(work, f"{tag}-data")
    os.makedirs(data)
    server = Loge(args.loge, data, os.path.join(work, f"{tag}-loge.log"))
    log(f"{tag}: loge pid {server.pid} port {server.port}; {rate:,} lines/s for {duration:.0f} s")
    progress = os.path.join(work, f"{tag}-progress.jsonl")
    lg_cmd = [args.loadgen, "--addr", f"http://127.0.0.1:{server.port}", "--path", "/loki/api/v1/push",
              "--corpus", corpus, "--batch", str(BATCH), "--rate", str(rate), "--connections", str(args.connections),
              "--duration", f"{duration:.0f}s", "--progress-file", progress, "--json"]
    samples, queries = [], []
    stop = threading.Event()
    lg_out = open(os.path.join(work, f"{tag}-loadgen.json"), "w")
    lg_err = open(os.path.join(work, f"{tag}-loadgen.err"), "w")
    t0 = time.monotonic()
    wall0 = time.time()
    loadgen = subprocess.Popen(lg_cmd, stdout=lg_out, stderr=lg_err)

    def sampler():
        conn = Conn(server.port)
        next_t = t0
        while True:
            st = {}
            try:
                status, body, _ = conn.request("GET", "/api/v1/stats")
                if status == 200:
                    st = json.loads(body)
            except OSError:
                pass
            busy, total = machine_busy()
            s = {"t": time.monotonic() - t0, "stats": st, "mem": proc_mem(server.pid), "fds": proc_fds(server.pid),
                 "cpu": proc_cpu(server.pid),
                 "client_cpu": proc_cpu(loadgen.pid), "progress": last_progress(progress), "busy": busy,
                 "total": total}
            samples.append(s)
            if stop.is_set():
                return
            next_t += args.sample
            stop.wait(max(0, next_t - time.monotonic()))

    def querier():
        conn = Conn(server.port)
        next_t = t0 + args.query_every
        k = 0
        while not stop.wait(max(0, next_t - time.monotonic())):
            next_t += args.query_every
            now = time.time_ns()
            p = last_progress(progress)
            safe = (p["claimed"] - args.connections * BATCH) if p else 0
            done_pass = safe // cycle - 1  # the newest pass wholly acknowledged
            todo = [("label", {"matchers": [{"name": a, "value": b, "type": "="} for a, b in LABELS.items()],
                               "start": now - 3600 * NS, "end": now, "limit": LIMIT}, None),
                    ("common", {"line": COMMON, "limit": LIMIT}, None)]
            if done_pass >= 0:
                uid, n = needles[k % len(needles)]
                k += 1
                todo.insert(0, ("needle", {"line": shift_uid(uid, done_pass), "limit": LIMIT}, n))
            for name, q, expect in todo:
                t = time.monotonic() - t0
                try:
                    status, body, secs = conn.request("POST", "/api/v1/query", json.dumps(q).encode())
                    doc = json.loads(body) if status == 200 else {}
                    rows = len(doc["data"]) if status == 200 else -1
                except OSError as e:
                    status, secs, rows, doc = 0, 0.0, -1, {}
                    log(f"{tag}: query {name} failed: {e}")
                queries.append({"t": t, "q": name, "s": secs, "status": status, "rows": rows,
                                "ok": status == 200 and rows == (expect if expect is not None else LIMIT),
                                "stats": doc.get("stats", {})})

    threads = [threading.Thread(target=sampler, daemon=True), threading.Thread(target=querier, daemon=True)]
    for th in threads:
        th.start()
    rc = loadgen.wait()
    push_end = time.monotonic() - t0
    stop.set()
    for th in threads:
        th.join()
    lg_out.close()
    lg_err.close()
    with open(os.path.join(work, f"{tag}-loadgen.json")) as f:
        txt = f.read().strip()
    lg = json.loads(txt) if txt else {}
    final_stats = samples[-1]["stats"] if samples else {}
    hwm = server.mem().get("VmHWM", 0)
    cpu = server.cpu()
    t_stop = time.monotonic()
    exit_code = server.stop(timeout=args.stop_timeout)
    stop_s = time.monotonic() - t_stop
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)
    if rc != 0:
        with open(os.path.join(work, f"{tag}-loadgen.err")) as f:
            log(f"{tag}: loadgen exited {rc}: {f.read()[-1500:]}")
    r = {"tag": tag, "rate": rate, "duration": duration, "started": wall0, "push_end": push_end,
         "loadgen_cmd": lg_cmd, "loge_cmd": server.cmd, "loadgen": lg, "loadgen_rc": rc, "samples": samples,
         "queries": queries, "final_stats": final_stats, "peak_rss": hwm, "server_cpu": cpu,
         "stop_s": stop_s, "exit": exit_code}
    r["verdict"] = judge(args, r)
    v = r["verdict"]
    log(f"{tag}: achieved {v['achieved']:,.0f} of {rate:,} lines/s, 429s {v['retries']}, errors {v['errors']}, "
        f"backlog {v['backlog_key']} slope {v['slope_per_min']:+.2f}/min over the last {v['window_s']:.0f} s "
        f"(rise {v['rise']:+.1f}, limit {v['rise_limit']:.1f}) -> {'SUSTAINABLE' if v['ok'] else 'not sustainable'}"
        f" ({'; '.join(v['why']) or 'all conditions met'})")
    return r


def slope(points):
    """Least-squares slope of [(t, y)] (per second), 0 with fewer than 2."""
    if len(points) < 2:
        return 0.0
    mt = statistics.fmean(t for t, _ in points)
    my = statistics.fmean(y for _, y in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (y - my) for t, y in points) / den if den else 0.0


def backlog_key(samples):
    for k in BACKLOG_KEYS:
        if any(k in s["stats"] for s in samples):
            return k
    return None


def judge(args, r):
    """The sustainability verdict of one run (see the module docstring)."""
    lg, samples, duration = r["loadgen"], r["samples"], r["duration"]
    window = min(args.window, duration / 2)
    end = r["push_end"]
    key = backlog_key(samples)
    pts = [(s["t"], s["stats"][key]) for s in samples if key and key in s["stats"] and end - window <= s["t"] <= end]
    sl = slope(pts)
    rise = sl * window
    mean = statistics.fmean(y for _, y in pts) if pts else 0
    # The backlog is a sawtooth (it grows between merge passes and drops at
    # each): a fitted rise smaller than the sawtooth's own height (the
    # peak-to-peak of the residuals around the fitted line) depends on where
    # the window cuts the teeth, and is not a trend.
    mt = statistics.fmean(t for t, _ in pts) if pts else 0
    resid = [y - (mean + sl * (t - mt)) for t, y in pts]
    sawtooth = max(resid) - min(resid) if resid else 0
    limit = max(args.min_rise, args.rise_share * mean, sawtooth)
    pushes = lg.get("pushes", 0)
    retries, errors = lg.get("retries", 0), lg.get("errors", 0) + lg.get("abandoned", 0)
    achieved = lg.get("lines_per_s", 0.0)
    # 429s inside the judged window, from the client's running totals.
    prog = [s["progress"] for s in samples if s["progress"] and end - window <= s["t"] <= end]
    late_429 = prog[-1]["retries"] - prog[0]["retries"] if len(prog) >= 2 else 0
    why = []
    if r["loadgen_rc"] != 0 or errors:
        why.append(f"{errors} pushes failed or were abandoned")
    if pushes and retries > args.max_429_share * pushes:
        why.append(f"429s on {retries} of {pushes} pushes")
    if late_429:
        why.append(f"{late_429} 429s in the judged window")
    if achieved < 0.98 * r["rate"]:
        why.append(f"achieved {achieved:,.0f} < 98% of the target")
    if key is None:
        why.append("no backlog series in /api/v1/stats")
    elif rise > limit:
        why.append(f"{key} rose {rise:+.1f} over the window (limit {limit:.1f})")
    return {"ok": not why, "why": why, "achieved": achieved, "retries": retries, "errors": errors,
            "late_429": late_429, "backlog_key": key, "window_s": window, "slope_per_min": sl * 60, "rise": rise,
            "rise_limit": limit, "sawtooth": sawtooth, "backlog_end": pts[-1][1] if pts else None,
            "backlog_mean": mean}


# ---------------------------------------------------------------- report

def safe_plot(r, work, title):
    """Saves the run's raw figures, then plots them: a missing matplotlib
    (bench/install-bench-deps.sh installs it) costs the picture, not the run
    (--from-raw makes the report and plot again)."""
    raw = os.path.join(work, os.path.basename(os.path.splitext(r["plot"])[0]) + "-run.json")
    with open(raw, "w") as f:
        json.dump(r, f, default=str)
    log(f"raw figures: {raw}")
    try:
        plot(r, r["plot"], title)
    except ImportError as e:
        log(f"no plot ({e}; bash bench/install-bench-deps.sh installs matplotlib)")
        r["plot"] = None


def series(samples, f):
    out = []
    for s in samples:
        try:
            v = f(s)
        except (KeyError, TypeError):
            v = None
        if v is not None:
            out.append((s["t"], v))
    return out


def rates(samples, f, span=0.0, until=None):
    """Per-second rate of a counter: between consecutive samples, or over the
    last `span` seconds at each sample (for counters that move in steps, such
    as rows merged, which count a whole pass at its end). Samples after
    `until` are left out."""
    pts = [p for p in series(samples, f) if until is None or p[0] <= until]
    out, j = [], 0
    for i in range(1, len(pts)):
        while j < i - 1 and pts[i][0] - pts[j + 1][0] >= span:
            j += 1
        a, b = pts[j] if span else pts[i - 1], pts[i]
        if b[0] > a[0]:
            out.append((b[0], (b[1] - a[1]) / (b[0] - a[0])))
    return out


def merged_rows(s):
    st = s["stats"]
    return st["merged_rows"] if "merged_rows" in st else st["compacted_rows"]


def plot(r, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    samples, queries = r["samples"], r["queries"]
    mins = lambda pts: ([t / 60 for t, _ in pts], [v for _, v in pts])  # noqa: E731
    fig, ax = plt.subplots(6, 1, figsize=(8, 12), sharex=True)
    a = ax[0]
    for k in ["flush_files", "merge_backlog_files", "segments_total"]:
        pts = series(samples, lambda s, k=k: s["stats"][k])
        if pts:
            a.plot(*mins(pts), label=k)
    a.set_ylabel("files")
    a.set_title("backlog")
    ar = a.twinx()
    for k, scale, unit in [("merge_backlog_bytes", 2**20, "MiB"), ("merge_lag_seconds", 1, "s"),
                           ("head_bytes", 2**20, "MiB")]:
        pts = series(samples, lambda s, k=k, scale=scale: s["stats"][k] / scale)
        if pts and k != "head_bytes":
            ar.plot(*mins(pts), "--", label=f"{k} ({unit})")
    a.legend(loc="upper left", fontsize=7)
    if ar.lines:
        ar.legend(loc="lower right", fontsize=7)
    else:
        ar.set_visible(False)
    a = ax[1]
    pts = rates(samples, merged_rows, span=MERGE_RATE_SPAN)
    a.plot(*mins(pts), label=("merged_rows" if any("merged_rows" in s["stats"] for s in samples)
                              else "compacted_rows") + f"/s over the last {MERGE_RATE_SPAN:.0f} s")
    pts = rates(samples, lambda s: s["stats"]["rows_total"])
    a.plot(*mins(pts), alpha=0.6, label="rows_total/s (flushed)")
    a.set_ylabel("rows/s")
    a.set_title("merge rows/s")
    a.legend(loc="upper left", fontsize=7)
    a = ax[2]
    for q in ["needle", "label", "common"]:
        pts = [(x["t"], x["s"] * 1000) for x in queries if x["q"] == q and x["status"] == 200]
        if pts:
            a.plot(*mins(pts), ".-", ms=3, lw=0.8, label=q)
    a.set_yscale("log")
    a.set_ylabel("ms")
    a.set_title("query latency")
    a.legend(loc="upper left", fontsize=7)
    a = ax[3]
    a.plot(*mins(series(samples, lambda s: s["mem"]["VmRSS"] / 2**20)), label="VmRSS")
    pts = series(samples, lambda s: s["mem"]["RssAnon"] / 2**20)
    if pts:
        a.plot(*mins(pts), label="RssAnon (heap)")
    pts = series(samples, lambda s: s["stats"]["filter_memory_bytes"] / 2**20)  # servers that report it
    if pts:
        a.plot(*mins(pts), label="filter_memory_bytes")
    pts = series(samples, lambda s: s["stats"]["filter_mapped_bytes"] / 2**20)
    if pts:
        a.plot(*mins(pts), label="filter_mapped_bytes")
    pts = series(samples, lambda s: s["stats"]["filter_resident_bytes"] / 2**20)
    if pts:
        a.plot(*mins(pts), label="filter_resident_bytes")
    pts = series(samples, lambda s: s["stats"]["wal_bytes"] / 2**20)
    if pts:
        a.plot(*mins(pts), label="wal_bytes")
    a.set_ylabel("MiB")
    a.set_title("server RSS, WAL, file descriptors")
    a.legend(loc="upper left", fontsize=7)
    pts = series(samples, lambda s: s["fds"])
    if pts:
        a2 = a.twinx()
        a2.plot(*mins(pts), "g", lw=0.8, alpha=0.7, label="open fds")
        a2.set_ylabel("fds")
        a2.legend(loc="upper right", fontsize=7)
    a = ax[4]
    a.plot(*mins(rates(samples, lambda s: s["cpu"])), label="loge")
    a.plot(*mins(rates(samples, lambda s: s["client_cpu"])), label="loadgen")
    other = []
    for x, y in zip(samples, samples[1:]):
        if None in (x["cpu"], y["cpu"], x["client_cpu"], y["client_cpu"]) or y["t"] <= x["t"]:
            continue
        other.append((y["t"], ((y["busy"] - x["busy"]) - (y["cpu"] - x["cpu"]) - (y["client_cpu"] - x["client_cpu"]))
                      / (y["t"] - x["t"])))
    a.plot(*mins(other), alpha=0.6, label="other processes")
    a.set_ylabel("cores")
    a.set_ylim(0, os.cpu_count() or 2)
    a.set_title("CPU")
    a.legend(loc="upper left", fontsize=7)
    a = ax[5]
    a.plot(*mins(rates(samples, lambda s: s["progress"]["lines"], until=r["push_end"])), label="acknowledged lines/s")
    a.axhline(r["rate"], color="gray", ls=":", label="target")
    pts = rates(samples, lambda s: s["progress"]["retries"])
    if any(v for _, v in pts):
        a2 = a.twinx()
        a2.plot(*mins(pts), "r.", ms=3, label="429/s")
        a2.set_ylabel("429/s")
        a2.legend(loc="lower right", fontsize=7)
    a.set_ylabel("lines/s")
    a.set_title("ingest")
    a.legend(loc="upper left", fontsize=7)
    a.set_xlabel("minutes")
    for a in ax:
        a.grid(alpha=0.3)
        if r["push_end"]:
            a.axvline(r["push_end"] / 60, color="k", lw=0.5)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=args_dpi)
    plt.close(fig)


args_dpi = 80


def pct(xs, p):
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[p - 1]


def proc_fds(pid):
    """Open file descriptors of pid (None when it is gone)."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def steadiness(r, slice_s=300.0):
    """The soak's figures per slice of the push: does anything grow?

    One row per `slice_s` seconds: mean RSS, most file descriptors, largest
    WAL, acknowledged lines/s, and each query's p50. A server that holds up
    has flat columns after the first slice (which fills the head and the
    first merge levels).
    """
    rows, end = [], r["push_end"] or 0
    t = 0.0
    while t < end - 1:
        hi = t + slice_s
        if hi + slice_s / 2 > end:  # a short remainder joins the last slice
            hi = end
        ss = [s for s in r["samples"] if t <= s["t"] < hi]
        qs = [x for x in r["queries"] if t <= x["t"] < hi and x["status"] == 200]
        rss = [s["mem"].get("VmRSS", 0) for s in ss if s.get("mem")]
        anon = [s["mem"]["RssAnon"] for s in ss if "RssAnon" in s.get("mem", {})]
        fds = [s["fds"] for s in ss if s.get("fds") is not None]
        wal = [s["stats"]["wal_bytes"] for s in ss if "wal_bytes" in s.get("stats", {})]
        acked = [s["progress"]["lines"] for s in ss if s.get("progress")]
        rate = (acked[-1] - acked[0]) / (ss[-1]["t"] - ss[0]["t"]) if len(acked) >= 2 and ss[-1]["t"] > ss[0]["t"] \
            else 0
        row = [f"{t / 60:.0f}–{hi / 60:.0f}", f"{statistics.mean(rss) / 2**20:.0f}" if rss else "-",
               f"{statistics.mean(anon) / 2**20:.0f}" if anon else "-",
               f"{max(fds)}" if fds else "-", f"{max(wal) / 2**20:.0f}" if wal else "-", f"{rate:,.0f}"]
        for q in ["needle", "label", "common"]:
            xs = [x["s"] for x in qs if x["q"] == q]
            row.append(f"{pct(xs, 50) * 1000:.1f}" if xs else "-")
        rows.append(row)
        t = hi
    return rows


def run_summary(r):
    lg, v = r["loadgen"], r["verdict"]
    rows = [
        ("target / achieved lines/s", f"{r['rate']:,} / {v['achieved']:,.0f} ({v['achieved'] / r['rate']:.1%})"),
        ("acknowledged lines, pushes", f"{lg.get('lines', 0):,} in {lg.get('pushes', 0):,} pushes over "
                                       f"{lg.get('elapsed_s', 0):.0f} s"),
        ("push latency p50 / p99 / max", f"{lg.get('p50_ms', 0):.1f} / {lg.get('p99_ms', 0):.1f} / "
                                         f"{lg.get('max_ms', 0):.0f} ms"),
        ("429s (retried) / errors", f"{v['retries']} / {v['errors']} ({v['late_429']} 429s in the judged window)"),
        (f"backlog ({v['backlog_key']}) over the last {v['window_s'] / 60:.1f} min",
         f"slope {v['slope_per_min']:+.2f}/min, fitted rise {v['rise']:+.1f} (limit {v['rise_limit']:.1f}, "
         f"sawtooth height {v.get('sawtooth', 0):.0f}); "
         f"mean {v['backlog_mean']:.1f}, at the end {v['backlog_end']}"),
    ]
    for q in ["needle", "label", "common"]:
        xs = [x["s"] for x in r["queries"] if x["q"] == q and x["status"] == 200]
        bad = sum(1 for x in r["queries"] if x["q"] == q and not x["ok"])
        if xs:
            rows.append((f"query {q}: p50 / p95 (n)", f"{pct(xs, 50) * 1000:.1f} / {pct(xs, 95) * 1000:.1f} ms "
                                                      f"({len(xs)}{f', **{bad} wrong row counts**' if bad else ''})"))
    st = r["final_stats"]
    lines = lg.get("lines", 0) or 1
    rows += [
        ("peak RSS (VmHWM)", f"{r['peak_rss'] / 2**20:.0f} MiB"),
        ("largest RssAnon sampled (heap and stacks; the rest of RSS is file pages)",
         f"{max([s['mem'].get('RssAnon', 0) for s in r['samples'] if s.get('mem')] or [0]) / 2**20:.0f} MiB"),
        ("server CPU per acknowledged line", f"{r['server_cpu'] * 1e6 / lines:.2f} µs ({r['server_cpu']:.0f} s)"),
        ("stats at the end of the push", ", ".join(f"{k} {st[k]}" for k in
                                                   ["flush_files", "segments_total", "rows_total", "head_rows",
                                                    "wal_bytes", "compacted_rows", "compaction_seconds",
                                                    "merge_backlog_files", "merge_backlog_bytes",
                                                    "merge_lag_seconds", "merged_rows"] if k in st)),
        ("graceful stop after the push", f"{r['stop_s']:.1f} s, exit {r['exit']}"),
    ]
    busy = [s for s in r["samples"] if s["cpu"] is not None and s["client_cpu"] is not None]
    if len(busy) >= 2:
        a, b = busy[0], busy[-1]
        other = (b["busy"] - a["busy"]) - (b["cpu"] - a["cpu"]) - (b["client_cpu"] - a["client_cpu"])
        rows.append(("machine: other processes' CPU during the run",
                     f"{other:.0f} of {b['total'] - a['total']:.0f} CPU-s "
                     f"(loge {b['cpu'] - a['cpu']:.0f}, loadgen {b['client_cpu'] - a['client_cpu']:.0f})"))
    rows.append(("verdict", ("**sustainable**" if v["ok"] else "**not sustainable**: " + "; ".join(v["why"]))))
    return rows


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(x).replace("|", "\\|") for x in row) + " |" for row in rows]
    return "\n".join(out)


def main():
    global args_dpi
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=int, default=50000, help="target lines/s")
    ap.add_argument("--duration", type=parse_duration, default=parse_duration("20m"))
    ap.add_argument("--find", action="store_true",
                    help="step the rate up (--steps), a fresh server and --step-duration per step; report the "
                         "highest sustainable rate")
    ap.add_argument("--steps", default="50000,100000,150000,200000,250000,300000,400000")
    ap.add_argument("--step-duration", type=parse_duration, default=parse_duration("4m"),
                    help="--find: length of each step (the trend is judged over its last half)")
    ap.add_argument("--keep-stepping", action="store_true",
                    help="--find: go on past the first unsustainable step")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--sample", type=float, default=5.0, help="seconds between samples of stats, RSS, CPU")
    ap.add_argument("--query-every", type=float, default=10.0, help="seconds between query rounds")
    ap.add_argument("--window", type=parse_duration, default=parse_duration("10m"),
                    help="the judged window at the end of the run (at most half the run)")
    ap.add_argument("--rise-share", type=float, default=0.10,
                    help="backlog trend limit: fitted rise over the window at most this share of its mean, ...")
    ap.add_argument("--min-rise", type=float, default=8.0,
                    help="... or this much, or the sawtooth's height, whichever is largest")
    ap.add_argument("--max-429-share", type=float, default=0.01, help="429s allowed, as a share of pushes")
    ap.add_argument("--stop-timeout", type=float, default=300)
    ap.add_argument("--loge", default=os.path.join(REPO, "build/release/loge"))
    ap.add_argument("--loadgen", default=os.path.join(REPO, "build/release/bench/loge-loadgen"))
    ap.add_argument("--work-dir", default="/tmp/loge-sustained")
    ap.add_argument("--report", help="Markdown report (default: in the run's folder)")
    ap.add_argument("--plot", help="PNG plot (default: in the run's folder); --find: one per step, suffixed")
    ap.add_argument("--dpi", type=int, default=80)
    ap.add_argument("--keep", action="store_true", help="keep the data dirs")
    ap.add_argument("--from-raw", metavar="FILE",
                    help="run nothing: write the report and plot of a finished run from the raw figures it saved "
                         "(<run folder>/<plot name>-run.json)")
    args = ap.parse_args()
    args_dpi = args.dpi
    for p in (args.loge, args.loadgen):
        if not os.access(p, os.X_OK):
            sys.exit(f"not an executable: {p} (make build first)")
    command = " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)
    if args.from_raw:
        work = os.path.dirname(os.path.abspath(args.from_raw))
    else:
        os.makedirs(args.work_dir, exist_ok=True)
        work = os.path.join(args.work_dir, time.strftime("run-%Y%m%d-%H%M%S-") + str(os.getpid()))
        os.makedirs(work)
    report_path = args.report or os.path.join(work, "report.md")
    plot_path = args.plot or os.path.join(work, "plot.png")
    for p in (report_path, plot_path):
        os.makedirs(os.path.dirname(os.path.abspath(p)), exist_ok=True)
    log(f"work dir {work}")
    runs = []
    if args.from_raw:
        with open(args.from_raw) as f:
            r = json.load(f)
        cycle = r.get("cycle", 0)
        command = r.get("command", command)
        r["plot"] = plot_path
        safe_plot(r, work, f"loge, {r['rate']:,} lines/s target, {r['duration'] / 60:.0f} min, default flags")
        runs.append(r)
        args.find = False
    else:
        corpus = os.path.join(work, "corpus.txt")
        cycle, needles = build_corpus(corpus)
        log(f"corpus: {cycle:,} lines per pass, {len(needles)} needle uids")
    if args.find:
        rates_ = [int(x) for x in args.steps.split(",")]
        for i, rate in enumerate(rates_):
            r = one_run(args, rate, args.step_duration, corpus, cycle, needles, work, f"step{i + 1}-{rate}")
            r["cycle"], r["command"] = cycle, command
            base, ext = os.path.splitext(plot_path)
            r["plot"] = f"{base}-{rate}{ext}"
            safe_plot(r, work, f"loge, {rate:,} lines/s target, step {i + 1}")
            runs.append(r)
            if not r["verdict"]["ok"] and not args.keep_stepping:
                break
    elif not args.from_raw:
        r = one_run(args, args.rate, args.duration, corpus, cycle, needles, work, f"rate-{args.rate}")
        r["cycle"], r["command"] = cycle, command
        r["plot"] = plot_path
        safe_plot(r, work, f"loge, {args.rate:,} lines/s target, {args.duration / 60:.0f} min, default flags")
        runs.append(r)

    title_rate = runs[0]["rate"]
    out = [f"# loge sustained ingest — {'find the highest sustainable rate' if args.find else f'{title_rate:,} lines/s'}",
           "", f"Run {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(runs[0]['started']))} – "
           f"{time.strftime('%H:%M:%S %Z')}. Command:", "", "```", command, "```", "",
           f"loge: `{' '.join(runs[0]['loge_cmd'])}` (default flags otherwise). Load: "
           f"`{' '.join(shlex.quote(a) for a in runs[0]['loadgen_cmd'])}`. Corpus: one cycle of bench/vs/corpus.py "
           f"({cycle:,} lines: every loghub and Zeek sample line once), replayed in passes, timestamps at send time, "
           f"Zeek uids changed per pass. Load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.",
           ""]
    if args.find:
        ok = [r for r in runs if r["verdict"]["ok"]]
        out.append(f"Steps of {args.step_duration / 60:.1f} min, each on a fresh server; the trend is judged over the "
                   f"last {min(args.window, args.step_duration / 2) / 60:.1f} min of each step.")
        out.append("")
        out.append(table(["target lines/s", "achieved", "429s", "backlog slope /min", "needle p50", "verdict"],
                         [(f"{r['rate']:,}", f"{r['verdict']['achieved']:,.0f}", r["verdict"]["retries"],
                           f"{r['verdict']['slope_per_min']:+.2f} ({r['verdict']['backlog_key']})",
                           next((f"{pct(xs, 50) * 1000:.1f} ms" for xs in
                                 [[x['s'] for x in r['queries'] if x['q'] == 'needle' and x['status'] == 200]] if xs),
                                "-"),
                           "sustainable" if r["verdict"]["ok"] else "no: " + "; ".join(r["verdict"]["why"]))
                          for r in runs]))
        out.append("")
        out.append(f"**Highest sustainable rate: {max(r['rate'] for r in ok):,} lines/s**" if ok
                   else "**No step was sustainable.**")
        out.append("")
    for r in runs:
        out.append(f"## {r['rate']:,} lines/s for {r['duration'] / 60:.1f} min")
        out.append("")
        out.append(table(["figure", "value"], run_summary(r)))
        out.append("")
        out.append("Over time (each slice of the push; RSS mean, file descriptors and WAL at their largest, "
                   "query p50s):")
        out.append("")
        out.append(table(["minutes", "RSS MiB", "of it anon MiB", "fds", "WAL MiB", "acked lines/s", "needle ms", "label ms",
                          "common ms"], steadiness(r)))
        out.append("")
        out.append(f"Plot: `{r['plot']}`")
        out.append("")
    report = "\n".join(out)
    print(report)
    with open(report_path, "w") as f:
        f.write(report + "\n")
    with open(os.path.join(work, "samples.json"), "w") as f:
        json.dump(runs, f, default=str)
    log(f"report {report_path}, samples {os.path.join(work, 'samples.json')}")
    return 0 if all(r["verdict"]["ok"] for r in runs) or args.find else 1


if __name__ == "__main__":
    sys.exit(main())
