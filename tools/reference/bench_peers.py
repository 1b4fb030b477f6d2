#!/usr/bin/env python3
"""Encoder throughput of the peers the Go encoder is compared with.

Peers (CPU, the same BERT + mean pooling + L2 normalisation that
sentence-transformers runs for all-MiniLM-L6-v2), fp32 and, with --int8, int8:

  pytorch      transformers' BertModel (as loaded by sentence-transformers)
               under torch.inference_mode(), torch.set_num_threads(threads).
               int8: torch.ao.quantization.quantize_dynamic over its Linear
               layers (qint8 weights, activations quantised per batch).
  onnxruntime  the same module exported with torch.onnx.export (opset 17,
               dynamic batch and sequence axes) into a cache folder
               (default models/onnx/<model name>/, git-ignored), run with
               intra_op_num_threads=threads and ORT_ENABLE_ALL.
               int8: onnxruntime.quantization.quantize_dynamic of that file
               (QInt8 weights, the default per-tensor scales), cached beside it
               as model.int8.onnx.

Inputs are synthetic but real text: scifact documents tokenized by the model's
tokenizer, concatenated and cut so every row is exactly seq_len tokens
([CLS] ... [SEP]), attention mask all ones, no padding.

Each configuration is warmed up once, then timed for at least --min-iters
batches and at least --min-seconds. One JSON object per line on stdout with
--json, a table otherwise.

  bench_peers.py --model DIR --seq 128,512 --batch 32 --threads 2 --json
  bench_peers.py --model DIR --seq 16 --batch 1 --int8 --json   # one short query, fp32 and int8
  bench_peers.py --model DIR --check      # ORT vs torch vs sentence-transformers
"""

import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
import transformers
from sentence_transformers import SentenceTransformer

GENERATOR = "tools/reference/bench_peers.py"
CHECK_TOLERANCE = 1e-4


class MeanPooledEncoder(torch.nn.Module):
    """BertModel + attention-masked mean pooling + L2 normalisation."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * mask).sum(dim=1)
        pooled = summed / mask.sum(dim=1).clamp(min=1e-9)
        return hidden, torch.nn.functional.normalize(pooled, p=2, dim=1)


def read_texts(data_dir, limit):
    path = os.path.join(data_dir, "scifact", "corpus.jsonl.gz")
    texts = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            texts.append((d["title"] + " " + d["text"]).strip())
            if len(texts) >= limit:
                break
    return texts


def make_inputs(tokenizer, texts, batch, seq_len):
    """batch rows of exactly seq_len ids: [CLS] + a run of body tokens + [SEP]."""
    body = seq_len - 2
    stream = []
    for t in texts:
        stream.extend(tokenizer(t, add_special_tokens=False)["input_ids"])
    if len(stream) < body:
        raise ValueError(f"not enough text for {seq_len} tokens")
    rows = []
    for r in range(batch):
        start = (r * 97) % (len(stream) - body)  # distinct, deterministic windows
        rows.append([tokenizer.cls_token_id] + stream[start:start + body] + [tokenizer.sep_token_id])
    ids = np.asarray(rows, dtype=np.int64)
    return {
        "input_ids": ids,
        "attention_mask": np.ones_like(ids),
        "token_type_ids": np.zeros_like(ids),
    }


def onnx_path(cache_dir):
    return os.path.join(cache_dir, "model.onnx")


def export_onnx(encoder, cache_dir, sample):
    """Export once; reuse the cached file when its recorded versions match."""
    meta_path = os.path.join(cache_dir, "export.json")
    meta = {"torch": torch.__version__, "transformers": transformers.__version__,
            "onnx": onnx.__version__, "opset": 17, "generator": GENERATOR}
    path = onnx_path(cache_dir)
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as f:
            if json.load(f) == meta:
                return path
    os.makedirs(cache_dir, exist_ok=True)
    tmp = path + ".tmp"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "seq"} for n in names}
    axes["last_hidden_state"] = {0: "batch", 1: "seq"}
    axes["sentence_embedding"] = {0: "batch"}
    with torch.inference_mode():
        # The TorchScript exporter (dynamo=False) needs no onnxscript and
        # takes dynamic_axes directly.
        torch.onnx.export(
            encoder,
            tuple(torch.from_numpy(sample[n][:2, :16]) for n in names),
            tmp,
            input_names=names,
            output_names=["last_hidden_state", "sentence_embedding"],
            dynamic_axes=axes,
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )
    onnx.checker.check_model(tmp)
    os.replace(tmp, path)
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    return path


def quantize_onnx(path):
    """onnxruntime's dynamic int8 quantisation of the exported model, cached."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    out = os.path.join(os.path.dirname(path), "model.int8.onnx")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(path):
        return out
    tmp = out + ".tmp"
    quantize_dynamic(path, tmp, weight_type=QuantType.QInt8)
    os.replace(tmp, out)
    return out


def ort_session(path, threads):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])


def timed(fn, min_iters, min_seconds):
    fn()  # warm-up
    times = []
    start = time.perf_counter()
    while len(times) < min_iters or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main(argv):
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(root, "models", "all-MiniLM-L6-v2"))
    p.add_argument("--seq", default="128,512", help="comma-separated sequence lengths")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--peers", default="pytorch,onnxruntime")
    p.add_argument("--min-iters", type=int, default=3)
    p.add_argument("--min-seconds", type=float, default=5.0)
    p.add_argument("--data", default=os.path.normpath(os.path.join(root, "..", "shared", "data")))
    p.add_argument("--onnx-cache", default=None,
                   help="folder for the exported model (default models/onnx/<model folder name>)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--int8", action="store_true",
                   help="also time each peer's dynamic int8 form (see above)")
    p.add_argument("--check", action="store_true",
                   help="compare onnxruntime and sentence-transformers with the torch peer, then exit")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    seqs = [int(s) for s in args.seq.split(",") if s]
    peers = [s for s in args.peers.split(",") if s]
    for peer in peers:
        if peer not in ("pytorch", "onnxruntime"):
            p.error(f"unknown peer {peer!r}")
    model_name = os.path.basename(os.path.normpath(args.model))
    cache = args.onnx_cache or os.path.join(root, "models", "onnx", model_name)

    st = SentenceTransformer(args.model, device="cpu").eval()
    bert = st[0].auto_model.eval()
    tokenizer = st[0].tokenizer
    encoder = MeanPooledEncoder(bert).eval()
    texts = read_texts(args.data, 400)
    inputs = {L: make_inputs(tokenizer, texts, args.batch, L) for L in seqs}

    session = session8 = encoder8 = None
    if "onnxruntime" in peers or args.check:
        exported = export_onnx(encoder, cache, inputs[seqs[0]])
        session = ort_session(exported, args.threads)
        if args.int8 and "onnxruntime" in peers:
            session8 = ort_session(quantize_onnx(exported), args.threads)
    if args.int8 and "pytorch" in peers:
        encoder8 = torch.ao.quantization.quantize_dynamic(encoder, {torch.nn.Linear}, dtype=torch.qint8).eval()

    if args.check:
        worst = 0.0
        for L in seqs:
            feed = {k: v[:4].copy() for k, v in inputs[L].items()}
            # Row 1 is padded to half length so the exported mask path is checked too.
            feed["input_ids"][1, L // 2:] = tokenizer.pad_token_id
            feed["attention_mask"][1, L // 2:] = 0
            valid = feed["attention_mask"].astype(bool)
            with torch.inference_mode():
                t_hidden, t_emb = encoder(**{k: torch.from_numpy(v) for k, v in feed.items()})
                st_emb = st({k: torch.from_numpy(v) for k, v in feed.items()})["sentence_embedding"]
            o_hidden, o_emb = session.run(None, feed)
            row = {
                "check": "onnxruntime,sentence_transformers vs pytorch",
                "seq_len": L,
                "rows": 4,
                "padded_rows": 1,
                "max_abs_diff_ort_hidden": float(np.abs(o_hidden - t_hidden.numpy())[valid].max()),
                "max_abs_diff_ort_embedding": float(np.abs(o_emb - t_emb.numpy()).max()),
                "max_abs_diff_st_embedding": float(np.abs(st_emb.numpy() - t_emb.numpy()).max()),
            }
            worst = max(worst, *(v for k, v in row.items() if k.startswith("max_abs")))
            print(json.dumps(row), flush=True)
        if worst > CHECK_TOLERANCE:
            print(f"check failed: max abs diff {worst:g} > {CHECK_TOLERANCE:g}", file=sys.stderr)
            return 1
        return 0

    common = {"batch": args.batch, "threads": args.threads, "model": model_name,
              "dtype": "float32", "generator": GENERATOR}
    versions = {"pytorch": f"torch {torch.__version__}, transformers {transformers.__version__}",
                "onnxruntime": f"onnxruntime {ort.__version__}, opset 17"}
    forms = [("float32", encoder, session)]
    if args.int8:
        forms.append(("int8", encoder8, session8))
    if not args.json:
        print(f"{'peer':<12} {'seq':>5} {'batch':>5} {'thr':>3} {'docs/s':>9} {'s/batch':>8} {'iters':>5}")
    for L in seqs:
        feed = inputs[L]
        torch_feed = {k: torch.from_numpy(v) for k, v in feed.items()}
        for peer, (dtype, enc, sess) in [(p, f) for p in peers for f in forms]:
            if peer == "pytorch":
                def step(enc=enc):
                    with torch.inference_mode():
                        enc(**torch_feed)
            else:
                def step(sess=sess):
                    sess.run(["sentence_embedding"], feed)
            times = timed(step, args.min_iters, args.min_seconds)
            median = float(np.median(times))
            row = {"peer": peer, "seq_len": L, **common, "dtype": dtype,
                   "docs_per_sec": args.batch / median,
                   "tokens_per_sec": args.batch * L / median,
                   "seconds_per_batch_median": median,
                   "seconds_per_batch_min": float(min(times)),
                   "iterations": len(times),
                   "versions": versions[peer]}
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print(f"{peer + ' ' + dtype:<20} {L:>5} {args.batch:>5} {args.threads:>3} "
                      f"{row['docs_per_sec']:>9.1f} {median:>8.3f} {len(times):>5}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
