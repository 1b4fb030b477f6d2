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
    by_seq = {}
    for r in rows:
        by_seq.setdefault(r["seq_len"], {})[r["peer"]] = r
    ours = next((r for r in rows if r["peer"] == "sbmoe"), None)
    if ours is None:
        sys.exit(f"{path}: no sbmoe row")
    if "pairs_per_sec" in ours:
        train_report(rows, ours)
        return
    print("# Encoder throughput: sbmoe vs PyTorch vs ONNX Runtime\n")
    print(f"Written by `make bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"CPU: {cpu_model()}, sbmoe kernels: {ours.get('kernels', '?')}.")
    print(f"Model all-MiniLM-L6-v2, fp32, batch {ours['batch']}, {ours['threads']} threads for every peer, "
          "every sequence exactly the stated number of tokens. Peers run one after another in the "
          "same command on the same machine.\n")
    print("| tokens | sbmoe docs/s | PyTorch docs/s | ONNX Runtime docs/s | sbmoe ÷ PyTorch | sbmoe ÷ ONNX Runtime |")
    print("|---:|---:|---:|---:|---:|---:|")
    for seq in sorted(by_seq):
        peers = by_seq[seq]
        s = peers.get("sbmoe", {}).get("docs_per_sec")
        pt = peers.get("pytorch", {}).get("docs_per_sec")
        ort = peers.get("onnxruntime", {}).get("docs_per_sec")
        fmt = lambda v: f"{v:.1f}" if v else "–"
        ratio = lambda a, b: f"{a / b:.2f}×" if a and b else "–"
        print(f"| {seq} | {fmt(s)} | {fmt(pt)} | {fmt(ort)} | {ratio(s, pt)} | {ratio(s, ort)} |")
    print("\nA ratio above 1 means sbmoe is faster. Target (issue 2): faster than PyTorch and within "
          "1.5× of ONNX Runtime, i.e. sbmoe ÷ PyTorch > 1 and sbmoe ÷ ONNX Runtime > 0.67.\n")
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
