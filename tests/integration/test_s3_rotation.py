"""The S3 cold tier's write side against the real binary and a real MinIO:
segments older than --s3-rotate-age move to the bucket under
<prefix><node-id>/segment-<minTs>-<maxTs>-<id>.sqlite.zst, their local copy
goes after the grace window, and a node started on an empty output path with
the same bucket catalogs every segment from the listing.

MinIO is started once per module by scripts/minio.sh (the suite skips when it
is not installed). Credentials reach loge only through the environment
(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), as in production. The bucket is
read with curl --aws-sigv4, not with loge's own client.
"""

import os
import re
import subprocess
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from s3util import REGION, run_minio, s3_curl, use_credentials
from conftest import stream, wait_for

BUCKET = "loge-rotation"
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"

FAST = ("--flush-interval", "50ms", "--compact-interval", "0", "--compact-min-files", "1",
        "--checkpoint-interval", "100ms",
        # Each compaction's segment is final (>= half of it), so segments stay apart.
        "--segment-size", "4KiB")

@pytest.fixture(scope="module")
def minio():
    yield from run_minio(BUCKET)


@pytest.fixture
def s3env(minio, monkeypatch):
    return use_credentials(minio, monkeypatch)


def s3_flags(minio, prefix, *extra, bucket=BUCKET):
    return ("--s3-bucket", bucket, "--s3-prefix", prefix, "--s3-endpoint", minio["LOGE_S3_ENDPOINT"],
            "--s3-region", REGION, "--s3-force-path-style", "true", *extra)


def list_keys(minio, prefix):
    """Every key under prefix, with its size (one page is plenty here)."""
    q = "list-type=2&prefix=" + urllib.parse.quote(prefix, safe="")
    code, body = s3_curl(minio, "GET", f"/{BUCKET}?{q}")
    assert code == 200, body
    root = ET.fromstring(body)
    return {c.find(S3_NS + "Key").text: int(c.find(S3_NS + "Size").text) for c in root.iter(S3_NS + "Contents")}


def stats(s):
    r = s.request("GET", "/api/v1/stats")
    assert r.status == 200, r
    return r.json()


def make_segments(s, clock, n):
    """n segments of 100 rows each (push, flush, compact). Returns the lines."""
    lines = []
    for b in range(n):
        values = [(clock.next(), f"rotate me {b}/{i} request_id=r{b}x{i}") for i in range(100)]
        lines += [v[1] for v in values]
        s.push_ok(stream({"app": "rot", "env": "test"}, values))
        wait_for(lambda: stats(s)["head_rows"] == 0, 10, "the head to flush")
        r = s.request("POST", "/api/v1/admin/compact")
        assert r.status == 200, r
    return lines


def local_segments(s):
    return sorted(n for n in os.listdir(s.dir) if re.fullmatch(r"segment-\d+-\d+-\d+\.sqlite\.zst", n))


def rotated_keys(minio, prefix):
    return {k: v for k, v in list_keys(minio, prefix).items()
            if re.fullmatch(re.escape(prefix) + r"[0-9a-f]{16}/segment-\d+-\d+-\d+\.sqlite\.zst", k)}


def test_old_segments_rotate_to_the_bucket_and_come_back_on_an_empty_output_path(loge, clock, s3env):
    prefix = "rot1/"
    # Rotate every segment at once (age 0), pass every 100 ms, no grace.
    s = loge(*FAST, *s3_flags(s3env, prefix, "--s3-rotate-age", "0s", "--s3-rotate-interval", "100ms",
                              "--s3-rotate-grace", "0s"))
    make_segments(s, clock, 2)
    # The background pass uploads them and deletes the local copies.
    keys = wait_for(lambda: len(rotated_keys(s3env, prefix)) == 2 and not local_segments(s)
                    and rotated_keys(s3env, prefix), 30, "both segments in the bucket and gone locally")
    st = stats(s)
    assert st["segments_total"] == 2, st
    assert st["rows_total"] == 200, st
    assert "S3 tier: node id" in s.log()
    node_ids = {k[len(prefix):].split("/")[0] for k in keys}
    assert len(node_ids) == 1, keys
    # Sizes are whole files (the uploader verified them with HEAD).
    assert all(size > 0 for size in keys.values()), keys
    for secret in (s3env["AWS_SECRET_ACCESS_KEY"],):
        assert secret not in s.log()
    s.stop()

    # A new node: empty output path, same bucket. Reconcile at startup
    # catalogs both segments from the listing alone (bounds from the keys).
    fresh = loge(*FAST, *s3_flags(s3env, prefix, "--s3-rotate-age", "1h"))
    st = stats(fresh)
    assert st["segments_total"] == 2, st
    mins = [int(k.rsplit("/", 1)[1].split("-")[1]) for k in keys]
    maxs = [int(k.rsplit("/", 1)[1].split("-")[2]) for k in keys]
    assert st["min_timestamp"] == min(mins), st
    assert st["max_timestamp"] == max(maxs), st
    assert local_segments(fresh) == []
    # Its own node id differs, and it uploaded nothing.
    assert len(rotated_keys(s3env, prefix)) == 2
    fresh.stop()


def test_young_segments_stay_local(loge, clock, s3env):
    prefix = "rot2/"
    s = loge(*FAST, *s3_flags(s3env, prefix, "--s3-rotate-age", "1h", "--s3-rotate-interval", "50ms",
                              "--log-level", "debug"))
    make_segments(s, clock, 1)
    assert len(local_segments(s)) == 1
    # Two passes that saw the segment and left it (the debug line of a pass).
    wait_for(lambda: s.log().count("0 uploaded, 1 waiting") >= 2, 30, "two rotation passes")
    assert rotated_keys(s3env, prefix) == {}
    assert len(local_segments(s)) == 1
    s.stop()


def test_unreachable_bucket_keeps_segments_local_and_serving(loge, clock, s3env):
    prefix = "rot3/"
    s = loge(*FAST, *s3_flags(s3env, prefix, "--s3-rotate-age", "0s", "--s3-rotate-interval", "100ms",
                              bucket="no-such-bucket"))
    lines = make_segments(s, clock, 1)
    wait_for(lambda: "stays local" in s.log(), 30, "a failed rotation to be logged")
    assert len(local_segments(s)) == 1
    assert stats(s)["segments_total"] == 1
    got = [r["line"] for r in s.query_all()]
    assert sorted(got) == sorted(lines)
    s.stop()


def test_kill9_within_the_grace_window_leaves_no_duplicate(loge, clock, s3env):
    prefix = "rot5/"
    s = loge(*FAST, *s3_flags(s3env, prefix, "--s3-rotate-age", "0s", "--s3-rotate-interval", "100ms",
                              "--s3-rotate-grace", "1h"))
    make_segments(s, clock, 2)
    # Both flipped in the catalog (the log line follows the flip and swap);
    # the local copies wait for their grace window.
    wait_for(lambda: s.log().count("S3 tier: rotated") == 2, 30, "both segments rotated")
    assert len(rotated_keys(s3env, prefix)) == 2
    assert len(local_segments(s)) == 2
    s.kill9()
    s.start()
    # Startup deleted the local copies: the catalog names the remote ones.
    assert local_segments(s) == []
    assert s.log().count("it was rotated to S3") == 2, s.log()
    st = stats(s)
    assert st["segments_total"] == 2, st
    assert st["rows_total"] == 200, st
    s.stop()


def test_admin_rotate_stats_and_queries_over_remote_segments(loge, clock, s3env):
    prefix = "rot4/"
    s = loge(*FAST, *s3_flags(s3env, prefix, "--s3-rotate-age", "0s", "--s3-rotate-interval", "1h",
                              "--s3-rotate-grace", "0s"))
    lines = make_segments(s, clock, 2)
    r = s.request("POST", "/api/v1/admin/rotate")
    assert r.status == 200, r
    data = r.json()["data"]
    assert data["uploaded"] == 2, data
    st = stats(s)
    assert st["segments_remote"] == 2, st
    assert st["segments_local"] == 0, st
    assert len(rotated_keys(s3env, prefix)) == 2
    got = [r["line"] for r in s.query_all()]
    assert sorted(got) == sorted(lines)
    s.stop()
    fresh = loge(*FAST, *s3_flags(s3env, prefix))
    assert stats(fresh)["segments_remote"] == 2
    got = [r["line"] for r in fresh.query_all()]
    assert sorted(got) == sorted(lines)
    fresh.stop()


def object_text(minio, key):
    """The decompressed bytes of one object (seekable zstd, which the zstd CLI
    reads), fetched with curl --aws-sigv4."""
    r = subprocess.run(
        ["curl", "-sS", "--fail", "--aws-sigv4", f"aws:amz:{REGION}:s3",
         "--user", f"{minio['AWS_ACCESS_KEY_ID']}:{minio['AWS_SECRET_ACCESS_KEY']}",
         "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", f"{minio['LOGE_S3_ENDPOINT']}/{BUCKET}/{key}"],
        capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return subprocess.run(["zstd", "-q", "-dc"], input=r.stdout, capture_output=True, check=True).stdout


def test_a_delete_request_rewrites_a_remote_segment_and_its_bytes_leave_the_bucket(loge, clock, s3env):
    """docs/retention.md, "Deleting lines": a request whose row is in a
    segment in the bucket is processed; the secret is in no object and no
    local file, and every other row is read exactly once."""
    prefix = "rot6/"
    secret = "password=hunter2"
    s = loge(*FAST, *s3_flags(s3env, prefix, "--s3-rotate-age", "0s", "--s3-rotate-interval", "1h",
                              "--s3-rotate-grace", "0s"),
             "--delete-cancel-period", "0s", "--delete-interval", "0")
    values = [(clock.next(), f"GET /page/{i} ok") for i in range(50)]
    values[20] = (values[20][0], f"login user=bob {secret}")
    s.push_ok(stream({"app": "web"}, values))
    wait_for(lambda: stats(s)["head_rows"] == 0, 10, "the head to flush")
    assert s.request("POST", "/api/v1/admin/compact").status == 200
    assert s.request("POST", "/api/v1/admin/rotate").json()["data"]["uploaded"] == 1
    keys = rotated_keys(s3env, prefix)
    assert len(keys) == 1 and secret.encode() in object_text(s3env, next(iter(keys))), keys

    start, end = values[0][0] // 10**9 - 1, values[-1][0] // 10**9 + 1
    q = urllib.parse.quote(f'{{app="web"}} |= "{secret}"', safe="")
    r = s.request("POST", f"/loki/api/v1/delete?query={q}&start={start}&end={end}")
    assert r.status == 204, r
    r = s.request("POST", "/api/v1/admin/deletes")
    assert r.status == 200, r
    assert r.json()["data"]["bytes_deleted"] == len(values[20][1]), r.json()
    listed = s.request("GET", "/loki/api/v1/delete").json()
    assert [x["status"] for x in listed] == ["processed"], listed
    st = stats(s)
    assert st["delete_waiting_remote"] == 0 and st["segments_remote"] == 0, st
    assert rotated_keys(s3env, prefix) == {}  # the old object is gone
    # The next rotation uploads the rewritten segment.
    assert s.request("POST", "/api/v1/admin/rotate").json()["data"]["uploaded"] == 1
    keys = rotated_keys(s3env, prefix)
    assert len(keys) == 1, keys
    for key in keys:
        data = object_text(s3env, key)
        assert secret.encode() not in data and b"GET /page/7 ok" in data, key
    for name in s.data_files():
        data = subprocess.run(["zstd", "-q", "-dc", os.path.join(s.dir, name)], check=True,
                              capture_output=True).stdout
        assert secret.encode() not in data, name
    got = sorted(r["line"] for r in s.query_all())
    assert got == sorted(v[1] for i, v in enumerate(values) if i != 20)
    s.stop()
