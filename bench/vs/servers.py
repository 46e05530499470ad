"""The servers the side-by-side and sustained benchmarks start, and what they
read from them: process CPU and memory from /proc, the machine's busy time
from /proc/stat, and each server's view of its own work (loge's
/api/v1/stats, VictoriaLogs' /metrics).

Standard library only. Every server is bound to 127.0.0.1 and started on a
fresh data directory; stop() sends SIGTERM and waits.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse

NS = 1_000_000_000
TICKS = os.sysconf("SC_CLK_TCK")


def log(msg):
    import sys
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def proc_cpu(pid):
    """user+system CPU seconds of a live process (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def proc_mem(pid):
    """{"VmRSS", "VmHWM", "RssAnon", "RssFile": bytes} of a live process ({} if gone).

    RssAnon is heap and stacks; RssFile the file pages mapped in (loge's
    mapped filter frames among them), which the kernel may drop under
    memory pressure."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmHWM", "VmRSS", "RssAnon", "RssFile")):
                    k, v = line.split(":")
                    out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return out


def machine_busy():
    """(busy CPU seconds, total CPU seconds) of the whole machine since boot;
    iowait counts as idle."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    total = sum(v)
    return (total - v[3] - v[4]) / TICKS, total / TICKS


def self_cpu():
    """CPU seconds of this Python process."""
    return time.process_time()


def du_bytes(path):
    """du -sb of a directory: apparent bytes of everything in it."""
    out = subprocess.run(["du", "-sb", path], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(cond, timeout, what, interval=0.1):
    """Polls cond() until it returns a true value; raises after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Server:
    """A server process on a fresh data dir, with a keep-alive HTTP client."""

    name = "?"

    def __init__(self, cmd, data_dir, log_path, port):
        self.cmd = cmd
        self.data_dir = data_dir
        self.port = port
        self.log_path = log_path
        self._logf = open(log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._logf, stderr=subprocess.STDOUT)
        self.conn = None

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def cpu(self):
        c = proc_cpu(self.proc.pid)
        if c is None:
            raise RuntimeError(f"{self.name} is gone: {self.log_tail()}")
        return c

    def mem(self):
        return proc_mem(self.proc.pid)

    def log_tail(self, n=8):
        with open(self.log_path, "rb") as f:
            return b"".join(f.readlines()[-n:]).decode("utf-8", errors="replace")

    def request(self, method, path, body=None, headers=None, timeout=600):
        """(status, body bytes, seconds) over a kept-alive connection; one
        reconnect if the server closed it."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                t = time.perf_counter()
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, data, time.perf_counter() - t
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt or not self.alive():
                    raise

    def stop(self, timeout=300):
        if self.conn is not None:
            self.conn.close()
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._logf.close()
        return self.proc.returncode


class Loge(Server):
    """loge serve with its default flags but for where it listens and writes."""

    name = "loge"

    def __init__(self, binary, data_dir, log_path, extra=()):
        cmd = [binary, "--listen", "127.0.0.1", "--port", "0", "--output-path", data_dir.rstrip("/") + "/"]
        cmd += list(extra)
        super().__init__(cmd, data_dir, log_path, None)
        offset = 0

        def port():
            if not self.alive():
                raise RuntimeError(f"loge exited with {self.proc.returncode}: {self.log_tail()}")
            with open(log_path, "rb") as f:
                f.seek(offset)
                m = re.search(rb"listening on [0-9.]+:(\d+)", f.read())
            return int(m.group(1)) if m else None
        self.port = wait_for(port, 120, "loge to listen")

    push_path = "/loki/api/v1/push"

    def stats(self):
        status, data, _ = self.request("GET", "/api/v1/stats")
        if status != 200:
            raise RuntimeError(f"GET /api/v1/stats -> {status}: {data[:300]!r}")
        return json.loads(data)

    def compact(self):
        status, data, secs = self.request("POST", "/api/v1/admin/compact", body=b"")
        if status != 200:
            raise RuntimeError(f"POST /api/v1/admin/compact -> {status}: {data[:300]!r}")
        return secs

    def stored_rows(self):
        return self.stats()["rows_total"]

    def work_state(self):
        """What must stop changing for the layout to be final."""
        s = self.stats()
        # The heap figures move while the allocator returns freed pages,
        # long after the layout is final: not work.
        return {k: s[k] for k in sorted(s) if k not in ("status",) and not k.startswith("heap_")}

    def settled(self, state):
        return state["head_rows"] == 0 and state.get("backpressure_waiting", 0) == 0

    def query(self, q):
        """q: {"line": ..., "matchers": [...], "start": ns, "end": ns, "limit": n}
        -> (seconds, [(ts, line)], raw answer)."""
        body = json.dumps(q).encode()
        status, data, secs = self.request("POST", "/api/v1/query", body, {"Content-Type": "application/json"})
        if status != 200:
            raise RuntimeError(f"loge query {q} -> HTTP {status}: {data[:300]!r}")
        resp = json.loads(data)
        return secs, [(int(h["timestamp"]), h["line"]) for h in resp["data"]], resp


VL_METRIC_RE = re.compile(r"^(vl_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$")


def rfc3339_ns(ns):
    s, rem = divmod(ns, NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%09dZ" % rem


def parse_rfc3339_ns(s):
    """'2026-12-06T05:12:34.123456789Z' (any number of fraction digits) -> ns."""
    import calendar
    base, _, frac = s.rstrip("Z").partition(".")
    sec = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return sec * NS + int((frac + "000000000")[:9])


class VictoriaLogs(Server):
    """victoria-logs with its defaults but for where it listens and writes,
    and -retentionPeriod (the corpus spans 7 days ending when it was built,
    so the default 7d retention would drop its oldest rows)."""

    name = "VictoriaLogs"

    def __init__(self, binary, data_dir, log_path, extra=()):
        port = free_port()
        cmd = [binary, f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={data_dir}",
               "-retentionPeriod=100y"] + list(extra)
        super().__init__(cmd, data_dir, log_path, port)

        def ready():
            if not self.alive():
                raise RuntimeError(f"victoria-logs exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                status, _, _ = self.request("GET", "/health")
                return status == 200
            except OSError:
                return False
        wait_for(ready, 120, "victoria-logs /health")

    push_path = "/insert/loki/api/v1/push"

    def metrics(self):
        status, data, _ = self.request("GET", "/metrics")
        if status != 200:
            raise RuntimeError(f"GET /metrics -> {status}")
        out = {}
        for line in data.decode().splitlines():
            m = VL_METRIC_RE.match(line)
            if m:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        return out

    def work_state(self):
        m = self.metrics()
        keep = ("vl_active_merges", "vl_storage_parts", "vl_storage_rows", "vl_active_force_merges",
                "vl_merges_total", "vl_indexdb_parts")
        return {k: v for k, v in sorted(m.items()) if k.startswith(keep)}

    def settled(self, state):
        return (sum(v for k, v in state.items() if k.startswith(("vl_active_merges", "vl_active_force_merges"))) == 0
                and state.get('vl_storage_parts{type="storage/inmemory"}', 0) == 0)

    def force_merge(self):
        status, data, _ = self.request("GET", "/internal/force_merge")
        if status != 200:
            raise RuntimeError(f"/internal/force_merge -> {status}: {data[:200]!r}")

    def force_flush(self):
        status, data, _ = self.request("GET", "/internal/force_flush")
        if status != 200:
            raise RuntimeError(f"/internal/force_flush -> {status}: {data[:200]!r}")

    def logsql(self, query, limit=None, start=None, end=None):
        """-> (seconds, [json objects])"""
        args = {"query": query}
        if limit is not None:
            args["limit"] = str(limit)
        if start is not None:
            args["start"] = rfc3339_ns(start)
        if end is not None:
            args["end"] = rfc3339_ns(end)
        status, data, secs = self.request("GET", "/select/logsql/query?" + urllib.parse.urlencode(args))
        if status != 200:
            raise RuntimeError(f"LogsQL {args} -> HTTP {status}: {data[:300]!r}")
        return secs, [json.loads(l) for l in data.decode("utf-8").splitlines() if l.strip()]

    def stored_rows(self):
        _, rows = self.logsql("* | stats count() rows")
        return int(rows[0]["rows"]) if rows else 0


def wait_settled(server, timeout=3600, quiet_samples=3, idle_cpu_s=0.05, interval=1.0):
    """Polls the server's own state every `interval` s until its work is done:
    settled(state) holds, the state did not change over `quiet_samples`
    consecutive samples, and the server used less than `idle_cpu_s` CPU
    seconds per interval meanwhile. Returns the number of samples taken."""
    prev, prev_cpu, quiet, n = None, server.cpu(), 0, 0
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(interval)
        state, cpu = server.work_state(), server.cpu()
        n += 1
        if state == prev and server.settled(state) and cpu - prev_cpu < idle_cpu_s:
            quiet += 1
            if quiet >= quiet_samples:
                return n
        else:
            quiet = 0
        prev, prev_cpu = state, cpu
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name} did not settle within {timeout}s: {state}")
