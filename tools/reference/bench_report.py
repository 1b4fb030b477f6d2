"""Turn the JSON lines of `sbmoe bench --json` and `bench_peers.py --json` into the
markdown report committed as results/bench.md (make bench writes both, then this).

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


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
