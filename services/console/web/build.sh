#!/usr/bin/env bash
# Builds the console's page into services/console/web/dist (what grid-console serves), only when
# needed: `npm ci` when package-lock.json changed since the last install, the Vite build when the
# sources or the lock changed since the last build. Offline-safe once installed: nothing is
# fetched when nothing changed. deploy/local/up and tools/test (through ctest) both call it.
#
#   services/console/web/build.sh           install if needed, build if needed
#   services/console/web/build.sh --check   exit 0 when dist/ is up to date, 1 when not
set -euo pipefail
web="$(cd "$(dirname "$0")" && pwd)"
cd "$web"

need_node() {
  command -v node >/dev/null && command -v npm >/dev/null || {
    echo "web build: node and npm are needed (deploy/local/install-deps installs them)" >&2
    exit 1
  }
  # Vite 7 needs Node.js 20.19 or later.
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)' || {
    echo "web build: Node.js >= 20.19 is needed, found $(node --version)" >&2
    exit 1
  }
}

# The fingerprint of what the build reads (sources, configuration, the lock).
sources_hash() {
  find src index.html vite.config.ts tsconfig.json package.json package-lock.json -type f -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
lock_hash() { sha256sum package-lock.json | cut -d' ' -f1; }

installed_stamp="node_modules/.grid-lock-hash"
built_stamp="dist/.grid-sources-hash"

if [ "${1:-}" = "--check" ]; then
  [ -f "$built_stamp" ] && [ "$(cat "$built_stamp")" = "$(sources_hash)" ]
  exit
fi

# One build at a time (ctest and deploy/local/up may ask at once).
exec 9>"$web/.build.lock"
flock 9

if [ ! -f "$installed_stamp" ] || [ "$(cat "$installed_stamp")" != "$(lock_hash)" ]; then
  need_node
  echo "web build: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  lock_hash >"$installed_stamp"
fi

hash="$(sources_hash)"
if [ -f "$built_stamp" ] && [ "$(cat "$built_stamp")" = "$hash" ] && [ -f dist/index.html ]; then
  exit 0
fi
need_node
echo "web build: tsc + vite build"
npx --no-install tsc --noEmit
npx --no-install vite build --logLevel warn
echo "$hash" >"$built_stamp"
