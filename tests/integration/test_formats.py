"""Push formats and Loki's push endpoint against the real binary: msgpack,
Loki protobuf + raw snappy (the Promtail test vector, byte for byte),
gzip/deflate Content-Encoding with a bounded inflate, POST /loki/api/v1/push
with Loki's status codes, GET /ready, and structured metadata matched by a
label filter stage. docs/push-formats.md describes what is checked here.

The encoders below (msgpack, protobuf, a literal-only snappy block) are
minimal and written from the format specs, so the suite needs no Python
packages beyond pytest."""

import gzip
import json
import struct
import time
import zlib

import pytest

from conftest import stream

# Rows come back exactly as pushed: without Loki's service_name and
# detected_level (tested in test_loki_conformance.py and discover_test.cc).
AS_SENT = ("--discover-log-levels", "false", "--discover-service-name", "false")
IN_MEMORY = ("--flush-interval", "1h", "--payload-size", "1000000", *AS_SENT)

# ../shared/specs/loki-push-proto.md §2: {app="web", env="prod"} with
# (1700000000.123456789, "hello world") and (1700000001, "second",
# structuredMetadata trace_id=abc); raw protobuf and its snappy block.
VECTOR_PROTO = bytes.fromhex(
    "0a580a177b6170703d22776562222c20656e763d2270726f64227d121a0a0b0880e2cfaa0610959aef3a120b68656c"
    "6c6f20776f726c6412210a060881e2cfaa0612067365636f6e641a0f0a0874726163655f69641203616263")
VECTOR_SNAPPY = bytes.fromhex(
    "5af03c0a580a177b6170703d22776562222c20656e763d2270726f64227d121a0a0b0880e2cfaa0610959aef3a120b"
    "68656c6c6f20776f726c6412210a060881011c6012067365636f6e641a0f0a0874726163655f69641203616263")
VECTOR_ROWS = [  # newest first, as the query API returns them
    {"timestamp": 1700000001000000000, "line": "second", "labels": {"app": "web", "env": "prod"},
     "metadata": {"trace_id": "abc"}},
    {"timestamp": 1700000000123456789, "line": "hello world", "labels": {"app": "web", "env": "prod"}},
]
ALL_TIME = {"start": 1, "end": 2**62}


# --- minimal encoders ------------------------------------------------------

def mp(v):
    """msgpack encoding of str, bytes, int, None, list and dict."""
    if v is None:
        return b"\xc0"
    if isinstance(v, bool):
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if v >= 0:
            return b"\xcf" + struct.pack(">Q", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xdb" + struct.pack(">I", len(b))) + b
    if isinstance(v, bytes):
        return b"\xc6" + struct.pack(">I", len(v)) + v
    if isinstance(v, list):
        return b"\xdd" + struct.pack(">I", len(v)) + b"".join(mp(x) for x in v)
    if isinstance(v, dict):
        return b"\xdf" + struct.pack(">I", len(v)) + b"".join(mp(k) + mp(x) for k, x in v.items())
    raise TypeError(v)


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


def pb_field(num, payload):
    """A length-delimited protobuf field."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def pb_push(streams):
    """PushRequest bytes. streams: [(labels_text, [(ts_ns, line, {metadata})...])]."""
    out = b""
    for labels, entries in streams:
        s = pb_field(1, labels.encode())
        for e in entries:
            ts, line = e[0], e[1]
            t = b""
            if ts // 10**9:
                t += varint(1 << 3) + varint(ts // 10**9)
            if ts % 10**9:
                t += varint(2 << 3) + varint(ts % 10**9)
            body = pb_field(1, t) + pb_field(2, line.encode() if isinstance(line, str) else line)
            for k, v in (e[2] if len(e) > 2 else {}).items():
                body += pb_field(3, pb_field(1, k.encode()) + pb_field(2, v.encode()))
            s += pb_field(2, body)
        out += pb_field(1, s)
    return out


def snappy_block(raw):
    """A valid snappy block made of literals only (format_description.txt)."""
    out = bytearray(varint(len(raw)))
    for i in range(0, len(raw), 60):
        chunk = raw[i:i + 60]
        out.append((len(chunk) - 1) << 2)
        out += chunk
    return bytes(out)


def loki_push(c, body, content_type="application/x-protobuf", headers=None):
    h = {} if content_type is None else {"Content-Type": content_type}
    h.update(headers or {})
    return c.request("POST", "/loki/api/v1/push", body, h)


def rows_of(c, query, **kw):
    return c.rows(query=query, limit=5000, **ALL_TIME, **kw)


def check_text_error(r, status, needle):
    assert r.status == status, r
    assert r.headers.get("content-type", "").startswith("text/plain"), r.headers
    text = r.body.decode()
    assert text.endswith("\n") and needle in text, text


@pytest.fixture
def server(loge):
    return loge(*IN_MEMORY)


# --- Promtail's protobuf + snappy ------------------------------------------

def test_promtail_vector_on_the_loki_endpoint_is_204_and_queryable(server):
    r = loki_push(server, VECTOR_SNAPPY, headers={"X-Scope-OrgID": "tenant-1", "User-Agent": "promtail/2.9.0"})
    assert r.status == 204 and r.body == b"", r
    assert rows_of(server, '{app="web"}') == VECTOR_ROWS


def test_promtail_vector_on_the_loge_endpoint_is_200(server):
    for ctype in ("application/x-protobuf", "application/protobuf"):
        r = server.push_raw(VECTOR_SNAPPY, content_type=ctype)
        assert r.status == 200, r
    # Pushed twice: identical entries (stream, time, line) are kept once, as Loki does.
    assert len(rows_of(server, '{env="prod"}')) == 2


def test_missing_or_unknown_content_type_is_protobuf_on_the_loki_endpoint(server):
    assert loki_push(server, VECTOR_SNAPPY, content_type=None).status == 204
    assert loki_push(server, VECTOR_SNAPPY, content_type="application/octet-stream").status == 204
    assert len(rows_of(server, '{app="web"}')) == 2  # the same entries twice: kept once


def test_structured_metadata_is_matched_by_a_label_filter(server):
    assert loki_push(server, VECTOR_SNAPPY).status == 204
    assert rows_of(server, '{app="web"} | trace_id="abc"') == VECTOR_ROWS[:1]
    assert rows_of(server, '{app="web"} | trace_id!="abc"') == VECTOR_ROWS[1:]
    assert rows_of(server, '{app="web"} | trace_id=~"a.*" |= "sec"') == VECTOR_ROWS[:1]
    assert rows_of(server, '{app="web"} | env="prod" | trace_id="nope"') == []


def test_protobuf_labels_are_canonicalised(server):
    body = snappy_block(pb_push([('{zone="b", app="x", empty="",}', [(5 * 10**9 + 7, "l1")]),
                                 ('{app=`x`,zone="b"}', [(6 * 10**9, "l2", {"k": "v"})])]))
    assert loki_push(server, body).status == 204
    got = rows_of(server, '{app="x"}')
    assert [(g["timestamp"], g["line"], g["labels"]) for g in got] == [
        (6 * 10**9, "l2", {"app": "x", "zone": "b"}), (5 * 10**9 + 7, "l1", {"app": "x", "zone": "b"})]
    assert got[0]["metadata"] == {"k": "v"}


@pytest.mark.parametrize("labels,needle", [
    ('{app=~"x"}', "take only ="),
    ('{app="x", app="y"}', "duplicate label name"),
    ('{1app="x"}', "couldn't parse labels"),
    ('{}', "no labels"),
    ('app="x"', "couldn't parse labels"),
])
def test_bad_protobuf_labels_are_400_with_a_text_reason(server, labels, needle):
    check_text_error(loki_push(server, snappy_block(pb_push([(labels, [(1, "x")])]))), 400, needle)
    assert rows_of(server, "{}") == []


@pytest.mark.parametrize("body,needle", [
    (VECTOR_PROTO, "snappy"),  # not compressed
    (b"\xff\x06\x00\x00sNaPpY" + VECTOR_SNAPPY, "framed"),
    (VECTOR_SNAPPY[:40], "snappy"),
    (snappy_block(b"\x0a\x05garbage"), "protobuf"),
    (b"", "snappy"),
])
def test_undecodable_protobuf_is_400(server, body, needle):
    check_text_error(loki_push(server, body), 400, needle)


# --- msgpack ---------------------------------------------------------------

def test_msgpack_push_has_the_json_shape(server, clock):
    t1, t2 = clock.next(), clock.next()
    body = mp({"streams": [{"stream": {"app": "mp", "env": "dev"},
                            "values": [[str(t1), "as string ts"], [t2, "as int ts", {"trace_id": "x1"}]]}]})
    r = server.push_raw(body, content_type="application/msgpack")
    assert r.status == 200, r
    got = rows_of(server, '{app="mp"}')
    assert [(g["timestamp"], g["line"]) for g in got] == [(t2, "as int ts"), (t1, "as string ts")]
    assert got[0]["metadata"] == {"trace_id": "x1"} and got[0]["labels"] == {"app": "mp", "env": "dev"}
    assert loki_push(server, body, content_type="application/msgpack").status == 204


def test_bad_msgpack_is_400_naming_the_field(server):
    body = mp({"streams": [{"stream": {"app": "mp"}, "values": [[None, "x"]]}]})
    r = server.push_raw(body, content_type="application/msgpack")
    assert r.status == 400, r
    assert "streams[0].values[0][0]" in r.json()["error"], r
    r = server.push_raw(b"\xc1", content_type="application/msgpack")
    assert r.status == 400, r


# --- Content-Encoding ------------------------------------------------------

def json_body(clock, app, n=50):
    return json.dumps({"streams": [stream({"app": app}, [(clock.next(), f"{app}-{i}") for i in range(n)])]}).encode()


def test_gzip_and_deflate_bodies_are_inflated(server, clock):
    assert server.push_raw(gzip.compress(json_body(clock, "gz")), headers={"Content-Encoding": "gzip"}).status == 200
    assert server.push_raw(zlib.compress(json_body(clock, "zl")), headers={"Content-Encoding": "deflate"}).status == 200
    raw = zlib.compressobj(wbits=-15)
    raw_deflate = raw.compress(json_body(clock, "raw")) + raw.flush()
    assert server.push_raw(raw_deflate, headers={"Content-Encoding": "deflate"}).status == 200
    # Protobuf under gzip is still a snappy block inside, as in Loki.
    r = loki_push(server, gzip.compress(VECTOR_SNAPPY), headers={"Content-Encoding": "gzip"})
    assert r.status == 204, r
    # snappy as Content-Encoding is accepted and ignored for protobuf.
    assert loki_push(server, VECTOR_SNAPPY, headers={"Content-Encoding": "snappy"}).status == 204
    for app in ("gz", "zl", "raw"):
        assert len(rows_of(server, '{app="%s"}' % app)) == 50
    assert len(rows_of(server, '{app="web"}')) == 2  # the vector twice: identical entries kept once


def test_unknown_content_encoding_is_415(server, clock):
    r = server.push_raw(json_body(clock, "x"), headers={"Content-Encoding": "br"})
    assert r.status == 415 and "Content-Encoding" in r.json()["error"], r
    check_text_error(loki_push(server, VECTOR_SNAPPY, headers={"Content-Encoding": "zstd"}), 415, "zstd")
    r = server.push_raw(json_body(clock, "x"), headers={"Content-Encoding": "snappy"})
    assert r.status == 415, r
    assert rows_of(server, "{}") == []


def test_corrupt_gzip_is_400(server, clock):
    gz = gzip.compress(json_body(clock, "x"))
    assert server.push_raw(gz[: len(gz) // 2], headers={"Content-Encoding": "gzip"}).status == 400
    assert server.push_raw(b"not gzip", headers={"Content-Encoding": "gzip"}).status == 400


def test_compression_bomb_is_413_and_costs_nothing(loge):
    s = loge("--max-body-size", "1MiB", *IN_MEMORY)
    bomb = gzip_zeros(256 << 20)  # 256 MiB of zeros in ~250 KB
    assert len(bomb) < (1 << 20)
    rss_before = rss_kib(s.proc.pid)
    t0 = time.monotonic()
    r = s.push_raw(bomb, headers={"Content-Encoding": "gzip"})
    assert r.status == 413, r
    check_text_error(loki_push(s, bomb, content_type="application/json", headers={"Content-Encoding": "gzip"}),
                     413, "limit")
    # Bounded by the 1 MiB cap: nowhere near the 256 MiB the bomb expands to.
    assert time.monotonic() - t0 < 10
    assert rss_kib(s.proc.pid) - rss_before < 64 * 1024
    # A snappy block that declares more than the cap is refused before allocating.
    huge = varint(1 << 30) + b"\x00" * 64
    check_text_error(loki_push(s, huge), 413, "limit")


def gzip_zeros(n):
    """gzip of n zero bytes, compressed a chunk at a time (never n bytes in memory)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    out = [z.compress(chunk) for _ in range(n // len(chunk))]
    out.append(z.flush())
    return b"".join(out)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# --- Loki endpoint semantics -----------------------------------------------

def test_loki_json_push_is_204_and_validated_like_loki(server, clock):
    t = clock.next()
    body = {"streams": [{"stream": {"app": "lj"}, "values": [[str(t), "ok", {"trace_id": "z"}]]}]}
    r = loki_push(server, json.dumps(body), content_type="application/json; charset=utf-8")
    assert r.status == 204 and r.body == b"", r
    assert rows_of(server, '{app="lj"} | trace_id="z"')[0]["timestamp"] == t

    def bad(streams, needle):
        check_text_error(loki_push(server, json.dumps({"streams": streams}), content_type="application/json"),
                         400, needle)

    bad([{"stream": {"app": "lj"}, "values": [[t, "number ts"]]}], "timestamp must be a string")
    bad([{"stream": {"app-x": "lj"}, "values": [[str(t), "x"]]}], "invalid label name")
    bad([{"stream": {}, "values": [[str(t), "x"]]}], "no labels")
    bad([], "streams")
    assert len(rows_of(server, "{}")) == 1


def test_duplicate_label_names_are_400(server):
    body = '{"streams":[{"stream":{"a":"1","a":"2"},"values":[["1","x"]]}]}'
    check_text_error(loki_push(server, body, content_type="application/json"), 400, "duplicate")


def test_line_over_max_line_size_is_400_on_the_loki_endpoint(loge):
    s = loge("--max-line-size", "1KiB", *IN_MEMORY)
    check_text_error(loki_push(s, snappy_block(pb_push([('{a="b"}', [(1, "x" * 1025)])]))), 400, "exceeds")
    assert loki_push(s, snappy_block(pb_push([('{a="b"}', [(1, "x" * 1024)])]))).status == 204


def test_body_over_max_body_size_is_413(loge):
    s = loge("--max-body-size", "64KiB", *IN_MEMORY)
    r = loki_push(s, snappy_block(pb_push([('{a="b"}', [(1, "x" * 70000)])])))
    assert r.status == 413, r


def test_backpressure_is_429_with_retry_after_on_the_loki_endpoint(loge, clock):
    s = loge("--max-head-size", "64KiB", "--drop-on-backpressure", "true", *IN_MEMORY)
    for n in range(200):
        body = snappy_block(pb_push([('{app="bp"}', [(clock.next(), f"bp-{n}-{i} " + "p" * 180) for i in range(20)])]))
        r = loki_push(s, body)
        if r.status == 429:
            break
        assert r.status == 204, r
    else:
        pytest.fail("no 429 after 200 pushes of ~4 KiB with a 64 KiB budget")
    check_text_error(r, 429, "")
    assert int(r.headers["retry-after"]) >= 1, r.headers


def test_wrong_method_on_loki_routes_is_405(server):
    assert server.request("GET", "/loki/api/v1/push").status == 405
    assert server.request("POST", "/ready", b"").status == 405


def test_ready_is_200_once_listening(server):
    r = server.request("GET", "/ready")
    assert r.status == 200 and r.body == b"ready\n", r
    assert r.headers["content-type"].startswith("text/plain"), r.headers


def test_formats_survive_a_restart(loge, clock):
    s = loge("--flush-interval", "1h", *AS_SENT)
    t = clock.next()
    assert loki_push(s, VECTOR_SNAPPY).status == 204
    assert s.push_raw(mp({"streams": [{"stream": {"app": "mp"}, "values": [[t, "m", {"k": "v"}]]}]}),
                      content_type="application/msgpack").status == 200
    s.restart(graceful=False)  # replayed from the WAL
    assert rows_of(s, '{app="web"}') == VECTOR_ROWS
    assert rows_of(s, '{app="mp"} | k="v"')[0]["timestamp"] == t
