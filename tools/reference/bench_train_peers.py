#!/usr/bin/env python3
"""Training throughput of PyTorch on the step that `sbmoe bench-train` measures.

One step of the SB-MoE recipe, CPU, fp32: transformers' BertModel (eval mode, so no
dropout, as the Go encoder has none; default attention implementation) run on the batch's
queries and then on its documents, as the authors' code does, masked mean pooling, the
SB-MoE block of tools/reference/moe_golden.py (the authors' module; noisy top-1 gating
with torch.randn_like noise), InfoNCE (q·dᵀ/0.05, in-batch negatives), loss.backward()
and torch.optim.AdamW (encoder lr 1e-6, head lr 1e-4 without noise_linear, weight decay
0.01), under torch.set_num_threads(threads).

Inputs are the ones the Go command builds: the tokenized benchmark text, each row a
window of it starting 7 tokens further on, cut to exactly seq_len tokens ([CLS] ...
[SEP]); batch query rows then batch document rows; attention mask all ones.

One warm-up step, then at least --steps measured steps (and --seconds); the median
step time counts. One JSON object on stdout with --json (the fields of
`sbmoe bench-train --json`), a line of text otherwise.

Both peers, one after the other (never at the same time: they share the cores), from
the repository root:

    .venv/bin/python tools/reference/bench_train_peers.py --sbmoe bin/sbmoe --json

runs `bin/sbmoe bench-train` with the same flags first, then PyTorch (build bin/sbmoe
with `GOEXPERIMENT=simd go build -o bin/sbmoe ./tools/sbmoe`). 64 pairs of 256 tokens
take tens of seconds a step on two cores; --batch and --seq make it lighter.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import torch
import transformers
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moe_golden import SBMoE  # noqa: E402  the authors' block

# The same text as tools/sbmoe/cmd_bench.go's benchText.
BENCH_TEXT = ("Dense retrieval encodes queries and documents into vectors with a transformer "
              "and ranks documents by the dot product of their vectors with the query vector. "
              "A mixture of experts after the last layer routes each embedding to a specialist. ")
TAU = 0.05
ENCODER_LR, HEAD_LR, WEIGHT_DECAY = 1e-6, 1e-4, 0.01


def make_ids(tok, batch, seq_len):
    filler = tok(BENCH_TEXT, add_special_tokens=False)["input_ids"]
    rows = []
    for r in range(2 * batch):
        body = [filler[(7 * r + i) % len(filler)] for i in range(seq_len - 2)]
        rows.append([tok.cls_token_id] + body + [tok.sep_token_id])
    ids = torch.tensor(rows, dtype=torch.long)
    return ids[:batch], ids[batch:]


def mean_pool(bert, ids):
    mask = torch.ones_like(ids)
    hidden = bert(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(dim=1) / m.sum(dim=1)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="models/all-MiniLM-L6-v2")
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--seconds", type=float, default=0)
    p.add_argument("--moe", default="paper", choices=["paper", "none"])
    p.add_argument("--experts", type=int, default=6)
    p.add_argument("--json", action="store_true")
    p.add_argument("--sbmoe", help="also run this sbmoe binary's bench-train with the same flags, first")
    args = p.parse_args(argv)

    if args.sbmoe:
        cmd = [args.sbmoe, "bench-train", "--model", args.model, "--seq", str(args.seq),
               "--batch", str(args.batch), "--threads", str(args.threads), "--steps", str(args.steps),
               "--seconds", str(args.seconds), "--moe", args.moe, "--experts", str(args.experts)]
        if args.json:
            cmd.append("--json")
        sys.stdout.flush()
        subprocess.run(cmd, check=True)
        sys.stdout.flush()

    torch.manual_seed(42)
    torch.set_num_threads(args.threads)
    tok = transformers.AutoTokenizer.from_pretrained(args.model)
    bert = transformers.BertModel.from_pretrained(args.model).eval().float()
    encoder = [p for n, p in bert.named_parameters() if not n.startswith("pooler.")]
    groups = [{"params": encoder, "lr": ENCODER_LR, "weight_decay": WEIGHT_DECAY}]
    block = None
    if args.moe != "none":
        block = SBMoE(bert.config.hidden_size, args.experts).train()
        head = [p for n, p in block.named_parameters() if not n.startswith("noise_linear.")]
        groups.append({"params": head, "lr": HEAD_LR, "weight_decay": WEIGHT_DECAY})
    opt = torch.optim.AdamW(groups)
    q_ids, d_ids = make_ids(tok, args.batch, args.seq)
    labels = torch.arange(args.batch)

    def step():
        opt.zero_grad()
        q, d = mean_pool(bert, q_ids), mean_pool(bert, d_ids)
        if block is not None:
            q = block(q, torch.randn(q.shape[0], args.experts), "paper", True)[0]
            d = block(d, torch.randn(d.shape[0], args.experts), "paper", True)[0]
        loss = F.cross_entropy(q @ d.T / TAU, labels)
        loss.backward()
        opt.step()

    step()  # warm-up
    times = []
    start = time.perf_counter()
    while len(times) < args.steps or time.perf_counter() - start < args.seconds:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]
    r = {"peer": "pytorch", "seq_len": args.seq, "batch": args.batch, "threads": args.threads,
         "moe": args.moe, "experts": args.experts if block is not None else 0,
         "pairs_per_sec": args.batch / median, "iterations": len(times),
         "seconds_per_step_median": median, "seconds_per_step_min": times[0],
         "kernels": f"torch {torch.__version__}, transformers {transformers.__version__}, "
                    f"attention {bert.config._attn_implementation}"}
    if args.json:
        print(json.dumps(r))
    else:
        print(f"seq {args.seq}  batch {args.batch} pairs  threads {args.threads}  moe {args.moe}  "
              f"{r['pairs_per_sec']:.2f} pairs/s  ({median:.2f} s/step, {r['kernels']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
