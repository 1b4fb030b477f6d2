#!/usr/bin/env bash
# Install the local Cloudflare Workers runtime the edge tests and benchmark run; idempotent
# (a second run does nothing).
#
#   bash tools/edge/install.sh        (make edge-deps)
#
# npm `workerd`, pinned in tools/edge/package.json + package-lock.json, goes into
# out/edge-node/node_modules (git-ignored; override with $SBMOE_EDGE_NODE) with
# `npm ci --ignore-scripts`: its binary comes inside the npm package
# @cloudflare/workerd-linux-64, so nothing is downloaded from outside the npm registry.
# Only npm needs Node (>= 16); workerd itself runs without it. It prints the path of the
# workerd binary, which sbmoe edge serve and tools/edgetest find there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dest=${SBMOE_EDGE_NODE:-$root/out/edge-node}
case "${1:-}" in
  -h|--help) sed -n 2,12p "$0"; exit 0 ;;
  "") ;;
  *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
esac

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
  echo "install.sh: node and npm are needed (Debian: apt-get install -y nodejs npm)" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 16 ]; then echo "install.sh: node >= 16 needed, have $(node --version)" >&2; exit 1; fi
mkdir -p "$dest"
cp_if_changed() { cmp -s "$1" "$2" || cp "$1" "$2"; }
cp_if_changed "$here/package.json" "$dest/package.json"
cp_if_changed "$here/package-lock.json" "$dest/package-lock.json"
version=$(node -p 'require(process.argv[1]).packages["node_modules/workerd"].version' "$dest/package-lock.json")
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-64 ;;
  Linux-aarch64) platform=linux-arm64 ;;
  Darwin-x86_64) platform=darwin-64 ;;
  Darwin-arm64) platform=darwin-arm64 ;;
  *) echo "install.sh: workerd has no npm build for $(uname -s) $(uname -m)" >&2; exit 1 ;;
esac
bin="$dest/node_modules/@cloudflare/workerd-$platform/bin/workerd"
if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null || true)" != "" ] &&
   [ "$(node -p 'require(process.argv[1]).version' "$dest/node_modules/@cloudflare/workerd-$platform/package.json")" = "$version" ]; then
  echo "workerd $version up to date in $dest" >&2
else
  echo "npm ci --ignore-scripts in $dest ..." >&2
  (cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
echo "edge tools ready: $("$bin" --version) at $bin" >&2
