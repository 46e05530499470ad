#!/usr/bin/env python3
"""Writes the seeds of http_request_fuzz (tests/fuzz/corpus/http_request_fuzz/):
raw HTTP/1.1 requests as a client sends them, one endpoint family each, plus
the malformed inputs issue 14 fixed. Run it again after changing a seed:

    python3 tests/fuzz/http_request_seeds.py

The fuzz target's store holds lines of {app="web"} and {app="db"} at
2026-01-01T00:00:00Z and a minute before it started; its API key is "fuzzkey".
Inputs are at most 4096 bytes (scripts/fuzz.sh's -max_len)."""
import gzip
import json
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "http_request_fuzz")
KEY = "Authorization: Bearer fuzzkey"
T0 = 1767225600  # the seeded lines' time, in seconds
MAX_LEN = 4096


def request(method, target, body=b"", headers=(), auth=True, length=True):
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {target} HTTP/1.1", "Host: loge"]
    if auth:
        lines.append(KEY)
    lines += list(headers)
    if length and (body or method in ("POST", "PUT")):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def form(method, path, **params):
    """A GET with a query string, or a POST with a form body (Loki takes both)."""
    from urllib.parse import urlencode
    q = urlencode(params)
    if method == "GET":
        return request("GET", f"{path}?{q}" if q else path)
    return request("POST", path, q, ["Content-Type: application/x-www-form-urlencoded"])


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, payload):
    """A length-delimited protobuf field."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def loki_proto(streams):
    """Loki's PushRequest: streams of (labels, [(sec, nanos, line, {metadata})])."""
    out = b""
    for labels, entries in streams:
        s = field(1, labels if isinstance(labels, bytes) else labels.encode())
        for sec, nanos, line, meta in entries:
            ts = varint(1 << 3) + varint(sec) + varint(2 << 3) + varint(nanos)
            e = field(1, ts) + field(2, line)
            for k, v in meta.items():
                e += field(3, field(1, k.encode()) + field(2, v.encode()))
            s += field(2, e)
        out += field(1, s)
    return out


def snappy_literal(data):
    """A snappy block of literals only (valid, uncompressed)."""
    out = bytearray(varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2]) + struct.pack("<H", n)
        out += chunk
    return bytes(out)


def loki_json(lines, labels=None, meta=None):
    values = []
    for i, line in enumerate(lines):
        v = [str((T0 + 100 + i) * 10**9), line]
        if meta:
            v.append(meta)
        values.append(v)
    return json.dumps({"streams": [{"stream": labels or {"app": "web", "env": "prod"}, "values": values}]})


def chunked(body, size=7):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return out + b"0\r\n\r\n"


def seeds():
    s = {}
    rng = f"start={T0 - 60}&end={T0 + 600}"
    # ---- Pushes (open: no key needed).
    s["push_loki_json"] = request("POST", "/loki/api/v1/push",
                                  loki_json(["level=info msg=hello", "level=error msg=boom"], meta={"trace_id": "abc"}),
                                  ["Content-Type: application/json"], auth=False)
    proto = loki_proto([('{app="web", env="prod"}', [(T0 + 200, 5, b"proto line", {"trace_id": "p1"})]),
                        ('{app="db"}', [(T0 + 201, 0, b"second stream", {})])])
    s["push_loki_proto_snappy"] = request("POST", "/loki/api/v1/push", snappy_literal(proto),
                                          ["Content-Type: application/x-protobuf"], auth=False)
    s["push_loki_proto_snappy_encoding"] = request(
        "POST", "/loki/api/v1/push", snappy_literal(proto),
        ["Content-Type: application/x-protobuf", "Content-Encoding: snappy"], auth=False)
    s["push_loki_json_gzip"] = request("POST", "/loki/api/v1/push",
                                       gzip.compress(loki_json(["gzipped line"]).encode(), mtime=0),
                                       ["Content-Type: application/json", "Content-Encoding: gzip"], auth=False)
    s["push_loki_json_deflate"] = request("POST", "/loki/api/v1/push",
                                          zlib.compress(loki_json(["deflated line"]).encode()),
                                          ["Content-Type: application/json", "Content-Encoding: deflate"], auth=False)
    s["push_own_json"] = request("POST", "/api/v1/push", loki_json(["own push"], {"app": "own"}),
                                 ["Content-Type: application/json"], auth=False)
    s["push_otlp_json"] = request("POST", "/otlp/v1/logs", json.dumps({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeLogs": [{"logRecords": [{"timeUnixNano": str((T0 + 300) * 10**9), "severityText": "WARN",
                                       "body": {"stringValue": "otlp line"}}]}]}]}),
        ["Content-Type: application/json"], auth=False)
    s["push_es_bulk"] = request("POST", "/_bulk",
                                '{"create":{"_index":"logs"}}\n{"@timestamp":"2026-01-01T00:05:00Z","message":"es line"}\n',
                                ["Content-Type: application/x-ndjson"], auth=False)
    s["push_jsonline"] = request("POST", "/insert/jsonline?_stream_fields=app",
                                 '{"_msg":"jsonline","_time":"2026-01-01T00:06:00Z","app":"jl"}\n', auth=False)
    # ---- Issue 14's hostile inputs.
    s["issue14_label_value_over_limit"] = request(
        "POST", "/loki/api/v1/push", loki_json(["x"], {"app": "v" * 300}), ["Content-Type: application/json"],
        auth=False)
    s["issue14_invalid_utf8_json"] = request(
        "POST", "/loki/api/v1/push",
        b'{"streams":[{"stream":{"app":"u\xc3"},"values":[["1767225700000000000","bad \xff\xfe utf8 \xed\xa0\x80"]]}]}',
        ["Content-Type: application/json"], auth=False)
    s["issue14_invalid_utf8_proto"] = request(
        "POST", "/loki/api/v1/push",
        snappy_literal(loki_proto([(b'{app="u\xff"}',
                                    [(T0 + 5, 0, b"bad \xff\xfe", {"k": "v"})])])),
        ["Content-Type: application/x-protobuf"], auth=False)
    body = loki_json(["chunked " * 10]).encode()
    s["issue14_chunked_push"] = request("POST", "/loki/api/v1/push", chunked(body),
                                        ["Content-Type: application/json", "Transfer-Encoding: chunked"],
                                        auth=False, length=False)
    s["issue14_bad_content_length"] = (b"POST /loki/api/v1/push HTTP/1.1\r\nHost: loge\r\n"
                                       b"Content-Type: application/json\r\nContent-Length: 12x\r\n\r\n{}")
    s["issue14_two_content_lengths"] = (b"POST /api/v1/query HTTP/1.1\r\nHost: loge\r\n" + KEY.encode() +
                                        b"\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}")
    s["issue14_length_and_chunked"] = (b"POST /api/v1/query HTTP/1.1\r\nHost: loge\r\n" + KEY.encode() +
                                       b"\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
    s["issue14_content_length_past_body"] = (b"POST /loki/api/v1/push HTTP/1.1\r\nHost: loge\r\n"
                                             b"Content-Type: application/json\r\nContent-Length: 900\r\n\r\n{\"streams\":[]}")
    # A 60 MiB `line` field: declared, refused before the body is read.
    s["issue14_huge_line_declared"] = (b"POST /api/v1/query HTTP/1.1\r\nHost: loge\r\n" + KEY.encode() +
                                       b"\r\nContent-Type: application/json\r\nContent-Length: 62914560\r\n\r\n"
                                       b'{"query":"{app=\\"web\\"}","line":"' + b"A" * 2000)
    # ... and one that fits the body but not --max-query-size.
    s["issue14_line_over_query_size"] = request(
        "POST", "/api/v1/query", json.dumps({"query": '{app="web"}', "line": "A" * 3000}),
        ["Content-Type: application/json"])
    # 100,000 `or` filters, cut to what fits: under and over --max-query-size.
    ors = '{app="web"} |= "x0"' + "".join(f' or "x{i}"' for i in range(1, 1200))
    from urllib.parse import quote
    cut = ors[:ors.rfind(' or "', 0, 1000)]  # whole alternatives only
    s["issue14_many_or_filters"] = request("GET", "/loki/api/v1/query_range?" + rng + "&query=" + quote(cut))
    s["issue14_many_or_filters_over_limit"] = request("POST", "/loki/api/v1/query_range",
                                                      "query=" + quote(ors)[:3800],
                                                      ["Content-Type: application/x-www-form-urlencoded"])
    # Windows at the ends of int64 (found by this target under UBSan:
    # HandlerLoki.WindowsAtTheEndsOfInt64AreAnsweredWithoutOverflow).
    lo, hi = "-9223372036854775808", "9223372036854775807"
    sel = "query=%7Bapp%3D%22web%22%7D"
    s["int64_ends_log_and_detected"] = (
        request("GET", f"/loki/api/v1/query_range?{sel}&start={lo}&end={lo}") +
        request("GET", f"/loki/api/v1/detected_fields?{sel}&start={lo}&end={lo}") +
        request("GET", f"/loki/api/v1/detected_field/level/values?{sel}&start={lo}&end={lo}"))
    s["int64_ends_volume"] = (
        request("GET", f"/loki/api/v1/index/volume?{sel}&start={lo}&end={hi}") +
        request("GET", f"/loki/api/v1/index/volume_range?{sel}&start={lo}&end={hi}&step=1000000000") +
        request("GET", f"/loki/api/v1/index/volume_range?{sel}&start={lo}&end=-9223372036854775000&step=0.000000001") +
        request("GET", f"/api/v1/volume?end={lo}"))
    # ---- Loki's read API (the key is required).
    s["query_range_log"] = form("GET", "/loki/api/v1/query_range", query='{app="web"} |= "req" | logfmt | status >= 300',
                                start=str(T0 - 60), end=str(T0 + 600), limit="20", direction="forward")
    s["query_range_metric"] = form("POST", "/loki/api/v1/query_range",
                                   query='sum by (app) (count_over_time({env="prod"} |~ "req [0-9]" [1m]))',
                                   start=f"{T0 - 60}", end=f"{T0 + 600}", step="30s")
    s["query_instant"] = form("GET", "/loki/api/v1/query",
                              query='topk(2, sum_over_time({app=~"web|db"} | logfmt | unwrap status [5m]))', time=str(T0 + 120))
    s["query_json_pipeline"] = form("GET", "/loki/api/v1/query_range",
                                    query='{app="api"} | json | line_format "{{.level}} {{.ms}}" | label_format x=path')
    s["query_categorize"] = request("GET", "/loki/api/v1/query_range?" + rng + "&query=%7Bapp%3D%22web%22%7D",
                                    headers=["X-Loki-Response-Encoding-Flags: categorize-labels"])
    s["labels"] = form("GET", "/loki/api/v1/labels", start=str(T0 - 60), end=str(T0 + 600))
    s["label_values"] = form("GET", "/loki/api/v1/label/app/values", query='{env="prod"}', since="1h")
    s["series"] = request("GET", "/loki/api/v1/series?" + rng + "&match[]=%7Bapp%3D%22web%22%7D&match[]=%7Benv%3D%22prod%22%7D")
    s["index_stats"] = form("POST", "/loki/api/v1/index/stats", query='{app="web"}', start=str(T0 - 60), end=str(T0 + 600))
    s["index_volume"] = form("GET", "/loki/api/v1/index/volume", query='{env="prod"}', start=str(T0 - 60),
                             end=str(T0 + 600), targetLabels="app", aggregateBy="labels")
    s["index_volume_range"] = form("GET", "/loki/api/v1/index/volume_range", query='{app=~".+"}', start=str(T0 - 60),
                                   end=str(T0 + 600), step="60")
    s["patterns"] = form("GET", "/loki/api/v1/patterns", query='{app="web"}', start=str(T0 - 60), end=str(T0 + 600))
    s["detected_labels"] = form("GET", "/loki/api/v1/detected_labels", query='{env="prod"}', start=str(T0 - 60),
                                end=str(T0 + 600))
    s["detected_fields"] = form("GET", "/loki/api/v1/detected_fields", query='{app="web"}', start=str(T0 - 60),
                                end=str(T0 + 600), line_limit="100", field_limit="10")
    s["detected_field_values"] = form("GET", "/loki/api/v1/detected_field/status/values", query='{app="web"}',
                                      start=str(T0 - 60), end=str(T0 + 600), limit="5")
    s["format_query"] = form("GET", "/loki/api/v1/format_query", query='{app="web"}|="x"|json')
    s["buildinfo"] = request("GET", "/loki/api/v1/status/buildinfo")
    s["drilldown_limits"] = request("GET", "/loki/api/v1/drilldown-limits")
    s["tail_upgrade"] = request("GET", "/loki/api/v1/tail?query=%7Bapp%3D%22web%22%7D&limit=5&delay_for=1&start=" +
                                str(T0), headers=["Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
                                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="])
    s["tail_plain_get"] = request("GET", "/loki/api/v1/tail?query=%7Bapp%3D%22web%22%7D")
    # ---- The delete API and administration.
    s["delete_create"] = form("POST", "/loki/api/v1/delete", query='{app="db"} |= "req 3"', start=str(T0),
                              end=str(T0 + 60))
    s["delete_list"] = request("GET", "/loki/api/v1/delete")
    s["delete_cancel"] = request("DELETE", "/loki/api/v1/delete?request_id=abc&force=true")
    s["admin_compact"] = request("POST", "/api/v1/admin/compact")
    s["admin_deletes"] = request("POST", "/api/v1/admin/deletes")
    s["admin_rotate_no_s3"] = request("POST", "/api/v1/admin/rotate")
    # ---- loge's own read API.
    s["own_query"] = request("POST", "/api/v1/query",
                             json.dumps({"query": '{app="web"} |= "req"', "start": (T0 - 60) * 10**9,
                                         "end": (T0 + 600) * 10**9, "limit": 10}), ["Content-Type: application/json"])
    s["own_query_matchers"] = request("POST", "/api/v1/query", json.dumps({
        "matchers": [{"name": "app", "value": "web", "type": "="}], "line": "req", "limit": 5}),
        ["Content-Type: application/json"])
    s["own_labels"] = request("GET", "/api/v1/labels")
    s["own_label_values"] = request("GET", "/api/v1/label/app/values")
    s["own_volume"] = request("GET", f"/api/v1/volume?start={T0 - 60}&end={T0 + 600}")
    s["own_stats"] = request("GET", "/api/v1/stats")
    s["own_search_plan"] = request("GET", f"/api/v1/search/plan?query=%7Bapp%3D%22web%22%7D&start={T0}")
    # ---- Auth, probes, unknown paths, a pipeline of requests.
    s["auth_missing_key"] = request("GET", "/loki/api/v1/labels", auth=False)
    s["auth_wrong_key"] = request("GET", "/loki/api/v1/query?query=%7Bapp%3D%22web%22%7D", headers=["Authorization: Bearer nope"],
                                  auth=False)
    s["unknown_api_path"] = request("GET", "/loki/api/v1/nope")
    s["wrong_method"] = request("PUT", "/loki/api/v1/query_range", "x")
    s["ready_metrics"] = request("GET", "/ready") + request("GET", "/metrics", auth=False)
    s["pipelined_push_then_query"] = (
        request("POST", "/loki/api/v1/push", loki_json(["pipelined"]), ["Content-Type: application/json"], auth=False) +
        form("GET", "/loki/api/v1/query_range", query='{app="web"} |= "pipelined"', start=str(T0), end=str(T0 + 600)) +
        request("GET", "/api/v1/stats", headers=["Connection: close"]))
    s["es_probe"] = request("GET", "/", headers=["User-Agent: Filebeat/8.0"], auth=False)
    s["long_header"] = b"GET /ready HTTP/1.1\r\nX-Long: " + b"h" * 3900 + b"\r\n\r\n"
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds().items():
        if len(data) > MAX_LEN:
            data = data[:MAX_LEN]  # as libFuzzer would cut it
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(seeds())} seeds to {OUT}")


if __name__ == "__main__":
    main()
