#!/usr/bin/env bash
# Installs what building and testing loge needs on Debian 12, and nothing if it
# is all there already. Run as root (or with sudo available).
set -euo pipefail

APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost-dev libsimdjson-dev libmsgpack-cxx-dev libprotobuf-dev protobuf-compiler
  libsnappy-dev libzstd-dev libsqlite3-dev libre2-dev libxxhash-dev
  libcurl4-openssl-dev libssl-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libbenchmark-dev zstd sqlite3 python3 python3-pytest clang libclang-rt-14-dev
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# MinIO, the real S3-compatible server the S3 tests start (docs/s3.md): built
# once with the machine's Go toolchain from the Go module proxy, pinned in
# scripts/minio.sh; nothing to do when that version is already installed.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="$PATH:/usr/local/go/bin"
fi
if command -v go >/dev/null 2>&1; then
  bash "$(dirname "$0")/minio.sh" install >/dev/null
else
  echo "install-deps: no Go toolchain, so no MinIO: the S3 tests will be skipped (docs/s3.md)" >&2
fi
