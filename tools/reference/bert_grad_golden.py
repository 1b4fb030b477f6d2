#!/usr/bin/env python3
"""Write the golden BERT gradients that the Go backward pass is checked against.

Output (path relative to the repository root):

  testdata/bertgrad/golden.json.gz
      The tiny random BertModel of testdata/embeddings/tiny run by Hugging Face
      transformers in fp32, eval mode (no dropout), on 3 texts of different
      lengths as one padded batch with an attention mask. The last hidden
      states are mean-pooled over each text's real tokens (as
      sentence-transformers does), and the loss is L = sum(pooled * R) for a
      fixed R drawn from torch.Generator seed 42. The file holds the token ids,
      R, the pooled vectors, the loss, the gradient of L with respect to every
      parameter the encoder uses (the unused pooler is left out) and with
      respect to the input embeddings (word + position + token type, before the
      embedding layer norm).

Run:  .venv/bin/python tools/reference/bert_grad_golden.py
"""

import argparse
import base64
import gzip
import json
import os
import sys

import numpy as np
import tokenizers
import torch
import transformers
from refio import atomic_write  # noqa: E402  shared helpers, this folder

GENERATOR = "tools/reference/bert_grad_golden.py"
SEED = 42
# Three lengths (with [CLS] and [SEP]) so that padding is exercised twice.
TEXTS = [
    "dense retrieval with a small encoder",
    "hi",
    "the quick brown fox jumps over the lazy dog, then sleeps in the sun all afternoon",
]


def versions():
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "numpy": np.__version__,
    }


def floats(t):
    """Base64 of the tensor's values as little-endian float32, row-major."""
    return base64.b64encode(t.detach().contiguous().numpy().astype("<f4").tobytes()).decode()


def main(argv):
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(root, "testdata", "embeddings", "tiny"))
    p.add_argument("--out", default=os.path.join(root, "testdata", "bertgrad"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)

    tok = transformers.AutoTokenizer.from_pretrained(args.model)
    bert = transformers.BertModel.from_pretrained(args.model, attn_implementation="eager").eval()
    bert.float()
    enc = tok(TEXTS, padding=True, return_tensors="pt")
    mask = enc["attention_mask"].float()
    lengths = mask.sum(dim=1).long().tolist()
    assert len(set(lengths)) == len(TEXTS), f"texts should have different lengths: {lengths}"

    # Capture the input embeddings (before the embedding LayerNorm) to report their gradient.
    captured = {}

    def keep_input(module, inputs):
        inputs[0].retain_grad()
        captured["emb"] = inputs[0]

    hook = bert.embeddings.LayerNorm.register_forward_pre_hook(keep_input)
    out = bert(**enc).last_hidden_state
    hook.remove()
    pooled = (out * mask.unsqueeze(-1)).sum(dim=1) / mask.sum(dim=1, keepdim=True)
    gen = torch.Generator().manual_seed(SEED)
    r = torch.randn(pooled.shape, generator=gen, dtype=torch.float32)
    loss = (pooled * r).sum()
    loss.backward()

    grads = []
    for name, param in bert.named_parameters():
        if name.startswith("pooler."):
            continue
        g = param.grad
        assert g is not None, f"{name} has no gradient"
        grads.append({"name": name, "shape": list(g.shape), "max_abs": float(g.abs().max()), "grad": floats(g)})
    emb = captured["emb"].grad
    golden = {
        "header": {
            "generator": GENERATOR,
            "versions": versions(),
            "model": "testdata/embeddings/tiny (transformers BertModel, eval mode, attn_implementation=eager)",
            "dtype": "float32",
            "pooling": "mean over each text's real tokens (attention mask), no normalisation",
            "loss": "sum(pooled * R), R = torch.randn(pooled.shape, generator=manual_seed(42))",
            "encoding": "base64 of little-endian float32, row-major",
        },
        "texts": TEXTS,
        "token_ids": [ids[:n] for ids, n in zip(enc["input_ids"].tolist(), lengths)],
        "r": floats(r),
        "pooled": floats(pooled),
        "loss": float(loss.detach()),
        "grads": grads,
        # d loss / d (word + position + token type embedding) of each real token, sequences back to back.
        "input_embeddings_grad": floats(torch.cat([emb[s, :n] for s, n in enumerate(lengths)])),
    }
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "golden.json.gz")
    atomic_write(path, gzip.compress(json.dumps(golden).encode(), mtime=0))
    print(f"wrote {path}: {os.path.getsize(path)} bytes, loss {float(loss.detach()):.6g}, lengths {lengths}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
