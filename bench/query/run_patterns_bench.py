#!/usr/bin/env python3
"""Times GET /loki/api/v1/patterns (patterns computed at query time) on the
loghub samples: every file of ../shared/data/loghub replayed --copies times
(one stream per system and copy, `service_name` = the system), pushed
through /loki/api/v1/push into a fresh loge, merged into segments, then the
patterns of all of it (and of one system) asked for --runs times.

    python3 bench/query/run_patterns_bench.py --loge build/release/loge
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
LOGHUB = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "loghub"))
T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request(method, path, body, headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loge", required=True)
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    files = sorted(f for f in os.listdir(LOGHUB) if f.endswith(".log"))
    work = tempfile.mkdtemp(prefix="loge-patterns-bench-")
    port = free_port()
    proc = subprocess.Popen([args.loge, "--port", str(port), "--output-path", work],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if request(port, "GET", "/ready")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        lines = 0
        t = time.time()
        for copy in range(args.copies):
            for f in files:
                with open(os.path.join(LOGHUB, f), errors="replace") as fh:
                    text = [l.rstrip("\n") for l in fh if l.strip()]
                system = f.split("_")[0].lower()
                # One line a second per stream, copies one after another.
                base = T0 + copy * len(text) * 10**9
                values = [[str(base + i * 10**9), l] for i, l in enumerate(text)]
                body = {"streams": [{"stream": {"job": "loghub", "system": system, "copy": str(copy)},
                                     "values": values}]}
                st, _ = request(port, "POST", "/loki/api/v1/push", json.dumps(body).encode(),
                                {"Content-Type": "application/json"})
                assert st == 204, st
                lines += len(values)
        push_s = time.time() - t
        st, _ = request(port, "POST", "/api/v1/admin/compact")
        assert st == 200, st
        end = T0 + args.copies * 2100 * 10**9
        report = {"lines": lines, "push_s": round(push_s, 1), "load_before": os.getloadavg()[0]}
        for name, query in (("all", '{job="loghub"}'), ("hdfs", '{system="hdfs"}')):
            qs = urllib.parse.urlencode({"query": query, "start": str(T0), "end": str(end), "step": "60s"})
            times = []
            for _ in range(args.runs):
                t = time.time()
                st, data = request(port, "GET", "/loki/api/v1/patterns?" + qs)
                times.append(time.time() - t)
                assert st == 200, data[:300]
            body = json.loads(data)
            counted = sum(n for p in body["data"] for _, n in p["samples"])
            times.sort()
            report[name] = {"patterns": len(body["data"]), "lines_counted": counted,
                            "median_s": round(times[len(times) // 2], 3), "min_s": round(times[0], 3),
                            "max_s": round(times[-1], 3)}
        report["load_after"] = os.getloadavg()[0]
        json.dump(report, sys.stdout, indent=2)
        print()
    finally:
        proc.terminate()
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
