#!/usr/bin/env python3
"""End-to-end syslog throughput (docs/benchmarks.md, "Push formats"): start
`loge --syslog-listen`, send N pre-built RFC 5424 messages (octet-counted
over TCP on C connections at once, or as UDP datagrams), and time from the
first byte sent until the server reports every line stored (GET
/api/v1/stats: rows in files plus rows in the head). Syslog has no
acknowledgement, so "stored" is the server's count; TCP pushes are durable
(fsynced) before the listener reads more of a connection. For UDP the
report is what arrived and what the kernel or the listener dropped.

    bench/decode/run_syslog_bench.py --loge build/release/loge [--lines 500000] [--connections 8] [--udp]

Lines are ~200-byte access-log lines with a unique request id, one of 32
(host, app) streams each. Builds nothing; stops only the server it started.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request


def line(i, rnd):
    return (f'10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(256)} - - [06/Dec/2026:06:00:00 +0000] '
            f'"GET /api/v1/products/{rnd.randrange(100000)}?sort=price_asc HTTP/1.1" {rnd.choice([200, 200, 200, 404, 500])} '
            f'{rnd.randrange(100, 50000)} "https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64)" rid={i:016x}')


def messages(n, seed=1):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        host, app = f"web-{i % 4}", f"app{(i // 4) % 8}"
        out.append(f"<134>1 - {host} {app} - - - {line(i, rnd)}".encode())
    return out


def stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/stats", timeout=30) as r:
        s = json.load(r)
    return s["rows_total"] + s["head_rows"]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loge", default="build/release/loge")
    ap.add_argument("--lines", type=int, default=500_000)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--udp", action="store_true")
    ap.add_argument("--deadline", type=float, default=300.0, help="seconds to wait for every line")
    a = ap.parse_args()

    msgs = messages(a.lines)
    line_bytes = sum(len(m) for m in msgs)
    work = tempfile.mkdtemp(prefix="loge-syslog-bench-")
    log_path = os.path.join(work, "server.log")
    cmd = [a.loge, "--listen", "127.0.0.1", "--port", "0", "--durable", "true", "--output-path", work + "/data",
           "--syslog-listen", "127.0.0.1:0"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        port = sport = None
        while port is None:
            text = open(log_path).read()
            m1, m2 = re.search(r"listening on \S+:(\d+)", text), re.search(r"udp port (\d+)", text)
            if m1 and m2:
                port, sport = int(m1.group(1)), int(m2.group(1))
            elif proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("server did not start:\n" + text)
            else:
                time.sleep(0.05)
        print(f"== machine: {os.cpu_count()} cores, load average {open('/proc/loadavg').read().split()[:3]}")
        print(f"== server: {' '.join(cmd)}")
        print(f"== load: {a.lines} RFC 5424 messages, {line_bytes / a.lines:.0f} B each, "
              + ("UDP datagrams" if a.udp else f"octet-counted TCP on {a.connections} connections"))
        cpu0 = cpu_seconds(proc.pid)
        t0 = time.monotonic()
        if a.udp:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for m in msgs:
                s.sendto(m, ("127.0.0.1", sport))
            s.close()
        else:
            chunks = [b"".join(b"%d %s" % (len(m), m) for m in msgs[k::a.connections]) for k in range(a.connections)]

            def send(buf):
                with socket.create_connection(("127.0.0.1", sport)) as c:
                    c.sendall(buf)

            threads = [threading.Thread(target=send, args=(c,)) for c in chunks]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        sent = time.monotonic()
        stored = 0
        last_change, last = time.monotonic(), -1
        while True:
            stored = stats(port)
            if stored != last:
                last, last_change = stored, time.monotonic()
            if stored >= a.lines:
                break
            # UDP: stop once nothing more arrives for 2 s (the rest was dropped).
            if (a.udp and time.monotonic() - last_change > 2) or time.monotonic() - t0 > a.deadline:
                break
            time.sleep(0.02)
        done = last_change if a.udp and stored < a.lines else time.monotonic()
        elapsed = done - t0
        cpu = cpu_seconds(proc.pid) - cpu0
        print(f"sent in          {sent - t0:.2f} s")
        print(f"stored           {stored} of {a.lines} lines in {elapsed:.2f} s")
        print(f"lines/s          {stored / elapsed:.0f}")
        print(f"MB/s (messages)  {line_bytes * stored / a.lines / elapsed / 1e6:.1f}")
        print(f"server cpu       {cpu:.2f} s ({cpu * 1e6 / max(stored, 1):.2f} us per line)")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
