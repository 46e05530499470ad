"""`loge search` end to end against the real server: output formats, exit
codes, relative and absolute windows, and agreement with the query API."""

import json
import os
import subprocess
import time

from conftest import loge_bin, stream

KEY = "s3cr3t-key"


def search(s, *args, env=None, api_key=None):
    e = dict(os.environ)
    e.pop("LOGE_API_KEY", None)
    e["TZ"] = "UTC"
    if env:
        e.update(env)
    cmd = [loge_bin(), "search", *args, "--addr", f"http://127.0.0.1:{s.port}"]
    if api_key:
        cmd += ["--api-key", api_key]
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=60)
    return p.returncode, p.stdout, p.stderr


def seed(s):
    now = time.time_ns()
    rows = [
        (now - 3 * 3600 * 10**9, "old GET /a timeout", {"app": "web", "env": "prod"}),
        (now - 30 * 60 * 10**9, "GET /b timeout", {"app": "web", "env": "prod"}),
        (now - 20 * 60 * 10**9, "GET /c ok", {"app": "web", "env": "prod"}),
        (now - 10 * 60 * 10**9, "db slow query", {"app": "db"}),
        (now - 60 * 10**9, 'json {"level":"error"} line', {"app": "api"}),
    ]
    for ts, line, labels in rows:
        s.push_ok(stream(labels, [(ts, line)]))
    return rows


def test_text_output_one_entry_per_line_newest_first(loge):
    s = loge()
    rows = seed(s)
    rc, out, err = search(s, '{app="web"}')
    assert rc == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].endswith('{app="web", env="prod"} GET /c ok')
    assert lines[2].endswith("old GET /a timeout")
    # local time RFC 3339 with milliseconds (TZ=UTC here)
    ts = rows[2][0]
    want = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts // 10**9)) + ".%03dZ" % ((ts // 10**6) % 1000)
    assert lines[0].startswith(want + " "), lines[0]
    assert "\x1b[" not in out  # no colour when not a terminal


def test_json_output_is_ndjson(loge):
    s = loge()
    seed(s)
    rc, out, err = search(s, '{app="web"} |= "timeout"', "--output", "json")
    assert rc == 0, err
    objs = [json.loads(l) for l in out.splitlines()]
    assert [o["line"] for o in objs] == ["GET /b timeout", "old GET /a timeout"]
    assert all(set(o) >= {"timestamp", "labels", "line"} for o in objs)
    assert objs[0]["labels"] == {"app": "web", "env": "prod"}


def test_results_equal_the_servers_for_the_same_query(loge):
    s = loge()
    seed(s)
    for sel in ['{app="web"}', '{app=~"web|db"} != "ok"', '|= "timeout"', '{} |~ "(?i)JSON"', '{app!="web"}']:
        rc, out, err = search(s, sel, "--output", "json", "--limit", "50")
        assert rc == 0, (sel, err)
        cli = [(o["timestamp"], o["line"]) for o in map(json.loads, out.splitlines())]
        api = [(r["timestamp"], r["line"]) for r in s.rows(query=sel, limit=50)]
        assert cli == api, sel


def test_relative_and_absolute_windows(loge):
    s = loge()
    rows = seed(s)
    rc, out, _ = search(s, '{app="web"}', "--since", "1h")
    assert rc == 0 and len(out.splitlines()) == 2
    rc, out, _ = search(s, '{app="web"}', "--since", "1h", "--until", "25m")
    assert rc == 0 and [l.split("} ", 1)[1] for l in out.splitlines()] == ["GET /b timeout"]
    start = rows[0][0]
    rc, out, _ = search(s, '{app="web"}', "--start", str(start), "--end", str(start))
    assert rc == 0 and len(out.splitlines()) == 1
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(rows[1][0] // 10**9 - 1))
    rc, out, _ = search(s, '{app="web"}', "--start", iso, "--since", "24h")  # --start overrides --since
    assert rc == 0 and len(out.splitlines()) == 2
    rc, out, _ = search(s, '{app="nothing"}')
    assert rc == 0 and out == ""


def test_limit(loge):
    s = loge()
    seed(s)
    rc, out, _ = search(s, "{}", "--limit", "2")
    assert rc == 0 and len(out.splitlines()) == 2


def test_selector_error_exits_2_with_a_caret(loge):
    s = loge()
    rc, out, err = search(s, '{app="web"} |= ')
    assert rc == 2
    assert "1:16" in err and "expected string after |=" in err
    lines = err.splitlines()
    caret = [l for l in lines if l.strip() == "^"]
    assert caret and caret[0].index("^") - 2 == 15


def test_usage_errors_exit_2(loge):
    s = loge()
    for args in (["{}", "--since", "5x"], ["{}", "--start", "yesterday"], ["{}", "--output", "xml"],
                 ["{}", "--limit", "0"], []):
        rc, _, err = search(s, *args)
        assert rc == 2, (args, err)
        assert err.strip(), args


def test_connection_refused_names_the_address():
    p = subprocess.run([loge_bin(), "search", "{}", "--addr", "http://127.0.0.1:1"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1
    assert "http://127.0.0.1:1" in p.stderr and "refused" in p.stderr


def test_api_key_missing_wrong_and_right(loge):
    s = loge("--api-key", KEY)
    s.push_ok(stream({"app": "web"}, [(time.time_ns(), "hello")]))
    rc, _, err = search(s, "{}")
    assert rc == 1 and "API key" in err and "401" in err
    rc, _, err = search(s, "{}", api_key="nope")
    assert rc == 1 and "rejected the API key" in err
    assert KEY not in err
    rc, out, err = search(s, "{}", api_key=KEY)
    assert rc == 0 and "hello" in out, err
    rc, out, err = search(s, "{}", env={"LOGE_API_KEY": KEY})
    assert rc == 0 and "hello" in out, err
    assert KEY not in s.log()


def test_colour_only_on_a_terminal_and_never_with_no_color(loge):
    s = loge()
    seed(s)
    # A pseudo-terminal makes stdout a tty.
    import pty

    def run_tty(extra_env):
        env = dict(os.environ, TZ="UTC", **extra_env)
        env.pop("NO_COLOR", None) if "NO_COLOR" not in extra_env else None
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(loge_bin(), [loge_bin(), "search", "{}", "--addr", f"http://127.0.0.1:{s.port}"], env)
        out = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.waitpid(pid, 0)
        return out.decode()

    assert "\x1b[" in run_tty({})
    assert "\x1b[" not in run_tty({"NO_COLOR": "1"})
