"""Loki's read API against a real server (docs/loki-api.md): the key on every
Loki read endpoint, JSON 404s for unknown API paths, Loki's time forms,
categorize-labels on and off, and the index answers' shape and line bytes on
the conformance dataset."""

import json
import os
import urllib.parse

import pytest

from conftest import stream

KEY = "read-api-key"
T0 = 1767225600  # 2026-01-01T00:00:00Z
HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.environ.get("LOKI_CONFORMANCE_DIR",
                        os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "conformance", "loki")))

# Every Loki read endpoint this part serves, with a query each accepts.
ENDPOINTS = [
    ("GET", "/loki/api/v1/query_range", {"query": '{app="web"}'}),
    ("POST", "/loki/api/v1/query_range", {"query": '{app="web"}'}),
    ("GET", "/loki/api/v1/query", {"query": "vector(1)+vector(1)", "time": "4000000000"}),
    ("GET", "/loki/api/v1/labels", {}),
    ("GET", "/loki/api/v1/label/app/values", {}),
    ("GET", "/loki/api/v1/label/__stream_shard__/values", {}),
    ("GET", "/loki/api/v1/series", {"match[]": "{}"}),
    ("POST", "/loki/api/v1/series", {"match[]": '{app="web"}'}),
    ("GET", "/loki/api/v1/index/stats", {"query": '{app="web"}'}),
    ("GET", "/loki/api/v1/index/volume", {"query": '{service_name=~".+"}'}),
    ("GET", "/loki/api/v1/index/volume_range", {"query": '{service_name=~".+"}', "step": "60"}),
    ("GET", "/loki/api/v1/drilldown-limits", {}),
    ("GET", "/loki/api/v1/format_query", {"query": '{app="web"}'}),
    ("GET", "/loki/api/v1/status/buildinfo", {}),
]


def call(s, method, path, params, headers=None):
    qs = urllib.parse.urlencode(params)
    h = dict(headers or {})
    if method == "POST":
        h["Content-Type"] = "application/x-www-form-urlencoded"
        return s.request("POST", path, qs, h)
    return s.request("GET", path + ("?" + qs if qs else ""), None, h)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    from conftest import LogeServer

    s = LogeServer(str(tmp_path_factory.mktemp("loki-read")), ["--api-key", KEY])
    s.start()
    yield s
    s.stop()


@pytest.mark.parametrize("method,path,params", ENDPOINTS)
def test_every_loki_read_endpoint_needs_the_key(keyed, method, path, params):
    for auth in (None, "Bearer wrong", "Basic " + KEY):
        h = {"X-Scope-OrgID": "tenant"}
        if auth:
            h["Authorization"] = auth
        r = call(keyed, method, path, params, h)
        assert r.status == 401, (auth, r)
        assert r.json()["status"] == "error"
        assert KEY not in r.body.decode()
    r = call(keyed, method, path, params, {"Authorization": "Bearer " + KEY, "X-Scope-OrgID": "tenant"})
    assert r.status == 200, r
    r.json()


@pytest.mark.parametrize("path", ["/loki/api/v1/nope", "/loki/api/v2/query", "/loki", "/api/v1/nope",
                                  "/otlp/v1/traces", "/prometheus/api/v1/rules"])
def test_unknown_api_paths_are_json_404s(loge, path):
    s = loge()
    for method in ("GET", "POST", "PUT", "DELETE"):
        r = s.request(method, path, b"{}" if method != "GET" else None)
        assert r.status == 404, (method, r)
        assert r.headers["content-type"].startswith("application/json")
        assert "no route for" in r.json()["error"]
    r = s.request("GET", "/some/ui/page")
    assert r.status == 200 and r.headers["content-type"].startswith("text/html")


def test_times_in_every_form_and_categorize_labels(loge):
    s = loge()
    r = s.request("POST", "/loki/api/v1/push", json.dumps({"streams": [
        {"stream": {"app": "web"}, "values": [[str(T0 * 10**9 + 5), "level=info hi", {"trace_id": "t1"}],
                                              [str((T0 + 60) * 10**9), "level=error boom"]]}]}),
        {"Content-Type": "application/json"})
    assert r.status == 204, r
    forms = [
        {"start": str(T0), "end": str(T0 + 3600)},                                      # seconds
        {"start": str(T0 * 10**9), "end": str((T0 + 3600) * 10**9)},                    # nanoseconds
        {"start": f"{T0}.000", "end": f"{T0 + 3600}.5"},                                # float seconds
        {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00.000000000Z"},     # RFC 3339 (Drilldown)
        {"start": "2026-01-01T01:00:00+01:00", "end": "2026-01-01T02:00:00+01:00"},
    ]
    for f in forms:
        r = call(s, "GET", "/loki/api/v1/query_range", dict(f, query='{app="web"}', direction="FORWARD"))
        assert r.status == 200, (f, r)
        data = r.json()["data"]
        assert "encodingFlags" not in data
        values = [v for st in data["result"] for v in st["values"]]
        assert sorted(values) == sorted([[str(T0 * 10**9 + 5), "level=info hi"], [str((T0 + 60) * 10**9), "level=error boom"]])
        streams = {json.dumps(st["stream"], sort_keys=True) for st in data["result"]}
        assert any('"trace_id": "t1"' in x and '"detected_level": "info"' in x for x in streams), streams
        r = call(s, "GET", "/loki/api/v1/labels", f)
        assert r.json()["data"] == ["app", "service_name"], (f, r)
    r = call(s, "GET", "/loki/api/v1/query_range", {"query": '{app="web"}', "start": str(T0), "end": str(T0 + 3600),
                                                   "direction": "backward", "limit": "5"},
             {"X-Loki-Response-Encoding-Flags": "categorize-labels"})
    data = r.json()["data"]
    assert data["encodingFlags"] == ["categorize-labels"]
    assert [st["stream"] for st in data["result"]] == [{"app": "web", "service_name": "web"}]
    assert data["result"][0]["values"] == [
        [str((T0 + 60) * 10**9), "level=error boom", {"structuredMetadata": {"detected_level": "error"}}],
        [str(T0 * 10**9 + 5), "level=info hi", {"structuredMetadata": {"detected_level": "info", "trace_id": "t1"}}],
    ]
    r = call(s, "GET", "/loki/api/v1/query_range", {"query": '{app="web"}', "start": "tomorrow"})
    assert r.status == 400 and r.body.startswith(b"could not parse 'start' parameter")
    r = call(s, "GET", "/loki/api/v1/query_range", {"query": '{app="web"}', "limit": "5001"})
    assert r.status == 400 and b"max_entries_limit_per_query" in r.body
    r = call(s, "GET", "/loki/api/v1/query", {"query": "vector(1)+vector(1)", "time": "4000000000"})
    assert r.json()["data"]["result"] == [{"metric": {}, "value": [4000000000, "2"]}]


def test_interval_keeps_one_entry_per_interval(loge):
    s = loge()
    values = [[str((T0 + i) * 10**9), f"line {i}"] for i in range(10)]
    r = s.request("POST", "/loki/api/v1/push", json.dumps({"streams": [{"stream": {"app": "tick"}, "values": values}]}),
                  {"Content-Type": "application/json"})
    assert r.status == 204, r
    base = {"query": '{app="tick"}', "start": str(T0), "end": str(T0 + 60)}
    got = call(s, "GET", "/loki/api/v1/query_range", dict(base, interval="3s", direction="forward")).json()
    assert [v[1] for v in got["data"]["result"][0]["values"]] == ["line 0", "line 3", "line 6", "line 9"]
    got = call(s, "GET", "/loki/api/v1/query_range", dict(base, interval="4", limit="2")).json()
    assert [v[1] for v in got["data"]["result"][0]["values"]] == ["line 9", "line 5"]


def test_max_entries_limit_per_query_flag(loge):
    s = loge("--max-entries-limit-per-query", "10")
    r = call(s, "GET", "/loki/api/v1/query_range", {"query": '{a="b"}', "limit": "11"})
    assert r.status == 400 and r.body == b"max entries limit per query exceeded, limit > max_entries_limit_per_query (11 > 10)\n"
    assert call(s, "GET", "/loki/api/v1/query_range", {"query": '{a="b"}', "limit": "10"}).status == 200
    limits = call(s, "GET", "/loki/api/v1/drilldown-limits", {}).json()
    assert limits["limits"]["max_entries_limit_per_query"] == 10
    assert limits["limits"]["volume_enabled"] is True and limits["pattern_ingester_enabled"] is True
    assert limits["limits"]["retention_period"] == "0s"
    s2 = loge("--discover-service-name", "false", "--discover-log-levels", "false")
    limits = call(s2, "GET", "/loki/api/v1/drilldown-limits", {}).json()["limits"]
    assert limits["discover_service_name"] == [] and limits["discover_log_levels"] is False


def service_name(labels):
    for k in ("service", "app", "application", "app_name", "name", "app_kubernetes_io_name", "container",
              "container_name", "k8s_container_name", "component", "workload", "job", "k8s_job_name"):
        if k in labels:
            return labels[k]
    return "unknown_service"


def test_index_answers_have_lokis_shape_and_count_line_bytes(loge):
    """The recorded index cases loge lists as deliberate differences (bytes):
    same shape, groups, order and timestamps as Loki; values are the
    dataset's line bytes, computed here."""
    path = os.path.join(CORPUS, "dataset.jsonl")
    if not os.path.exists(path):
        pytest.skip(f"no conformance corpus at {CORPUS}")
    s = loge("--flush-interval", "1h", "--compact-interval", "0")
    entries = []  # (labels with service_name, ts ns, line bytes)
    seen = set()
    with open(path) as f:
        for body in f:
            if not body.strip():
                continue
            r = s.request("POST", "/loki/api/v1/push", body.encode(), {"Content-Type": "application/json"})
            assert r.status == 204, r
            for st in json.loads(body)["streams"]:
                labels = dict(st["stream"], service_name=service_name(st["stream"]))
                for v in st["values"]:
                    key = (json.dumps(labels, sort_keys=True), v[0], v[1])
                    if key not in seen:  # an entry pushed twice is stored once
                        seen.add(key)
                        entries.append((labels, int(v[0]), len(v[1].encode())))
    start, end = 1767225600 * 10**9, 1767247200 * 10**9
    window = {"start": str(start), "end": str(end)}

    def bytes_where(pred, lo=start, hi=end):
        return sum(n for ls, ts, n in entries if pred(ls) and lo <= ts < hi)

    stats = call(s, "GET", "/loki/api/v1/index/stats", dict(window, query='{job="nginx"}')).json()
    assert set(stats) == {"streams", "chunks", "bytes", "entries"}
    assert (stats["streams"], stats["entries"]) == (4, 1800)
    assert stats["bytes"] == bytes_where(lambda ls: ls.get("job") == "nginx")

    vol = call(s, "GET", "/loki/api/v1/index/volume", dict(window, query='{env=~".+"}', targetLabels="service_name")).json()
    assert vol["status"] == "success" and vol["data"]["resultType"] == "vector"
    services = sorted({ls["service_name"] for ls, _, _ in entries if "env" in ls})
    want = sorted(({"metric": {"service_name": sv},
                    "value": [1767247200, str(bytes_where(lambda ls, sv=sv: "env" in ls and ls["service_name"] == sv))]}
                   for sv in services), key=lambda x: (-int(x["value"][1]), x["metric"]["service_name"]))
    assert vol["data"]["result"] == want

    by_labels = call(s, "GET", "/loki/api/v1/index/volume", dict(window, query='{env="prod"}', aggregateBy="labels")).json()
    names = {k for ls, _, _ in entries if ls.get("env") == "prod" for k in ls}
    assert {tuple(r["metric"].items()) for r in by_labels["data"]["result"]} == {((n, ""),) for n in names}

    rng = call(s, "GET", "/loki/api/v1/index/volume_range", dict(window, query='{app="api"}', step="3600")).json()
    assert rng["data"]["resultType"] == "matrix"
    [series] = rng["data"]["result"]
    assert series["metric"] == {"app": "api"}
    stamps = [1767229199.999, 1767232799.999, 1767236399.999, 1767239999.999, 1767243599.999, 1767247200]
    assert [v[0] for v in series["values"]] == stamps
    hours = [start + i * 3600 * 10**9 for i in range(7)]
    assert [v[1] for v in series["values"]] == [
        str(bytes_where(lambda ls: ls.get("app") == "api", hours[i], hours[i + 1])) for i in range(6)]
    top = call(s, "GET", "/loki/api/v1/index/volume", dict(window, query='{env=~".+"}', targetLabels="service_name",
                                                          limit="2")).json()
    assert top["data"]["result"] == want[:2]
