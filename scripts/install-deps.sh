#!/usr/bin/env bash
# Installs what building and testing loge needs on Debian 12, and nothing if it
# is all there already. Run as root (or with sudo available).
set -euo pipefail

APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost-dev libsimdjson-dev libmsgpack-cxx-dev libprotobuf-dev protobuf-compiler
  libsnappy-dev zlib1g-dev libzstd-dev libsqlite3-dev libre2-dev libxxhash-dev libjemalloc-dev
  libcurl4-openssl-dev libssl-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libbenchmark-dev zstd sqlite3 python3 python3-pytest python3-venv clang libclang-rt-14-dev
  chromium  # the web UI's browser tests (tests/e2e), driven by playwright-core
  ruby ruby-rspec ruby-railties ruby-webrick  # clients/ruby: the gem's rspec suite, its Railtie on Rails 6.1
  rsyslog bsdutils  # the syslog interop tests (tests/interop): rsyslogd's omfwd and logger(1)
)
# Node runs the interop tests' third-party clients (tests/interop). A node
# that is already there (Debian's, or NodeSource's, which bundles npm) is
# kept; Debian's npm package would conflict with NodeSource's nodejs.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  APT_PACKAGES+=(nodejs npm)
fi

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

# The interop tests' npm clients, exactly as pinned by package-lock.json.
# Skipped when node_modules is newer than the lock (npm writes
# node_modules/.package-lock.json at the end of an install).
INTEROP="$(cd "$(dirname "$0")/.." && pwd)/tests/interop"
if [ ! "$INTEROP/node_modules/.package-lock.json" -nt "$INTEROP/package-lock.json" ]; then
  echo "install-deps: npm ci in tests/interop"
  (cd "$INTEROP" && npm ci --no-audit --no-fund --ignore-scripts)
fi

# The Python interop test's PyPI packages (the OpenTelemetry Python SDK and
# its OTLP/HTTP exporter), exactly as pinned by tests/interop/requirements.txt,
# in a venv of Debian's python3 (which refuses pip installs of its own).
# Skipped when the venv is newer than the requirements.
VENV="$INTEROP/.venv"
if [ ! "$VENV/.installed" -nt "$INTEROP/requirements.txt" ]; then
  echo "install-deps: pip install -r tests/interop/requirements.txt into tests/interop/.venv"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r "$INTEROP/requirements.txt"
  touch "$VENV/.installed"
fi

# The integration suites' PyPI packages (a WebSocket client for the live
# tail, prometheus_client's parser for /metrics), pinned by
# tests/integration/requirements.txt, in a venv the suites put on their
# import path; pytest itself is Debian's. Skipped when up to date.
IVENV="$(dirname "$INTEROP")/integration/.venv"
IREQ="$(dirname "$INTEROP")/integration/requirements.txt"
if [ ! "$IVENV/.installed" -nt "$IREQ" ]; then
  echo "install-deps: pip install -r tests/integration/requirements.txt into tests/integration/.venv"
  rm -rf "$IVENV"
  /usr/bin/python3 -m venv "$IVENV"
  "$IVENV/bin/pip" install -q --disable-pip-version-check --no-deps -r "$IREQ"
  touch "$IVENV/.installed"
fi

# Go >= 1.22 for clients/go (log/slog; its go.mod says 1.22). Debian 12's own
# golang is 1.19, so when no new-enough go is found, golang-1.22 comes from
# bookworm-backports (Debian's packages) into /usr/lib/go-1.22; that go is
# then put first on PATH for the steps below. tests/CMakeLists.txt looks in
# the same places.
go_version_ok() {  # "$1" is a go binary; true if it is Go 1.22 or newer
  local v
  v=$("$1" env GOVERSION 2>/dev/null) || return 1
  v=${v#go}
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  [ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && [ "${minor%%[!0-9]*}" -ge 22 ]; }
}
find_go() {
  local go
  for go in /usr/local/go/bin/go "$(command -v go || true)" /usr/lib/go-1.23/bin/go /usr/lib/go-1.22/bin/go; do
    if [ -x "$go" ] && go_version_ok "$go"; then
      echo "$go"
      return 0
    fi
  done
  return 1
}
if ! GO_BIN=$(find_go); then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "install-deps: installing golang-1.22-go from bookworm-backports (Debian 12's golang is 1.19)"
  echo "deb http://deb.debian.org/debian bookworm-backports main" |
    $SUDO tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    -t bookworm-backports golang-1.22-go
  GO_BIN=$(find_go)
fi
export PATH="$(dirname "$GO_BIN"):$PATH"

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
