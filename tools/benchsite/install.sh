#!/usr/bin/env bash
# Install Pagefind, the peer of `sbmoe site` in make bench-site; idempotent (a second run
# does nothing).
#
#   bash tools/benchsite/install.sh
#
# The npm package pagefind pinned in tools/benchsite/package.json + package-lock.json goes
# into out/site-node/node_modules (git-ignored; override with $SBMOE_SITE_NODE) with
# `npm ci`. Its native binary comes in the optional dependency for this platform
# (@pagefind/linux-x64 here), from the npm registry like the rest: nothing else is
# downloaded. Chromium and playwright-core come from tools/browser/install.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dest=${SBMOE_SITE_NODE:-$root/out/site-node}
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
  echo "install.sh: node and npm are needed (Debian: apt-get install -y nodejs npm)" >&2; exit 1; }
mkdir -p "$dest"
cp_if_changed() { cmp -s "$1" "$2" || cp "$1" "$2"; }
cp_if_changed "$here/package.json" "$dest/package.json"
cp_if_changed "$here/package-lock.json" "$dest/package-lock.json"
if [ -x "$dest/node_modules/.bin/pagefind" ] && [ "$(cd "$dest" && node_modules/.bin/pagefind --version 2>/dev/null)" = "pagefind $(node -p 'require(process.argv[1]).packages["node_modules/pagefind"].version' "$dest/package-lock.json")" ]; then
  echo "pagefind up to date in $dest" >&2
else
  echo "npm ci in $dest ..." >&2
  (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd "$dest" && node_modules/.bin/pagefind --version >&2)
