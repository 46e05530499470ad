"""Fixtures that run the real `loge` binary for the integration suites.

`LogeServer` starts the binary in a fresh output directory on port 0, waits
for its "listening on <addr>:<port>" log line (with a deadline), and offers
keep-alive HTTP helpers for push, query and labels. Every process a test
starts is reaped at teardown; only the PIDs started here are ever signalled.

The binary comes from $LOGE_BIN (ctest passes the built target), falling back
to the default Release build location.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

DEFAULT_BIN = "/work/main/build/release/loge"
# Deadlines: generous, because ctest runs suites in parallel on two cores.
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 60.0

_LISTENING = re.compile(r"listening on \S+:(\d+)")


def loge_bin():
    path = os.environ.get("LOGE_BIN", DEFAULT_BIN)
    if not os.access(path, os.X_OK):
        pytest.fail(f"loge binary not found or not executable: {path} (set LOGE_BIN)")
    return path


TEST_VENV = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".venv")


def use_test_venv():
    """Puts the PyPI packages of tests/integration/requirements.txt (installed
    into tests/integration/.venv by scripts/install-deps.sh) on the import
    path; fails naming the remedy when they are missing."""
    import glob
    import sys

    sites = glob.glob(os.path.join(TEST_VENV, "lib", "python3*", "site-packages"))
    if not sites or not os.path.exists(os.path.join(TEST_VENV, ".installed")):
        pytest.fail(f"{TEST_VENV} is missing: run scripts/install-deps.sh")
    for site in sites:
        if site not in sys.path:
            sys.path.append(site)


def wait_for(cond, timeout, what, interval=0.02):
    """Polls cond() until it returns a truthy value; fails the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # dict, lower-case names
        self.body = body  # bytes

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError(f"response {self.status} is not JSON: {self.body[:500]!r}")

    def __repr__(self):
        return f"Response({self.status}, {self.body[:300]!r})"


def stream(labels, values):
    """One push stream. values: (ts, line) or (ts, line, metadata) tuples."""
    vals = []
    for v in values:
        row = [str(v[0]), v[1]]
        if len(v) > 2 and v[2] is not None:
            row.append(v[2])
        vals.append(row)
    return {"stream": dict(labels), "values": vals}


def raw_exchange(port, data, timeout=HTTP_TIMEOUT_S):
    """Sends raw request bytes on a new connection and reads one response.
    A server that answers early (413) and closes may break the pipe while we
    are still sending; that is allowed, the response must still arrive."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = http.client.HTTPResponse(sock)
        r.begin()
        body = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, body)


def push_request(body, chunk=None):
    """Raw bytes of a push request; chunked encoding with `chunk`-byte chunks."""
    if isinstance(body, str):
        body = body.encode()
    head = b"POST /api/v1/push HTTP/1.1\r\nHost: loge\r\nContent-Type: application/json\r\n"
    if chunk is None:
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + chunk]), body[i:i + chunk]) for i in range(0, len(body), chunk)]
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(parts) + b"0\r\n\r\n"


class Client:
    """One keep-alive HTTP/1.1 connection to a server. Not thread-safe:
    give each thread its own (LogeServer.connect())."""

    def __init__(self, port, timeout=HTTP_TIMEOUT_S):
        self.port = port
        self.timeout = timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.connects = 0  # how many TCP connections this client opened

    def close(self):
        self.conn.close()

    def request(self, method, path, body=None, headers=None):
        """Sends one request on the kept-alive connection. Never retries: a
        push that failed in flight must stay unacknowledged. On a transport
        error the connection is dropped (the next call opens a new one) and
        the error is raised."""
        hdrs = dict(headers or {})
        if isinstance(body, str):
            body = body.encode()
        if self.conn.sock is None:
            self.connects += 1
        try:
            self.conn.request(method, path, body=body, headers=hdrs)
            r = self.conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise
        resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        if r.will_close:
            self.conn.close()
        return resp

    def push_raw(self, body, content_type="application/json", headers=None):
        h = {"Content-Type": content_type} if content_type is not None else {}
        h.update(headers or {})
        return self.request("POST", "/api/v1/push", body, h)

    def push(self, streams, content_type="application/json"):
        if isinstance(streams, dict):
            streams = [streams]
        return self.push_raw(json.dumps({"streams": streams}), content_type)

    def push_ok(self, streams):
        r = self.push(streams)
        assert r.status in (200, 202), r
        return r

    def query_raw(self, body):
        return self.request("POST", "/api/v1/query", body, {"Content-Type": "application/json"})

    def query(self, **fields):
        r = self.query_raw(json.dumps(fields))
        assert r.status == 200, r
        doc = r.json()
        assert doc["status"] == "success", doc
        return doc

    def rows(self, **fields):
        return self.query(**fields)["data"]

    def query_all(self, matchers=None, start=0, end=0, page=5000):
        """Every row matching, newest first, paging with `end` below the oldest
        row of the previous page. Needs distinct timestamps within the match."""
        out = []
        while True:
            batch = self.rows(matchers=matchers or [], start=start, end=end, limit=page)
            out.extend(batch)
            if len(batch) < page:
                return out
            end = batch[-1]["timestamp"] - 1
            if end == 0 or end < start:  # 0 would mean "unbounded"
                return out

    def labels(self):
        r = self.request("GET", "/api/v1/labels")
        assert r.status == 200, r
        doc = r.json()
        assert doc["status"] == "success", doc
        return doc["data"]


class LogeServer:
    def __init__(self, workdir, args, pre_args=()):
        self.bin = loge_bin()
        self.workdir = workdir
        self.dir = os.path.join(workdir, "data")
        self.pre_args = list(pre_args)  # before the standard flags, e.g. ["serve"]
        self.args = list(args)
        self.proc = None
        self.port = None
        self.client = None
        self.runs = 0
        self.log_path = None

    # --- process control -------------------------------------------------

    def start(self, timeout=START_TIMEOUT_S):
        assert self.proc is None, "already running"
        self.runs += 1
        self.log_path = os.path.join(self.workdir, f"loge-{self.runs}.log")
        cmd = [self.bin, *self.pre_args, "--port", "0", "--output-path", self.dir, *self.args]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def listening():
            m = _LISTENING.search(self.log())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                pytest.fail(f"loge exited with {rc} before listening: {cmd}\n{self.log()}")
            return None

        self.port = wait_for(listening, timeout, "the 'listening on' line")
        self.client = Client(self.port)
        return self

    def log(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _drop_client(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    def stop(self, timeout=STOP_TIMEOUT_S, sig=signal.SIGTERM, check=True):
        """SIGTERM (or sig) and wait. check=True: asserts a clean exit (code 0)
        within the deadline. check=False: returns the exit code, or None if
        the deadline passed (the process is then killed with SIGKILL)."""
        assert self.proc is not None, "not running"
        self._drop_client()
        proc, self.proc = self.proc, None
        proc.send_signal(sig)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            if not check:
                return None
            pytest.fail(f"loge did not exit within {timeout}s of {sig.name}\n{self.log()[-4000:]}")
        if check:
            assert rc == 0, f"loge exited with {rc} after {sig.name}\n{self.log()[-4000:]}"
        return rc

    def kill9(self):
        assert self.proc is not None, "not running"
        self._drop_client()
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def restart(self, graceful=True):
        if self.proc is not None and graceful:
            self.stop()
        elif self.proc is not None:
            self.kill9()
        return self.start()

    def reap(self):
        """Teardown: kill our process if a test left it running."""
        self._drop_client()
        if self.proc is not None:
            proc, self.proc = self.proc, None
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait()

    # --- HTTP helpers on the default connection ----------------------------

    def connect(self):
        return Client(self.port)

    # Shorthands for the default keep-alive connection.
    def request(self, *a, **kw):
        return self.client.request(*a, **kw)

    def push(self, *a, **kw):
        return self.client.push(*a, **kw)

    def push_raw(self, *a, **kw):
        return self.client.push_raw(*a, **kw)

    def push_ok(self, *a, **kw):
        return self.client.push_ok(*a, **kw)

    def query(self, **kw):
        return self.client.query(**kw)

    def query_raw(self, body):
        return self.client.query_raw(body)

    def rows(self, **kw):
        return self.client.rows(**kw)

    def query_all(self, **kw):
        return self.client.query_all(**kw)

    def labels(self):
        return self.client.labels()

    # --- on-disk state ---------------------------------------------------

    def flush_files(self):
        if not os.path.isdir(self.dir):
            return []
        return sorted(n for n in os.listdir(self.dir) if re.fullmatch(r"flush-\d+-\d+\.sqlite\.zst", n))

    def data_files(self):
        """Flush files and the segments compaction merges them into."""
        if not os.path.isdir(self.dir):
            return []
        return sorted(n for n in os.listdir(self.dir)
                      if re.fullmatch(r"(flush-\d+-\d+|segment-\d+-\d+-\d+)\.sqlite\.zst", n))

    def wal_files(self):
        d = os.path.join(self.dir, "wal")
        if not os.path.isdir(d):
            return []
        out = []
        for n in sorted(os.listdir(d)):
            if n.endswith(".wal"):
                try:
                    out.append((n, os.path.getsize(os.path.join(d, n))))
                except FileNotFoundError:
                    pass  # deleted by a checkpoint while we listed
        return out


@pytest.fixture
def loge():
    """Factory: loge(*flags, start=True, pre_args=()) -> LogeServer in a fresh
    directory, run as `loge *pre_args --port 0 --output-path DIR *flags`."""
    servers = []
    dirs = []

    def make(*args, start=True, pre_args=()):
        workdir = tempfile.mkdtemp(prefix="loge-it-")
        dirs.append(workdir)
        s = LogeServer(workdir, args, pre_args)
        servers.append(s)
        if start:
            s.start()
        return s

    yield make
    for s in servers:
        s.reap()
        if s.log_path:  # shown by pytest only when the test failed
            print(f"--- tail of {s.log_path} ---\n{s.log()[-3000:]}")
    for d in dirs:
        if os.environ.get("LOGE_KEEP_DIRS"):  # debugging: look at a failed test's files
            print(f"kept {d}")
            continue
        shutil.rmtree(d, ignore_errors=True)


class Clock:
    """Distinct, increasing nanosecond timestamps near now."""

    def __init__(self):
        self.t = time.time_ns()

    def next(self):
        self.t += 1
        return self.t


@pytest.fixture
def clock():
    return Clock()
