"""The shippers' protocols against the real binary (docs/push-formats.md):
OTLP/HTTP logs (protobuf, JSON, gzip; OTLP's answers), Elasticsearch bulk
and the probes Filebeat, Logstash and the clients make, VictoriaLogs'
JSON lines, and syslog over TCP and UDP. Every stored line is checked
through the query API: labels, metadata and timestamp. Also: what each
acknowledges survives kill -9, and backpressure answers in each protocol's
own shape.

The protobuf encoder below is minimal and written from the OTLP field
numbers, so the suite needs no Python packages beyond pytest."""

import gzip
import json
import re
import socket
import struct

import pytest

from conftest import wait_for

IN_MEMORY = ("--flush-interval", "1h", "--payload-size", "1000000")
ALL_TIME = {"start": 1, "end": 2**62}
SYSLOG = ("--syslog-listen", "127.0.0.1:0")
_SYSLOG_PORT = re.compile(r"syslog listening on tcp and udp port (\d+)")


def rows(s, query):
    return s.rows(query=query, limit=5000, **ALL_TIME)


def syslog_port(s):
    m = _SYSLOG_PORT.search(s.log())
    assert m, s.log()
    return int(m.group(1))


# --- OTLP protobuf, from opentelemetry-proto's field numbers ------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def ld(num, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def fixed64(num, v):
    return varint(num << 3 | 1) + struct.pack("<Q", v)


def any_value(v):
    if isinstance(v, str):
        return ld(1, v)
    if isinstance(v, bool):
        return varint(2 << 3) + varint(int(v))
    if isinstance(v, int):
        return varint(3 << 3) + varint(v & (2**64 - 1))
    if isinstance(v, float):
        return varint(4 << 3 | 1) + struct.pack("<d", v)
    if isinstance(v, dict):
        return ld(6, b"".join(ld(1, kv(k, x)) for k, x in v.items()))
    raise TypeError(v)


def kv(k, v):
    return ld(1, k) + ld(2, any_value(v))


def otlp_proto(resource, records, scope=("lib", "1.0")):
    """records: dicts with time, body, severity_number, severity_text, attrs, trace_id, span_id."""
    recs = b""
    for r in records:
        m = fixed64(1, r["time"]) if r.get("time") else b""
        if r.get("severity_number"):
            m += varint(2 << 3) + varint(r["severity_number"])
        if r.get("severity_text"):
            m += ld(3, r["severity_text"])
        m += ld(5, any_value(r["body"]))
        for k, v in r.get("attrs", {}).items():
            m += ld(6, kv(k, v))
        if r.get("trace_id"):
            m += ld(9, bytes.fromhex(r["trace_id"]))
        if r.get("span_id"):
            m += ld(10, bytes.fromhex(r["span_id"]))
        recs += ld(2, m)
    scope_logs = ld(1, ld(1, scope[0]) + ld(2, scope[1])) + recs
    res = b"".join(ld(1, kv(k, v)) for k, v in resource.items())
    return ld(1, ld(1, res) + ld(2, scope_logs))


def otlp_json(resource, records):
    def av(v):
        if isinstance(v, str):
            return {"stringValue": v}
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        if isinstance(v, dict):
            return {"kvlistValue": {"values": [{"key": k, "value": av(x)} for k, x in v.items()]}}
        return {"doubleValue": v}
    return json.dumps({"resourceLogs": [{
        "resource": {"attributes": [{"key": k, "value": av(v)} for k, v in resource.items()]},
        "scopeLogs": [{"scope": {"name": "lib", "version": "1.0"}, "logRecords": [
            {"timeUnixNano": str(r["time"]), "severityNumber": r.get("severity_number", 0),
             "severityText": r.get("severity_text", ""),
             "body": av(r["body"]), "traceId": r.get("trace_id", ""), "spanId": r.get("span_id", ""),
             "attributes": [{"key": k, "value": av(v)} for k, v in r.get("attrs", {}).items()]}
            for r in records]}]}]})


def otlp(s, body, content_type="application/x-protobuf", path="/otlp/v1/logs", headers=None):
    h = {"Content-Type": content_type}
    h.update(headers or {})
    return s.request("POST", path, body, h)


def pb_status(body):
    """google.rpc.Status {code = 1, message = 2} -> (code, message)."""
    code, msg, i = None, None, 0
    while i < len(body):
        tag = body[i]
        i += 1
        if tag == 0x08:
            code = body[i]
            i += 1
        elif tag == 0x12:
            n = body[i]
            i += 1
            if n & 0x80:
                n = (n & 0x7F) | body[i] << 7
                i += 1
            msg = body[i:i + n].decode()
            i += n
        else:
            raise AssertionError(f"unexpected tag {tag} in {body!r}")
    return code, msg


@pytest.fixture
def server(loge):
    return loge(*IN_MEMORY)


RECORD = {"time": 1_700_000_000_123_456_789, "body": "payment failed", "severity_number": 17,
          "severity_text": "ERROR", "attrs": {"http.status_code": 502, "user": {"id": "u1"}},
          "trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174"}
RESOURCE = {"service.name": "checkout", "k8s.namespace.name": "shop", "host.name": "node-1"}
WANT_META = {"trace_id": RECORD["trace_id"], "span_id": RECORD["span_id"], "severity_text": "ERROR",
             "severity_number": "17", "detected_level": "error", "http_status_code": "502", "user_id": "u1",
             "scope_name": "lib", "scope_version": "1.0", "host_name": "node-1"}


@pytest.mark.parametrize("encoding", ["protobuf", "json", "protobuf+gzip", "json+gzip"])
def test_otlp_logs_arrive_with_labels_metadata_and_time(server, encoding):
    run = f"otlp-{encoding}"
    res = dict(RESOURCE, **{"service.namespace": run})
    if encoding.startswith("protobuf"):
        body, ct = otlp_proto(res, [RECORD]), "application/x-protobuf"
    else:
        body, ct = otlp_json(res, [RECORD]), "application/json"
    headers = {}
    if encoding.endswith("gzip"):
        body = gzip.compress(body.encode() if isinstance(body, str) else body)
        headers["Content-Encoding"] = "gzip"
    r = otlp(server, body, ct, headers=headers)
    assert r.status == 200, r
    assert r.headers["content-type"] == ct, r.headers
    assert r.body in (b"", b"{}"), r.body  # no partial_success: everything stored
    got = rows(server, '{service_namespace="%s"}' % run)
    assert got == [{"timestamp": RECORD["time"], "line": "payment failed",
                    "labels": {"service_name": "checkout", "k8s_namespace_name": "shop", "service_namespace": run},
                    "metadata": WANT_META}], got
    assert rows(server, '{service_name="checkout"} | detected_level="error" | trace_id="%s"' % RECORD["trace_id"])


def test_otlp_v1_logs_alias_and_unknown_service(server):
    r = otlp(server, otlp_proto({}, [{"time": 5, "body": "bare"}]), path="/v1/logs")
    assert r.status == 200, r
    assert [x["labels"] for x in rows(server, '{service_name="unknown_service"}')] == [{"service_name": "unknown_service"}]


def test_otlp_partial_success_counts_records_over_the_line_limit(loge):
    s = loge("--max-line-size", "16", *IN_MEMORY)
    recs = [{"time": 10, "body": "short"}, {"time": 11, "body": "x" * 40}, {"time": 12, "body": "also short"}]
    r = otlp(s, otlp_json({"service.name": "p"}, recs), "application/json")
    assert r.status == 200, r
    doc = r.json()
    assert doc["partialSuccess"]["rejectedLogRecords"] == "1", doc
    assert "exceeds the maximum line size of 16" in doc["partialSuccess"]["errorMessage"], doc
    assert [x["line"] for x in rows(s, '{service_name="p"}')] == ["also short", "short"]
    # The same in protobuf: ExportLogsServiceResponse{partial_success{1: 1, 2: reason}}.
    r = otlp(s, otlp_proto({"service.name": "q"}, recs))
    assert r.status == 200 and r.body.startswith(b"\x0a") and b"\x08\x01\x12" in r.body, r


def test_otlp_errors_carry_a_status_in_the_request_encoding(server):
    r = otlp(server, b"\x0a\x05abc")
    assert r.status == 400, r
    assert r.headers["content-type"] == "application/x-protobuf"
    code, msg = pb_status(r.body)
    assert code == 3 and "not a valid ExportLogsServiceRequest" in msg, (code, msg)
    r = otlp(server, '{"resourceLogs":{}}', "application/json")
    assert r.status == 400 and r.json()["code"] == 3 and "resourceLogs" in r.json()["message"], r
    r = otlp(server, b"x", "text/plain")
    assert r.status == 415, r
    r = otlp(server, b"x", headers={"Content-Encoding": "br"})
    assert r.status == 415, r
    assert server.request("GET", "/otlp/v1/logs").status == 405


def test_otlp_backpressure_is_429_with_retry_after(loge):
    s = loge("--max-head-size", "64KiB", "--drop-on-backpressure", "true", *IN_MEMORY)
    for n in range(200):
        recs = [{"time": n * 100 + i + 1, "body": f"bp-{n}-{i} " + "p" * 180} for i in range(20)]
        r = otlp(s, otlp_proto({"service.name": "bp"}, recs))
        if r.status == 429:
            break
        assert r.status == 200, r
    else:
        pytest.fail("no 429 after 200 pushes of ~4 KiB with a 64 KiB budget")
    assert int(r.headers["retry-after"]) >= 1, r.headers
    assert pb_status(r.body)[0] == 8, r.body


# --- Elasticsearch bulk ---------------------------------------------------------

def bulk(s, lines, path="/_bulk", headers=None):
    body = "".join(json.dumps(x) + "\n" for x in lines)
    h = {"Content-Type": "application/x-ndjson"}
    h.update(headers or {})
    return s.request("POST", path, body, h)


def test_es_bulk_stores_documents_and_answers_per_item(server):
    docs = [
        {"create": {"_index": "filebeat-8.11.0"}},
        {"@timestamp": "2024-01-02T03:04:05.123Z", "message": "GET /a 200", "host": {"name": "web-1"},
         "log": {"file": {"path": "/var/log/a.log"}, "offset": 7}, "agent": {"type": "filebeat"}},
        {"index": {"_index": "logs", "_id": "given"}},
        {"@timestamp": 1704164646000, "log": "fluentd line", "service": {"name": "api"}},
        {"delete": {"_index": "logs", "_id": "1"}},
        {"index": {}},
        {"message": "x", "@timestamp": "not a time"},
    ]
    r = bulk(server, docs)
    assert r.status == 200, r
    assert r.headers["x-elastic-product"] == "Elasticsearch"
    doc = r.json()
    assert doc["errors"] is True
    assert [list(i)[0] for i in doc["items"]] == ["create", "index", "delete", "index"]
    assert [list(i.values())[0]["status"] for i in doc["items"]] == [201, 201, 400, 400]
    assert doc["items"][1]["index"]["_id"] == "given" and doc["items"][0]["create"]["result"] == "created"
    assert doc["items"][3]["index"]["error"]["type"] == "document_parsing_exception"
    got = rows(server, '{host_name="web-1"}')
    assert got == [{"timestamp": 1704164645123000000, "line": "GET /a 200", "labels": {"host_name": "web-1"},
                    "metadata": {"log_file_path": "/var/log/a.log", "log_offset": "7", "agent_type": "filebeat"}}], got
    got = rows(server, '{service_name="api"}')
    assert [(x["timestamp"], x["line"]) for x in got] == [(1704164646000000000, "fluentd line")], got


def test_es_bulk_under_the_victorialogs_prefix_and_an_index_path(loge):
    s = loge("--es-stream-fields", "app,kubernetes.pod", "--es-message-field", "event.original,message",
             "--es-time-field", "ts", *IN_MEMORY)
    for path in ("/insert/elasticsearch/_bulk", "/my-index/_bulk", "/insert/elasticsearch/other/_bulk"):
        r = bulk(s, [{"index": {}}, {"event": {"original": path}, "ts": 1704164645, "app": "a",
                                     "kubernetes": {"pod": "p1"}, "message": "kept"}], path=path)
        assert r.status == 200 and r.json()["errors"] is False, r
    got = rows(s, '{app="a", kubernetes_pod="p1"}')
    assert sorted(x["line"] for x in got) == sorted(
        ["/insert/elasticsearch/_bulk", "/my-index/_bulk", "/insert/elasticsearch/other/_bulk"])
    assert all(x["metadata"] == {"message": "kept"} and x["timestamp"] == 1704164645000000000 for x in got), got
    idx = bulk(s, [{"index": {}}, {"message": "m"}], path="/my-index/_bulk").json()
    assert idx["items"][0]["index"]["_index"] == "my-index", idx


def test_es_probes_answer_like_elasticsearch_and_browsers_still_get_the_ui(server):
    for path, headers in (("/", {"Accept": "application/json"}), ("/", {"User-Agent": "Elastic-filebeat/8.11.0"}),
                          ("/insert/elasticsearch/", {}), ("/insert/elasticsearch", {})):
        r = server.request("GET", path, headers=headers)
        assert r.status == 200 and r.headers["x-elastic-product"] == "Elasticsearch", (path, r)
        assert r.json()["version"]["number"] == "8.17.0" and r.json()["tagline"] == "You Know, for Search"
    ui = server.request("GET", "/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert ui.status == 200 and ui.headers["content-type"].startswith("text/html"), ui
    assert server.request("GET", "/").headers["content-type"].startswith("text/html")  # curl-like: the UI
    lic = server.request("GET", "/_license")
    assert lic.status == 200 and lic.json()["license"]["status"] == "active", lic
    assert server.request("GET", "/_xpack").json()["license"]["type"] == "basic"
    for method, path in (("PUT", "/_index_template/filebeat"), ("GET", "/_ilm/policy/filebeat"),
                         ("HEAD", "/_index_template/filebeat-8.11.0"), ("PUT", "/_ingest/pipeline/p")):
        r = server.request(method, path, b"{}" if method == "PUT" else None)
        assert r.status == 200, (method, path, r)
    assert server.request("GET", "/_bulk").status == 405


def test_es_whole_request_errors_have_the_elasticsearch_shape(loge):
    s = loge("--max-head-size", "64KiB", "--drop-on-backpressure", "true", *IN_MEMORY)
    r = s.request("POST", "/_bulk", "not json\n", {"Content-Type": "application/x-ndjson"})
    assert r.status == 400 and r.json()["error"]["type"] == "illegal_argument_exception", r
    assert r.json()["status"] == 400 and "Malformed action/metadata line [1]" in r.json()["error"]["reason"]
    for n in range(200):
        docs = []
        for i in range(20):
            docs += [{"index": {}}, {"message": f"bp-{n}-{i} " + "p" * 180, "@timestamp": n * 100 + i + 1}]
        r = bulk(s, docs)
        if r.status == 429:
            break
        assert r.status == 200, r
    else:
        pytest.fail("no 429 after 200 pushes of ~4 KiB with a 64 KiB budget")
    assert r.json()["error"]["type"] == "es_rejected_execution_exception", r
    assert int(r.headers["retry-after"]) >= 1 and r.headers["x-elastic-product"] == "Elasticsearch", r.headers


# --- JSON lines -----------------------------------------------------------------

def test_jsonline_takes_victorialogs_parameters(server):
    body = "\n".join(json.dumps(x) for x in [
        {"msg": "one", "ts": "2024-01-02T03:04:05Z", "app": "web", "env": "prod", "user": "ann", "pw": "s"},
        {"msg": "two", "ts": 1704164646, "app": "web", "env": "prod"},
    ]) + "\n"
    r = server.request("POST", "/insert/jsonline?_msg_field=msg&_time_field=ts&_stream_fields=app,env&ignore_fields=pw",
                       body, {"Content-Type": "application/stream+json"})
    assert r.status == 200 and r.json() == {"status": "success"}, r
    got = rows(server, '{app="web", env="prod"}')
    assert got == [{"timestamp": 1704164646000000000, "line": "two", "labels": {"app": "web", "env": "prod"}},
                   {"timestamp": 1704164645000000000, "line": "one", "labels": {"app": "web", "env": "prod"},
                    "metadata": {"user": "ann"}}], got
    # The same names as VL-* headers, and a gzip body; defaults are _msg and _time.
    r = server.request("POST", "/insert/jsonline", gzip.compress(b'{"_msg":"three","_time":"0","svc":"x"}\n'),
                       {"VL-Stream-Fields": "svc", "Content-Encoding": "gzip"})
    assert r.status == 200, r
    assert [x["line"] for x in rows(server, '{svc="x"}')] == ["three"]


def test_jsonline_errors_name_the_line(server):
    r = server.request("POST", "/insert/jsonline", '{"_msg":"ok"}\n{"_msg":"a","_time":"noon"}\n')
    assert r.status == 400 and r.json()["error"].startswith("line 2: field \"_time\""), r
    assert server.request("POST", "/insert/jsonline", "").status == 400
    assert rows(server, '{service_name="unknown_service"}') == []  # nothing of a refused body is stored


# --- syslog ---------------------------------------------------------------------

def test_syslog_tcp_and_udp_messages_arrive_with_labels(loge):
    s = loge(*SYSLOG, *IN_MEMORY)
    port = syslog_port(s)
    m5424 = ('<165>1 2003-10-11T22:14:15.003Z mymachine evntslog 1234 ID47 '
             '[exampleSDID@32473 iut="3" eventSource="Application"] tcp 5424 message')
    m3164 = "<34>Oct 11 22:14:15 mymachine su[99]: tcp 3164 message"
    with socket.create_connection(("127.0.0.1", port)) as c:
        c.sendall(f"{len(m5424)} {m5424}".encode())  # octet counting
    with socket.create_connection(("127.0.0.1", port)) as c:
        c.sendall((m3164 + "\n").encode())  # newline framing
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.sendto(b"<11>1 2024-01-02T03:04:05Z h2 app2 - - - udp message", ("127.0.0.1", port))
    got = wait_for(lambda: (lambda r: r if len(r) == 3 else None)(rows(s, '{facility=~".+"}')), 30, "3 syslog rows")
    by_line = {x["line"]: x for x in got}
    assert by_line["tcp 5424 message"] == {
        "timestamp": 1065910455003000000, "line": "tcp 5424 message",
        "labels": {"app_name": "evntslog", "facility": "local4", "hostname": "mymachine", "level": "notice"},
        "metadata": {"procid": "1234", "msgid": "ID47", "exampleSDID_32473_iut": "3",
                     "exampleSDID_32473_eventSource": "Application"}}, by_line
    assert by_line["tcp 3164 message"]["labels"] == {"app_name": "su", "facility": "auth", "hostname": "mymachine",
                                                     "level": "crit"}
    assert by_line["tcp 3164 message"]["metadata"] == {"procid": "99"}
    # A stamp of whole seconds takes its fraction from the receive time.
    assert by_line["udp message"]["timestamp"] // 10**9 == 1704164645
    assert by_line["udp message"]["labels"]["level"] == "err"
    # Empty messages are refused and counted.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.sendto(b"\n", ("127.0.0.1", port))
    st = wait_for(lambda: (lambda d: d if d["syslog_invalid"] == 1 else None)(s.request("GET", "/api/v1/stats").json()),
                  30, "the empty datagram counted")
    assert st["syslog_stored"] == 3 and st["syslog_udp_dropped"] == 0 and st["syslog_tcp_connections"] == 2, st


def test_syslog_is_off_by_default(server):
    assert "syslog listening" not in server.log()
    assert "syslog_stored" not in server.request("GET", "/api/v1/stats").json()


# --- durability -----------------------------------------------------------------

def test_acknowledged_pushes_of_every_protocol_survive_kill_9(loge):
    s = loge("--flush-interval", "1h", *SYSLOG)
    assert otlp(s, otlp_proto({"service.name": "dur"}, [{"time": 1, "body": "otlp"}])).status == 200
    assert bulk(s, [{"index": {}}, {"message": "es", "app": "dur", "@timestamp": 2}]).status == 200
    assert s.request("POST", "/insert/jsonline?_stream_fields=app", '{"_msg":"jl","app":"dur","_time":3}').status == 200
    port = syslog_port(s)
    with socket.create_connection(("127.0.0.1", port)) as c:
        c.sendall(b"<13>1 1970-01-01T00:00:00.000004Z h dur - - - syslog\n")
    # Syslog has no acknowledgement: wait until the line is queryable.
    wait_for(lambda: rows(s, '{app_name="dur"}'), 30, "the syslog line")
    s.restart(graceful=False)  # everything comes back from the WAL
    got = sorted((x["timestamp"], x["line"]) for q in ('{service_name="dur"}', '{app="dur"}', '{app_name="dur"}')
                 for x in rows(s, q))
    # Numbers below 1e10 are seconds (docs/push-formats.md).
    assert got == [(1, "otlp"), (4000, "syslog"), (2_000_000_000, "es"), (3_000_000_000, "jl")], got
