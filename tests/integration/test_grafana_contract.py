"""A replay of the requests Grafana's Loki data source and Logs Drilldown
make (/work/shared/specs/grafana-loki-contract.md), each answer checked
field by field against what the contract says Grafana reads, types
included: log timestamps are strings of nanoseconds, sample times are
numbers, sample values are strings, and some answers are bare objects."""

import json
import urllib.parse

T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
S = 10**9
HOUR = 3600 * S
START_RFC = "2026-01-01T00:00:00Z"
END_RFC = "2026-01-01T01:00:00Z"
N_API = 1200  # more than Explore's limit of 1000
N_CHECKOUT = 60


def seed(s):
    """1200 logfmt lines of `api` (one a second, every 4th an error) in two
    streams, 60 JSON lines of `checkout` with trace_id metadata."""
    api = []
    for i in range(N_API):
        level = "error" if i % 4 == 0 else "info"
        api.append([str(T0 + i * S), f'level={level} msg="request {i % 3}" user=u{i % 7} took={i % 50}ms'])
    checkout = []
    for i in range(N_CHECKOUT):
        doc = {"level": "info", "order": {"id": i}, "amount": i + 0.5}
        checkout.append([str(T0 + i * 10 * S), json.dumps(doc), {"trace_id": f"t{i % 4}"}])
    body = {"streams": [
        {"stream": {"app": "api", "env": "prod"}, "values": api[0::2]},
        {"stream": {"app": "api", "env": "staging"}, "values": api[1::2]},
        {"stream": {"app": "checkout", "env": "prod"}, "values": checkout},
    ]}
    r = s.request("POST", "/loki/api/v1/push", json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert r.status == 204, r


def get(s, path, params, headers=None):
    r = s.request("GET", path + "?" + urllib.parse.urlencode(params), None, headers)
    assert r.status == 200, (path, params, r)
    return r.json()


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def is_ns_string(x):
    return isinstance(x, str) and x.isdigit() and len(x) >= 19


def check_streams(data):
    """`streams` as Grafana's converter reads them; returns [(ts, line)]."""
    assert data["resultType"] == "streams"
    out = []
    for st in data["result"]:
        assert isinstance(st["stream"], dict) and st["stream"]
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in st["stream"].items())
        for v in st["values"]:
            assert len(v) == 2, v
            assert is_ns_string(v[0]) and isinstance(v[1], str), v
            out.append((int(v[0]), v[1]))
    return out


def check_matrix(data):
    """`matrix`: metric labels as strings, [<unix seconds number>, "<number>"] samples."""
    assert data["resultType"] == "matrix"
    for series in data["result"]:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in series["metric"].items())
        for t, v in series["values"]:
            assert is_num(t) and isinstance(v, str), (t, v)
            float(v)
    return data["result"]


def test_save_and_test_health_check(loge):
    s = loge()
    body = get(s, "/loki/api/v1/query", {"query": "vector(1)+vector(1)", "time": "4000000000", "direction": "backward"})
    assert body["status"] == "success"
    assert body["data"]["resultType"] == "vector"
    [sample] = body["data"]["result"]
    assert sample["metric"] == {}
    t, v = sample["value"]
    assert is_num(t) and t == 4000000000  # a number, as Loki answers this `time`
    assert v == "2"


def test_explore_log_query_volume_and_labels(loge):
    s = loge()
    seed(s)
    window = {"start": str(T0), "end": str(T0 + HOUR)}
    # The log query: limit 1000, backward, step in ms (ignored for logs).
    body = get(s, "/loki/api/v1/query_range",
               dict(window, query='{service_name="api"}', direction="backward", limit="1000", step="2000ms"))
    assert body["status"] == "success"
    rows = check_streams(body["data"])
    assert len(rows) == 1000
    assert sorted(t for t, _ in rows) == [T0 + i * S for i in range(N_API - 1000, N_API)]  # the newest 1000
    assert {json.dumps(st["stream"], sort_keys=True) for st in body["data"]["result"]} >= {
        json.dumps({"app": "api", "env": "prod", "service_name": "api", "detected_level": "info"}, sort_keys=True)}
    # The logs-volume histogram, as Grafana rewrites the query.
    q = 'sum by (level, detected_level) (count_over_time({service_name="api"} | drop __error__[1m]))'
    body = get(s, "/loki/api/v1/query_range", dict(window, query=q, step="60000ms"),
               {"X-Query-Tags": "Source=logvolhist"})
    series = check_matrix(body["data"])
    by_level = {}
    for x in series:
        assert set(x["metric"]) <= {"level", "detected_level"}
        by_level[x["metric"].get("detected_level")] = sum(int(float(v)) for _, v in x["values"])
    # count_over_time[1m] every 60 s counts each line in exactly one step.
    assert by_level == {"error": N_API // 4, "info": N_API - N_API // 4}, by_level
    # Autocomplete: names, then values, scoped by a selector when one is known.
    body = get(s, "/loki/api/v1/labels", window)
    assert body["status"] == "success" and body["data"] == ["app", "env", "service_name"]
    body = get(s, "/loki/api/v1/label/app/values", window)
    assert body["data"] == ["api", "checkout"]
    body = get(s, "/loki/api/v1/label/env/values", dict(window, query='{app="checkout"}'))
    assert body["data"] == ["prod"]
    body = get(s, "/loki/api/v1/series", dict(window, **{"match[]": '{app="api"}'}))
    assert body["status"] == "success"
    assert sorted(json.dumps(x, sort_keys=True) for x in body["data"]) == sorted(
        json.dumps({"app": "api", "env": e, "service_name": "api"}, sort_keys=True) for e in ("prod", "staging"))
    # The query-size hint: a bare object of four integers.
    body = get(s, "/loki/api/v1/index/stats", dict(window, query='{app="api"}'))
    assert set(body) == {"streams", "chunks", "bytes", "entries"}
    assert all(isinstance(v, int) for v in body.values())
    assert body["streams"] == 2 and body["entries"] == N_API and body["bytes"] > 0


def test_explore_categorize_labels_gives_three_element_values(loge):
    s = loge()
    seed(s)
    r = s.request("GET", "/loki/api/v1/query_range?" + urllib.parse.urlencode(
        {"query": '{app="checkout"}', "start": str(T0), "end": str(T0 + HOUR), "limit": "1000", "step": "2000ms"}),
        None, {"X-Loki-Response-Encoding-Flags": "categorize-labels"})
    data = r.json()["data"]
    assert data["encodingFlags"] == ["categorize-labels"]
    n = 0
    for st in data["result"]:
        assert st["stream"] == {"app": "checkout", "env": "prod", "service_name": "checkout"}
        for ts, line, meta in st["values"]:
            assert is_ns_string(ts) and isinstance(line, str) and isinstance(meta, dict)
            assert set(meta) <= {"structuredMetadata", "parsed"}
            assert meta["structuredMetadata"]["trace_id"].startswith("t")
            n += 1
    assert n == N_CHECKOUT


def test_log_context_backward_and_forward(loge):
    s = loge()
    seed(s)
    t = T0 + 600 * S  # the row: api line 600 (even lines are env=prod)
    sel = '{app="api", env="prod"}'
    body = get(s, "/loki/api/v1/query_range", {"query": sel, "start": str(t - 2 * HOUR), "end": str(t),
                                               "limit": "10", "direction": "BACKWARD", "step": "1000ms"})
    # Grafana merges the streams (one per detected_level here) by time.
    before = sorted((ts for ts, _ in check_streams(body["data"])), reverse=True)
    assert before == [t - k * 2 * S for k in range(1, 11)], before  # newest first, the row itself excluded
    body = get(s, "/loki/api/v1/query_range", {"query": sel, "start": str(t), "end": str(t + 2 * HOUR),
                                               "limit": "10", "direction": "FORWARD", "step": "1000ms"})
    after = sorted(ts for ts, _ in check_streams(body["data"]))
    assert after == [t + k * 2 * S for k in range(0, 10)], after  # oldest first, from the row on


def test_drilldown_requests(loge):
    s = loge()
    seed(s)
    iso = {"start": START_RFC, "end": END_RFC}
    # Service selection: volume by service, RFC 3339 times, limit 5000.
    body = get(s, "/loki/api/v1/index/volume", dict(iso, query='{service_name=~".+"}', limit="5000"))
    assert body["status"] == "success" and body["data"]["resultType"] == "vector"
    vols = {}
    for x in body["data"]["result"]:
        assert set(x["metric"]) == {"service_name"}
        t, v = x["value"]
        assert is_num(t) and isinstance(v, str) and v.isdigit()
        vols[x["metric"]["service_name"]] = int(v)
    assert set(vols) == {"api", "checkout"} and vols["api"] > vols["checkout"] > 0
    # Label tabs: an empty query string, not {}; a bare object.
    body = get(s, "/loki/api/v1/detected_labels", dict(iso, query=""),
               {"X-Query-Tags": "Source=grafana-lokiexplore-app"})
    assert set(body) == {"detectedLabels"}
    got = {}
    for l in body["detectedLabels"]:
        assert isinstance(l["label"], str) and isinstance(l["cardinality"], int)
        got[l["label"]] = l["cardinality"]
    assert got == {"app": 2, "env": 2, "service_name": 2}, got
    # Fields tab and a field's values.
    body = get(s, "/loki/api/v1/detected_fields", dict(iso, query='{app="checkout"}'))
    assert isinstance(body["limit"], int)
    fields = {f["label"]: f for f in body["fields"]}
    for f in body["fields"]:
        assert isinstance(f["type"], str) and isinstance(f["cardinality"], int)
        assert f["parsers"] is None or all(isinstance(p, str) for p in f["parsers"])
    assert fields["order_id"]["parsers"] == ["json"] and fields["order_id"]["jsonPath"] == ["order", "id"]
    assert fields["amount"]["type"] == "float"
    assert fields["trace_id"]["parsers"] is None  # structured metadata
    body = get(s, "/loki/api/v1/detected_field/trace_id/values", dict(iso, query='{app="checkout"}', limit="1000"))
    assert sorted(body["values"]) == ["t0", "t1", "t2", "t3"] and isinstance(body["limit"], int)
    # Patterns tab.
    body = get(s, "/loki/api/v1/patterns", dict(iso, query='{app="api"}', step="60s"))
    assert body["status"] == "success" and body["data"]
    total = 0
    for p in body["data"]:
        assert isinstance(p["pattern"], str) and "<_>" in p["pattern"]
        for t, n in p["samples"]:
            assert is_num(t) and isinstance(n, int)
            total += n
        assert p.get("level", "info") in ("info", "error")
    assert total == N_API
    # Limits, fetched on every Drilldown page.
    body = get(s, "/loki/api/v1/drilldown-limits", {})
    lim = body["limits"]
    assert isinstance(lim["max_entries_limit_per_query"], int) and lim["max_entries_limit_per_query"] >= 1000
    assert lim["volume_enabled"] is True
    assert isinstance(lim["discover_service_name"], list) and isinstance(lim["retention_period"], str)
    assert isinstance(body["pattern_ingester_enabled"], bool) and isinstance(body["version"], str)
    # Stream sharding: an empty list makes the client query unsharded.
    assert get(s, "/loki/api/v1/label/__stream_shard__/values", iso) == {"status": "success", "data": []}
