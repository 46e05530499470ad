#!/usr/bin/env python3
"""Runs clang's -Wthread-safety analysis over every source file of a CMake
build (its compile_commands.json), so the GUARDED_BY / REQUIRES / EXCLUDES
annotations of core/mutex.h are checked although the build itself uses g++.
Exits 1 on any diagnostic. Usage: scripts/thread_safety.py BUILD_DIR"""
import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

# g++-only flags clang does not know, and flags that make no sense without
# an object file.
DROP = {"-c", "-MD", "-Wno-restrict"}
DROP_WITH_VALUE = {"-o", "-MF", "-MT"}


def clang_command(entry):
    args = shlex.split(entry["command"])[1:]
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in DROP_WITH_VALUE:
            skip = True
        elif a not in DROP and not a.startswith("-O") and a != entry["file"]:
            out.append(a)
    return ["clang++", "-fsyntax-only", "-Wthread-safety", "-Werror"] + out + [entry["file"]]


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build/release"
    entries, seen = [], set()
    for e in json.load(open(os.path.join(build, "compile_commands.json"))):
        if "/src/" in e["file"] and e["file"] not in seen:
            seen.add(e["file"])
            entries.append(e)

    def check(e):
        r = subprocess.run(clang_command(e), cwd=e["directory"], capture_output=True, text=True)
        return e["file"], r.returncode, r.stderr

    failed = 0
    with ThreadPoolExecutor(int(os.environ.get("JOBS", "2"))) as pool:
        for path, rc, err in pool.map(check, entries):
            if rc != 0:
                failed += 1
                sys.stderr.write(err)
    print(f"thread-safety analysis: {len(entries)} files, {failed} with diagnostics")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
