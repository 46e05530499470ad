"""The command line: --help, `loge serve`, and bad flag values (exit 2)."""

import os
import re
import subprocess
import tempfile

import pytest

from conftest import loge_bin, stream

RUN_TIMEOUT_S = 30
# A bad value exits at once; a server that started anyway is ended by this.
BAD_VALUE_TIMEOUT_S = 10


def run(*args, timeout=RUN_TIMEOUT_S):
    return subprocess.run([loge_bin(), *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


# flag -> the default --help must show (None: only that the flag is listed).
FLAG_DEFAULTS = {
    "--port": "3000",
    "--buckets": "4",
    "--payload-size": "1000000",
    "--compact-interval": "10s",
    "--compact-min-files": "64",
    "--compact-max-age": "5m",
    "--compact-level": "1",
    "--compact-block-filter-lines": "2048",
    "--segment-size": "256MiB",
    "--merge-threads": "2",
    "--merge-nice": "10",
    "--max-merge-backlog": "256",
    "--output-path": "tmp/",
    "--flush-interval": "1s",
    "--flush-compression": "fastest",
    "--flush-workers": None,
    "--flush-queue": None,
    "--durable": ("true", "1"),
    "--checkpoint-interval": "2s",
    "--drop-on-backpressure": ("false", "0"),
    "--query-concurrency": "8",
    "--max-body-size": "64MiB",
    "--max-line-size": "256KiB",
    "--max-head-size": None,
    "--backpressure-wait": None,
    "--s3-bucket": None,
    "--s3-prefix": "loge/",
    "--s3-endpoint": None,
    "--s3-region": None,
    "--s3-force-path-style": ("false", "0"),
    "--s3-read-url-base": None,
    "--s3-acl": None,
    "--s3-rotate-age": "1h",
    "--s3-rotate-interval": "1m",
    "--s3-rotate-grace": "1m",
    "--s3-frame-cache-size": "512",
    "--s3-presign-expiry": "15m",
    "--node-id": None,
}

# Flags whose default is empty say so in their description.
EMPTY_DEFAULT_FLAGS = ["--s3-bucket", "--s3-endpoint", "--s3-region", "--s3-read-url-base", "--s3-acl",
                       "--node-id"]


@pytest.mark.parametrize("args", [("--help",), ("-h",)])
def test_help_exits_0_and_lists_every_flag_with_its_default(args):
    r = run(*args)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for flag, default in FLAG_DEFAULTS.items():
        m = re.search(rf"^\s*{re.escape(flag)}\b(.*)$", out, re.M)
        assert m, f"--help does not list {flag}:\n{out}"
        if default is None:
            continue
        options = default if isinstance(default, tuple) else (default,)
        # CLI11 shows "--flag TYPE=default   description".
        assert any(re.search(rf"={re.escape(d)}(?=\s|$)", m.group(1)) for d in options), \
            f"{flag}: default {default} not shown in {m.group(0)!r}"
    assert "serve" in out


def test_empty_defaults_are_shown_in_help():
    out = run("--help").stdout
    for flag in EMPTY_DEFAULT_FLAGS:
        line = re.search(rf"^\s*{re.escape(flag)}\b.*$", out, re.M).group(0)
        assert 'default ""' in line, line


def test_compression_levels_are_listed_in_help():
    out = run("--help").stdout
    line = re.search(r"^\s*--flush-compression\b.*$", out, re.M).group(0)
    for level in ("fastest", "default", "better", "best"):
        assert level in line, line


def test_serve_subcommand_runs_the_server(loge, clock):
    s = loge("--flush-interval", "1h", pre_args=["serve"])  # loge serve --port 0 --output-path D ...
    s.push_ok(stream({"app": "serve"}, [(clock.next(), "via serve")]))
    assert [r["line"] for r in s.rows()] == ["via serve"]
    s.restart()
    assert [r["line"] for r in s.rows()] == ["via serve"]
    s.stop()


def test_flags_before_the_serve_subcommand_also_work(loge, clock):
    s = loge("serve", "--flush-interval", "1h")  # loge --port 0 --output-path D serve --flush-interval 1h
    s.push_ok(stream({"app": "web"}, [(clock.next(), "x")]))
    assert [r["line"] for r in s.rows()] == ["x"]
    s.stop()


BAD_VALUES = [
    ("--flush-interval", "5x"),
    ("--flush-interval", "0s"),
    ("--checkpoint-interval", "soon"),
    ("--checkpoint-interval", "-1s"),
    ("--backpressure-wait", "1 sec"),
    ("--port", "abc"),
    ("--port", "70000"),
    ("--port", "-1"),
    ("--buckets", "0"),
    ("--buckets", "many"),
    ("--payload-size", "0"),
    ("--flush-compression", "huge"),
    ("--flush-workers", "0"),
    ("--flush-queue", "0"),
    ("--durable", "maybe"),
    ("--drop-on-backpressure", "perhaps"),
    ("--query-concurrency", "0"),
    ("--max-body-size", "12Q"),
    ("--max-line-size", "lots"),
    ("--max-head-size", "1XB"),
    ("--s3-rotate-age", "1 hour"),
    ("--s3-rotate-interval", "soon"),
    ("--s3-rotate-grace", "5x"),
    ("--s3-presign-expiry", "never"),
    ("--s3-frame-cache-size", "0"),
    ("--s3-frame-cache-size", "lots"),
    ("--s3-force-path-style", "maybe"),
]

# Values that parse but are checked once the S3 tier is on (--s3-bucket set);
# they exit 2 before any credentials are looked up.
BAD_S3_VALUES = [
    ("--s3-rotate-interval", "0s"),
    ("--s3-rotate-age", "-1m"),
    ("--s3-rotate-grace", "-1s"),
    ("--s3-presign-expiry", "0s"),
    ("--s3-presign-expiry", "169h"),
    ("--s3-acl", "Public Read"),
    ("--s3-endpoint", "ftp://127.0.0.1:9000"),
    ("--s3-read-url-base", "cdn.example.com"),
    ("--s3-prefix", "/abs/"),
    ("--s3-bucket", "a/b"),
    ("--node-id", "a/b"),
    ("--node-id", "x" * 65),
]


@pytest.mark.parametrize("subcommand", [(), ("serve",)], ids=["loge", "loge_serve"])
@pytest.mark.parametrize("flag,value", BAD_VALUES, ids=[f"{f}={v}" for f, v in BAD_VALUES])
def test_bad_flag_value_exits_2_with_a_message(subcommand, flag, value):
    # --port 0 and a private output dir, so a wrongly accepted value cannot
    # touch a shared port or directory; the timeout ends a server that started.
    with tempfile.TemporaryDirectory(prefix="loge-it-") as d:
        try:
            r = run(*subcommand, "--output-path", os.path.join(d, "out"), flag, value,
                    *(["--port", "0"] if flag != "--port" else []), timeout=BAD_VALUE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{flag} {value!r} was accepted: the server started")
    assert r.returncode == 2, f"{flag} {value!r}: exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    assert flag in r.stderr, f"the message does not name {flag}: {r.stderr!r}"
    assert "listening" not in r.stdout


@pytest.mark.parametrize("flag,value", BAD_S3_VALUES, ids=[f"{f}={v[:20]}" for f, v in BAD_S3_VALUES])
def test_bad_s3_flag_value_exits_2_with_a_message(flag, value):
    with tempfile.TemporaryDirectory(prefix="loge-it-") as d:
        args = ["--s3-bucket", "logs"] if flag != "--s3-bucket" else []
        try:
            r = run("--output-path", os.path.join(d, "out"), "--port", "0", *args, flag, value,
                    timeout=BAD_VALUE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{flag} {value!r} was accepted: the server started")
        assert not os.path.exists(os.path.join(d, "out")), "nothing may be created for a bad value"
    assert r.returncode == 2, f"{flag} {value!r}: exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    assert flag in r.stderr, f"the message does not name {flag}: {r.stderr!r}"


def test_s3_without_credentials_exits_1_naming_the_chain():
    with tempfile.TemporaryDirectory(prefix="loge-it-") as d:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["HOME"] = d  # no ~/.aws
        r = subprocess.run([loge_bin(), "--output-path", os.path.join(d, "out"), "--port", "0",
                            "--s3-bucket", "logs"], capture_output=True, text=True, timeout=BAD_VALUE_TIMEOUT_S,
                           stdin=subprocess.DEVNULL, env=env)
    assert r.returncode == 1, r
    assert "logs" in r.stderr and "AWS_ACCESS_KEY_ID" in r.stderr, r.stderr


def test_unknown_flag_exits_2():
    r = run("--no-such-flag", "--port", "0", "--output-path", "/nonexistent/loge-it", timeout=BAD_VALUE_TIMEOUT_S)
    assert r.returncode == 2, r
    assert "--no-such-flag" in r.stderr
