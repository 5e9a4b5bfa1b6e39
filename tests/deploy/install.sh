#!/usr/bin/env bash
# Installs the checks' npm packages (package-lock.json) into tests/deploy/node_modules, only when
# the lock changed since the last install: offline once installed.
set -euo pipefail
cd "$(dirname "$0")"
exec 9>.install.lock
flock 9
stamp=node_modules/.grid-lock-hash
hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$hash" >"$stamp"
