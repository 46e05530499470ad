#!/usr/bin/env bash
# run_push_bench.sh: one durable push benchmark of loge on this machine.
#
# Starts the given `loge` with --durable true in a fresh temp output dir on a
# kernel-chosen port, drives it with loge-loadgen, reads the server's peak RSS
# (VmHWM) and CPU time, stops it with SIGTERM (a graceful shutdown flushes
# every batch), then reports throughput, latency, bytes on disk per line (all
# *.sqlite.zst segment files / acknowledged lines) and peak RSS. Builds
# nothing. If the server fails, its work dir (log, data) is kept.
#
# Usage: bench/run_push_bench.sh [options] [-- extra loadgen flags]
#   --loge PATH          server binary      (default build/release/loge)
#   --loadgen PATH       loadgen binary     (default build/release/bench/loge-loadgen)
#   --duration D         loadgen --duration (default 20s)
#   --connections N      loadgen --connections (default 8)
#   --server-args "..."  extra flags for loge (word-split)
#   --keep               keep the output dir and logs
#   --no-zstd            skip the zstd -19 reference compression
#   --idle-wait S        wait up to S seconds for the machine to be idle
#                        before starting (default 60; 0 = don't wait)
#
# Other work on the machine skews the figures: the report splits the CPU
# used during the load into server, loadgen and everything else.
set -euo pipefail

LOGE=build/release/loge
LOADGEN=build/release/bench/loge-loadgen
DURATION=20s
CONNECTIONS=8
SERVER_ARGS=""
KEEP=0
ZSTD_REF=1
IDLE_WAIT=60
# Below this share of idle CPU (over one second) the machine counts as busy.
IDLE_MIN_PCT=85
LOADGEN_EXTRA=()
# Seconds to wait for the server to listen, and to stop after SIGTERM.
START_TIMEOUT=15
STOP_TIMEOUT=120

while [[ $# -gt 0 ]]; do
  case "$1" in
    --loge) LOGE=$2; shift 2 ;;
    --loadgen) LOADGEN=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --server-args) SERVER_ARGS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-zstd) ZSTD_REF=0; shift ;;
    --idle-wait) IDLE_WAIT=$2; shift 2 ;;
    --) shift; LOADGEN_EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_push_bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

for bin in "$LOGE" "$LOADGEN"; do
  [[ -x $bin ]] || { echo "run_push_bench.sh: $bin is not an executable (build it first)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "run_push_bench.sh: needs jq" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/loge-push-bench.XXXXXX")
DATA=$WORK/data
mkdir -p "$DATA"
SERVER_PID=""
FAILED=0  # set when something went wrong: the work dir is kept for a look

cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $KEEP == 1 || $FAILED == 1 ]]; then
    echo "kept: $WORK (server.log, data/)"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# Jiffies "busy total" from the aggregate cpu line of /proc/stat (iowait
# counts as idle: the server's fsyncs wait there).
cpu_jiffies() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
idle_pct_1s() {
  local a b
  read -r -a a < <(cpu_jiffies); sleep 1; read -r -a b < <(cpu_jiffies)
  awk -v bz="$((b[0] - a[0]))" -v t="$((b[1] - a[1]))" 'BEGIN {printf "%d", (t > 0 ? 100 - 100 * bz / t : 100)}'
}

# ---- machine ---------------------------------------------------------------
echo "== machine"
echo "nproc:  $(nproc)"
echo "cpu:    $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "kernel: $(uname -r)"
echo "disk:   $(df -hT "$WORK" | awk 'NR==2 {print $2 " on " $1 " (" $7 ")"}')"

# ---- server ----------------------------------------------------------------
# shellcheck disable=SC2206  # SERVER_ARGS is word-split on purpose
SERVER_CMD=("$LOGE" --listen 127.0.0.1 --port 0 --durable true --output-path "$DATA/" $SERVER_ARGS)
: >"$WORK/server.log"
"${SERVER_CMD[@]}" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

PORT=""
for ((i = 0; i < START_TIMEOUT * 10; i++)); do
  PORT=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$WORK/server.log" | head -n1 || true)
  [[ -n $PORT ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $PORT ]]; then
  FAILED=1
  echo "run_push_bench.sh: server did not start listening; its log:" >&2
  cat "$WORK/server.log" >&2
  exit 1
fi

# ---- load ------------------------------------------------------------------
IDLE=$(idle_pct_1s)
for ((i = 1; i < IDLE_WAIT && IDLE < IDLE_MIN_PCT; i++)); do IDLE=$(idle_pct_1s); done
echo "== before the load: machine ${IDLE}% idle, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if ((IDLE < IDLE_MIN_PCT)); then
  echo "WARNING: the machine is busy with other work; the figures below are skewed by it" >&2
fi
LOADGEN_CMD=("$LOADGEN" --addr "http://127.0.0.1:$PORT" --connections "$CONNECTIONS" --duration "$DURATION"
             --json)
[[ $ZSTD_REF == 1 ]] && LOADGEN_CMD+=(--dump-sample "$WORK/sample.txt")
LOADGEN_CMD+=("${LOADGEN_EXTRA[@]}")

echo "== commands"
echo "server:  ${SERVER_CMD[*]}"
echo "loadgen: ${LOADGEN_CMD[*]}"
echo
read -r -a CPU0 < <(cpu_jiffies)
set +e
"${LOADGEN_CMD[@]}" >"$WORK/result.json" 2>"$WORK/loadgen.err"
LOADGEN_RC=$?
set -e
read -r -a CPU1 < <(cpu_jiffies)
sed 's/^/  /' "$WORK/loadgen.err"

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  FAILED=1
  set +e; wait "$SERVER_PID"; rc=$?; set -e
  SERVER_PID=""
  echo "run_push_bench.sh: the server died during the load (exit $rc); last lines of its log:" >&2
  tail -n 20 "$WORK/server.log" >&2
  exit 1
fi
# Peak RSS and CPU of the server while it served the load (before shutdown).
HWM_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
TICKS=$(getconf CLK_TCK)
SERVER_CPU_S=$(awk -v t="$TICKS" '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t}' "/proc/$SERVER_PID/stat")

# ---- graceful stop ---------------------------------------------------------
STOP_START=$(date +%s.%N)
kill -TERM "$SERVER_PID"
STOPPED=0
for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then STOPPED=1; break; fi
  sleep 0.1
done
if [[ $STOPPED == 0 ]]; then
  echo "run_push_bench.sh: server did not stop within ${STOP_TIMEOUT}s of SIGTERM; killing it" >&2
  kill -KILL "$SERVER_PID" 2>/dev/null || true
fi
set +e
wait "$SERVER_PID"
SERVER_RC=$?
set -e
SERVER_PID=""
STOP_S=$(awk -v a="$STOP_START" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')

if [[ $LOADGEN_RC != 0 || ! -s $WORK/result.json ]]; then
  FAILED=1
  echo "run_push_bench.sh: loadgen failed (exit $LOADGEN_RC)" >&2
  tail -n 20 "$WORK/server.log" >&2
  exit 1
fi

# ---- report ----------------------------------------------------------------
R=$WORK/result.json
j() { jq -r "$1" "$R"; }
LINES=$(j .lines)
# Segment files: flush-* from the flush path, and whatever names compaction
# gives the files it merges them into.
FLUSH_FILES=$(find "$DATA" -name 'flush-*.sqlite.zst' | wc -l)
SEG_FILES=$(find "$DATA" -name '*.sqlite.zst' | wc -l)
SEG_BYTES=$(find "$DATA" -name '*.sqlite.zst' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
DIR_BYTES=$(find "$DATA" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
WAL_BYTES=$(find "$DATA" -path '*/wal/*' -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
per_line() { awk -v b="$1" -v n="$LINES" 'BEGIN {if (n > 0) printf "%.1f", b / n; else print "n/a"}'; }

echo "== result"
printf 'lines/s            %.0f\n' "$(j .lines_per_s)"
printf 'MB/s               %.2f of line text, %.2f of request bodies (MB = 10^6 B)\n' \
  "$(j .line_mb_per_s)" "$(j .request_mb_per_s)"
printf 'push latency       p50 %.2f ms   p99 %.2f ms   max %.2f ms\n' "$(j .p50_ms)" "$(j .p99_ms)" "$(j .max_ms)"
printf 'counts             %s pushes, %s lines acknowledged, %s retries (429), %s errors, %s abandoned, %.1f s\n' \
  "$(j .pushes)" "$LINES" "$(j .retries)" "$(j .errors)" "$(j .abandoned)" "$(j .elapsed_s)"
printf 'raw text / line    %s B\n' "$(per_line "$(j .line_bytes)")"
printf 'on disk / line     %s B   (%s segment files, %s of them flush-*, %s B; after graceful shutdown)\n' \
  "$(per_line "$SEG_BYTES")" "$SEG_FILES" "$FLUSH_FILES" "$SEG_BYTES"
printf 'data dir / line    %s B   (everything: segments, catalog, WAL)\n' "$(per_line "$DIR_BYTES")"
printf 'WAL left           %s B   (after shutdown)\n' "$WAL_BYTES"
printf 'peak RSS           %.1f MiB (VmHWM; VmRSS at end of load %.1f MiB)\n' \
  "$(awk -v k="$HWM_KB" 'BEGIN {print k / 1024}')" "$(awk -v k="$RSS_KB" 'BEGIN {print k / 1024}')"
printf 'server CPU         %s s over the run (%.2f us per line)\n' "$SERVER_CPU_S" \
  "$(awk -v c="$SERVER_CPU_S" -v n="$LINES" 'BEGIN {if (n > 0) print c * 1e6 / n; else print 0}')"
printf 'loadgen CPU        %.2f s\n' "$(j .client_cpu_s)"
awk -v busy="$((CPU1[0] - CPU0[0]))" -v tot="$((CPU1[1] - CPU0[1]))" -v t="$TICKS" -v srv="$SERVER_CPU_S" \
    -v lg="$(j .client_cpu_s)" 'BEGIN {
  b = busy / t; printf "machine CPU        %.1f of %.1f CPU-s busy during the load: server %.1f, loadgen %.1f, " \
    "everything else %.1f (kernel threads, other processes)\n", b, tot / t, srv, lg, b - srv - lg }'
printf 'shutdown           %s s, exit %s\n' "$STOP_S" "$SERVER_RC"

if [[ $ZSTD_REF == 1 && -s $WORK/sample.txt ]] && command -v zstd >/dev/null; then
  SAMPLE_LINES=$(wc -l <"$WORK/sample.txt")
  Z19=$(zstd -19 -T0 -q -c "$WORK/sample.txt" | wc -c)
  printf 'zstd -19 of text   %s B per line   (%s sample lines, one stream of raw text)\n' \
    "$(awk -v b="$Z19" -v n="$SAMPLE_LINES" 'BEGIN {printf "%.1f", b / n}')" "$SAMPLE_LINES"
fi
if [[ $SERVER_RC != 0 ]]; then
  FAILED=1
  echo "run_push_bench.sh: server exited $SERVER_RC after SIGTERM; last lines of its log:" >&2
  tail -n 20 "$WORK/server.log" >&2
  exit 1
fi
