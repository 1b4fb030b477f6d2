#!/usr/bin/env bash
# The browser benchmark and the browser parity check, as make runs them:
#
#   bash tools/browser/bench.sh bundles   # make browser-bundles: the SciFact bundles, fp32 and int8
#   bash tools/browser/bench.sh bench     # make bench-browser: results/bench-browser.md
#   bash tools/browser/bench.sh parity    # make browser-parity: results/browser-parity.md
#
# Environment: DATA (../shared/data), SBMOE (bin/sbmoe), GO (go), OUT (out/bench-browser).
# The bundles are written again each time; a second run reuses their vectors. bench needs the
# ONNX export of the peer (.venv/bin/python tools/reference/export_onnx.py, run here when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DATA:-../shared/data}
SBMOE=${SBMOE:-bin/sbmoe}
GO=${GO:-go}
OUT=${OUT:-out/bench-browser}
PYTHON=${PYTHON:-.venv/bin/python}
PAIRS="--pair fp32=$OUT/scifact-fp32:fp32 --pair int8=$OUT/scifact-int8:q8"

case "${1:-}" in
bundles)
	mkdir -p "$OUT"
	"$SBMOE" bundle --corpus "$DATA/scifact" --out "$OUT/scifact-fp32" --weights fp32 --quiet
	"$SBMOE" bundle --corpus "$DATA/scifact" --out "$OUT/scifact-int8" --weights int8 --quiet
	;;
bench)
	[ -f models/all-MiniLM-L6-v2-onnx/onnx/model_quantized.onnx ] || "$PYTHON" tools/reference/export_onnx.py
	node tools/browser/bench-browser.mjs --cold-runs 3 $PAIRS > "$OUT/results.jsonl"
	GOEXPERIMENT=simd GOOS=js GOARCH=wasm "$GO" build -trimpath -o "$OUT/sbmoe-names.wasm" ./wasm/browser
	for w in fp32 int8; do
		node tools/browser/profile-sbmoe.mjs --bundle "$OUT/scifact-$w" --wasm "$OUT/sbmoe-names.wasm" --queries 50 > "$OUT/profile-$w.json"
	done
	node tools/browser/bench-report.mjs "$OUT/results.jsonl" "node tools/browser/bench-browser.mjs --cold-runs 3 $PAIRS" \
		"$OUT/profile-fp32.json" "$OUT/profile-int8.json" > results/bench-browser.md
	cat results/bench-browser.md
	;;
parity)
	"$GO" build -o bin/sbmoe-scalar ./tools/sbmoe
	node tools/browser/parity.mjs --bundle "$OUT/scifact-fp32" --bundle "$OUT/scifact-int8" --limit 50 \
		--native simd="$SBMOE" --native scalar=bin/sbmoe-scalar --data "$DATA/scifact" --out results/browser-parity.md
	;;
*)
	echo "usage: bash tools/browser/bench.sh bundles|bench|parity" >&2
	exit 2
	;;
esac
