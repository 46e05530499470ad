"""Shared by the S3 integration suites: a real MinIO on loopback (started by
scripts/minio.sh, stopped by its PID) with a public-read bucket, the AWS
credentials loge takes from the environment, and signed requests made with
curl (not with loge's own client)."""
import json
import os
import signal
import subprocess
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MINIO_SH = os.path.join(REPO, "scripts", "minio.sh")
REGION = "us-east-1"


def run_minio(bucket):
    """Generator for a module fixture: yields minio.sh's environment (endpoint,
    credentials, PID, data dir) with `bucket` created and readable by anyone
    (queries read rotated segments from the public URL)."""
    have = subprocess.run(["bash", MINIO_SH, "bin"], capture_output=True, text=True)
    if have.returncode != 0:
        pytest.skip("MinIO is not installed: run scripts/minio.sh install (or set LOGE_MINIO_BIN)")
    r = subprocess.run(["bash", MINIO_SH, "start", "--bucket", bucket], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    env = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    try:
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{bucket}/*"]}]})
        code, body = s3_curl(env, "PUT", f"/{bucket}?policy=", policy)
        assert code in (200, 204), body
        yield env
    finally:
        pid = int(env["LOGE_S3_PID"])  # started here (minio.sh start)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        subprocess.run(["rm", "-rf", env["LOGE_S3_DATA"]], check=False)


def use_credentials(minio, monkeypatch):
    """Credentials for the loge processes a test starts, from the environment only."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", minio["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", minio["AWS_SECRET_ACCESS_KEY"])
    for k in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(k, raising=False)
    return minio


def s3_curl(minio, method, path_and_query, data=None):
    """A signed request with curl (its 7.88 signer needs the payload header
    and an already canonical query). Returns (status, body)."""
    r = subprocess.run(
        ["curl", "-sS", "-X", method, "-o", "-", "-w", "\n%{http_code}", "--aws-sigv4", f"aws:amz:{REGION}:s3",
         "--user", f"{minio['AWS_ACCESS_KEY_ID']}:{minio['AWS_SECRET_ACCESS_KEY']}",
         "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", minio["LOGE_S3_ENDPOINT"] + path_and_query]
        + (["--data-binary", data] if data is not None else []),
        capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body
