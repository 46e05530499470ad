"""LogQL through loge's own API and CLI: pipelines in POST /api/v1/query
(parsed fields come back with each row), metric queries answered as Loki
shapes them (matrix with a step, vector when instant), `loge search` printing
a metric query as a table or NDJSON, and the Loki endpoints serving the same
answers from the head and from files."""

import json

from test_search_cli import search
from conftest import stream

T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
S = 10**9


def seed(s):
    rows = []
    for i in range(60):
        level = "error" if i % 3 == 0 else "info"
        rows.append((T0 + i * 10 * S, f"level={level} status={500 if level == 'error' else 200} dur={i}ms"))
    s.push_ok(stream({"app": "web"}, rows))
    s.push_ok(stream({"app": "api"}, [(T0 + 5 * S, '{"level":"warn","user":{"id":7}}')]))


def test_pipelines_return_parsed_fields_and_rewritten_lines(loge):
    s = loge()
    seed(s)
    r = s.query(query='{app="web"} | logfmt | status >= 500 | line_format "{{.level}} took {{.dur}}"', limit=3)
    rows = r["data"]
    assert [row["line"] for row in rows] == ["error took 57ms", "error took 54ms", "error took 51ms"]
    assert rows[0]["parsed"] == {"dur": "57ms", "level": "error", "status": "500"}
    assert rows[0]["labels"] == {"app": "web"}
    api = s.query(query='{app="api"} | json | user_id = 7')["data"]
    assert len(api) == 1 and api[0]["parsed"]["level"] == "warn"


def test_metric_queries_answer_a_matrix_or_a_vector(loge):
    s = loge()
    seed(s)
    r = s.request("POST", "/api/v1/query", json.dumps({
        "query": 'sum by (level) (count_over_time({app="web"} | logfmt [1m]))',
        "start": T0, "end": T0 + 600 * S, "step": "5m"}))
    assert r.status == 200, r
    body = r.json()
    assert body["data"]["resultType"] == "matrix"
    assert body["data"]["step"] == 300 * S
    series = {tuple(sorted(x["metric"].items())): x["values"] for x in body["data"]["result"]}
    # Windows are (t - 1m, t]: 10 s lines, every third an error.
    assert series[(("level", "error"),)] == [[1767225600, "1"], [1767225900, "2"], [1767226200, "1"]]
    assert series[(("level", "info"),)] == [[1767225900, "4"], [1767226200, "4"]]
    r = s.request("POST", "/api/v1/query", json.dumps({
        "query": 'sum(rate({app="web"} |= "error" [10m]))', "end": T0 + 600 * S, "instant": True}))
    body = r.json()
    assert body["data"]["resultType"] == "vector", body
    assert body["data"]["result"] == [{"metric": {}, "value": [1767226200, repr(19 / 600)]}]
    # A bad metric query is a 400 naming the position.
    r = s.request("POST", "/api/v1/query", json.dumps({"query": "sum(rate({app=\"web\"}))"}))
    assert r.status == 400 and r.json()["error"].startswith("1:21: "), r


def test_search_prints_a_metric_query_as_a_table_or_ndjson(loge):
    s = loge()
    seed(s)
    q = 'sum by (app) (count_over_time({app=~".+"}[10m]))'
    window = ["--start", str(T0), "--end", str(T0 + 600 * S), "--step", "10m"]
    rc, out, err = search(s, q, *window)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["TIME", "SERIES", "VALUE"]
    assert lines[1].split() == ["2026-01-01T00:00:00.000Z", '{app="web"}', "1"]
    assert lines[2].split() == ["2026-01-01T00:10:00.000Z", '{app="api"}', "1"]
    assert lines[3].split() == ["2026-01-01T00:10:00.000Z", '{app="web"}', "59"]
    rc, out, err = search(s, q, *window, "--output", "json")
    assert rc == 0, err
    samples = [json.loads(l) for l in out.splitlines()]
    assert samples == [
        {"timestamp": T0, "metric": {"app": "web"}, "value": "1"},
        {"timestamp": T0 + 600 * S, "metric": {"app": "api"}, "value": "1"},
        {"timestamp": T0 + 600 * S, "metric": {"app": "web"}, "value": "59"},
    ]
    rc, out, err = search(s, "sum(rate({app=\"web\"}))")
    assert rc == 2 and "1:21" in err, err


def test_loki_endpoints_answer_the_same_from_the_head_and_from_files(loge):
    s = loge("--flush-interval", "1h", "--payload-size", "1000000")
    seed(s)
    params = "query=" + "sum%20by%20(level)%20(count_over_time(%7Bapp%3D%22web%22%7D%20%7C%20logfmt%20%5B10m%5D))" + \
             f"&start={T0}&end={T0 + 600 * S}&step=300"
    before = s.request("GET", "/loki/api/v1/query_range?" + params).json()["data"]["result"]
    s.stop()
    s.start()  # a graceful stop flushes the head to files
    after = s.request("GET", "/loki/api/v1/query_range?" + params).json()["data"]["result"]
    assert before == after and before, (before, after)
    logs = s.request("GET", f"/loki/api/v1/query_range?query=%7Bapp%3D%22api%22%7D&start={T0}&end={T0 + 60 * S}")
    stream0 = logs.json()["data"]["result"][0]
    assert stream0["stream"] == {"app": "api", "detected_level": "warn"}
