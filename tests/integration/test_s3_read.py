"""Remote reads on the real binary (docs/s3.md "Remote reads", "Search plan",
"loge search --local"): a server whose catalog holds a segment in a real
MinIO answers queries over it, hands out a search plan with presigned URLs,
`loge search --local` prints exactly what the server-side search prints, and
an S3 outage gives partial answers quickly instead of errors or hangs.

The remote state is made here, the way the uploader leaves it: a segment is
compacted by a first run of the server, uploaded to MinIO with
`curl --aws-sigv4`, and its catalog row is flipped to tier=remote with the
object's public URL (reconcile keeps remote rows). The server is then
restarted with the bucket configured.

Skips while `loge serve` has no --s3-bucket flag (the uploader side of issue
7 adds the flags and the call to tier::EnableRemoteReads), or when MinIO is
not installed (scripts/minio.sh install). The same checks run today at the
gtest level: RemoteQueryMinio.*, RemoteOutage.*, SearchLocalMinio.*.
"""

import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse

import pytest

from conftest import loge_bin, stream, wait_for

USER = "loge-test-root"
SECRET = "loge-test-secret-key"
BUCKET = "cold"
PREFIX = "loge/"
FAST = ("--flush-interval", "50ms", "--compact-interval", "0", "--compact-min-files", "2",
        "--checkpoint-interval", "100ms")


def minio_bin():
    for cand in (os.environ.get("LOGE_MINIO_BIN"),
                 os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "loge/bin/minio"),
                 shutil.which("minio")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def serve_has_s3_flags():
    out = subprocess.run([loge_bin(), "serve", "--help"], capture_output=True, text=True, timeout=30)
    return "--s3-bucket" in out.stdout + out.stderr


pytestmark = [
    pytest.mark.skipif(minio_bin() is None, reason="MinIO is not installed: run scripts/minio.sh install"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Minio:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="loge-s3-read-minio-")
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, MINIO_ROOT_USER=USER, MINIO_ROOT_PASSWORD=SECRET, MINIO_BROWSER="off",
                   MINIO_UPDATE="off", MINIO_CI_CD="1")
        self.log = open(os.path.join(self.dir, "minio.log"), "wb")
        self.proc = subprocess.Popen([minio_bin(), "server", "--quiet", "--address", f"127.0.0.1:{self.port}",
                                      os.path.join(self.dir, "store")],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        wait_for(self.ready, 30, "MinIO to be ready", interval=0.05)

    def ready(self):
        if self.proc.poll() is not None:
            pytest.fail(f"MinIO exited with {self.proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            c.request("GET", "/minio/health/ready")
            ok = c.getresponse().status == 200
            c.close()
            return ok
        except OSError:
            return False

    def s3(self, method, path, body=None):
        """One signed request with curl's own SigV4; returns the HTTP status."""
        cmd = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:s3",
               "--user", f"{USER}:{SECRET}", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-X", method]
        if isinstance(body, str) and os.path.exists(body):
            cmd += ["-T", body]
        elif body is not None:
            cmd += ["--data-binary", body]
        out = subprocess.run(cmd + [self.endpoint + path], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return int(out.stdout)

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def close(self):
        self.stop()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def minio():
    m = Minio()
    try:
        yield m
    finally:
        m.close()


def stats(s):
    r = s.request("GET", "/api/v1/stats")
    assert r.status == 200, r
    return r.json()


def make_remote_segment(loge, minio, monkeypatch):
    """Returns a running server whose catalog holds one remote segment of
    app0..app3 rows (800 each, older) and whose head holds 20 newer rows per
    app. Returns (server, public url of the segment)."""
    s = loge(*FAST)
    t0 = time.time_ns() - 3600 * 10**9
    for b in range(4):
        for app in range(4):
            values = [(t0 + (b * 200 + i) * 10**6 + app, f"cold app{app} batch={b} req={i} id=c{b}x{i}")
                      for i in range(200)]
            s.push_ok(stream({"app": f"app{app}", "env": "test"}, values))
        wait_for(lambda: stats(s)["head_rows"] == 0, 10, "the head to flush")
    assert s.request("POST", "/api/v1/admin/compact").status == 200
    s.stop()
    names = [n for n in os.listdir(s.dir) if n.startswith("segment-")]
    assert len(names) == 1, os.listdir(s.dir)
    name = names[0]

    assert minio.s3("PUT", f"/{BUCKET}") == 200
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": ["s3:GetObject"],
        "Resource": [f"arn:aws:s3:::{BUCKET}/*"]}]})
    assert minio.s3("PUT", f"/{BUCKET}?policy=", policy) in (200, 204)
    key = f"{PREFIX}manual/{name}"
    assert minio.s3("PUT", f"/{BUCKET}/{key}", os.path.join(s.dir, name)) == 200
    url = f"{minio.endpoint}/{BUCKET}/{key}"
    db = sqlite3.connect(os.path.join(s.dir, "catalog.sqlite"))
    with db:
        assert db.execute("UPDATE files SET tier = 1, path = ? WHERE path = ?", (url, name)).rowcount == 1
    db.close()
    os.rename(os.path.join(s.dir, name), os.path.join(s.workdir, name))  # only the bucket has it now

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", USER)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    s.args += ["--s3-bucket", BUCKET, "--s3-endpoint", minio.endpoint, "--s3-force-path-style", "true",
               "--s3-region", "us-east-1", "--s3-prefix", PREFIX]
    s.start()
    t1 = time.time_ns()
    for app in range(4):
        s.push_ok(stream({"app": f"app{app}", "env": "test"},
                         [(t1 + i * 1000 + app, f"hot app{app} req={i}") for i in range(20)]))
    return s, url


def search(s, selector, *flags):
    cmd = [loge_bin(), "search", selector, "--addr", f"http://127.0.0.1:{s.port}", "--output", "json", *flags]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return out


@pytest.mark.skipif(not serve_has_s3_flags(), reason="loge serve has no --s3-bucket flag yet (uploader side of issue 7)")
def test_plan_and_local_search_match_the_server(loge, minio, monkeypatch):
    s, url = make_remote_segment(loge, minio, monkeypatch)

    r = s.request("GET", "/api/v1/search/plan?" + urllib.parse.urlencode({"query": '{app="app1"}', "limit": 100}))
    assert r.status == 200, r
    plan = r.json()
    assert len(plan["hot"]) == 20
    assert len(plan["segments"]) == 1
    seg = plan["segments"][0]
    assert seg["url"].startswith(url + "?X-Amz-Algorithm=AWS4-HMAC-SHA256"), seg
    assert plan["expires_at"] > time.time() + 600
    assert plan["partial"] is False

    for selector, limit in [('{app="app1"}', 100), ('{env="test"}', 5000), ('{env="test"} |= "req=17 "', 50),
                            ('{app="nope"}', 10)]:
        server_side = search(s, selector, "--limit", str(limit))
        local = search(s, selector, "--limit", str(limit), "--local")
        assert server_side.returncode == 0, server_side.stderr
        assert local.returncode == 0, local.stderr
        assert local.stdout == server_side.stdout, selector
    assert len(search(s, '{env="test"}', "--limit", "5000").stdout.splitlines()) == 4 * 800 + 4 * 20


@pytest.mark.skipif(not serve_has_s3_flags(), reason="loge serve has no --s3-bucket flag yet (uploader side of issue 7)")
def test_outage_gives_partial_answers_quickly(loge, minio, monkeypatch):
    s, url = make_remote_segment(loge, minio, monkeypatch)
    whole = s.query(query='{app="app2"}', limit=1000)
    assert whole["partial"] is False
    assert len(whole["data"]) == 820

    # Decoded frames of that segment are cached now and would answer without
    # S3: restart, so the query must fetch, with the store down.
    s.stop()
    minio.stop()
    s.start()
    t = time.monotonic()
    doc = s.query(query='{app="app2"}', limit=1000)
    assert time.monotonic() - t < 5
    assert doc["partial"] is True
    assert any(url in w for w in doc["warnings"]), doc["warnings"]
    assert [r["line"] for r in doc["data"]] == [f"hot app2 req={i}" for i in reversed(range(20))]

    # A query that prunes the segment by time needs no S3 at all.
    doc = s.query(query='{app="app2"}', start=time.time_ns() - 60 * 10**9)
    assert doc["partial"] is False
    assert doc["stats"]["remote_requests"] == 0

    local = search(s, '{app="app2"}', "--limit", "1000", "--local")
    assert local.returncode == 0, local.stderr
    assert "partial results" in local.stderr
    assert len(local.stdout.splitlines()) == 20
