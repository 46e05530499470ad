#!/usr/bin/env bash
# Builds every libFuzzer target (src/*/*_fuzz.cc) with clang, ASan and UBSan in
# build/fuzz, then runs each for FUZZ_SECONDS from its seed corpus
# tests/fuzz/corpus/<target>/ (and dictionary tests/fuzz/<target>.dict if any).
# Exits non-zero if any fuzzer finds a crash, a sanitizer report, a leak, an
# input slower than 5 s or one that needs more than 2 GiB; the input is kept in
# build/fuzz/artifacts/<target>/ and replays with `build/fuzz/<target> FILE`.
#
#   bash scripts/fuzz.sh                  # every target, 30 s each
#   FUZZ_SECONDS=300 bash scripts/fuzz.sh logql_fuzz
#
# Environment: FUZZ_SECONDS (30), FUZZ_SEED (1; fixed so a run repeats),
# FUZZ_JOBS (build parallelism, nproc), FUZZ_BUILD_DIR (build/fuzz).
set -euo pipefail

cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
seed=${FUZZ_SEED:-1}
jobs=${FUZZ_JOBS:-$(nproc)}
build=${FUZZ_BUILD_DIR:-build/fuzz}

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found; run scripts/install-deps.sh" >&2
  exit 2
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in src/*/*_fuzz.cc; do
    [ -e "$src" ] && targets+=("$(basename "$src" .cc)")
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no src/*/*_fuzz.cc"
  exit 0
fi

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DLOGE_SANITIZE=ON -DLOGE_FUZZ=ON -DLOGE_BUILD_TESTS=OFF -DLOGE_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
# ASan's default 256 MiB free-quarantine plus allocator caches grow RSS past
# 1 GiB in a few minutes of regex-heavy inputs and would trip -rss_limit_mb
# without any leak; 64 MiB still catches use-after-free of recent frees.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64}
failed=()
for t in "${targets[@]}"; do
  work="$build/corpus/$t"  # grows across runs; the committed seeds stay untouched
  artifacts="$build/artifacts/$t/"
  log="$build/$t.log"
  mkdir -p "$work" "$artifacts"
  args=(-max_total_time="$seconds" -seed="$seed" -timeout=5 -rss_limit_mb=2048 -max_len=4096
        -print_final_stats=1 -artifact_prefix="$artifacts")
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  dirs=("$work")
  [ -d "tests/fuzz/corpus/$t" ] && dirs+=("tests/fuzz/corpus/$t")
  echo "fuzz: $t for ${seconds}s (log $log)"
  if "$build/$t" "${args[@]}" "${dirs[@]}" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    echo "fuzz: $t ok: ${runs:-?} runs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
  else
    echo "fuzz: $t FAILED; last lines of $log:" >&2
    tail -n 60 "$log" >&2
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failures in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} target(s) passed"
