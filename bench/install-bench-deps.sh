#!/usr/bin/env bash
# Installs what the benchmark scripts need beyond the build (Debian 12), and
# nothing if it is all there: python3-matplotlib for the plots of
# bench/sustained. Not part of scripts/install-deps.sh: tests and builds do
# not need it. Run as root (or with sudo available).
set -euo pipefail

APT_PACKAGES=(python3 python3-matplotlib jq zstd)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "install-bench-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
