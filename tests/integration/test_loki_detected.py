"""Logs Drilldown's labels, fields and patterns tabs against a real server:
GET /loki/api/v1/detected_labels, /detected_fields,
/detected_field/<name>/values and /patterns, with the parameters Drilldown
and Grafana send (RFC 3339 and nanosecond times, an empty query), the
answers' shapes field by field, bad input as 400, and the same answers from
the head and from files."""

import json
import urllib.parse

T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
S = 10**9
START_RFC = "2026-01-01T00:00:00Z"
END_RFC = "2026-01-01T01:00:00Z"


def loki_push(s, streams):
    r = s.request("POST", "/loki/api/v1/push", json.dumps({"streams": streams}).encode(),
                  {"Content-Type": "application/json"})
    assert r.status == 204, r


def seed(s):
    """600 api lines (logfmt, two templates), 60 checkout lines (JSON with
    trace_id metadata), 30 worker lines with a numeric `build` label."""
    api = []
    for i in range(600):
        if i % 3 == 0:
            line = f"level=error msg=\"upstream failed\" user=u{i % 7} status=502 took={i % 50}ms"
        else:
            line = f"level=info msg=\"request served\" user=u{i % 7} status=200 took={i % 50}ms size={i}KB"
        api.append([str(T0 + i * S), line])
    checkout = []
    for i in range(60):
        doc = {"level": "info", "order": {"id": i, "paid": i % 2 == 0}, "amount": i + 0.5, "http.status": 200}
        checkout.append([str(T0 + i * 10 * S), json.dumps(doc, separators=(",", ":")), {"trace_id": f"t{i % 4}"}])
    worker = [[str(T0 + i * S), f"job {i} done"] for i in range(30)]
    loki_push(s, [
        {"stream": {"app": "api", "env": "prod", "host": "api-1"}, "values": api[:300]},
        {"stream": {"app": "api", "env": "staging", "host": "api-2"}, "values": api[300:]},
        {"stream": {"app": "checkout", "env": "prod"}, "values": checkout},
        {"stream": {"app": "worker", "build": "101"}, "values": worker[:15]},
        {"stream": {"app": "worker", "build": "102"}, "values": worker[15:]},
    ])


def get(s, path, **params):
    return s.request("GET", path + "?" + urllib.parse.urlencode(params))


def test_detected_labels_lists_labels_and_leaves_out_id_like_ones(loge):
    s = loge()
    seed(s)
    r = get(s, "/loki/api/v1/detected_labels", query="", start=START_RFC, end=END_RFC)
    assert r.status == 200, r
    body = r.json()
    assert set(body) == {"detectedLabels"}
    got = {l["label"]: l["cardinality"] for l in body["detectedLabels"]}
    # build=101/102 are numbers: ids to Loki, not worth a breakdown tab.
    assert got == {"app": 3, "env": 2, "host": 2, "service_name": 3}, got
    scoped = get(s, "/loki/api/v1/detected_labels", query='{app="api"}', start=str(T0), end=str(T0 + 3600 * S)).json()
    assert {l["label"]: l["cardinality"] for l in scoped["detectedLabels"]} == \
        {"app": 1, "env": 2, "host": 2, "service_name": 1}
    none = get(s, "/loki/api/v1/detected_labels", query='{app="nope"}', start=START_RFC, end=END_RFC)
    assert none.status == 200 and none.json() == {}


def test_detected_fields_report_type_cardinality_parsers_and_json_path(loge):
    s = loge()
    seed(s)
    r = get(s, "/loki/api/v1/detected_fields", query='{app="checkout"}', start=START_RFC, end=END_RFC)
    assert r.status == 200, r
    body = r.json()
    assert body["limit"] == 1000
    fields = {f["label"]: f for f in body["fields"]}
    assert fields["order_id"] == {"label": "order_id", "type": "int", "cardinality": 60, "parsers": ["json"],
                                  "jsonPath": ["order", "id"]}
    assert fields["order_paid"]["type"] == "boolean" and fields["order_paid"]["cardinality"] == 2
    assert fields["amount"]["type"] == "float"
    assert fields["http_status"]["jsonPath"] == ["http.status"]
    assert fields["trace_id"] == {"label": "trace_id", "type": "string", "cardinality": 4, "parsers": None}
    assert fields["detected_level"]["parsers"] is None
    assert "app" not in fields  # stream labels are not fields

    api = get(s, "/loki/api/v1/detected_fields", query='{app="api"}', start=str(T0), end=str(T0 + 3600 * S),
              line_limit="1000", limit="1000").json()
    f = {x["label"]: x for x in api["fields"]}
    assert f["status"]["type"] == "int" and f["status"]["parsers"] == ["logfmt"] and "jsonPath" not in f["status"]
    assert f["took"]["type"] == "duration"
    assert f["size"]["type"] == "bytes"
    assert f["user"]["cardinality"] == 7
    # The default line_limit samples the newest 100 lines only.
    sampled = get(s, "/loki/api/v1/detected_fields", query='{app="api"}', start=str(T0), end=str(T0 + 3600 * S)).json()
    assert {x["label"]: x for x in sampled["fields"]}["size"]["cardinality"] < 100
    few = get(s, "/loki/api/v1/detected_fields", query='{app="api"}', start=START_RFC, end=END_RFC, limit="2").json()
    assert len(few["fields"]) == 2 and few["limit"] == 2


def test_detected_field_values_answer_distinct_values(loge):
    s = loge()
    seed(s)
    r = get(s, "/loki/api/v1/detected_field/status/values", query='{app="api"}', start=START_RFC, end=END_RFC)
    assert r.status == 200, r
    assert sorted(r.json()["values"]) == ["200", "502"] and r.json()["limit"] == 1000
    trace = get(s, "/loki/api/v1/detected_field/trace_id/values", query='{app="checkout"}', start=START_RFC,
                end=END_RFC).json()
    assert sorted(trace["values"]) == ["t0", "t1", "t2", "t3"]
    none = get(s, "/loki/api/v1/detected_field/nope/values", query='{app="api"}', start=START_RFC, end=END_RFC)
    assert none.status == 200 and none.json() == {}


def test_patterns_cluster_lines_with_counts_per_step(loge):
    s = loge()
    seed(s)
    r = get(s, "/loki/api/v1/patterns", query='{app="api"}', start=START_RFC, end=END_RFC, step="60s")
    assert r.status == 200, r
    body = r.json()
    assert body["status"] == "success"
    by_pattern = {(p["pattern"], p["level"]): p for p in body["data"]}
    assert set(by_pattern) == {
        ('level=error msg="upstream failed" user=<_> status=502 took=<_>', "error"),
        ('level=info msg="request served" user=<_> status=200 took=<_> size=<_>', "info"),
    }, list(by_pattern)
    for p in body["data"]:
        assert set(p) == {"pattern", "level", "samples"}
        times = [t for t, _ in p["samples"]]
        assert times == sorted(times) and all(t % 60 == 0 for t in times)
    err = by_pattern[('level=error msg="upstream failed" user=<_> status=502 took=<_>', "error")]
    assert sum(n for _, n in err["samples"]) == 200
    assert err["samples"][0] == [T0 // S, 20]  # lines 0, 3, …, 57 in the first minute
    assert sum(sum(n for _, n in p["samples"]) for p in body["data"]) == 600

    # A pattern works as a `|>` filter in a log query and selects its lines.
    pat = 'level=error msg="upstream failed" user=<_> status=502 took=<_>'
    q = '{app="api"} |> ' + json.dumps(pat)
    lines = get(s, "/loki/api/v1/query_range", query=q, start=str(T0), end=str(T0 + 3600 * S), limit="1000").json()
    assert sum(len(st["values"]) for st in lines["data"]["result"]) == 200

    empty = get(s, "/loki/api/v1/patterns", query='{app="nope"}', start=START_RFC, end=END_RFC)
    assert empty.status == 200 and empty.json() == {"status": "success", "data": []}


def test_bad_input_is_a_400_with_a_reason(loge):
    s = loge()
    seed(s)
    cases = [
        ("/loki/api/v1/detected_fields", {"query": "", "start": START_RFC, "end": END_RFC}),
        ("/loki/api/v1/detected_fields", {"query": '{app="api"', "start": START_RFC, "end": END_RFC}),
        ("/loki/api/v1/detected_fields", {"query": '{app="api"}', "line_limit": "0"}),
        ("/loki/api/v1/detected_fields", {"query": '{app="api"}', "line_limit": "6000"}),
        ("/loki/api/v1/detected_fields", {"query": 'count_over_time({app="api"}[1m])'}),
        ("/loki/api/v1/detected_field/x/values", {"query": '{app="api"}', "limit": "abc"}),
        ("/loki/api/v1/detected_labels", {"query": "{", "start": START_RFC, "end": END_RFC}),
        ("/loki/api/v1/detected_labels", {"query": "", "start": "yesterday"}),
        ("/loki/api/v1/patterns", {"query": '{app="api"}', "start": END_RFC, "end": START_RFC}),
        ("/loki/api/v1/patterns", {"query": '{app="api"}', "start": START_RFC, "end": END_RFC, "step": "0"}),
        ("/loki/api/v1/patterns", {"query": '{app="api"}', "start": START_RFC, "end": END_RFC, "step": "1ms"}),
        ("/loki/api/v1/patterns", {"query": '{app=~".*"}', "start": START_RFC, "end": END_RFC}),
    ]
    for path, params in cases:
        r = get(s, path, **params)
        assert r.status == 400, (path, params, r)
        assert r.body.strip(), (path, params)
    r = s.request("DELETE", "/loki/api/v1/patterns")
    assert r.status == 405, r


def test_answers_are_the_same_from_the_head_and_from_files(loge):
    s = loge("--flush-interval", "1h", "--payload-size", "1000000")
    seed(s)
    requests = [
        ("/loki/api/v1/detected_labels", {"query": "", "start": START_RFC, "end": END_RFC}),
        ("/loki/api/v1/detected_fields", {"query": '{app="checkout"}', "start": START_RFC, "end": END_RFC}),
        ("/loki/api/v1/detected_field/user/values", {"query": '{app="api"}', "start": START_RFC, "end": END_RFC}),
        ("/loki/api/v1/patterns", {"query": '{app=~"api|worker"}', "start": START_RFC, "end": END_RFC, "step": "5m"}),
    ]

    def answers():
        out = []
        for path, params in requests:
            body = get(s, path, **params).json()
            for key in ("detectedLabels", "fields"):
                if key in body:
                    body[key].sort(key=lambda x: x["label"])
            if "values" in body:
                body["values"].sort()
            if "data" in body:
                body["data"].sort(key=lambda p: (p["pattern"], p["level"]))
            out.append(body)
        return out

    before = answers()
    s.stop()
    s.start()  # a graceful stop flushes the head to files
    after = answers()
    assert before == after
    assert before[3]["data"], "patterns found"
