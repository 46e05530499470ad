#!/usr/bin/env bash
# MinIO, the real S3-compatible server the S3 tests run against (docs/s3.md).
#
#   scripts/minio.sh install          build the pinned MinIO with the Go toolchain
#                                     unless that version is already installed;
#                                     prints the binary's path
#   scripts/minio.sh bin              prints the installed binary's path (exit 1 if none)
#   scripts/minio.sh start [--bucket NAME] [--data DIR]
#                                     installs if needed, starts MinIO on
#                                     127.0.0.1:<free port> in the background with a
#                                     temp data dir and the root credentials below,
#                                     waits until it answers, creates the bucket if
#                                     asked, and prints shell assignments:
#                                       LOGE_S3_ENDPOINT=http://127.0.0.1:PORT
#                                       LOGE_S3_PID=...  LOGE_S3_DATA=...
#                                       AWS_ACCESS_KEY_ID=...  AWS_SECRET_ACCESS_KEY=...
#                                     Stop it with: kill $LOGE_S3_PID
#
# Binary location: $LOGE_MINIO_BIN if set, else ${XDG_CACHE_HOME:-$HOME/.cache}/loge/bin/minio,
# with the pinned version recorded beside it in minio.version.
set -euo pipefail

# MinIO publishes no semver tags, so the Go module proxy knows it by pseudo-version:
# the master commit of 2026-02-12 (Go 1.24 module; builds with the installed Go).
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

# Root credentials of every test server: loopback only, throwaway data.
ROOT_USER=loge-test-root
ROOT_PASSWORD=loge-test-secret-key

BIN=${LOGE_MINIO_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/loge/bin/minio}
STAMP="$(dirname "$BIN")/minio.version"

installed() {
  [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$MINIO_VERSION" ]
}

install_minio() {
  if installed; then
    echo "$BIN"
    return
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "minio.sh: the Go toolchain is needed to build MinIO (go not on PATH)" >&2
    exit 1
  fi
  local gobin
  gobin=$(mktemp -d)
  # Two cores: a developer's machine shares them with everything else, so one
  # package at a time there; CI has nothing else to do meanwhile.
  local jobs=${MINIO_BUILD_JOBS:-1}
  [ -z "${CI:-}" ] || jobs=${MINIO_BUILD_JOBS:-2}
  echo "minio.sh: building $MINIO_MODULE@$MINIO_VERSION (5-10 minutes, once)" >&2
  # GOTOOLCHAIN=local: build with the installed Go (MinIO needs >= 1.24) or fail
  # clearly, never fetch another toolchain.
  CGO_ENABLED=0 GOBIN="$gobin" GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
    nice -n 10 go install -p "$jobs" -trimpath "$MINIO_MODULE@$MINIO_VERSION" >&2
  mkdir -p "$(dirname "$BIN")"
  mv -f "$gobin/minio" "$BIN"
  rmdir "$gobin"
  echo "$MINIO_VERSION" >"$STAMP"
  echo "$BIN"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_minio() {
  local bucket="" data=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --bucket) bucket=$2; shift 2 ;;
      --data) data=$2; shift 2 ;;
      *) echo "minio.sh: unknown option $1" >&2; exit 2 ;;
    esac
  done
  install_minio >/dev/null
  local own_data=""
  [ -n "$data" ] || { data=$(mktemp -d -t loge-minio.XXXXXX); own_data=$data; }
  mkdir -p "$data"
  local port pid endpoint
  port=$(free_port)
  endpoint="http://127.0.0.1:$port"
  MINIO_ROOT_USER=$ROOT_USER MINIO_ROOT_PASSWORD=$ROOT_PASSWORD \
    MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CI_CD=1 \
    nohup "$BIN" server --quiet --address "127.0.0.1:$port" "$data/store" \
    >"$data/minio.log" 2>&1 </dev/null &
  pid=$!
  # Ready when the liveness endpoint answers; 30 s covers a cold start on a busy machine.
  local deadline=$((SECONDS + 30))
  until curl -fsS -o /dev/null "$endpoint/minio/health/ready" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "minio.sh: MinIO did not start; its log:" >&2
      cat "$data/minio.log" >&2
      kill "$pid" 2>/dev/null || true
      [ -z "$own_data" ] || rm -rf "$own_data"
      exit 1
    fi
    sleep 0.1
  done
  if [ -n "$bucket" ] &&
    ! curl -fsS -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ROOT_USER:$ROOT_PASSWORD" \
      -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$endpoint/$bucket" >/dev/null; then
    echo "minio.sh: could not create bucket '$bucket' (names are 3-63 chars: a-z 0-9 . -)" >&2
    kill "$pid" 2>/dev/null || true
    [ -z "$own_data" ] || rm -rf "$own_data"
    exit 1
  fi
  echo "LOGE_S3_ENDPOINT=$endpoint"
  echo "LOGE_S3_PID=$pid"
  echo "LOGE_S3_DATA=$data"
  echo "AWS_ACCESS_KEY_ID=$ROOT_USER"
  echo "AWS_SECRET_ACCESS_KEY=$ROOT_PASSWORD"
}

case "${1:-}" in
  install) install_minio ;;
  bin) installed && echo "$BIN" ;;
  start) shift; start_minio "$@" ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
