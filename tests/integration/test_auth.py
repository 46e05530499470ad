"""The API key matrix: every read endpoint x no key / wrong key / right key;
push stays open; the key never appears in logs or errors."""

import json
import time

import pytest

from conftest import stream

KEY = "k3y-Under-Test"

READS = [
    ("POST", "/api/v1/query", json.dumps({"limit": 1})),
    ("GET", "/api/v1/labels", None),
    ("GET", "/api/v1/stats", None),
    ("POST", "/api/v1/admin/compact", None),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from conftest import LogeServer

    s = LogeServer(str(tmp_path_factory.mktemp("auth")), ["--api-key", KEY])
    s.start()
    yield s
    s.stop()


@pytest.mark.parametrize("method,path,body", READS)
@pytest.mark.parametrize("auth,want", [(None, 401), ("Bearer nope", 401), ("Bearer " + KEY[:-1], 401),
                                       ("Basic " + KEY, 401), ("Bearer " + KEY, 200), ("bearer " + KEY, 200)])
def test_read_endpoints_need_the_key(server, method, path, body, auth, want):
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    r = server.request(method, path, body, headers)
    assert r.status == want, (method, path, auth, r)
    if want == 401:
        assert r.headers.get("www-authenticate", "").startswith("Bearer")
        doc = r.json()
        assert doc["status"] == "error" and doc["error"]
        assert KEY not in r.body.decode()


def test_push_stays_open(server):
    r = server.push(stream({"app": "web"}, [(time.time_ns(), "no key needed")]))
    assert r.status == 200, r


def test_key_never_logged(server):
    server.request("GET", "/api/v1/labels", None, {"Authorization": "Bearer wrong"})
    assert KEY not in server.log()


def test_without_a_key_everything_is_open(loge):
    s = loge()
    for method, path, body in READS:
        r = s.request(method, path, body, {"Content-Type": "application/json"})
        assert r.status == 200, (path, r)
