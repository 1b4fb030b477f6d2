#!/usr/bin/env bash
# Install what the browser tools need; idempotent (a second run does nothing).
#
#   bash tools/browser/install.sh [--no-apt]
#
# 1. Debian's chromium (driven by playwright-core; browsers are never downloaded, so never run
#    `npx playwright install`) and wabt (wasm-objdump, to count v128 instructions), with apt-get as
#    root or through sudo. Without either, it prints the command to run and exits 1.
# 2. The npm packages pinned in tools/browser/package.json + package-lock.json (playwright-core,
#    @huggingface/transformers) into out/browser-node/node_modules (git-ignored; override with
#    $SBMOE_BROWSER_NODE), with `npm ci --ignore-scripts`: onnxruntime-node's install script
#    downloads a binary from outside the npm registry and fails; the browser never uses it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dest=${SBMOE_BROWSER_NODE:-$root/out/browser-node}
apt=1
for a in "$@"; do
  case "$a" in
    --no-apt) apt=0 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done

# --- 1. Debian packages ---
need=()
if [ ! -x /usr/lib/chromium/chromium ] && [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then need+=(chromium); fi
if ! command -v wasm-objdump >/dev/null 2>&1; then need+=(wabt); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$apt" = 0 ]; then
    echo "install.sh: missing Debian packages: ${need[*]} (--no-apt given)" >&2
    echo "  run: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo)
  else
    echo "install.sh: need root to install ${need[*]}; run:" >&2
    echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${need[*]}" >&2
    echo "then run tools/browser/install.sh again" >&2
    exit 1
  fi
  echo "installing ${need[*]} with apt-get ..." >&2
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
chromium=${CHROMIUM:-}
[ -n "$chromium" ] || { [ -x /usr/lib/chromium/chromium ] && chromium=/usr/lib/chromium/chromium; } || chromium=/usr/bin/chromium
"$chromium" --version >&2

# --- 2. npm packages ---
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
  echo "install.sh: node and npm are needed (Debian: apt-get install -y nodejs npm)" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then echo "install.sh: node >= 18 needed, have $(node --version)" >&2; exit 1; fi
mkdir -p "$dest"
cp_if_changed() { cmp -s "$1" "$2" || cp "$1" "$2"; }
cp_if_changed "$here/package.json" "$dest/package.json"
cp_if_changed "$here/package-lock.json" "$dest/package-lock.json"
# npm writes node_modules/.package-lock.json after a successful install: the tree is complete and
# current when every package it lists has the lock's version and every package of the lock that is
# not optional (sharp's and onnxruntime's per-platform binaries are) is there.
if [ -f "$dest/node_modules/.package-lock.json" ] && node -e '
  const fs = require("fs"), [lock, have] = process.argv.slice(1).map((f) => JSON.parse(fs.readFileSync(f, "utf8")).packages);
  const ok = Object.entries(have).every(([k, v]) => lock[k] && lock[k].version === v.version) &&
    Object.entries(lock).every(([k, v]) => k === "" || v.optional || (have[k] && fs.existsSync(require("path").join(require("path").dirname(process.argv[1]), k, "package.json"))));
  process.exit(ok ? 0 : 1);
' "$dest/package-lock.json" "$dest/node_modules/.package-lock.json" 2>/dev/null; then
  echo "npm packages up to date in $dest" >&2
else
  echo "npm ci --ignore-scripts in $dest ..." >&2
  (cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
(cd "$dest" && node -e '
  const v = (n) => JSON.parse(require("fs").readFileSync(`node_modules/${n}/package.json`, "utf8")).version;
  console.error(`playwright-core ${v("playwright-core")}, @huggingface/transformers ${v("@huggingface/transformers")}, onnxruntime-web ${v("onnxruntime-web")}`);')
echo "browser tools ready: chromium $chromium, node_modules in $dest" >&2
