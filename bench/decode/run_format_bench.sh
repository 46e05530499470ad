#!/usr/bin/env bash
# run_format_bench.sh: the push-format benchmark in one run (docs/benchmarks.md,
# "Push formats"): decoder-only throughput of every format (Google Benchmark,
# loge-bench-decode), then end-to-end durable push throughput with
# bench/run_push_bench.sh once per format (json, msgpack, protobuf+snappy to
# /api/v1/push; otlp, otlp-json, es-bulk, jsonline to their own endpoints,
# the server told which fields are labels), each against a fresh server.
# Syslog's end-to-end figure comes from bench/decode/run_syslog_bench.py.
# Builds nothing.
#
# Usage: bench/decode/run_format_bench.sh [--build DIR] [--duration D] [--idle-wait S] [--formats "F …"]
#   --build DIR     build tree holding loge and bench/ (default build/release)
#   --duration D    loadgen duration per format (default 20s)
#   --idle-wait S   passed to run_push_bench.sh (default 20)
#   --formats "…"   end-to-end formats to run (default: all seven)
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=build/release
DURATION=20s
IDLE_WAIT=20
FORMATS="json msgpack protobuf otlp otlp-json es-bulk jsonline"
# The generated streams' label names (bench/body_pool_shippers.h).
LABEL_FIELDS=app,env,host,job,level,region
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --idle-wait) IDLE_WAIT=$2; shift 2 ;;
    --formats) FORMATS=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_format_bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
DECODE=$BUILD/bench/decode/loge-bench-decode
for bin in "$BUILD/loge" "$BUILD/bench/loge-loadgen" "$DECODE"; do
  [[ -x $bin ]] || { echo "run_format_bench.sh: $bin is not an executable (build it first)" >&2; exit 2; }
done

echo "== decoder-only throughput (CPU time of one thread; 5 repetitions, medians)"
echo "\$ $DECODE --benchmark_repetitions=5 --benchmark_report_aggregates_only=true"
"$DECODE" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true 2>&1 |
  grep -E '^(Benchmark|-+$|BM_.*_median|Load Average|Run on)|CPU' || true
echo

for format in $FORMATS; do
  server_args=""
  case "$format" in
    otlp|otlp-json) server_args="--otlp-resource-labels $LABEL_FIELDS" ;;
    es-bulk) server_args="--es-stream-fields $LABEL_FIELDS" ;;
  esac
  echo "== end-to-end push, --format $format ${server_args:+(server: $server_args)}"
  bench/run_push_bench.sh --loge "$BUILD/loge" --loadgen "$BUILD/bench/loge-loadgen" \
    --duration "$DURATION" --idle-wait "$IDLE_WAIT" --no-zstd --server-args "$server_args" -- --format "$format"
  echo
done
