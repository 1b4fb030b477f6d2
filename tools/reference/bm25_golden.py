"""Reference BM25 scores for core/lexical, written by bm25s (method "lucene").

Writes testdata/lexical/scifact_bm25.json.gz: the analysed terms of some SciFact texts and,
for every SciFact test query, the ten best documents with their scores, by bm25s
(k1 = 1.2, b = 0.75, Lucene's English stop words, PyStemmer's Snowball English stemmer,
bm25s's default token pattern), over the whole SciFact corpus (title + " " + text).

    .venv/bin/python tools/reference/bm25_golden.py
"""
import gzip
import json
import os
import re
import sys

import bm25s
import Stemmer

sys.path.insert(0, os.path.dirname(__file__))
from refio import atomic_write, read_jsonl, doc_text  # noqa: E402

DATA = os.path.join("..", "shared", "data", "scifact")
OUT = os.path.join("testdata", "lexical", "scifact_bm25.json.gz")
STEMS = os.path.join("testdata", "lexical", "stems.json.gz")
COLLECTIONS = ["scifact", "cisi", "medline", "cacm", "npl", "lisa", "adi"]
LUCENE_STOP = ("a an and are as at be but by for if in into is it no not of on or such that the "
               "their then there these they this to was will with").split()


def main():
    corpus = list(read_jsonl(os.path.join(DATA, "corpus.jsonl")))
    queries = {q["_id"]: q["text"] for q in read_jsonl(os.path.join(DATA, "queries.jsonl"))}
    test = []
    with open(os.path.join(DATA, "qrels", "test.tsv")) as f:
        next(f)
        for line in f:
            qid = line.split("\t")[0]
            if qid not in test:
                test.append(qid)
    stemmer = Stemmer.Stemmer("english")
    texts = [doc_text(d) for d in corpus]
    tokens = bm25s.tokenize(texts, stopwords=LUCENE_STOP, stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    retriever.index(tokens, show_progress=False)
    inv = {i: t for t, i in tokens.vocab.items()}
    samples = [texts[i] for i in range(0, len(texts), 517)] + [queries[q] for q in test[:20]] + [
        "İstanbul's naïve café — CO2 levels, p<0.05; x_y z", "The THE the a-b ab 12 1 ß straße"]
    analysed = []
    for s in samples:
        t = bm25s.tokenize([s], stopwords=LUCENE_STOP, stemmer=stemmer, show_progress=False, return_ids=False)[0]
        analysed.append({"text": s, "terms": t})
    out = []
    for qid in test:
        qt = bm25s.tokenize([queries[qid]], stopwords=LUCENE_STOP, stemmer=stemmer, show_progress=False, return_ids=False)[0]
        qt = [t for t in qt if t in tokens.vocab]
        if not qt:
            out.append({"id": qid, "text": queries[qid], "top": []})
            continue
        scores = retriever.get_scores(qt)
        order = sorted(range(len(corpus)), key=lambda d: (-float(scores[d]), d))[:10]
        out.append({"id": qid, "text": queries[qid],
                    "top": [[corpus[d]["_id"], float(scores[d])] for d in order if scores[d] > 0]})
    header = {"generator": "tools/reference/bm25_golden.py", "versions": {"bm25s": bm25s.__version__,
           "PyStemmer": Stemmer.version()}, "k1": 1.2, "b": 0.75, "documents": len(corpus)}
    doc = {"header": header, "analysed": analysed, "queries": out}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    atomic_write(OUT, gzip.compress(json.dumps(doc, ensure_ascii=False).encode(), mtime=0))
    print(f"wrote {OUT}: {len(out)} queries, {len(analysed)} analysed texts")

    # Every word (bm25s's token pattern, lower-cased) of every shared collection, stemmed.
    words = set()
    pattern = re.compile(r"(?u)\b\w\w+\b")
    for name in COLLECTIONS:
        d = os.path.join("..", "shared", "data", name)
        for d_ in read_jsonl(os.path.join(d, "corpus.jsonl")):
            words.update(pattern.findall(doc_text(d_).lower()))
        for q in read_jsonl(os.path.join(d, "queries.jsonl")):
            words.update(pattern.findall(q["text"].lower()))
    words = sorted(words)
    stems = {"header": header, "words": words, "stems": stemmer.stemWords(words)}
    atomic_write(STEMS, gzip.compress(json.dumps(stems, ensure_ascii=False).encode(), mtime=0))
    print(f"wrote {STEMS}: {len(words)} words")


if __name__ == "__main__":
    main()
