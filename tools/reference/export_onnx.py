#!/usr/bin/env python3
"""Export all-MiniLM-L6-v2 to ONNX in the folder layout transformers.js loads locally.

Reads the Hugging Face folder that `make model` unpacks (models/all-MiniLM-L6-v2) and writes

  models/all-MiniLM-L6-v2-onnx/
    config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json  (copied)
    onnx/model.onnx            fp32, torch.onnx.export(dynamo=False), BertModel, opset 17,
                               inputs input_ids / attention_mask / token_type_ids (int64,
                               dynamic batch and sequence), output last_hidden_state
    onnx/model_quantized.onnx  onnxruntime.quantization.quantize_dynamic(weight_type=QInt8)
    onnx/model_int8.onnx       the same with per_channel=True (one scale per output column of each
                               weight matrix): same size, much closer to fp32 (see tools/browser/README.md)
    export.json                versions, sizes, sha256 and the check below

and checks both files with onnxruntime (CPU) against sentence-transformers on a few texts (mean
pooling + L2 normalisation, as the model's own pipeline): the minimum cosine is printed and
recorded. transformers.js picks the files by dtype: 'fp32' -> onnx/model.onnx,
'q8' -> onnx/model_quantized.onnx, 'int8' -> onnx/model_int8.onnx.

Run:  make model && .venv/bin/python tools/reference/export_onnx.py
"""

import argparse
import hashlib
import json
import os
import shutil
import sys

import numpy as np
import onnx
import onnxruntime
import torch
import transformers
from onnxruntime.quantization import QuantType, quantize_dynamic

COPY = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]
CHECK_TEXTS = [
    "what is the capital of France",
    "vitamin D deficiency is linked to bone loss in older adults",
    "A dense retriever written in Go that runs where the reader is.",
    "Ünïcödé, punctuation!? and numbers 3.14159 — all together",
]


class LastHidden(torch.nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return out.last_hidden_state


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def mean_pool_norm(hidden, mask):
    m = mask[..., None].astype(np.float32)
    v = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default="models/all-MiniLM-L6-v2")
    ap.add_argument("--out", default="models/all-MiniLM-L6-v2-onnx")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--force", action="store_true", help="export again even when the files exist")
    args = ap.parse_args()

    if not os.path.exists(os.path.join(args.src, "config.json")):
        sys.exit(f"{args.src} has no config.json: run `make model` first")
    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    for name in COPY:
        p = os.path.join(args.src, name)
        if os.path.exists(p):
            shutil.copyfile(p, os.path.join(args.out, name))

    fp32 = os.path.join(args.out, "onnx", "model.onnx")
    q8 = os.path.join(args.out, "onnx", "model_quantized.onnx")
    int8 = os.path.join(args.out, "onnx", "model_int8.onnx")
    torch.manual_seed(0)
    tok = transformers.AutoTokenizer.from_pretrained(args.src)
    bert = transformers.AutoModel.from_pretrained(args.src, attn_implementation="eager").eval()

    if args.force or not os.path.exists(fp32):
        enc = tok(["a short example", "a somewhat longer example sentence for tracing"], padding=True, return_tensors="pt")
        inputs = (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        dyn = {0: "batch_size", 1: "sequence_length"}
        tmp = fp32 + ".partial"
        with torch.no_grad():
            torch.onnx.export(
                LastHidden(bert),
                inputs,
                tmp,
                dynamo=False,
                opset_version=args.opset,
                do_constant_folding=True,
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={
                    "input_ids": dyn,
                    "attention_mask": dyn,
                    "token_type_ids": dyn,
                    "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
                },
            )
        onnx.checker.check_model(tmp)
        os.replace(tmp, fp32)
        print(f"wrote {fp32} ({os.path.getsize(fp32):,} bytes)", file=sys.stderr)
    if args.force or not os.path.exists(q8):
        tmp = q8 + ".partial.onnx"
        quantize_dynamic(fp32, tmp, weight_type=QuantType.QInt8)
        os.replace(tmp, q8)
        print(f"wrote {q8} ({os.path.getsize(q8):,} bytes)", file=sys.stderr)
    if args.force or not os.path.exists(int8):
        tmp = int8 + ".partial.onnx"
        quantize_dynamic(fp32, tmp, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, int8)
        print(f"wrote {int8} ({os.path.getsize(int8):,} bytes)", file=sys.stderr)

    # Check against sentence-transformers (the model's own pipeline) and torch.
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(args.src, device="cpu")
    ref = st.encode(CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    enc = tok(CHECK_TEXTS, padding=True, truncation=True, max_length=256, return_tensors="np")
    feed = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
    check = {}
    for name, path in (("fp32", fp32), ("q8", q8), ("int8", int8)):
        sess = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        (hidden,) = sess.run(["last_hidden_state"], feed)
        v = mean_pool_norm(hidden, enc["attention_mask"])
        cos = (v * ref).sum(1)
        check[name] = {"min_cosine_vs_sentence_transformers": float(cos.min()), "cosines": [float(c) for c in cos]}
        print(f"{name}: cosine vs sentence-transformers min {cos.min():.7f} ({', '.join(f'{c:.5f}' for c in cos)})", file=sys.stderr)

    meta = {
        "source": args.src,
        "opset": args.opset,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
        "files": {
            os.path.relpath(p, args.out): {"bytes": os.path.getsize(p), "sha256": sha256(p)} for p in (fp32, q8, int8)
        },
        "check": check,
    }
    with open(os.path.join(args.out, "export.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    if check["fp32"]["min_cosine_vs_sentence_transformers"] < 0.9999:
        sys.exit("fp32 export does not match sentence-transformers")


if __name__ == "__main__":
    main()
