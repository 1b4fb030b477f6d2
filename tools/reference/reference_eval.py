#!/usr/bin/env python3
"""Reference retrieval evaluation with the real stack: sentence-transformers
encodes, numpy searches exactly, pytrec_eval scores.

For each BEIR-layout collection <data>/<name> and a split (default "test"):

  corpus text   (title + " " + text).strip(), BEIR's convention: beir 2.2.0
                beir/retrieval/models/util.py extract_corpus_sentences with
                sep=" " (SentenceBERT's default), used by encode_corpus. The
                strip() matters for collections whose title is "" (medline, npl)
                and for docs whose text is "" (half of cacm).
  queries       the queries with judgements in qrels/<split>.tsv, text as is
                (BEIR's encode_queries does not strip), in queries.jsonl order.
  encoding      SentenceTransformer(model, device="cpu").encode(batch_size=32,
                convert_to_numpy=True), fp32, the model's own pipeline
                (all-MiniLM-L6-v2: max_seq_length 256, mean pooling, normalize).
  search        exact: the full query x doc dot-product matrix in float32, the
                top 1000 docs per query. Ties are ordered as trec_eval orders
                them (score descending, then doc id descending as a byte
                string) so the truncated run and the evaluation agree.
  metrics       pytrec_eval on the 1000-deep run: ndcg_cut.10, recall.100,
                map_cut.100, P.1; and recip_rank on the run truncated to its
                first 10 docs (= MRR@10, as beir's custom mrr). Each is the
                mean over the queries pytrec_eval returns (the judged ones).
                Unlike beir's EvaluateRetrieval.evaluate, a doc whose id equals
                the query id is NOT removed (beir's ignore_identical_ids is
                meant for quora/arguana; the classic sets number both from 1);
                the header counts such pairs in the run.

Outputs results/reference/<name>.json (header + metrics + per-query values)
and results/reference/<name>.run.gz (TREC run, top 100 per query; every
metric above depends only on the first 100 ranks, so the file reproduces them).

Run:  .venv/bin/python tools/reference/reference_eval.py scifact [cisi ...]
"""

import argparse
import csv
import gzip
import io
import json
import os
import sys
import time
from importlib.metadata import version as dist_version

import numpy as np
import pytrec_eval
import sentence_transformers
import tokenizers
import torch
import transformers
from sentence_transformers import SentenceTransformer
from refio import atomic_write, read_jsonl  # noqa: E402  shared helpers, this folder

GENERATOR = "tools/reference/reference_eval.py"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
TOP_K = 1000
RUN_DEPTH = 100
RUN_TAG = "sbmoe-reference"

# Reported name -> pytrec_eval measure (and its key in pytrec_eval's output).
MEASURES = {
    "ndcg@10": ("ndcg_cut.10", "ndcg_cut_10"),
    "recall@100": ("recall.100", "recall_100"),
    "map@100": ("map_cut.100", "map_cut_100"),
    "p@1": ("P.1", "P_1"),
}
MRR_DEPTH = 10


def read_qrels(path):
    qrels = {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader)
        if header != ["query-id", "corpus-id", "score"]:
            raise ValueError(f"{path}: unexpected header {header}")
        for qid, docid, score in reader:
            qrels.setdefault(qid, {})[docid] = int(score)
    return qrels


def rank(scores, doc_ids, tie_rank, k):
    """Indices of the top k docs: score descending, then doc id descending."""
    k = min(k, len(doc_ids))
    # A generous partition first, then an exact lexsort of the candidates, so
    # that ties straddling the cut are still ordered by doc id.
    cand = np.argpartition(-scores, k - 1)[:k] if k < len(doc_ids) else np.arange(len(doc_ids))
    cutoff = scores[cand].min()
    cand = np.nonzero(scores >= cutoff)[0]
    order = np.lexsort((-tie_rank[cand], -scores[cand]))
    return cand[order][:k]


def evaluate(qrels, run):
    """Mean and per-query values of the reported measures; run's dicts are in rank order."""
    deep = pytrec_eval.RelevanceEvaluator(qrels, {m for m, _ in MEASURES.values()}).evaluate(run)
    top10 = {qid: dict(list(docs.items())[:MRR_DEPTH]) for qid, docs in run.items()}
    shallow = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    per_query = {}
    for qid in sorted(deep):
        vals = {name: deep[qid][key] for name, (_, key) in MEASURES.items()}
        vals["mrr@10"] = shallow[qid]["recip_rank"]
        per_query[qid] = vals
    names = list(MEASURES) + ["mrr@10"]
    means = {n: float(np.mean([v[n] for v in per_query.values()])) for n in names}
    return means, per_query


def run_one(model, data_dir, name, split, out_dir, batch_size):
    start = time.time()
    folder = os.path.join(data_dir, name)
    corpus = read_jsonl(os.path.join(folder, "corpus.jsonl"))
    queries = read_jsonl(os.path.join(folder, "queries.jsonl"))
    qrels = read_qrels(os.path.join(folder, "qrels", f"{split}.tsv"))

    doc_ids = [d["_id"] for d in corpus]
    doc_texts = [(d.get("title", "") + " " + d["text"]).strip() for d in corpus]
    judged = [q for q in queries if q["_id"] in qrels]
    query_ids = [q["_id"] for q in judged]

    t0 = time.time()
    doc_emb = model.encode(doc_texts, batch_size=batch_size, convert_to_numpy=True,
                           show_progress_bar=False)
    q_emb = model.encode([q["text"] for q in judged], batch_size=batch_size,
                         convert_to_numpy=True, show_progress_bar=False)
    encode_seconds = time.time() - t0
    assert doc_emb.dtype == np.float32 and q_emb.dtype == np.float32

    scores = q_emb @ doc_emb.T
    # Rank of each doc id in byte order, for trec_eval's tie order.
    by_bytes = sorted(range(len(doc_ids)), key=lambda i: doc_ids[i].encode())
    tie_rank = np.empty(len(doc_ids), dtype=np.int64)
    tie_rank[by_bytes] = np.arange(len(doc_ids))

    run = {}
    lines = []
    identical = 0
    for qi, qid in enumerate(query_ids):
        top = rank(scores[qi], doc_ids, tie_rank, TOP_K)
        run[qid] = {doc_ids[i]: float(scores[qi, i]) for i in top}
        identical += sum(doc_ids[i] == qid for i in top)
        for r, i in enumerate(top[:RUN_DEPTH], start=1):
            lines.append(f"{qid} Q0 {doc_ids[i]} {r} {float(scores[qi, i]):.9g} {RUN_TAG}\n")

    means, per_query = evaluate(qrels, run)
    # The 100-deep file must reproduce every metric (all cut at <= 100 ranks).
    short = {q: dict(list(d.items())[:RUN_DEPTH]) for q, d in run.items()}
    check, _ = evaluate(qrels, short)
    assert all(abs(check[k] - means[k]) < 1e-12 for k in means), (check, means)

    header = {
        "generator": GENERATOR,
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "pytrec_eval": "pytrec_eval-terrier " + dist_version("pytrec_eval-terrier"),
            "numpy": np.__version__,
        },
        "dataset": name,
        "split": split,
        "model": MODEL_NAME,
        "max_seq_length": model.max_seq_length,
        "batch_size": batch_size,
        "threads": torch.get_num_threads(),
        "dtype": "float32",
        "doc_count": len(doc_ids),
        "query_count": len(query_ids),
        "evaluated_query_count": len(per_query),
        "corpus_text": 'BEIR: (title + " " + text).strip()',
        "score": "dot",
        "top_k": TOP_K,
        "run_depth": RUN_DEPTH,
        "tie_break": "score descending, then doc id descending (byte order), as trec_eval",
        "identical_id_pairs_in_run": identical,
        "encode_seconds": round(encode_seconds, 3),
        "wall_seconds": round(time.time() - start, 3),
    }
    result = {
        "header": header,
        "measures": {n: m for n, (m, _) in MEASURES.items()} | {"mrr@10": "recip_rank on the run cut to 10 docs"},
        "metrics": means,
        "per_query": per_query,
    }
    os.makedirs(out_dir, exist_ok=True)
    atomic_write(os.path.join(out_dir, f"{name}.json"), (json.dumps(result, indent=1) + "\n").encode())
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write("".join(lines).encode("utf-8"))
    atomic_write(os.path.join(out_dir, f"{name}.run.gz"), buf.getvalue())
    print(json.dumps({"dataset": name, **{k: round(v, 5) for k, v in means.items()},
                      "docs": len(doc_ids), "queries": len(query_ids),
                      "wall_seconds": header["wall_seconds"]}))


def main(argv):
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="+", help="collection folder names under --data")
    p.add_argument("--data", default=os.path.normpath(os.path.join(root, "..", "shared", "data")))
    p.add_argument("--split", default="test")
    p.add_argument("--model", default=os.path.join(root, "models", "all-MiniLM-L6-v2"))
    p.add_argument("--out", default=os.path.join(root, "results", "reference"))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = SentenceTransformer(args.model, device="cpu")
    model.eval()
    for name in args.names:
        run_one(model, args.data, name, args.split, args.out, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
