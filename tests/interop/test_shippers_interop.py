"""Interop with shippers nobody here wrote: the OpenTelemetry JS SDK's OTLP
HTTP log exporters (protobuf and JSON) and the official Elasticsearch JS
client's bulk helper, from npm at the versions package-lock.json pins
(`npm ci` in scripts/install-deps.sh); the OpenTelemetry Python SDK's
OTLP/HTTP protobuf exporter (gzip), from PyPI at the versions
requirements.txt pins (a venv built by scripts/install-deps.sh); Debian's logger(1) (RFC 5424 over
TCP with octet counting, RFC 3164 over UDP) and rsyslog (omfwd over TCP
and UDP), both installed by scripts/install-deps.sh.

Each test starts the real server, has the client ship its lines, waits for
the client to report them sent (the npm clients: every batch acknowledged;
syslog has no acknowledgement, so the query is polled with a deadline),
then checks through POST /api/v1/query that every line arrived once with
the right labels, metadata and timestamp."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from conftest import loge, wait_for  # noqa: E402,F401  (loge is a fixture)

LINES = 3000
SYSLOG_LINES = 500
LEVELS = ["info", "warn", "error", "debug"]
SEVERITY = {"info": 9, "warn": 13, "error": 17, "debug": 5}
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SPAN_ID = "b7ad6b7169203331"
SHIP_TIMEOUT_S = 120.0
QUERY_DEADLINE_S = 60.0
_SYSLOG_PORT = re.compile(r"syslog listening on tcp and udp port (\d+)")


def node():
    path = shutil.which("node")
    if path is None:
        pytest.fail("node not found: run scripts/install-deps.sh")
    for pkg in ("@opentelemetry/sdk-logs", "@opentelemetry/exporter-logs-otlp-proto",
                "@opentelemetry/exporter-logs-otlp-http", "@elastic/elasticsearch"):
        if not os.path.isdir(os.path.join(HERE, "node_modules", pkg)):
            pytest.fail(f"tests/interop/node_modules/{pkg} missing: run scripts/install-deps.sh (npm ci)")
    return path


def ship(client, port, run_id, base_ms, lines=LINES):
    cmd = [node(), os.path.join(HERE, "ship_shippers.mjs"), client, f"http://127.0.0.1:{port}", str(lines), run_id,
           str(base_ms)]
    p = subprocess.run(cmd, cwd=HERE, capture_output=True, timeout=SHIP_TIMEOUT_S)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    assert p.returncode == 0, f"{client} exited {p.returncode}\nstdout: {out}\nstderr: {err}"
    return json.loads(out.strip().splitlines()[-1])


def rows_of(server, query, want):
    def enough():
        r = server.query(query=query, start=1, end=2**62, limit=5000)["data"]
        return r if len(r) >= want else None
    return wait_for(enough, QUERY_DEADLINE_S, f"{want} rows of {query}", interval=0.1)


def run_id(client):
    return f"{client}-{os.getpid()}-{time.monotonic_ns()}"


@pytest.mark.parametrize("client", ["otel-proto", "otel-json"])
def test_opentelemetry_js_exporter_lines_arrive_with_labels_metadata_and_time(loge, client):
    s = loge("--flush-interval", "1s")
    rid = run_id(client)
    base_ms = 1_700_000_000_000
    summary = ship(client, s.port, rid, base_ms)
    assert summary["lines"] == LINES and summary["exports"] >= 1, summary
    rows = rows_of(s, '{service_namespace="%s"}' % rid, LINES)
    assert len(rows) == LINES
    seen = set()
    for r in rows:
        i = int(r["metadata"]["seq"])
        assert i not in seen, f"line {i} arrived twice"
        seen.add(i)
        level = LEVELS[i % 4]
        assert r["line"] == f"interop {client} line {i} {rid}", r
        assert r["timestamp"] == (base_ms + i) * 1_000_000, (i, r)
        assert r["labels"] == {"service_name": "interop-otel", "service_namespace": rid}, r
        assert r["metadata"] == {
            "trace_id": TRACE_ID, "span_id": SPAN_ID, "severity_text": level.upper(),
            "severity_number": str(SEVERITY[level]), "detected_level": level, "flags": "1", "seq": str(i),
            "shard": str(i % 3), "http_route": "/checkout", "scope_name": "interop-scope",
            "scope_version": "1.2.3", "host_name": "interop-host"}, r
    assert seen == set(range(LINES))
    one = s.query(query='{service_namespace="%s"} | seq="1234" | detected_level="error"' % rid, start=1,
                  end=2**62)["data"]
    assert [r["line"] for r in one] == [f"interop {client} line 1234 {rid}"]


def test_opentelemetry_python_exporter_lines_arrive_gzipped_with_labels_metadata_and_time(loge):
    py = os.path.join(HERE, ".venv", "bin", "python")
    if not os.access(py, os.X_OK):
        pytest.fail("tests/interop/.venv missing: run scripts/install-deps.sh")
    s = loge("--flush-interval", "1s")
    rid = run_id("otel-py")
    base_ms = 1_700_000_100_000
    p = subprocess.run([py, os.path.join(HERE, "ship_otel.py"), f"http://127.0.0.1:{s.port}", str(LINES), rid,
                        str(base_ms)], cwd=HERE, capture_output=True, timeout=SHIP_TIMEOUT_S)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    assert p.returncode == 0, f"ship_otel.py exited {p.returncode}\nstdout: {out}\nstderr: {err}"
    rows = rows_of(s, '{service_namespace="%s"}' % rid, LINES)
    assert len(rows) == LINES
    seen, instances = set(), set()
    for r in rows:
        i = int(r["metadata"]["seq"])
        assert i not in seen, f"line {i} arrived twice"
        seen.add(i)
        level = "warn" if i % 2 else "info"
        assert r["line"] == f"interop otel-python line {i} {rid}", r
        assert r["timestamp"] == (base_ms + i) * 1_000_000, (i, r)
        # The SDK adds service.instance.id (a UUID), one of Loki's label attributes.
        labels = dict(r["labels"])
        instances.add(labels.pop("service_instance_id"))
        assert labels == {"service_name": "interop-otel-py", "service_namespace": rid}, r
        md = dict(r["metadata"])
        # The SDK's own resource attributes (telemetry.sdk.*) come along as metadata.
        assert md.pop("telemetry_sdk_language") == "python" and md.pop("telemetry_sdk_name") == "opentelemetry", md
        md.pop("telemetry_sdk_version")
        assert md == {"severity_text": level.upper(), "severity_number": str(SEVERITY[level]),
                      "detected_level": level, "seq": str(i), "code_function": "ship",
                      "scope_name": "interop-python", "scope_version": "0.1"}, r
    assert seen == set(range(LINES))
    assert len(instances) == 1, instances


def test_elasticsearch_js_bulk_helper_lines_arrive_with_labels_metadata_and_time(loge):
    s = loge("--flush-interval", "1s")
    rid = run_id("es")
    base_ms = 1_700_000_200_000
    summary = ship("es-bulk", s.port, rid, base_ms)
    assert summary == {"client": "es-bulk", "lines": LINES, "version": "8.17.0"}, summary
    rows = rows_of(s, '{app="%s"}' % rid, LINES)
    assert len(rows) == LINES
    seen = set()
    for r in rows:
        i = int(r["metadata"]["seq"])
        assert i not in seen, f"line {i} arrived twice"
        seen.add(i)
        assert r["line"] == f"interop es-bulk line {i} {rid}", r
        assert r["timestamp"] == (base_ms + i) * 1_000_000, (i, r)
        assert r["labels"] == {"app": rid, "host_name": "interop-host"}, r
        assert r["metadata"] == {"log_level": LEVELS[i % 4], "seq": str(i), "shard": str(i % 3)}, r
    assert seen == set(range(LINES))


# --- syslog: Debian's logger(1) and rsyslog --------------------------------------

def syslog_server(loge):
    s = loge("--flush-interval", "1s", "--syslog-listen", "127.0.0.1:0")
    m = _SYSLOG_PORT.search(s.log())
    assert m, s.log()
    return s, int(m.group(1))


def tool(name):
    for d in ("/usr/bin", "/usr/sbin", "/bin", "/sbin"):
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    pytest.fail(f"{name} not found: run scripts/install-deps.sh")


def lines_file(tmp, prefix, n):
    path = os.path.join(tmp, f"{prefix}.txt")
    with open(path, "w") as f:
        for i in range(n):
            f.write(f"{prefix} line {i}\n")
    return path


@pytest.mark.parametrize("transport", ["tcp-rfc5424", "udp-rfc3164"])
def test_logger_lines_arrive_with_syslog_labels(loge, transport):
    s, port = syslog_server(loge)
    rid = run_id("logger-" + transport)
    tmp = tempfile.mkdtemp(prefix="loge-logger-")
    try:
        src = lines_file(tmp, rid, SYSLOG_LINES)
        cmd = [tool("logger"), "--server", "127.0.0.1", "--port", str(port), "-t", "interop-logger",
               "-p", "local3.warning", "--id=4242", "-f", src]
        if transport == "tcp-rfc5424":
            cmd += ["--tcp", "--rfc5424", "--octet-count", "--msgid", "M1", "--sd-id", "interop@32473",
                    "--sd-param", 'run="%s"' % rid]
        else:
            cmd += ["--udp", "--rfc3164"]
        before = time.time_ns()
        subprocess.run(cmd, check=True, timeout=SHIP_TIMEOUT_S)
        after = time.time_ns()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # UDP over loopback at this volume is lossless in practice; the check is exact.
    rows = rows_of(s, '{app_name="interop-logger"} |= "%s"' % rid, SYSLOG_LINES)
    assert sorted(r["line"] for r in rows) == sorted(f"{rid} line {i}" for i in range(SYSLOG_LINES))
    for r in rows:
        assert r["labels"]["facility"] == "local3" and r["labels"]["level"] == "warning", r
        assert r["labels"]["app_name"] == "interop-logger" and r["labels"]["hostname"], r
        if transport == "tcp-rfc5424":
            # RFC 5424 stamps carry microseconds and a zone: exact to the microsecond.
            assert before // 1000 * 1000 - 10**6 <= r["timestamp"] <= after, r
            assert r["metadata"]["procid"] == "4242" and r["metadata"]["msgid"] == "M1", r
            assert r["metadata"]["interop_32473_run"] == rid, r
        else:
            # RFC 3164 stamps have whole seconds in local time, no year; loge
            # adds the receive time's fraction of a second (docs/push-formats.md),
            # and a datagram may be received after logger has returned: the
            # stamp's second is at most after's, the row below its end.
            assert before // 10**9 * 10**9 - 10**9 <= r["timestamp"] < (after // 10**9 + 1) * 10**9, r
            assert r["metadata"] == {"procid": "4242"}, r


RSYSLOG_CONF = """
global(workDirectory="{dir}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{dir}/log" RateLimit.Interval="0" CreatePath="on")
if $programname == "viatcp" then {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" template="RSYSLOG_SyslogProtocol23Format"
         TCP_Framing="octet-counted")
  stop
}}
if $programname == "viaudp" then {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="udp" template="RSYSLOG_TraditionalForwardFormat")
  stop
}}
"""


def test_rsyslog_forwards_over_tcp_and_udp(loge):
    s, port = syslog_server(loge)
    rid = run_id("rsyslog")
    tmp = tempfile.mkdtemp(prefix="loge-rsyslog-")
    conf = os.path.join(tmp, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write(RSYSLOG_CONF.format(dir=tmp, port=port))
    proc = subprocess.Popen([tool("rsyslogd"), "-n", "-f", conf, "-i", os.path.join(tmp, "rsyslogd.pid")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        sock = os.path.join(tmp, "log")
        wait_for(lambda: os.path.exists(sock) or proc.poll() is not None, 30, "rsyslogd's socket")
        assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
        for via in ("viatcp", "viaudp"):
            src = lines_file(tmp, f"{rid}-{via}", SYSLOG_LINES)
            subprocess.run([tool("logger"), "-u", sock, "-t", via, "-p", "daemon.err", "-f", src], check=True,
                           timeout=SHIP_TIMEOUT_S)
        for via in ("viatcp", "viaudp"):
            rows = rows_of(s, '{app_name="%s"} |= "%s"' % (via, rid), SYSLOG_LINES)
            assert sorted(r["line"] for r in rows) == sorted(f"{rid}-{via} line {i}" for i in range(SYSLOG_LINES))
            for r in rows:
                assert r["labels"]["facility"] == "daemon" and r["labels"]["level"] == "err", r
                assert r["labels"]["app_name"] == via and r["labels"]["hostname"], r
                assert abs(r["timestamp"] - time.time_ns()) < 600 * 10**9, r
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
