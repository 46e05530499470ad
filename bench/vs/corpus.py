#!/usr/bin/env python3
"""Builds the side-by-side corpus: every loghub and Zeek sample line, replayed
in cycles until --lines rows, spread over --days ending now.

Output (one file): a first line with a JSON array of stream label sets, then
one row per line, oldest first:

    <unix ns> <stream index> <line>

The line is everything after the second space, verbatim. Streams are
{app="<system>"} per loghub file and {app="zeek", log="<file>"} per Zeek
file. Within a cycle the streams' lines are interleaved at random, each
stream keeping its own order. Zeek lines get the row's time in their "ts"
and "_write_ts" fields, and from the second cycle on their connection and
file ids (C…/F… uids, 18 characters) are changed per cycle, so an id stays
unique as it is in real traffic. Deterministic for a given --seed and --end.
"""
import argparse
import gzip
import hashlib
import json
import os
import random
import re
import sys
import time

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
UID_RE = re.compile(r'"([CF][0-9A-Za-z]{17})"')
TS_RE = re.compile(r'"(ts|_write_ts)":"[0-9T:.\-]+Z"')


def load_streams(loghub, zeek):
    streams = []  # (labels, [lines])
    for name in sorted(os.listdir(loghub)):
        if not name.endswith(".log"):
            continue
        with open(os.path.join(loghub, name), encoding="utf-8", errors="replace") as f:
            lines = [l.rstrip("\n") for l in f if l.strip()]
        streams.append(({"app": name.split("_")[0]}, lines))
    for name in sorted(os.listdir(zeek)):
        if not name.endswith(".json.gz"):
            continue
        with gzip.open(os.path.join(zeek, name), "rt", encoding="utf-8") as f:
            lines = [l.rstrip("\n") for l in f if l.strip()]
        if lines:
            streams.append(({"app": "zeek", "log": name[: -len(".json.gz")]}, lines))
    return streams


def shift_uid(uid, cycle):
    """The uid's stand-in in a later cycle: its kind letter (C or F) and 17
    base-62 characters drawn from a hash of the uid and the cycle, as random
    as Zeek's own. (An earlier version changed only the last two characters,
    so every uid had a sibling per cycle sharing its first 16: ids real
    traffic does not have, and that no substring filter can tell apart.)"""
    if cycle == 0:
        return uid
    h = int.from_bytes(hashlib.blake2b(f"{uid}:{cycle}".encode(), digest_size=16).digest(), "big")
    out = []
    for _ in range(17):
        h, d = divmod(h, 62)
        out.append(B62[d])
    return uid[0] + "".join(out)


def iso(ns):
    s, rem = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%06dZ" % (rem // 1000)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--days", type=float, default=7)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end", type=int, default=0, help="newest timestamp, unix ns (default: now)")
    ap.add_argument("--loghub", default="/work/shared/data/loghub")
    ap.add_argument("--zeek", default="/work/shared/data/zeek-json")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    streams = load_streams(a.loghub, a.zeek)
    end = a.end or time.time_ns()
    span = int(a.days * 86400e9)
    step = span // max(a.lines, 1)
    start = end - step * a.lines
    with open(a.out, "w", encoding="utf-8") as out:
        out.write(json.dumps([s[0] for s in streams], separators=(",", ":")) + "\n")
        row = 0
        cycle = 0
        while row < a.lines:
            # A weighted random interleaving that keeps each stream's order.
            pos = [0] * len(streams)
            order = []
            for i, (_, lines) in enumerate(streams):
                order.extend([i] * len(lines))
            rng.shuffle(order)
            for si in order:
                if row >= a.lines:
                    break
                labels, lines = streams[si]
                line = lines[pos[si]]
                pos[si] += 1
                ts = start + row * step + rng.randrange(step)
                if labels.get("app") == "zeek":
                    line = TS_RE.sub(lambda m: '"%s":"%s"' % (m.group(1), iso(ts)), line)
                    if cycle:
                        line = UID_RE.sub(lambda m: '"%s"' % shift_uid(m.group(1), cycle), line)
                out.write("%d %d %s\n" % (ts, si, line))
                row += 1
            cycle += 1
    print("wrote %d rows in %d streams to %s" % (row, len(streams), a.out), file=sys.stderr)


if __name__ == "__main__":
    main()
