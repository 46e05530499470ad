#!/usr/bin/python3
"""loge and VictoriaLogs side by side on the same real lines (issue 17).

One run, in this order:

  1. corpus   bench/vs/corpus.py --lines N (loghub + Zeek, 7 days ending now),
              unless --corpus gives one already built.
  2. bodies   Loki JSON push bodies built once from it: --body-lines
              consecutive rows each, grouped by stream (as Promtail batches).
              The same scan picks the queries' needles and computes every
              query's expected answer from the corpus itself.
  3. systems  one after the other, never at once, each on a fresh data dir:
              loge (default flags, durable acks), VictoriaLogs with JSON
              message parsing on (its default) and off
              (disable_message_parsing=1: the line is the message, loge's data
              model). For each: loge-loadgen --bodies sends every body once
              over --connections connections; then the system is brought to
              its final layout (loge: POST /api/v1/admin/compact, then its
              stats until steady; VictoriaLogs: its /metrics until background
              merges are done) and measured (CPU from /proc/<pid>/stat, bytes
              with du -sb, peak RSS = VmHWM); then each query runs --reps
              times after one warm-up and every answer is checked against the
              corpus. VictoriaLogs is then force-merged (/internal/force_merge)
              for one more bytes and CPU figure.
  4. report   Markdown to stdout and --report, raw figures to --json.

Standard library only. See bench/vs/README.md for what each figure means.
"""
import argparse
import collections
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from servers import (NS, Loge, VictoriaLogs, du_bytes, log, machine_busy, parse_rfc3339_ns,  # noqa: E402
                     self_cpu, wait_settled)

HOUR = 3600 * NS
UID_RE = re.compile(r'"([CF][0-9A-Za-z]{17})"')
LABEL_QUERY = {"app": "zeek", "log": "dns"}
LIMIT = 100


def read_corpus(path):
    """Yields (ts, stream index, line) after returning the label sets."""
    f = open(path, encoding="utf-8", newline="\n")
    streams = json.loads(f.readline())

    def rows():
        with f:
            for row in f:
                ts, si, line = row.rstrip("\n").split(" ", 2)
                yield int(ts), int(si), line
    return streams, rows()


def word_re(word):
    """VictoriaLogs' word filter: the word with no word character (letter,
    digit, underscore) on either side."""
    return re.compile(r"(?<![\w])" + re.escape(word) + r"(?![\w])")


# ---------------------------------------------------------------- corpus scan

def pick_needles(path, seed_row):
    """Pass 1: uid counts. Needle = the uid in 3-5 rows (else 1-5) whose first
    row is nearest seed_row. Substring candidates: 9 bytes from the middle of
    the next such uids — bytes 4-12 (the centre), else bytes 8-16: corpus.py
    changes only a uid's last two characters per cycle, so past one cycle the
    centre bytes are shared by every cycle's copy of the uid, while bytes
    8-16 include the changed one (still mid-token: neither end is in it)."""
    counts = collections.Counter()
    first = {}
    _, rows = read_corpus(path)
    for i, (_, _, line) in enumerate(rows):
        if '"uid' not in line and '_uids"' not in line:
            continue
        for u in set(UID_RE.findall(line)):
            counts[u] += 1
            first.setdefault(u, i)
    cands = sorted((abs(first[u] - seed_row), u) for u, c in counts.items() if 3 <= c <= 5)
    if not cands:
        cands = sorted((abs(first[u] - seed_row), u) for u, c in counts.items() if 1 <= c <= 5)
    needle = cands[0][1]
    subs = [(u, u[a:b]) for _, u in cands[1:21] for a, b in ((4, 13), (8, 17)) if u[a:b] not in needle]
    return needle, counts[needle], subs, len(counts)


def scan(args, path, bodies_path, needle, subs, common):
    """Pass 2: writes the push bodies and collects every query's expected
    answer (rows as (ts, line)) and figures about the corpus."""
    streams, rows = read_corpus(path)
    labels_json = [json.dumps(s, separators=(",", ":"), ensure_ascii=False) for s in streams]
    label_idx = {i for i, s in enumerate(streams) if s == LABEL_QUERY}
    zeek_idx = {i for i, s in enumerate(streams) if s.get("app") == "zeek"}
    want_needle, sub_hits = [], {s: [] for _, s in subs}
    label_last = collections.deque(maxlen=LIMIT)
    common_sub = collections.deque(maxlen=LIMIT)
    common_word = collections.deque(maxlen=LIMIT)
    cw = word_re(common)
    n = line_bytes = body_count = 0
    min_ts = max_ts = None
    json_lines = 0
    out = open(bodies_path, "wb")
    group, group_lines, group_bytes = {}, 0, 0

    def flush():
        nonlocal group, group_lines, group_bytes, body_count
        if not group_lines:
            return
        parts = ['{"stream":%s,"values":%s}' % (labels_json[si], json.dumps(v, ensure_ascii=False,
                                                                             separators=(",", ":")))
                 for si, v in group.items()]
        body = ('{"streams":[' + ",".join(parts) + "]}").encode("utf-8")
        out.write(struct.pack("<QQQ", len(body), group_lines, group_bytes))
        out.write(body)
        body_count += 1
        group, group_lines, group_bytes = {}, 0, 0

    for ts, si, line in rows:
        n += 1
        b = len(line.encode("utf-8"))
        line_bytes += b
        min_ts = ts if min_ts is None else min(min_ts, ts)
        max_ts = ts if max_ts is None else max(max_ts, ts)
        if si in zeek_idx:
            json_lines += 1
        group.setdefault(si, []).append([str(ts), line])
        group_lines += 1
        group_bytes += b
        if group_lines >= args.body_lines:
            flush()
        if needle in line:
            want_needle.append((ts, line))
        for _, s in subs:
            if s in line:
                sub_hits[s].append((ts, line, si))
        if si in label_idx:
            label_last.append((ts, line))
        if common in line:
            common_sub.append((ts, line, si))
        if cw.search(line):
            common_word.append((ts, line, si))
    flush()
    out.close()
    # The substring: the first candidate whose 9 bytes occur in 1-5 rows,
    # all of them holding the uid it came from.
    substring = sub_uid = None
    for u, s in subs:
        hits = sub_hits[s]
        if 1 <= len(hits) <= 5 and all(u in line for _, line, _ in hits):
            substring, sub_uid = s, u
            break
    if substring is None:
        raise RuntimeError("no rare 9-byte uid substring found")
    label_start = max_ts - HOUR
    return {
        "streams": streams, "rows": n, "line_bytes": line_bytes, "bodies": body_count, "min_ts": min_ts,
        "max_ts": max_ts, "json_lines": json_lines, "needle": needle, "substring": substring, "sub_uid": sub_uid,
        "common": common, "label_start": label_start,
        "expect": {
            "needle": sorted(want_needle),
            "substring": sorted((t, l) for t, l, _ in sub_hits[substring]),
            "label": sorted((t, l) for t, l in label_last if t >= label_start),
            "common": sorted((t, l) for t, l, _ in common_sub),
        },
        # Word semantics (VictoriaLogs' word filter) give the same newest 100?
        "common_word_same": [(t, l) for t, l, _ in common_word] == [(t, l) for t, l, _ in common_sub],
        "common_zeek_rows": sum(1 for _, _, si in common_sub if si in zeek_idx),
        "sub_rows_zeek": all(si in zeek_idx for _, _, si in sub_hits[substring]),
    }


def json_fields_with(lines, value):
    """Names of the top-level JSON fields (of the Zeek lines) whose value holds
    `value`: where VictoriaLogs puts it when it parses the line."""
    keys = set()
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        for k, v in obj.items():
            if value in json.dumps(v):
                keys.add(k)
    return sorted(keys)


# ---------------------------------------------------------------- queries

def logsql_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_queries(c, mode_parsed):
    """Per query: (key, title, loge request, VictoriaLogs (query, limit,
    start, end), note)."""
    needle, sub, common = c["needle"], c["substring"], c["common"]
    lq = "{" + ",".join(f'{k}="{v}"' for k, v in LABEL_QUERY.items()) + "}"
    end = c["max_ts"] + NS  # past the newest row: no boundary question for either system
    loge = {
        "needle": {"line": needle, "limit": LIMIT},
        "substring": {"line": sub, "limit": LIMIT},
        "label": {"matchers": [{"name": k, "value": v, "type": "="} for k, v in LABEL_QUERY.items()],
                  "start": c["label_start"], "end": end, "limit": LIMIT},
        "common": {"line": common, "limit": LIMIT},
    }
    common_vl = common if c["common_word_same"] else "~" + logsql_quote(re.escape(common))
    if mode_parsed and c["common_fields"]:
        # Zeek rows among the expected ones hold the word in fields once parsed.
        common_vl = "(" + " OR ".join([common_vl] + [f"{logsql_quote(k)}:{common_vl}" for k in c["common_fields"]]) + ")"
    if not mode_parsed:
        vl = {
            "needle": (needle, LIMIT, None, None),
            "substring": ("~" + logsql_quote(sub), LIMIT, None, None),
            "label": (lq, LIMIT, c["label_start"], end),
            "common": (common_vl, LIMIT, None, None),
        }
    else:
        nf, sf = c["needle_fields"], c["sub_fields"]
        vl = {
            "needle": ("(" + " OR ".join(f"{logsql_quote(k)}:{needle}" for k in nf) + ")", LIMIT, None, None),
            "substring": ("(" + " OR ".join(f"{logsql_quote(k)}:~{logsql_quote(sub)}" for k in sf) + ")",
                          LIMIT, None, None),
            "label": (lq, LIMIT, c["label_start"], end),
            "common": (common_vl, LIMIT, None, None),
        }
    titles = {
        "needle": f"needle, whole token `{needle}`, all time",
        "substring": f"needle, 9-byte mid-token substring `{sub}`, all time",
        "label": f"label `{lq}`, last hour of the data, limit {LIMIT}",
        "common": f"common word `{common}`, all time, limit {LIMIT}",
    }
    return loge, vl, titles


def pct(xs, p):
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[p - 1]


def run_queries(server, kind, loge_q, vl_q, c, reps, parsed):
    """Runs every query reps times after one warm-up; checks each answer."""
    out = {}
    for key in ("needle", "substring", "label", "common"):
        expect = c["expect"][key]
        if kind == "loge":
            def once(q=loge_q[key]):
                secs, rows, resp = server.query(q)
                return secs, rows, resp.get("stats")
        else:
            def once(q=vl_q[key]):
                query, limit, start, end = q
                secs, objs = server.logsql(query, limit, start, end)
                return secs, [(parse_rfc3339_ns(o["_time"]), o.get("_msg", "")) for o in objs], None
        first_secs, rows, stats = once()
        times = []
        for _ in range(reps):
            secs, rows, stats = once()
            times.append(secs)
        got = sorted(rows)
        if parsed:
            # The message is no longer the line once VictoriaLogs parsed it
            # into fields: compare timestamps (unique in the corpus).
            ok = [t for t, _ in got] == [t for t, _ in expect]
        else:
            ok = got == expect
        res = {"first_s": first_secs, "times": times, "p50": pct(times, 50), "p95": pct(times, 95),
               "rows": len(got), "expected_rows": len(expect), "ok": ok, "stats": stats,
               "query": loge_q[key] if kind == "loge" else vl_q[key][0]}
        if not ok:
            res["missing"] = [r for r in expect if r not in got][:3]
            res["extra"] = [r for r in got if r not in expect][:3]
        out[key] = res
        log(f"  {key}: rows {len(got)}/{len(expect)} ok={ok} p50 {res['p50'] * 1000:.2f} ms "
            f"p95 {res['p95'] * 1000:.2f} ms")
    return out


# ---------------------------------------------------------------- one system

def run_system(args, kind, mode, c, work):
    """Starts one system on a fresh data dir, pushes every body, brings it to
    its final layout, measures it and runs the queries."""
    name = f"{kind}-{mode}"
    data = os.path.join(work, name + "-data")
    os.makedirs(data)
    logp = os.path.join(work, name + ".log")
    parsed = mode == "parsed"
    if kind == "loge":
        server = Loge(args.loge, data, logp)
        path = Loge.push_path
    else:
        server = VictoriaLogs(args.victoria_logs, data, logp)
        path = VictoriaLogs.push_path + ("" if parsed else "?disable_message_parsing=1")
    log(f"{name}: pid {server.pid} port {server.port}: {' '.join(server.cmd)}")
    r = {"name": name, "kind": kind, "mode": mode, "cmd": server.cmd, "push_path": path}
    try:
        cpu0, busy0, me0 = server.cpu(), machine_busy(), self_cpu()
        lg_cmd = [args.loadgen, "--addr", f"http://127.0.0.1:{server.port}", "--path", path, "--bodies",
                  c["bodies_path"], "--connections", str(args.connections), "--json"]
        r["loadgen_cmd"] = lg_cmd
        t0 = time.monotonic()
        p = subprocess.run(lg_cmd, capture_output=True, text=True)
        push_wall = time.monotonic() - t0
        if p.returncode != 0:
            raise RuntimeError(f"loadgen failed ({p.returncode}): {p.stderr[-2000:]}")
        lg = json.loads(p.stdout)
        cpu1, busy1 = server.cpu(), machine_busy()
        r.update(loadgen=lg, push_wall_s=push_wall, cpu_ingest_s=cpu1 - cpu0)
        log(f"{name}: pushed {lg['lines']:,} lines at {lg['lines_per_s']:,.0f} lines/s, "
            f"429s {lg['retries']}, errors {lg['errors']}, server CPU {cpu1 - cpu0:.1f} s")
        if lg["errors"] or lg["lines"] != c["rows"]:
            raise RuntimeError(f"{name}: {lg['errors']} push errors, {lg['lines']} of {c['rows']} lines acknowledged")

        # Final layout.
        t1 = time.monotonic()
        calls = []
        if kind == "loge":
            for _ in range(50):
                calls.append(server.compact())
                if server.stats()["flush_files"] < args.loge_compact_min_files:
                    break
        wait_settled(server)
        cpu2, busy2 = server.cpu(), machine_busy()
        me2 = self_cpu()
        r.update(final_wall_s=time.monotonic() - t1, cpu_after_s=cpu2 - cpu1, compact_calls=calls,
                 bytes=du_bytes(data), rss=server.mem(), state=server.work_state())
        r["machine"] = {"busy_s": busy2[0] - busy0[0], "total_s": busy2[1] - busy0[1],
                        "server_s": cpu2 - cpu0, "loadgen_s": lg["client_cpu_s"], "script_s": me2 - me0}
        r["machine"]["other_s"] = (r["machine"]["busy_s"] - r["machine"]["server_s"] - r["machine"]["loadgen_s"]
                                   - r["machine"]["script_s"])
        r["stored_rows"] = server.stored_rows()
        log(f"{name}: final layout after {r['final_wall_s']:.1f} s, CPU {r['cpu_after_s']:.1f} s, "
            f"{r['bytes'] / c['rows']:.1f} B/line, VmHWM {r['rss'].get('VmHWM', 0) / 2**20:.0f} MiB, "
            f"stored {r['stored_rows']:,}; machine busy {r['machine']['busy_s']:.0f} of "
            f"{r['machine']['total_s']:.0f} CPU-s, other work {r['machine']['other_s']:.1f}")

        loge_q, vl_q, _ = build_queries(c, parsed)
        r["queries"] = run_queries(server, kind, loge_q, vl_q, c, args.reps, parsed)

        if kind == "victoria-logs" and not args.no_force_merge:
            cpu3, t3 = server.cpu(), time.monotonic()
            server.force_merge()
            wait_settled(server)
            r["force_merge"] = {"cpu_s": server.cpu() - cpu3, "wall_s": time.monotonic() - t3,
                                "bytes": du_bytes(data), "rss": server.mem()}
            log(f"{name}: force_merge CPU {r['force_merge']['cpu_s']:.1f} s, "
                f"{r['force_merge']['bytes'] / c['rows']:.1f} B/line")
        r["data_files"] = sizes_by_kind(data, kind)
    finally:
        r["exit"] = server.stop()
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    return r


def sizes_by_kind(data, kind):
    """Bytes of the data dir by kind of file, for the report."""
    out = collections.Counter()
    for root, _, files in os.walk(data):
        for f in files:
            p = os.path.join(root, f)
            rel = os.path.relpath(p, data)
            if kind == "loge":
                if rel.startswith("wal/"):
                    k = "wal/"
                elif f.startswith("segment-"):
                    k = "segment-*"
                elif f.startswith("flush-"):
                    k = "flush-*"
                elif f.startswith("catalog"):
                    k = "catalog.sqlite*"
                else:
                    k = "other"
            else:
                parts = rel.split(os.sep)
                k = parts[0] + "/" + (parts[2] if parts[0] == "partitions" and len(parts) > 2 else "")
            out[k] += os.path.getsize(p)
    return dict(out)


# ---------------------------------------------------------------- report

def fmt_ms(s):
    return f"{s * 1000:.1f}" if s < 10 else f"{s * 1000:.0f}"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(x).replace("|", "\\|") for x in row) + " |" for row in rows]
    return "\n".join(out)


def build_report(args, c, results, command, started):
    n = c["rows"]
    out = [f"# loge vs VictoriaLogs — {n:,} lines", ""]
    out.append(f"Run {started} – {time.strftime('%H:%M:%S %Z')}. Command:\n\n```\n{command}\n```\n")
    out.append(table(["", ""], machine_rows(args)))
    out.append("")
    out.append(f"Corpus: `{c['corpus']}` — {n:,} rows in {len(c['streams'])} streams, "
               f"{c['line_bytes'] / n:.1f} B/line of line text, {c['json_lines'] / n:.0%} Zeek JSON lines, "
               f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(c['min_ts'] // NS))} to "
               f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(c['max_ts'] // NS))} UTC. "
               f"{c['bodies']:,} Loki JSON bodies of {args.body_lines} consecutive rows grouped by stream "
               f"({c['bodies_bytes'] / c['bodies']:,.0f} B each on average), identical for every system, "
               f"sent once each by `loge-loadgen --bodies` over {args.connections} connections.")
    out.append("")
    cols = [r for r in results]
    head = ["figure"] + [col_title(r) for r in cols]

    def row(label, f):
        return [label] + [f(r) for r in cols]

    def q(key, what):
        def f(r):
            m = r["queries"][key]
            s = " / ".join(fmt_ms(m[w]) for w in what)
            return s + ("" if m["ok"] else f" **rows differ ({m['rows']} of {m['expected_rows']})**")
        return f
    rows = [
        row("ingest, lines/s", lambda r: f"{r['loadgen']['lines_per_s']:,.0f}" + (" (durable acks)" if r["kind"] == "loge" else " (acks before fsync)")),
        row("push latency p50 / p99, ms", lambda r: f"{r['loadgen']['p50_ms']:.1f} / {r['loadgen']['p99_ms']:.1f}"),
        row("429s / errors", lambda r: f"{r['loadgen']['retries']} / {r['loadgen']['errors']}"),
        row("server CPU per line, ingest only", lambda r: f"{r['cpu_ingest_s'] * 1e6 / n:.2f} µs ({r['cpu_ingest_s']:.1f} s)"),
        row("CPU after ingest to the final layout", lambda r: f"{r['cpu_after_s']:.1f} s ({r['cpu_after_s'] * 1e6 / n:.2f} µs/line, {r['final_wall_s']:.0f} s wall)"),
        row("CPU per stored line, end to end", lambda r: f"{(r['cpu_ingest_s'] + r['cpu_after_s']) * 1e6 / n:.2f} µs"),
        row("bytes per line, whole data dir after merges", lambda r: f"{r['bytes'] / n:.1f} B ({r['bytes'] / 2**20:.0f} MiB)"),
        row("peak RSS (VmHWM), ingest + merge", lambda r: f"{r['rss'].get('VmHWM', 0) / 2**20:.0f} MiB"),
        row("needle, whole token, all time: p50 / p95 ms", q("needle", ("p50", "p95"))),
        row("needle, 9-byte mid-token substring: p50 / p95 ms", q("substring", ("p50", "p95"))),
        row(f"label, last hour, limit {LIMIT}: p50 ms", q("label", ("p50",))),
        row(f"common word, limit {LIMIT}: p50 ms", q("common", ("p50",))),
        row("stored rows", lambda r: f"{r['stored_rows']:,}"),
        row("other work on the machine during ingest + merge", lambda r: f"{r['machine']['other_s']:.0f} of {r['machine']['total_s']:.0f} CPU-s"),
    ]
    if any("force_merge" in r for r in cols):
        rows.append(row("extra: after /internal/force_merge: bytes/line, CPU",
                        lambda r: f"{r['force_merge']['bytes'] / n:.1f} B, {r['force_merge']['cpu_s']:.1f} s"
                        if "force_merge" in r else "—"))
    out.append(table(head, rows))
    out.append("")
    out.append("Queries (each run once to warm up, then "
               f"{args.reps}×; latency = client-side, answer fully read; p95 of {args.reps} samples):")
    out.append("")
    _, _, titles = build_queries(c, False)
    qrows = []
    for key in ("needle", "substring", "label", "common"):
        for r in cols:
            m = r["queries"][key]
            qrows.append([titles[key] if r is cols[0] else "", col_title(r), f"`{json.dumps(m['query']) if r['kind'] == 'loge' else m['query']}`",
                          f"{m['rows']} / {m['expected_rows']}", "yes" if m["ok"] else "**no**", fmt_ms(m["first_s"]),
                          fmt_ms(m["p50"]), fmt_ms(m["p95"])])
    out.append(table(["query", "system", "request", "rows / expected", "same rows", "first ms", "p50 ms", "p95 ms"], qrows))
    out.append("")
    notes = [
        f"Expected rows come from the corpus itself; \"same rows\" compares (timestamp, line) exactly, except for "
        f"VictoriaLogs with message parsing, where the line is no longer one field: timestamps only (unique in the corpus).",
        f"The common word: VictoriaLogs' word filter {'gives' if c['common_word_same'] else '**does not** give'} the same "
        f"newest {LIMIT} rows as loge's substring filter on this corpus"
        + ("" if c["common_word_same"] else ", so VictoriaLogs runs the substring filter `~\"…\"` instead") + ".",
    ]
    if any(r["mode"] == "parsed" for r in cols):
        notes.append(f"With parsing on, VictoriaLogs stores each Zeek JSON line as fields, and filters without a field "
                     f"name only search `_msg`: the needle is searched in the fields that hold it in the corpus "
                     f"({', '.join(c['needle_fields'])}; substring: {', '.join(c['sub_fields'])}; common word: `_msg`"
                     + "".join(", " + k for k in c["common_fields"]) + ").")
    for r in cols:
        for key, m in r["queries"].items():
            if not m["ok"]:
                notes.append(f"**{col_title(r)}, {key}: answers differ** — missing {m.get('missing')!r:.600}, "
                             f"extra {m.get('extra')!r:.600}")
    out += ["- " + x for x in notes]
    out.append("")
    out.append("Data directory after merges, by kind of file (bytes per line):")
    out.append("")
    for r in cols:
        parts = ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(r["data_files"].items(), key=lambda kv: -kv[1]))
        out.append(f"- {col_title(r)}: {parts}")
    out.append("")
    out.append("Commands:")
    out.append("")
    for r in cols:
        out.append(f"- {col_title(r)}: `{' '.join(shlex.quote(a) for a in r['cmd'])}`, pushes to `{r['push_path']}`")
    return "\n".join(out)


def col_title(r):
    if r["kind"] == "loge":
        return "loge"
    return "VictoriaLogs, " + ("JSON parsing on (default)" if r["mode"] == "parsed" else "parsing off")


def machine_rows(args):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 2**20

    def sh(cmd):
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    with open(args.loge, "rb") as f:
        loge_sha = hashlib.sha256(f.read()).hexdigest()[:12]
    vl_version = sh(f"{shlex.quote(args.victoria_logs)} -version") if args.victoria_logs else "-"
    return [("nproc / CPU / RAM", f"{os.cpu_count()} / {cpu} / {mem:.1f} GiB"), ("kernel", platform.release()),
            ("disk", sh(f"df -h --output=source,fstype,size {shlex.quote(args.work_dir)} | tail -1")),
            ("loge", f"`{args.loge}` (sha256 {loge_sha}; repo at {sh(f'git -C {REPO} rev-parse --short HEAD')})"),
            ("victoria-logs", f"`{args.victoria_logs}` ({vl_version})"),
            ("load average at the start", " ".join(f"{x:.2f}" for x in os.getloadavg()))]


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--victoria-logs", required=True, help="path of a victoria-logs binary")
    ap.add_argument("--loge", default=os.path.join(REPO, "build/release/loge"),
                    help="loge binary (copy it out of the build tree so a rebuild cannot change it mid-run)")
    ap.add_argument("--loadgen", default=os.path.join(REPO, "build/release/bench/loge-loadgen"))
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--corpus", help="an existing corpus.py output (default: build one in the work dir)")
    ap.add_argument("--body-lines", type=int, default=1000, help="consecutive rows per push body")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--reps", type=int, default=20, help="timed runs of each query (after one warm-up)")
    ap.add_argument("--common-word", default="INFO",
                    help="the common word (default INFO: in ~5%% of the corpus' lines, and VictoriaLogs' word "
                         "filter finds the same newest 100 rows as loge's substring filter)")
    ap.add_argument("--systems", default="loge,vl-parsed,vl-raw",
                    help="which runs, in order: loge, vl-parsed (VictoriaLogs default), vl-raw (parsing off)")
    ap.add_argument("--no-force-merge", action="store_true", help="skip VictoriaLogs' extra force-merge figure")
    ap.add_argument("--loge-compact-min-files", type=int, default=8,
                    help="loge's --compact-min-files (its default): admin/compact is called again while at "
                         "least this many flush files remain")
    ap.add_argument("--work-dir", default="/tmp/loge-vsbench")
    ap.add_argument("--report", help="also write the Markdown report here")
    ap.add_argument("--json", help="write every raw figure here")
    ap.add_argument("--keep", action="store_true", help="keep data dirs and the work dir")
    args = ap.parse_args()
    for p in (args.loge, args.loadgen, args.victoria_logs):
        if not os.access(p, os.X_OK):
            sys.exit(f"not an executable: {p}")
    command = " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    os.makedirs(args.work_dir, exist_ok=True)
    work = os.path.join(args.work_dir, time.strftime("run-%Y%m%d-%H%M%S-") + str(os.getpid()))
    os.makedirs(work)
    log(f"work dir {work}")
    ok = False
    try:
        corpus = args.corpus
        if not corpus:
            corpus = os.path.join(work, "corpus.txt")
            t = time.monotonic()
            subprocess.run([sys.executable, os.path.join(HERE, "corpus.py"), "--lines", str(args.lines),
                            "--out", corpus], check=True)
            log(f"corpus built in {time.monotonic() - t:.0f} s")
        t = time.monotonic()
        with open(corpus, encoding="utf-8", newline="\n") as f:
            n_rows = sum(1 for _ in f) - 1
        needle, needle_count, subs, n_uids = pick_needles(corpus, n_rows // 2)
        bodies = os.path.join(work, "bodies.bin")
        c = scan(args, corpus, bodies, needle, subs, args.common_word)
        c.update(corpus=corpus, bodies_path=bodies, bodies_bytes=os.path.getsize(bodies), uids=n_uids)
        c["needle_fields"] = json_fields_with([l for _, l in c["expect"]["needle"]], needle)
        c["sub_fields"] = json_fields_with([l for _, l in c["expect"]["substring"]], c["substring"])
        c["common_fields"] = json_fields_with([l for _, l in c["expect"]["common"]], args.common_word)
        log(f"scanned {c['rows']:,} rows in {time.monotonic() - t:.0f} s: {c['bodies']:,} bodies; needle {needle} "
            f"({len(c['expect']['needle'])} rows, fields {c['needle_fields']}), substring {c['substring']} "
            f"({len(c['expect']['substring'])} rows), label rows {len(c['expect']['label'])}, common "
            f"{args.common_word!r}: word==substring {c['common_word_same']}, zeek rows {c['common_zeek_rows']}")
        results = []
        for s in args.systems.split(","):
            kind, mode = {"loge": ("loge", "raw"), "vl-parsed": ("victoria-logs", "parsed"),
                          "vl-raw": ("victoria-logs", "raw")}[s]
            results.append(run_system(args, kind, mode, c, work))
        report = build_report(args, c, results, command, started)
        print(report)
        if args.report:
            with open(args.report, "w") as f:
                f.write(report + "\n")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"corpus": {k: v for k, v in c.items() if k != "expect"}, "results": results}, f,
                          indent=1, default=str)
        ok = True
        return 0 if all(m["ok"] for r in results for m in r["queries"].values()) else 1
    finally:
        if args.keep or not ok:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
