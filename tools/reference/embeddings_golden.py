#!/usr/bin/env python3
"""Write the golden embeddings that the Go encoder is checked against.

Outputs (paths relative to the repository root):

  testdata/embeddings/golden.json.gz
      all-MiniLM-L6-v2 run by sentence-transformers itself, two ways:
        st_default  the model's own pipeline as shipped (max_seq_length 256,
                    mean pooling, Normalize);
        st_512_raw  the same Transformer and Pooling modules with max_seq_length
                    512 and no Normalize, so the long-sequence path and the
                    un-normalised mean-pooled vector are checked too.
      Texts: a deterministic sample (seed 42) of queries and documents from
      every collection under ../shared/data, edge cases, and texts of at
      least 512 tokens.

  testdata/embeddings/tiny/
      a tiny random BertModel (safetensors + pytorch_model.bin), its small
      WordPiece vocabulary, a sentence-transformers CLS-pooling config and
      golden.json with its hidden states and pooled outputs.

Run:  .venv/bin/python tools/reference/embeddings_golden.py
"""

import argparse
import base64
import gzip
import io
import json
import os
import random
import sys

import numpy as np
import sentence_transformers
import tokenizers
import torch
import transformers
from sentence_transformers import SentenceTransformer
from refio import atomic_write, read_jsonl, doc_text  # noqa: E402  shared helpers, this folder

GENERATOR = "tools/reference/embeddings_golden.py"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
COLLECTIONS = ["scifact", "cisi", "medline", "cacm", "npl", "lisa", "adi"]
SEED = 42
QUERIES_PER_COLLECTION = 15
DOCS_PER_COLLECTION = 15
LONG_TEXTS = 24
LONG_MIN_TOKENS = 512
BATCH_SIZE = 32

EDGE_CASES = [
    ("edge/empty", ""),
    ("edge/one-char", "a"),
    ("edge/one-punct", "?"),
    ("edge/whitespace-only", " \t\n  "),
    ("edge/leading-trailing-space", "  padded text with spaces  "),
    ("edge/cjk", "信息检索是从大规模非结构化数据中找出满足用户需求的资料的过程。"),
    ("edge/japanese", "東京は日本の首都です。カタカナとひらがな"),
    ("edge/emoji", "I love retrieval 😀🚀 🇫🇷 👩‍👩‍👧"),
    ("edge/accents", "Café naïve résumé Ångström façade Zürich coöperate"),
    ("edge/accents-nfd", "Cafe\u0301 nai\u0308ve"),
    ("edge/mixed-case-punct", "Hello, WORLD!!! (e.g. U.S.A.) -- co-operate; x=y+1"),
    ("edge/numbers", "3.14159 2,718 1e-10 0xFF 42%"),
    ("edge/control-chars", "tab\there\u0000null\u200bzero-width\u00adsoft-hyphen"),
    ("edge/long-word", "supercalifragilisticexpialidocious" * 4),
    ("edge/greek-cyrillic", "Αλφα βήτα γάμμα — Привет мир"),
    ("edge/arabic", "استرجاع المعلومات"),
]


def versions():
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "numpy": np.__version__,
    }


def f32_b64(vec):
    """Little-endian float32 bytes, base64 (std alphabet, padded)."""
    return base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode("ascii")


def sample_texts(data_dir, tokenizer):
    """Return [(source, text)]: sampled queries/docs, edge cases, long texts."""
    rng = random.Random(SEED)
    out = []
    scifact_docs = None
    for name in COLLECTIONS:
        queries = read_jsonl(os.path.join(data_dir, name, "queries.jsonl"))
        corpus = read_jsonl(os.path.join(data_dir, name, "corpus.jsonl"))
        if name == "scifact":
            scifact_docs = corpus
        for q in rng.sample(queries, QUERIES_PER_COLLECTION):
            out.append((f"{name}/query/{q['_id']}", q["text"]))
        for d in rng.sample(corpus, DOCS_PER_COLLECTION):
            out.append((f"{name}/doc/{d['_id']}", doc_text(d)))
    out.extend(EDGE_CASES)

    # Long texts: the longest scifact documents (by untruncated token count),
    # topped up with concatenations of sampled documents if there are too few.
    lengths = [(len(tokenizer(doc_text(d))["input_ids"]), i) for i, d in enumerate(scifact_docs)]
    long_docs = sorted((-n, i) for n, i in lengths if n >= LONG_MIN_TOKENS)
    picked = [i for _, i in long_docs[: LONG_TEXTS // 2]]
    for i in picked:
        out.append((f"scifact/doc/{scifact_docs[i]['_id']}", doc_text(scifact_docs[i])))
    while len(picked) < LONG_TEXTS:
        parts = rng.sample(scifact_docs, 4)
        text = " ".join(doc_text(d) for d in parts)
        if len(tokenizer(text)["input_ids"]) >= LONG_MIN_TOKENS:
            out.append(("concat/scifact/" + "+".join(d["_id"] for d in parts), text))
            picked.append(-1)
    return out


def encode_set(model, name, max_seq_length, normalize, texts, tokenizer):
    """Encode texts the way sentence-transformers does and record token ids."""
    model.max_seq_length = max_seq_length
    emb = model.encode(
        [t for _, t in texts],
        batch_size=BATCH_SIZE,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    assert emb.dtype == np.float32, emb.dtype
    records = []
    for (source, text), vec in zip(texts, emb):
        features = model.preprocess([text])
        ids = features["input_ids"][0][features["attention_mask"][0].bool()].tolist()
        records.append(
            {
                "source": source,
                "text": text,
                "num_tokens_untruncated": len(tokenizer(text)["input_ids"]),
                "token_ids": ids,
                "embedding": f32_b64(vec),
            }
        )
    return {
        "name": name,
        "max_seq_length": max_seq_length,
        "pooling": "mean",
        "normalize": normalize,
        "records": records,
    }


def write_golden(model_dir, data_dir, out_path):
    torch.manual_seed(SEED)
    model = SentenceTransformer(model_dir, device="cpu")
    model.eval()
    tokenizer = model[0].tokenizer
    texts = sample_texts(data_dir, tokenizer)

    default = encode_set(model, "st_default", model.max_seq_length, True, texts, tokenizer)
    raw_model = SentenceTransformer(modules=[model[0], model[1]], device="cpu")
    raw_model.eval()
    raw = encode_set(raw_model, "st_512_raw", 512, False, texts, tokenizer)

    golden = {
        "header": {
            "generator": GENERATOR,
            "versions": versions(),
            "model": MODEL_NAME,
            "max_seq_length": default["max_seq_length"],
            "dim": int(model.get_embedding_dimension()),
            "seed": SEED,
            "batch_size": BATCH_SIZE,
            "dtype": "float32",
            "embedding_encoding": "base64 of little-endian float32",
            "corpus_text": 'BEIR: (title + " " + text).strip()',
        },
        "sets": [default, raw],
    }
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write(json.dumps(golden, ensure_ascii=False, indent=None).encode("utf-8"))
    atomic_write(out_path, buf.getvalue())
    n_long = sum(r["num_tokens_untruncated"] >= LONG_MIN_TOKENS for r in default["records"])
    print(f"wrote {out_path}: {len(texts)} texts ({n_long} >= {LONG_MIN_TOKENS} tokens), "
          f"{len(buf.getvalue())} bytes", file=sys.stderr)


# Tiny model: random weights, a small slice of MiniLM's WordPiece vocabulary.
TINY_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TINY_VOCAB_SIZE = 1000
TINY_TEXTS = ["hello world", "The cat sat on the mat.", "Information retrieval, 42! unbelievable"]


def tiny_vocab(full):
    """Specials, printable ASCII characters and their ## forms, then the most
    frequent whole words of MiniLM's vocabulary until TINY_VOCAB_SIZE, so that
    WordPiece both matches whole words and splits unknown ones."""
    ascii_chars = [chr(c) for c in range(33, 127)]
    known = set(full)
    vocab = TINY_SPECIALS + [c for c in ascii_chars if c in known]
    vocab += ["##" + c for c in ascii_chars if "##" + c in known]
    first_word = full.index("the")  # whole words start here, most frequent first
    seen = set(vocab)
    for w in full[first_word:]:
        if len(vocab) >= TINY_VOCAB_SIZE:
            break
        if not w.startswith("##") and w not in seen:
            vocab.append(w)
            seen.add(w)
    return vocab


def write_tiny_tokenizer(model_dir, out_dir, vocab):
    """MiniLM's own tokenizer files with the vocabulary swapped for the small one."""
    atomic_write(os.path.join(out_dir, "vocab.txt"), ("\n".join(vocab) + "\n").encode("utf-8"))
    ids = {w: i for i, w in enumerate(vocab)}
    with open(os.path.join(model_dir, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    # MiniLM's file pins truncation/padding to 128; sentence-transformers
    # overrides both at call time, so the tiny copy leaves them unset.
    tj["truncation"] = None
    tj["padding"] = None
    tj["model"]["vocab"] = ids
    for tok in tj["added_tokens"]:
        tok["id"] = ids[tok["content"]]
    for name, special in tj["post_processor"]["special_tokens"].items():
        special["ids"] = [ids[name]]
    atomic_write(os.path.join(out_dir, "tokenizer.json"), json.dumps(tj, indent=1).encode("utf-8"))
    with open(os.path.join(model_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        tc = json.load(f)
    tc["model_max_length"] = 64
    tc.pop("name_or_path", None)
    atomic_write(os.path.join(out_dir, "tokenizer_config.json"), json.dumps(tc, indent=1).encode())
    special_map = {k: tc[k] for k in ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")}
    atomic_write(os.path.join(out_dir, "special_tokens_map.json"), json.dumps(special_map, indent=1).encode())
    return transformers.AutoTokenizer.from_pretrained(out_dir)


def write_tiny(model_dir, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
        full = [line.rstrip("\n") for line in f]
    vocab = tiny_vocab(full)
    tok = write_tiny_tokenizer(model_dir, out_dir, vocab)
    assert tok("hello world")["input_ids"] != [2, 1, 1, 3], "tiny tokenizer lost its vocabulary"

    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        type_vocab_size=2,
        pad_token_id=0,
    )
    # The pooler is kept, unused, as in MiniLM's checkpoint.
    bert = transformers.BertModel(config).eval()
    bert.save_pretrained(out_dir)
    state = {k: v.contiguous().clone() for k, v in bert.state_dict().items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write(os.path.join(out_dir, "pytorch_model.bin"), buf.getvalue())

    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    atomic_write(os.path.join(out_dir, "modules.json"), json.dumps(modules, indent=2).encode())
    atomic_write(os.path.join(out_dir, "sentence_bert_config.json"),
                 json.dumps({"max_seq_length": 64, "do_lower_case": False}, indent=2).encode())
    os.makedirs(os.path.join(out_dir, "1_Pooling"), exist_ok=True)
    pooling = {
        "word_embedding_dimension": 32,
        "pooling_mode_cls_token": True,
        "pooling_mode_mean_tokens": False,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }
    atomic_write(os.path.join(out_dir, "1_Pooling", "config.json"),
                 json.dumps(pooling, indent=2).encode())

    # Reference outputs: plain transformers forward, one text at a time (no padding).
    records = []
    with torch.inference_mode():
        for text in TINY_TEXTS:
            enc = tok(text, return_tensors="pt")
            hidden = bert(**enc).last_hidden_state[0]
            records.append({
                "text": text,
                "token_ids": enc["input_ids"][0].tolist(),
                "last_hidden_state": [[float(x) for x in row] for row in hidden.tolist()],
                "cls_pooled": hidden[0].tolist(),
                "mean_pooled": hidden.mean(dim=0).tolist(),
            })

    # The sentence-transformers pipeline read back from disk must give CLS pooling.
    st = SentenceTransformer(out_dir, device="cpu")
    st_emb = st.encode(TINY_TEXTS, convert_to_numpy=True, batch_size=len(TINY_TEXTS))
    for rec, vec in zip(records, st_emb):
        diff = float(np.abs(np.asarray(rec["cls_pooled"], dtype=np.float32) - vec).max())
        assert diff < 1e-5, f"sentence-transformers CLS pooling differs from transformers: {diff}"
        rec["st_embedding"] = vec.tolist()
    # The .bin copy must hold the same tensors as the safetensors file.
    reloaded = torch.load(os.path.join(out_dir, "pytorch_model.bin"), weights_only=True)
    assert all(torch.equal(reloaded[k], v) for k, v in state.items())

    golden = {
        "header": {
            "generator": GENERATOR,
            "versions": versions(),
            "model": "tiny random BertModel (torch.manual_seed(0))",
            "config": {k: getattr(config, k) for k in (
                "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "max_position_embeddings", "type_vocab_size",
                "layer_norm_eps")},
            "pooling": "cls (sentence-transformers modules.json); mean_pooled given too",
            "dtype": "float32",
        },
        "records": records,
    }
    atomic_write(os.path.join(out_dir, "golden.json"), json.dumps(golden).encode())
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(out_dir) for f in fs)
    print(f"wrote {out_dir}: {total} bytes", file=sys.stderr)


def main(argv):
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(root, "models", "all-MiniLM-L6-v2"))
    p.add_argument("--data", default=os.path.normpath(os.path.join(root, "..", "shared", "data")))
    p.add_argument("--out", default=os.path.join(root, "testdata", "embeddings"))
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    write_golden(args.model, args.data, os.path.join(args.out, "golden.json.gz"))
    write_tiny(args.model, os.path.join(args.out, "tiny"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
