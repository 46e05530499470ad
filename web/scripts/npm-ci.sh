#!/usr/bin/env bash
# Installs the npm packages of each DIR exactly as its committed
# package-lock.json pins them (`npm ci`), unless node_modules/ already holds
# that lock's packages. Never downloads a browser: the browser tests drive
# Debian's /usr/bin/chromium through playwright-core.
#
# Usage: web/scripts/npm-ci.sh DIR [DIR...]
set -euo pipefail

for dir in "$@"; do
  lock="$dir/package-lock.json"
  stamp="$dir/node_modules/.loge-lock.sha256"
  want=$(sha256sum "$lock" | cut -d' ' -f1)
  # One installer per directory at a time (make web and ctest may overlap).
  exec 9>"/tmp/loge-npm-ci-$(echo "$dir" | sha256sum | cut -c1-16).lock"
  flock 9
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    flock -u 9
    continue
  fi
  echo "npm-ci: installing the packages pinned by $lock"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
  flock -u 9
done
