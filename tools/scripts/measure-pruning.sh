#!/usr/bin/env bash
# What pruning a bundle's vocabulary saves and costs (make measure-pruning): for each
# collection in COLLECTIONS, an int8 bundle with --prune-vocab none, corpus and reachable,
# the bytes of its model files (raw and Brotli, from the bundle's files), and NDCG@10 of the
# collection's test queries through the bundle's own model folder (sbmoe eval --model
# BUNDLE/model, so unseen query words meet the pruned tokenizer). Writes results/prune-vocab.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
SBMOE=${SBMOE:-bin/sbmoe}
DATA=${DATA:-../shared/data}
COLLECTIONS=${COLLECTIONS:-scifact cisi}
OUT=${OUT:-out/prune-vocab}
mkdir -p "$OUT"
rows=()
for c in $COLLECTIONS; do
  for p in none corpus reachable; do
    b="$OUT/$c-$p"
    [ -f "$b/manifest.json" ] || "$SBMOE" bundle --corpus "$DATA/$c" --out "$b" --prune-vocab "$p" --demo=false --quiet
    [ -f "$b/eval.json" ] || "$SBMOE" eval --quiet --model "$b/model" --format json --out "$b/eval.json" "$DATA/$c" >/dev/null
    raw=0; br=0
    while IFS= read -r f; do
      raw=$((raw + $(stat -c %s "$f")))
      if [ -f "$f.br" ]; then br=$((br + $(stat -c %s "$f.br"))); else br=$((br + $(stat -c %s "$f"))); fi
    done < <(find "$b/model" -type f ! -name '*.br' ! -name '*.gz')
    scores=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["datasets"][0]["metrics"]; print("%.4f | %.4f" % (m["ndcg@10"], m["recall@100"]))' "$b/eval.json")
    rows+=("| $c | $p | $(awk -v n=$raw 'BEGIN{printf "%.2f", n/1e6}') | $(awk -v n=$br 'BEGIN{printf "%.2f", n/1e6}') | $scores |")
  done
done
{
  echo "# Pruning a bundle's vocabulary: what it saves and costs"
  echo
  echo "Written by \`make measure-pruning\` (tools/scripts/measure-pruning.sh) on $(date -u +%Y-%m-%d). Int8 bundles of all-MiniLM-L6-v2"
  echo "(\`sbmoe bundle --prune-vocab none|corpus|reachable\`); model bytes are the bundle's model/ files (weights, tokenizer,"
  echo "configs), raw and as the .br copies a server sends; NDCG@10 is \`sbmoe eval --model BUNDLE/model\` on the collection's"
  echo "test queries, so a query word the corpus lacks meets the pruned tokenizer (\`corpus\`: [UNK]; \`reachable\`: spelled"
  echo "from the single characters kept)."
  echo
  echo "| collection | --prune-vocab | model MB (raw) | model MB (Brotli) | NDCG@10 | Recall@100 |"
  echo "|---|---|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} > results/prune-vocab.md
cat results/prune-vocab.md
