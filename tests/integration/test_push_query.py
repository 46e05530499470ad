"""Push and query over HTTP against the real binary: the happy path, every
validation error, limits, status codes, durability modes and keep-alive."""

import json
import urllib.parse
import random
import shutil
import tempfile

import pytest

from conftest import LogeServer, push_request, raw_exchange, stream, wait_for

# Keeps rows in memory (no flush during the test) unless a test wants files.
# Rows come back exactly as pushed: without Loki's service_name and
# detected_level (tested in test_loki_conformance.py and discover_test.cc).
AS_SENT = ("--discover-log-levels", "false", "--discover-service-name", "false")
IN_MEMORY = ("--flush-interval", "1h", "--payload-size", "1000000", *AS_SENT)


def lines(rows):
    return [r["line"] for r in rows]


@pytest.fixture(params=["memory", "files"])
def where(request):
    """Runs a query test twice: rows still in memory, and rows read back from
    flush files (a graceful restart flushes everything and empties memory)."""
    return request.param


def settle(s, where):
    if where == "files":
        s.restart()
        assert s.data_files(), "a graceful restart must flush every batch"
        assert s.query()["stats"]["files_considered"] >= 1


# --- push then query --------------------------------------------------------


def test_pushed_lines_come_back_newest_first_with_labels(loge, clock):
    s = loge()
    t = [clock.next() for _ in range(3)]
    r = s.push([stream({"app": "web", "env": "prod"}, [(t[0], "first"), (t[2], "third")]),
                stream({"app": "api"}, [(t[1], "second")])])
    assert r.status == 200, r
    assert r.json() == {"status": "success"}

    doc = s.query()
    assert doc["status"] == "success"
    assert [(x["timestamp"], x["line"]) for x in doc["data"]] == [(t[2], "third"), (t[1], "second"), (t[0], "first")]
    assert doc["data"][0]["labels"] == {"app": "web", "env": "prod"}
    assert doc["data"][1]["labels"] == {"app": "api"}
    for key in ("files_considered", "files_pruned", "files_opened", "blocks_scanned"):
        assert isinstance(doc["stats"][key], int), doc["stats"]


def test_lines_in_flushed_files_and_in_memory_are_merged_newest_first(loge, clock):
    # One bucket and a batch of 5 rows: the first push fills a batch, which
    # flushes to a file; the second stays in memory.
    s = loge("--buckets", "1", "--payload-size", "5", "--flush-interval", "1h")
    old = [(clock.next(), f"old-{i}") for i in range(5)]
    s.push_ok(stream({"app": "web"}, old))
    # Listed by queries a moment after it appears on disk.
    wait_for(lambda: s.query()["stats"]["files_considered"] == 1, 10, "queries to list the flush file")
    assert len(s.flush_files()) == 1
    new = [(clock.next(), f"new-{i}") for i in range(3)]
    s.push_ok(stream({"app": "web"}, new))
    doc = s.query()
    assert lines(doc["data"]) == [v[1] for v in reversed(old + new)]
    assert doc["stats"]["files_considered"] == 1, doc["stats"]


def test_newest_first_across_many_files_streams_and_memory(loge, clock):
    # 20 streams over 4 buckets, batches of 50 rows: many small files plus a
    # partial batch per bucket in memory; timestamps interleave across all.
    rng = random.Random(7)
    s = loge("--payload-size", "50", "--flush-interval", "1h")
    rows = []
    for i in range(1000):
        rows.append((clock.next(), f"s{rng.randrange(20)}", f"m-{i}"))
    shuffled = rows[:]
    rng.shuffle(shuffled)  # pushes arrive out of time order
    for i in range(0, len(shuffled), 100):
        by_stream = {}
        for ts, st, line in shuffled[i:i + 100]:
            by_stream.setdefault(st, []).append((ts, line))
        s.push_ok([stream({"app": st}, v) for st, v in by_stream.items()])
    wait_for(lambda: len(s.flush_files()) >= 8, 20, "several flush files")
    want = [line for _, _, line in sorted(rows, reverse=True)]

    doc = s.query(limit=5000)
    assert lines(doc["data"]) == want
    # Not ">= 8": a file is on disk a moment before queries list it (its rows
    # are still read from the sealed batch meanwhile).
    assert doc["stats"]["files_considered"] >= 1, doc["stats"]
    assert lines(s.rows(limit=37)) == want[:37]
    lo, hi = rows[300][0], rows[699][0]
    assert lines(s.rows(start=lo, end=hi, limit=5000)) == want[300:700]
    assert lines(s.rows(start=lo, end=hi, limit=10)) == want[300:310]
    st = rows[0][1]
    assert lines(s.rows(matchers=[{"name": "app", "value": st}], limit=5000)) == \
        [line for _, s2, line in sorted(rows, reverse=True) if s2 == st]


def test_limit_defaults_to_100_and_is_capped_at_5000(loge, clock, where):
    s = loge(*IN_MEMORY)
    vals = [(clock.next(), f"line-{i}") for i in range(5100)]
    s.push_ok(stream({"app": "web"}, vals))

    settle(s, where)
    assert len(s.rows()) == 100
    assert lines(s.rows(limit=7)) == [f"line-{i}" for i in range(5099, 5092, -1)]
    assert len(s.rows(limit=0)) == 100  # 0 means the default
    capped = s.rows(limit=100000)
    assert len(capped) == 5000
    assert capped[0]["line"] == "line-5099" and capped[-1]["line"] == "line-100"


def test_time_window_is_inclusive_at_both_ends(loge, clock, where):
    s = loge(*IN_MEMORY)
    ts = [clock.next() for _ in range(10)]
    s.push_ok(stream({"app": "web"}, [(t, f"l{i}") for i, t in enumerate(ts)]))

    settle(s, where)
    assert lines(s.rows(start=ts[3], end=ts[6])) == ["l6", "l5", "l4", "l3"]
    assert lines(s.rows(start=ts[8])) == ["l9", "l8"]  # end 0 = unbounded
    assert lines(s.rows(end=ts[1])) == ["l1", "l0"]  # start 0 = unbounded
    assert lines(s.rows(start=ts[4], end=ts[4])) == ["l4"]
    assert lines(s.rows(start=str(ts[4]), end=str(ts[5]))) == ["l5", "l4"]  # ns as strings
    assert s.rows(start=ts[9] + 1) == []


def test_label_matchers_of_all_four_types(loge, clock, where):
    s = loge(*IN_MEMORY)
    s.push_ok([stream({"app": "web", "env": "prod"}, [(clock.next(), "web-prod")]),
               stream({"app": "api", "env": "prod"}, [(clock.next(), "api-prod")]),
               stream({"app": "web", "env": "dev"}, [(clock.next(), "web-dev")]),
               stream({"app": "worker"}, [(clock.next(), "worker")])])

    settle(s, where)
    def check(matchers, want):
        got = sorted(lines(s.rows(matchers=matchers)))
        assert got == sorted(want), matchers

    m = lambda name, value, typ: {"name": name, "value": value, "type": typ}  # noqa: E731
    check([m("app", "web", "=")], ["web-prod", "web-dev"])
    check([{"name": "app", "value": "web"}], ["web-prod", "web-dev"])  # type defaults to =
    check([m("app", "web", "!=")], ["api-prod", "worker"])
    check([m("app", "w.*", "=~")], ["web-prod", "web-dev", "worker"])
    check([m("app", "eb", "=~")], [])  # regexes are fully anchored
    check([m("app", "w.*", "!~")], ["api-prod"])
    check([m("app", "web", "="), m("env", "prod", "=")], ["web-prod"])  # matchers AND
    check([m("env", "", "=")], ["worker"])  # Loki: empty value matches a missing label
    check([m("env", "prod", "!=")], ["web-dev", "worker"])
    check([m("app", "nope", "=")], [])


def test_line_filter_is_a_case_sensitive_substring(loge, clock, where):
    s = loge(*IN_MEMORY)
    s.push_ok(stream({"app": "web"}, [(clock.next(), "GET /index 200"), (clock.next(), "level=error boom"),
                                      (clock.next(), "level=Error BOOM"), (clock.next(), "POST /api 500 error")]))
    settle(s, where)
    assert lines(s.rows(line="error")) == ["POST /api 500 error", "level=error boom"]
    assert lines(s.rows(line="Error")) == ["level=Error BOOM"]
    assert lines(s.rows(line="/index")) == ["GET /index 200"]
    assert s.rows(line="absent") == []
    assert len(s.rows(line="")) == 4  # empty = no filter


def test_structured_metadata_round_trips_and_is_absent_when_not_pushed(loge, clock):
    s = loge(*IN_MEMORY)
    t1, t2 = clock.next(), clock.next()
    meta = {"trace_id": "abc123", "user": "ünï \"q\""}
    s.push_ok(stream({"app": "web"}, [(t1, "plain"), (t2, "with meta", meta)]))

    check_rows = lambda rows: (rows[0]["metadata"] == meta and "metadata" not in rows[1])  # noqa: E731
    rows = s.rows()
    assert lines(rows) == ["with meta", "plain"]
    assert check_rows(rows), rows
    # Also after a flush to a file and a restart.
    s.restart()
    rows = s.rows()
    assert lines(rows) == ["with meta", "plain"]
    assert check_rows(rows), rows


def test_labels_endpoint_lists_the_label_keys(loge, clock):
    s = loge(*IN_MEMORY)
    assert s.labels() == []
    s.push_ok([stream({"app": "web", "env": "prod"}, [(clock.next(), "a")]),
               stream({"zone": "eu", "app": "api"}, [(clock.next(), "b")])])
    assert sorted(s.labels()) == ["app", "env", "zone"]
    s.restart()  # from flushed files too
    assert sorted(s.labels()) == ["app", "env", "zone"]


def test_unusual_but_valid_lines_round_trip(loge, clock, where):
    s = loge(*IN_MEMORY)
    odd = ["", "tab\there", "new\nline", "quote \" and \\ backslash", "unicode ✓ 日本語 🚀", "x" * 10000]
    s.push_ok(stream({"app": "web"}, [(clock.next(), l) for l in odd]))
    settle(s, where)
    assert lines(s.rows()) == list(reversed(odd))


# --- validation: 400 naming the field, nothing stored ----------------------

OK_STREAM = {"stream": {"app": "web"}, "values": [["1700000000000000000", "ok"]]}


def body_with(bad_stream):
    # A valid stream first: a rejected request must not store it either.
    return json.dumps({"streams": [OK_STREAM, bad_stream]})


BAD_PUSHES = [
    ("malformed_json", '{"streams": [', "JSON"),
    ("not_an_object", "[1, 2]", "body"),
    ("no_streams_key", "{}", "streams"),
    ("empty_streams", '{"streams": []}', "streams"),
    ("streams_not_array", '{"streams": {}}', "streams"),
    ("stream_no_labels", body_with({"stream": {}, "values": [["1", "a"]]}), "streams[1].stream"),
    ("stream_missing", body_with({"values": [["1", "a"]]}), "streams[1].stream"),
    ("no_values", body_with({"stream": {"a": "b"}, "values": []}), "streams[1].values"),
    ("values_missing", body_with({"stream": {"a": "b"}}), "streams[1].values"),
    ("value_not_pair", body_with({"stream": {"a": "b"}, "values": [["1"]]}), "streams[1].values[0]"),
    ("value_not_array", body_with({"stream": {"a": "b"}, "values": ["1 a"]}), "streams[1].values[0]"),
    ("line_not_string", body_with({"stream": {"a": "b"}, "values": [["1", 5]]}), "streams[1].values[0][1]"),
    ("ts_number", body_with({"stream": {"a": "b"}, "values": [[1, "a"]]}), "streams[1].values[0][0]"),
    ("ts_fraction", body_with({"stream": {"a": "b"}, "values": [["1.5", "a"]]}), "streams[1].values[0][0]"),
    ("ts_letters", body_with({"stream": {"a": "b"}, "values": [["12ab", "a"]]}), "streams[1].values[0][0]"),
    ("ts_empty", body_with({"stream": {"a": "b"}, "values": [["", "a"]]}), "streams[1].values[0][0]"),
    ("ts_overflow", body_with({"stream": {"a": "b"}, "values": [["99999999999999999999", "a"]]}),
     "streams[1].values[0][0]"),
    ("label_starts_with_digit", body_with({"stream": {"1a": "b"}, "values": [["1", "a"]]}), "1a"),
    ("label_with_dash", body_with({"stream": {"a-b": "b"}, "values": [["1", "a"]]}), "a-b"),
    ("label_value_not_string", body_with({"stream": {"a": 5}, "values": [["1", "a"]]}), "streams[1].stream.a"),
    ("metadata_not_object", body_with({"stream": {"a": "b"}, "values": [["1", "a", "m"]]}), "streams[1].values[0][2]"),
    ("bad_value_later_in_list", body_with({"stream": {"a": "b"}, "values": [["1", "a"], ["x", "b"]]}),
     "streams[1].values[1][0]"),
]


@pytest.fixture(scope="module")
def shared_server():
    # One server for the table-driven cases that store nothing (each checks
    # that nothing at all got stored, so none may push valid data).
    workdir = tempfile.mkdtemp(prefix="loge-it-")
    s = LogeServer(workdir, IN_MEMORY)
    s.start()
    yield s
    s.reap()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.parametrize("body,field", [c[1:] for c in BAD_PUSHES], ids=[c[0] for c in BAD_PUSHES])
def test_push_rejects_bad_body_with_400_naming_the_field(shared_server, body, field):
    r = shared_server.push_raw(body)
    assert r.status == 400, r
    doc = r.json()
    assert doc["status"] == "error", doc
    assert field in doc["error"], f"error does not name {field!r}: {doc['error']!r}"
    assert shared_server.rows(limit=5000) == [], "a rejected request stored something"
    assert shared_server.labels() == []


def test_line_over_max_line_size_is_rejected_and_at_the_limit_accepted(loge, clock):
    s = loge(*IN_MEMORY)
    big = 256 * 1024
    r = s.push([stream({"app": "ok"}, [(clock.next(), "small")]),
                stream({"app": "web"}, [(clock.next(), "y"), (clock.next(), "x" * (big + 1))])])
    assert r.status == 400, r
    assert "streams[1].values[1][1]" in r.json()["error"], r
    assert s.rows() == []
    s.push_ok(stream({"app": "web"}, [(clock.next(), "x" * big)]))
    assert [len(l) for l in lines(s.rows())] == [big]


def test_max_line_size_flag_sets_the_limit(loge, clock):
    s = loge("--max-line-size", "1KiB", *IN_MEMORY)
    r = s.push(stream({"app": "web"}, [(clock.next(), "x" * 1025)]))
    assert r.status == 400, r
    assert "values[0][1]" in r.json()["error"]
    s.push_ok(stream({"app": "web"}, [(clock.next(), "x" * 1024)]))
    assert len(s.rows()) == 1


@pytest.mark.parametrize("ctype", ["text/plain", "application/xml", "application/x-www-form-urlencoded", None])
def test_unknown_content_type_is_415(shared_server, ctype):
    r = shared_server.push_raw(json.dumps({"streams": [OK_STREAM]}), content_type=ctype)
    assert r.status == 415, r
    doc = r.json()
    assert doc["status"] == "error" and "Content-Type" in doc["error"], doc
    assert shared_server.rows() == []


def test_content_type_with_parameters_and_case_is_accepted(loge, clock):
    s = loge(*IN_MEMORY)
    body = json.dumps({"streams": [stream({"app": "web"}, [(clock.next(), "hi")])]})
    r = s.push_raw(body, content_type="Application/JSON; charset=utf-8")
    assert r.status == 200, r
    assert lines(s.rows()) == ["hi"]


def test_body_over_max_body_size_is_413(loge, clock):
    s = loge("--max-body-size", "1KiB", *IN_MEMORY)
    small = json.dumps({"streams": [stream({"app": "web"}, [(clock.next(), "fits")])]})
    assert len(small) < 1024

    def big(n):
        return json.dumps({"streams": [stream({"app": "web"}, [(clock.next(), "z" * n)])]})

    r = s.push_raw(big(2000))
    assert r.status == 413, r
    assert r.json()["status"] == "error"
    # Declared far over the limit, and chunked (the size is only known while
    # reading the body); each on its own connection.
    for req in (push_request(big(10 << 20)), push_request(big(2000), chunk=600),
                push_request(big(1 << 20), chunk=64 << 10)):
        r = raw_exchange(s.port, req)
        assert r.status == 413, r
        assert r.json()["status"] == "error", r
    # The server still works, and nothing of the big bodies was stored.
    assert s.push_raw(small).status == 200
    assert lines(s.rows()) == ["fits"]
    # Exactly at the limit is accepted.
    at_limit = json.dumps({"streams": [stream({"app": "web"}, [(clock.next(), "")])]})
    at_limit = at_limit.replace('""]', '"' + "a" * (1024 - len(at_limit)) + '"]')
    assert len(at_limit) == 1024
    assert s.push_raw(at_limit).status == 200


def test_default_body_limit_is_64MiB(shared_server):
    # Declared sizes only: the server must refuse before reading a body.
    head = b"POST /api/v1/push HTTP/1.1\r\nHost: loge\r\nContent-Type: application/json\r\n"
    r = raw_exchange(shared_server.port, head + b"Content-Length: %d\r\n\r\n" % ((64 << 20) + 1))
    assert r.status == 413, r
    assert r.json()["status"] == "error"


@pytest.mark.parametrize("method,path,want", [
    ("GET", "/api/v1/push", 405), ("PUT", "/api/v1/push", 405), ("GET", "/api/v1/query", 405),
    ("DELETE", "/api/v1/query", 405), ("POST", "/api/v1/labels", 405),
    ("GET", "/api/v1/nope", 404), ("POST", "/api/v2/push", 404), ("GET", "/api/v1/push/", 404),
])
def test_wrong_method_is_405_and_unknown_path_404(shared_server, method, path, want):
    r = shared_server.request(method, path, body=b"" if method in ("POST", "PUT") else None)
    assert r.status == want, r
    assert r.json()["status"] == "error"
    if want == 405:
        assert "allow" in r.headers, r.headers


BAD_QUERIES = [
    ("malformed_json", "{", "JSON"),
    ("not_an_object", "[]", "body"),
    ("limit_negative", '{"limit": -1}', "limit"),
    ("limit_string", '{"limit": "x"}', "limit"),
    ("start_not_number", '{"start": "soon"}', "start"),
    ("end_not_number", '{"end": true}', "end"),
    ("start_after_end", '{"start": 5, "end": 3}', "start"),
    ("line_not_string", '{"line": 5}', "line"),
    ("matchers_not_array", '{"matchers": {}}', "matchers"),
    ("matcher_not_object", '{"matchers": ["app=web"]}', "matchers[0]"),
    ("matcher_no_name", '{"matchers": [{"value": "b"}]}', "matchers[0].name"),
    ("matcher_no_value", '{"matchers": [{"name": "a"}]}', "matchers[0].value"),
    ("matcher_bad_type", '{"matchers": [{"name": "a", "value": "b", "type": "~"}]}', "matchers[0].type"),
    ("bad_regex", '{"matchers": [{"name": "a", "value": "b", "type": "=~"}, {"name": "a", "value": "(", "type": "=~"}]}',
     "matchers[1]"),
    ("bad_negative_regex", '{"matchers": [{"name": "a", "value": "[z-a]", "type": "!~"}]}', "matchers[0]"),
]


@pytest.mark.parametrize("body,field", [c[1:] for c in BAD_QUERIES], ids=[c[0] for c in BAD_QUERIES])
def test_query_rejects_bad_body_with_400_naming_it(shared_server, body, field):
    r = shared_server.query_raw(body)
    assert r.status == 400, r
    doc = r.json()
    assert doc["status"] == "error", doc
    assert field in doc["error"], f"error does not name {field!r}: {doc['error']!r}"


def test_query_bad_regex_error_mentions_regex(shared_server):
    r = shared_server.query_raw('{"matchers": [{"name": "a", "value": "(", "type": "=~"}]}')
    assert r.status == 400 and "regex" in r.json()["error"], r


def test_empty_query_body_is_the_default_query(loge, clock):
    s = loge(*IN_MEMORY)
    s.push_ok(stream({"app": "web"}, [(clock.next(), "x")]))
    r = s.query_raw("")
    assert r.status == 200, r
    assert lines(r.json()["data"]) == ["x"]


# --- durability modes, visibility, restart --------------------------------


def test_non_durable_push_answers_202_and_lines_are_queryable(loge, clock):
    s = loge("--durable=false", *IN_MEMORY)
    vals = [(clock.next(), f"nd-{i}") for i in range(20)]
    r = s.push(stream({"app": "web"}, vals))
    assert r.status == 202, r
    assert r.json()["status"] == "success"
    # 202 promises no fsync, but the rows are in memory before the answer.
    assert lines(s.rows()) == [v[1] for v in reversed(vals)]
    s.stop()  # graceful: flushes
    s.start()
    assert lines(s.rows()) == [v[1] for v in reversed(vals)]


def test_rows_in_memory_are_queryable_right_after_200(loge, clock):
    s = loge(*IN_MEMORY)
    for i in range(50):
        t = clock.next()
        s.push_ok(stream({"app": "web", "n": str(i % 3)}, [(t, f"mem-{i}")]))
        got = s.rows(limit=1)
        assert [(g["timestamp"], g["line"]) for g in got] == [(t, f"mem-{i}")]
    assert s.flush_files() == [], "with a 1h flush interval nothing should have flushed"
    assert s.query()["stats"]["files_considered"] == 0


def test_lines_survive_a_graceful_restart(loge, clock):
    s = loge("--flush-interval", "1h")
    vals = {f"app{a}": [(clock.next(), f"r-{a}-{i}") for i in range(30)] for a in range(5)}
    s.push_ok([stream({"app": k}, v) for k, v in vals.items()])
    before = s.rows(limit=5000)
    s.stop()
    assert s.data_files(), "graceful stop must flush every batch"
    s.start()
    after = s.rows(limit=5000)
    assert after == before
    assert len(after) == 150
    s.restart()  # twice: nothing duplicated by a second replay
    assert s.rows(limit=5000) == before


def test_many_requests_share_one_keep_alive_connection(loge, clock):
    s = loge(*IN_MEMORY)
    c = s.connect()
    for i in range(200):
        assert c.push(stream({"app": "ka"}, [(clock.next(), f"ka-{i}")])).status == 200
        if i % 20 == 0:
            assert c.query(limit=1)["data"][0]["line"] == f"ka-{i}"
            assert c.labels() == ["app"]
    # Errors keep the connection open too.
    assert c.push_raw("{").status == 400
    assert c.query_raw("{").status == 400
    assert c.request("GET", "/api/v1/nope").status == 404
    assert len(c.rows(limit=5000)) == 200
    assert c.connects == 1, f"the client had to reconnect {c.connects - 1} times"
    c.close()


def test_rows_are_never_missed_or_doubled_while_they_flush(loge, clock):
    # Rows move from the open batch to a sealed batch to a file while queries
    # run; every query must see each acknowledged row exactly once.
    s = loge("--flush-interval", "20ms", "--payload-size", "1000000")
    q = s.connect()
    anomalies = []
    for round_ in range(30):
        tag = f"r{round_}"
        vals = [(clock.next(), f"{tag}-{i}") for i in range(200)]
        s.push_ok([stream({"round": tag, "half": str(h)}, vals[h::2]) for h in range(2)])
        files_before = len(s.flush_files())
        for _ in range(20):
            got = lines(q.rows(matchers=[{"name": "round", "value": tag}], limit=5000))
            if sorted(got) != sorted(v[1] for v in vals):
                anomalies.append((tag, len(got), len(set(got))))
            if len(s.flush_files()) > files_before:
                break  # this round's rows reached a file
    q.close()
    assert s.flush_files(), "the rows never flushed, so the test saw no moves"
    assert not anomalies, f"queries saw missing or doubled rows (round, rows, distinct): {anomalies[:5]}"


def test_query_selector_and_structured_fields_together_is_a_400(loge):
    s = loge()
    r = s.query_raw(json.dumps({"query": '{app="web"}', "line": "x"}))
    assert r.status == 400, r
    assert "not both" in r.json()["error"]
    r = s.query_raw(json.dumps({"query": '{app="web"} |= '}))
    assert r.status == 400, r
    assert r.json()["error"].startswith("1:16:")


def test_a_retried_push_is_returned_once_and_stored_once(loge, clock):
    # A shipper that lost the answer sends its batch again (Promtail and
    # Alloy do): Loki keeps one entry per identical (stream, timestamp, line).
    # Copies in two files, or in a file and in memory, come back once before
    # a merge joins them; after the merge they are stored once.
    s = loge("--buckets", "1", "--payload-size", "300", "--flush-interval", "1h", *AS_SENT)
    batches = [[(clock.next(), f"batch {b} line {i}") for i in range(300)] for b in range(6)]
    # One file per push (a push waits for the previous file, so a busy
    # machine cannot fold two batches into one); then two retries of
    # batches that are already files, each a file of its own.
    for i, b in enumerate(batches + [batches[1], batches[4]]):
        s.push_ok(stream({"app": "web"}, b))
        wait_for(lambda: len(s.flush_files()) == i + 1, 60, f"flush file {i + 1}")
    tail = [(clock.next(), f"tail line {i}") for i in range(100)]
    s.push_ok(stream({"app": "web"}, tail))
    s.push_ok(stream({"app": "web"}, tail))       # both copies still in memory
    s.push_ok(stream({"app": "web"}, batches[5][:100]))  # in memory, original in a file
    want = sorted(line for b in batches for _, line in b) + sorted(line for _, line in tail)

    def all_lines():
        return sorted(lines(s.query_all(matchers=[{"name": "app", "value": "web"}])))

    assert all_lines() == sorted(want)
    # A page that would hold a copy holds the next row instead.
    page = s.rows(matchers=[{"name": "app", "value": "web"}], limit=150)
    assert len({(r["timestamp"], r["line"]) for r in page}) == 150

    s.restart()  # flushes the memory
    assert s.request("POST", "/api/v1/admin/compact").status == 200
    wait_for(lambda: not s.flush_files(), 60, "the flush files to merge")
    assert all_lines() == sorted(want)
    r = s.request("GET", "/loki/api/v1/query?" + urllib.parse.urlencode(
        {"query": 'sum(count_over_time({app="web"}[1h]))', "time": str(clock.next())}))
    assert r.status == 200, r
    assert r.json()["data"]["result"][0]["value"][1] == str(len(want)), r.json()
