"""Operator mistakes and hostile input the store must survive (issue 14,
items 5, 6, 9, 10, 12; docs/reliability.md): a second server on the same data
directory, Loki's label limits, read-only mode on a nearly full disk, a
damaged WAL record, and invalid UTF-8 in every push format."""

import json
import os
import struct
import subprocess
import time

from conftest import loge_bin, stream, wait_for
from test_formats import loki_push, mp, pb_push, snappy_block

IN_MEMORY = ("--flush-interval", "1h", "--payload-size", "1000000", "--checkpoint-interval", "1h")
ALL_TIME = {"start": 1, "end": 2**62}
DEADLINE_S = 30.0


def rows(s, query):
    return s.rows(query=query, limit=5000, **ALL_TIME)


def error_of(r, status):
    assert r.status == status, r
    doc = r.json()
    assert doc["status"] == "error", doc
    return doc["error"]


# --- item 5: one server per data directory ----------------------------------

def test_second_server_on_the_same_directory_exits_1_naming_the_holder(loge, clock):
    first = loge(*IN_MEMORY)
    first.push_ok(stream({"app": "lock"}, [(clock.next(), f"line {i}") for i in range(20)]))
    wal_before = first.wal_files()
    assert wal_before and sum(size for _, size in wal_before) > 0, wal_before
    with open(os.path.join(first.dir, "LOCK")) as f:
        assert f.read().strip() == str(first.proc.pid)

    second = subprocess.run([loge_bin(), "--port", "0", "--output-path", first.dir], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=DEADLINE_S)
    out = second.stdout.decode("utf-8", "replace")
    assert second.returncode == 1, out
    assert f"another loge process (pid {first.proc.pid})" in out, out
    assert "--output-path" in out, out
    assert "wal replay" not in out, "the second process read the WAL: " + out
    # The first server's WAL was neither replayed into a second head nor
    # rotated or trimmed: the same files, the same bytes.
    assert first.wal_files() == wal_before
    assert len(rows(first, '{app="lock"}')) == 20
    first.stop()
    first.start()  # the lock went with the first process; its data is whole
    assert len(rows(first, '{app="lock"}')) == 20


# --- item 6: Loki's label limits ---------------------------------------------

def test_label_limits_are_400_naming_the_limit_and_the_stream(loge, clock):
    s = loge(*IN_MEMORY)
    msg = error_of(s.push(stream({"app": "v" * 2049}, [(clock.next(), "x")])), 400)
    assert "over the limit of 2048 (--max-label-value-length)" in msg and 'in stream {"app":"vvv' in msg, msg
    assert len(msg) < 1000, "the stream is quoted, bounded"
    msg = error_of(s.push(stream({"n" * 1025: "v"}, [(clock.next(), "x")])), 400)
    assert "(--max-label-name-length)" in msg, msg
    sixteen = {f"l{i}": "v" for i in range(16)}
    msg = error_of(s.push(stream(sixteen, [(clock.next(), "x")])), 400)
    assert "16 labels, over the limit of 15 (--max-label-names-per-series)" in msg, msg
    # Protobuf on Loki's endpoint: the same rule, Loki's text error.
    labels = "{" + ", ".join(f'l{i}="v"' for i in range(16)) + "}"
    r = loki_push(s.client, snappy_block(pb_push([(labels, [(clock.next(), "x")])])))
    assert r.status == 400 and b"--max-label-names-per-series" in r.body, r
    # 15 labels pass on Loki's endpoint although loge adds service_name.
    fifteen = {f"l{i}": "v" for i in range(15)}
    r = loki_push(s.client, json.dumps({"streams": [stream(fifteen, [(clock.next(), "fifteen")])]}),
                  content_type="application/json")
    assert r.status == 204, r
    got = rows(s, '{l0="v"}')
    assert [x["line"] for x in got] == ["fifteen"] and got[0]["labels"]["service_name"] == "unknown_service", got
    metrics = s.request("GET", "/metrics").body.decode()
    assert 'loge_ingest_rejected_total{reason="max_label_names_per_series"} 2' in metrics, metrics


def test_label_limits_are_flags(loge, clock):
    s = loge(*IN_MEMORY, "--max-label-value-length", "4", "--max-label-names-per-series", "2")
    assert s.push(stream({"app": "abcd"}, [(clock.next(), "x")])).status == 200
    assert "(--max-label-value-length)" in error_of(s.push(stream({"app": "abcde"}, [(clock.next(), "x")])), 400)
    assert "(--max-label-names-per-series)" in error_of(
        s.push(stream({"a": "1", "b": "2", "c": "3"}, [(clock.next(), "x")])), 400)


# --- item 9: read-only mode on a nearly full disk -----------------------------

def set_free(path, free, total=100 << 30):
    with open(path + ".new", "w") as f:
        f.write(f"{free} {total}\n")
    os.replace(path + ".new", path)  # the server never reads half a file


def test_nearly_full_disk_turns_ingest_read_only_and_back_without_restart(loge, clock, tmp_path):
    free_file = str(tmp_path / "free")
    set_free(free_file, 50 << 30)
    s = loge(*IN_MEMORY, "--test-free-disk-file", free_file, "--min-free-disk", "2GiB")
    s.push_ok(stream({"app": "disk"}, [(clock.next(), "before")]))
    assert s.request("GET", "/ready").status == 200

    set_free(free_file, 1 << 30)  # 1 GiB free < 2 GiB
    r = wait_for(lambda: (lambda r: r if r.status == 503 else None)(s.request("GET", "/ready")), DEADLINE_S,
                 "/ready to answer 503")
    assert b"disk almost full" in r.body, r
    r = s.push(stream({"app": "disk"}, [(clock.next(), "refused")]))
    msg = error_of(r, 503)
    assert "disk almost full" in msg and "--min-free-disk 2.0 GiB" in msg, msg
    assert r.headers.get("retry-after"), r.headers
    # Loki's endpoint refuses too; queries keep working.
    assert loki_push(s.client, json.dumps({"streams": [stream({"app": "disk"}, [(clock.next(), "no")])]}),
                     content_type="application/json").status == 503
    assert [x["line"] for x in rows(s, '{app="disk"}')] == ["before"]
    stats = s.request("GET", "/api/v1/stats").json()
    assert stats["disk_read_only"] is True and stats["disk_min_free_bytes"] == 2 << 30, stats
    assert "disk almost full" in stats["disk_read_only_reason"], stats
    assert "loge_disk_read_only 1" in s.request("GET", "/metrics").body.decode()

    set_free(free_file, 3 << 30)  # space freed
    wait_for(lambda: s.request("GET", "/ready").status == 200, DEADLINE_S, "/ready to answer 200 again")
    s.push_ok(stream({"app": "disk"}, [(clock.next(), "after")]))
    assert [x["line"] for x in rows(s, '{app="disk"}')] == ["after", "before"]
    assert "loge_disk_read_only 0" in s.request("GET", "/metrics").body.decode()
    assert not [n for n in os.listdir(s.dir) if n.endswith(".tmp")]


# --- item 10: a damaged WAL record --------------------------------------------

def wal_records(path):
    """(offset, length) of each record in a WAL file."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    while off + 16 <= len(data):
        (length,) = struct.unpack_from("<I", data, off)
        out.append((off, length))
        off += 16 + length
    return out


def test_damaged_wal_record_is_skipped_and_later_records_replay(loge, clock):
    s = loge(*IN_MEMORY)
    for k in range(5):  # one WAL record per push
        s.push_ok(stream({"app": "wal", "push": str(k)}, [(clock.next(), f"push {k} line {i}") for i in range(30)]))
    s.kill9()
    (name, _), = [w for w in s.wal_files() if w[1] > 0]
    path = os.path.join(s.dir, "wal", name)
    recs = wal_records(path)
    assert len(recs) == 5, recs
    off, length = recs[1]
    with open(path, "r+b") as f:  # one bit in the middle of push 1's payload
        f.seek(off + 16 + length // 2)
        b = f.read(1)
        f.seek(off + 16 + length // 2)
        f.write(bytes([b[0] ^ 0x04]))

    s.start()
    got = rows(s, '{app="wal"}')
    pushes = sorted({x["labels"]["push"] for x in got})
    assert pushes == ["0", "2", "3", "4"], pushes  # the three records after the damage are back
    assert len(got) == 4 * 30
    stats = s.request("GET", "/api/v1/stats").json()
    assert stats["wal_corrupt_records"] == 1 and stats["wal_corrupt_bytes"] == 16 + length, stats
    assert "loge_wal_corrupt_records 1" in s.request("GET", "/metrics").body.decode()
    log = s.log()
    assert f"{path} is damaged at offset {off}: {16 + length} bytes dropped (1 acknowledged record lost)" in log, log
    assert "[error]" in log.split("is damaged at offset")[0].splitlines()[-1], log


# --- item 12: invalid UTF-8, one rule for every format ---------------------------

BAD = b"bad \xff\xfe tail"
GOOD = "bad \ufffd\ufffd tail"


def mp_raw_str(b):
    return b"\xdb" + struct.pack(">I", len(b)) + b


def test_invalid_utf8_becomes_replacement_characters_in_every_format(loge, clock):
    s = loge(*IN_MEMORY)
    c = s.client
    ts = clock.next()
    sent = {}

    def json_bytes(obj):
        # json.dumps cannot carry raw bytes: write the marker, then swap it.
        return json.dumps(obj).encode().replace(b"@BAD@", BAD)

    sent["json"] = c.push_raw(json_bytes({"streams": [stream({"fmt": "json"}, [(ts + 1, "@BAD@")])]}))
    body = (b"\xdf" + struct.pack(">I", 1) + mp("streams") + b"\xdd" + struct.pack(">I", 1) +
            b"\xdf" + struct.pack(">I", 2) + mp("stream") + mp({"fmt": "msgpack"}) + mp("values") +
            b"\xdd" + struct.pack(">I", 1) + b"\xdd" + struct.pack(">I", 2) + mp(str(ts + 2)) + mp_raw_str(BAD))
    sent["msgpack"] = c.push_raw(body, content_type="application/msgpack")
    sent["protobuf"] = loki_push(c, snappy_block(pb_push([('{fmt="protobuf"}', [(ts + 3, BAD)])])))
    sent["jsonline"] = c.request("POST", "/insert/jsonline?_stream_fields=fmt",
                                 json_bytes({"_msg": "@BAD@", "_time": str(ts + 4), "fmt": "jsonline"}) + b"\n",
                                 {"Content-Type": "application/stream+json"})
    sent["es_bulk"] = c.request("POST", "/_bulk",
                                b'{"create":{}}\n' + json_bytes({"message": "@BAD@", "app": "es_bulk"}) + b"\n",
                                {"Content-Type": "application/x-ndjson"})
    otlp = {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "otlp"}}]},
                              "scopeLogs": [{"logRecords": [{"timeUnixNano": str(ts + 6),
                                                             "body": {"stringValue": "@BAD@"}}]}]}]}
    sent["otlp_json"] = c.request("POST", "/otlp/v1/logs", json_bytes(otlp), {"Content-Type": "application/json"})
    for fmt, r in sent.items():
        assert 200 <= r.status < 300, (fmt, r)
    lines = [x["line"] for q in ('{fmt=~".+"}', '{app="es_bulk"}', '{service_name="otlp"}') for x in rows(s, q)]
    assert lines.count(GOOD) == 6, lines
    metrics = s.request("GET", "/metrics").body.decode()
    count = [l for l in metrics.splitlines() if l.startswith("loge_ingest_invalid_utf8_pushes_total ")]
    assert count and float(count[0].split()[1]) >= 6, count
    # Outside a string it is still malformed JSON: 400, nothing stored.
    assert s.push_raw(b'{"streams":\xff[]}').status == 400
