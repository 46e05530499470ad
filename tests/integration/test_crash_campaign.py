"""The crash campaign: seeded random SIGKILLs over one data directory while
clients push and the server flushes, checkpoints, rotates its WAL, merges
and shuts down; after every restart each acknowledged line is there exactly
once and nothing else is there but lines of pushes that were in flight.

Each round kills at a point drawn from the seed: after a random number of
acknowledged pushes (ingest, with flushes, checkpoints and merges running
all the time under the flags below), right after a merge was asked for, or
during a graceful shutdown (SIGTERM, then SIGKILL after a few more answers).

    LOGE_CRASH_ROUNDS=200 LOGE_CRASH_SEED=7 python3 -m pytest test_crash_campaign.py

Defaults: 30 rounds, seed 1 (a failure names its seed and round)."""

import collections
import os
import random
import signal
import threading

from conftest import Client, stream, wait_for

ROUNDS = int(os.environ.get("LOGE_CRASH_ROUNDS", "30"))
SEED = int(os.environ.get("LOGE_CRASH_SEED", "1"))
CLIENTS = 3
LINES_PER_PUSH = 30  # over 2 streams: a push spans buckets
MAX_PUSHES = 300  # per client and round: bounds the data whatever the timing
# Flushes, checkpoints (which rotate a caught-up WAL) and merges all the time.
FLAGS = ("--flush-interval", "30ms", "--checkpoint-interval", "50ms", "--compact-interval", "50ms",
         "--compact-min-files", "3", "--buckets", "2")


class Pusher(threading.Thread):
    """Pushes unique lines until stopped or the server goes; records what was
    acknowledged (200) and what else was attempted."""

    def __init__(self, server, name, base_ts):
        super().__init__(daemon=True)
        self.server, self.name, self.base_ts = server, name, base_ts
        self.stop = threading.Event()
        self.acked, self.attempted = [], []
        self.pushes_acked = 0

    def run(self):
        client = self.server.connect()
        n = 0
        try:
            while not self.stop.is_set() and n < MAX_PUSHES * LINES_PER_PUSH:
                vals = {0: [], 1: []}
                batch = []
                for _ in range(LINES_PER_PUSH):
                    line = f"{self.name}-{n}"
                    vals[n % 2].append((self.base_ts + n, line))
                    batch.append(line)
                    n += 1
                self.attempted.extend(batch)
                try:
                    r = client.push([stream({"client": self.name, "part": str(p)}, v) for p, v in vals.items()])
                except Exception:
                    return  # the server died with this push in flight
                if r.status == 200:
                    self.acked.extend(batch)
                    self.pushes_acked += 1
                elif r.status not in (429, 503):
                    raise AssertionError(f"push answered {r.status}: {r.body[:200]!r}")
        finally:
            client.close()


def check(server, pushers, where):
    for p in pushers:
        rows = server.client.query_all(matchers=[{"name": "client", "value": p.name}])
        counts = collections.Counter(r["line"] for r in rows)
        missing = [l for l in p.acked if counts[l] == 0]
        doubled = [l for l, c in counts.items() if c > 1]
        foreign = set(counts) - set(p.attempted)
        assert not missing, f"{where}: {p.name} lost {len(missing)} acknowledged lines, e.g. {missing[:3]}"
        assert not doubled, f"{where}: {p.name} has {len(doubled)} lines twice, e.g. {doubled[:3]}"
        assert not foreign, f"{where}: {p.name} has lines never pushed: {sorted(foreign)[:3]}"


def test_seeded_kills_over_ingest_flush_merge_and_shutdown_lose_and_duplicate_nothing(loge):
    rng = random.Random(SEED)
    s = loge(*FLAGS)
    everyone = []
    kinds = collections.Counter()
    for rnd in range(ROUNDS):
        where = f"seed {SEED} round {rnd}"
        base = 1_700_000_000_000_000_000 + rnd * 10**13
        pushers = [Pusher(s, f"r{rnd}c{i}", base + i * 10**12) for i in range(CLIENTS)]
        for p in pushers:
            p.start()
        kind = rng.choice(["ingest", "ingest", "merge", "shutdown"])
        kinds[kind] += 1
        target = rng.randint(1, 40)  # acknowledged pushes before the kill
        wait_for(lambda: sum(p.pushes_acked for p in pushers) >= target or not any(p.is_alive() for p in pushers),
                 60, f"{where}: {target} acknowledged pushes")
        if kind == "merge":
            # Asked on its own connection and not waited for: the kill lands
            # while the merges run (or just after, if they were quick).
            def compact(port=s.port):
                c = Client(port)
                try:
                    c.request("POST", "/api/v1/admin/compact")
                except Exception:
                    pass  # killed mid-request
                finally:
                    c.close()
            threading.Thread(target=compact, daemon=True).start()
            more = sum(p.pushes_acked for p in pushers) + rng.randint(0, 10)
            wait_for(lambda: sum(p.pushes_acked for p in pushers) >= more or not any(p.is_alive() for p in pushers),
                     60, f"{where}: pushes while merging")
        if kind == "shutdown":
            s.proc.send_signal(signal.SIGTERM)
            more = sum(p.pushes_acked for p in pushers) + rng.randint(0, 3)
            wait_for(lambda: sum(p.pushes_acked for p in pushers) >= more or s.proc.poll() is not None
                     or not any(p.is_alive() for p in pushers), 60, f"{where}: answers during shutdown")
        if s.proc.poll() is None:
            s.kill9()
        else:  # the graceful stop won the race: a clean exit is a fine outcome too
            s.proc.wait()
            s.proc = None
        for p in pushers:
            p.stop.set()
        for p in pushers:
            p.join(30)
            assert not p.is_alive(), f"{where}: a pusher hung after the kill"
        everyone.extend(pushers)
        s.start()
        check(s, pushers, where)
    check(s, everyone, f"seed {SEED}, after all {ROUNDS} rounds")
    print(f"kills by phase: {dict(kinds)}; acknowledged lines: {sum(len(p.acked) for p in everyone)}")
    s.stop()
