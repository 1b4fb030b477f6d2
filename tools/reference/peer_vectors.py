#!/usr/bin/env python3
"""sentence-transformers vectors for the fixed texts of tools/browser/bench-peer.mjs.

Reads {"texts": [...]} (bench-peer writes it to out/browser-peer/fixed.json) and writes
{"model", "versions", "max_seq_length", "vectors"} with all-MiniLM-L6-v2 encoded by
sentence-transformers itself (its own pipeline: max_seq_length 256, mean pooling, Normalize), so the
browser's vectors can be compared with the reference stack.

Run:  .venv/bin/python tools/reference/peer_vectors.py out/browser-peer/fixed.json out/browser-peer/reference.json
"""

import json
import sys

import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    model_dir = sys.argv[3] if len(sys.argv) > 3 else "models/all-MiniLM-L6-v2"
    texts = json.load(open(src, encoding="utf-8"))["texts"]
    st = SentenceTransformer(model_dir, device="cpu")
    vecs = st.encode(texts, batch_size=1, normalize_embeddings=True, convert_to_numpy=True)
    out = {
        "model": model_dir,
        "versions": {"sentence_transformers": sentence_transformers.__version__, "torch": torch.__version__},
        "max_seq_length": st.max_seq_length,
        "texts": texts,
        "vectors": [[float(x) for x in v] for v in vecs],
    }
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(out, f)
        f.write("\n")


if __name__ == "__main__":
    main()
