"""Turn benchmark JSON lines into the markdown reports committed under results/:
`sbmoe bench --json` + `bench_peers.py --json` (inference, make bench → results/bench.md), or
`bench_train_peers.py --sbmoe bin/sbmoe --json` (training, make bench-train →
results/bench-train.md). The kind is read from the rows: docs_per_sec or pairs_per_sec.

Usage: bench_report.py out/bench.jsonl > results/bench.md
Standard library only.
"""
import json
import platform
import sys
import time


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    ours = next((r for r in rows if r["peer"] == "sbmoe"), None)
    if ours is None:
        sys.exit(f"{path}: no sbmoe row")
    if "pairs_per_sec" in ours:
        train_report(rows, ours)
        return
    # (peer, dtype) -> seq_len -> row, for batches (throughput) and single texts (latency).
    batches, singles = {}, {}
    for r in rows:
        table = singles if r["batch"] == 1 else batches
        table.setdefault((r["peer"], r.get("dtype", "float32")), {})[r["seq_len"]] = r
    int8_kernels = next((r["kernels"] for r in rows if r["peer"] == "sbmoe" and r.get("dtype") == "int8"), None)
    print("# Encoder throughput and latency: sbmoe vs PyTorch vs ONNX Runtime\n")
    print(f"Written by `make bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"CPU: {cpu_model()}, sbmoe kernels: {ours.get('kernels', '?')} (fp32)"
          + (f", {int8_kernels} (int8)" if int8_kernels else "") + ".")
    print(f"Model all-MiniLM-L6-v2, {ours['threads']} threads for every peer, every sequence exactly the "
          "stated number of tokens. Peers run one after another in the same command on the same machine, "
          "which other work shares: compare the ratios of one run. int8 is each peer's dynamic "
          "quantisation: sbmoe --weights int8 (per-row weight scales, per-token activations), PyTorch "
          "quantize_dynamic over Linear layers, ONNX Runtime quantize_dynamic (QInt8).\n")
    fmt = lambda v: f"{v:.1f}" if v else "–"
    ratio = lambda a, b: f"{a / b:.2f}×" if a and b else "–"
    get = lambda table, peer, dtype, seq, key: table.get((peer, dtype), {}).get(seq, {}).get(key)
    for dtype, name in (("float32", "fp32"), ("int8", "int8")):
        seqs = sorted({seq for (peer, d), by in batches.items() if d == dtype for seq in by})
        if not seqs:
            continue
        batch = next(r["batch"] for by in batches.values() for r in by.values())
        print(f"**Throughput, {name}, batch {batch}** (documents per second; a ratio above 1 means sbmoe is faster):\n")
        print("| tokens | sbmoe | PyTorch | ONNX Runtime | sbmoe ÷ PyTorch | sbmoe ÷ ONNX Runtime |")
        print("|---:|---:|---:|---:|---:|---:|")
        for seq in seqs:
            s, pt, ort = (get(batches, p, dtype, seq, "docs_per_sec") for p in ("sbmoe", "pytorch", "onnxruntime"))
            print(f"| {seq} | {fmt(s)} | {fmt(pt)} | {fmt(ort)} | {ratio(s, pt)} | {ratio(s, ort)} |")
        print()
    seqs = sorted({seq for by in singles.values() for seq in by})
    for seq in seqs:
        print(f"**One text of {seq} tokens** (batch 1, median milliseconds; a ratio above 1 means sbmoe is faster):\n")
        print("| weights | sbmoe | PyTorch | ONNX Runtime | PyTorch ÷ sbmoe | ONNX Runtime ÷ sbmoe |")
        print("|---|---:|---:|---:|---:|---:|")
        for dtype, name in (("float32", "fp32"), ("int8", "int8")):
            ms = [get(singles, p, dtype, seq, "seconds_per_batch_median") for p in ("sbmoe", "pytorch", "onnxruntime")]
            if not any(ms):
                continue
            ms = [m * 1e3 if m else None for m in ms]
            ms_fmt = lambda v: f"{v:.2f}" if v else "–"
            print(f"| {name} | {' | '.join(ms_fmt(m) for m in ms)} | {ratio(ms[1], ms[0])} | {ratio(ms[2], ms[0])} |")
        print()
    print("Targets: fp32 documents/s at least 0.95× PyTorch's; int8 documents/s at least 1.5× ONNX Runtime "
          "int8's at 128 tokens; one short query no slower than ONNX Runtime's, in fp32 and in int8.\n")
    print("Raw rows:\n\n```")
    for r in rows:
        print(json.dumps(r, sort_keys=True))
    print("```")


def train_report(rows, ours):
    print("# Training throughput: sbmoe vs PyTorch\n")
    print(f"Written by `make bench-train` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"CPU: {cpu_model()}, sbmoe kernels: {ours.get('kernels', '?')}.")
    print(f"One training step of the SB-MoE recipe: all-MiniLM-L6-v2 on {ours['batch']} queries and "
          f"{ours['batch']} documents of exactly {ours['seq_len']} tokens, the {ours.get('moe', '?')} head with "
          f"{ours.get('experts', '?')} experts, InfoNCE with in-batch negatives, backward, AdamW; fp32, "
          f"{ours['threads']} threads for both peers, run one after the other in the same command.\n")
    print("| peer | pairs/s | seconds per step (median) | steps measured |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['peer']} | {r['pairs_per_sec']:.2f} | {r['seconds_per_step_median']:.2f} | {r.get('iterations', '?')} |")
    torch_row = next((r for r in rows if r["peer"] == "pytorch"), None)
    if torch_row:
        print(f"\nsbmoe ÷ PyTorch: {ours['pairs_per_sec'] / torch_row['pairs_per_sec']:.2f}× "
              "(above 1 means sbmoe is faster).\n")
    print("Raw rows:\n\n```")
    for r in rows:
        print(json.dumps(r, sort_keys=True))
    print("```")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
