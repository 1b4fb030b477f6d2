#!/usr/bin/env python3
"""Write testdata/metrics/golden.json.gz: runs, qrels and pytrec_eval's values.

core/metrics checks every per-query value and mean against this file to 1e-6.

Usage (from the repository root):
    .venv/bin/python tools/reference/metrics_golden.py [--data ../shared/data]

Cases:
  * random-<seed>: synthetic qrels with graded relevance (0/1/2, and -1 in one
    seed, which trec_eval treats as judged-unjudged), queries without relevant
    documents, queries in the qrels but not in the run and the reverse, empty
    rankings, runs shorter than the cutoffs, and scores drawn so that many tie:
    exactly (coarse grid) and at float32 precision (differences below 2^-24
    relative, which pytrec_eval's float32 scores cannot see). Doc ids mix
    numbers of different lengths and letters so that the descending doc-id
    tie-break differs from numeric order.
  * ties: a hand-made query where every document has the same score.
  * scifact-test: the scifact test qrels with, per query, its relevant
    documents plus 100 random corpus documents, random scores rounded to 0.01.

mrr_cut_K is not a trec_eval measure. Its golden value is derived from
pytrec_eval alone: recip_rank if 1/recip_rank <= K else 0. Where the run has no
ties at all, ranx's mrr@K is computed too and must agree per query (checked
here; the script fails otherwise), because ranx and BEIR break ties their own
way.

Mean = average of the per-query values pytrec_eval returns (BEIR's convention).
"""

import argparse
import warnings
import gzip
import json
import os
import random
import sys
import tempfile

import numpy as np
import pytrec_eval

try:
    import ranx
except ImportError:  # ranx is only a cross-check
    ranx = None

# ranx hashes doc ids to uint64 and warns about the cast; harmless here.
warnings.filterwarnings("ignore", module="ranx")
warnings.filterwarnings("ignore", message=".*unsafe cast.*")

PYTREC_MEASURES = {
    "ndcg_cut.1,3,5,10,20,100,1000",
    "recall.1,5,10,20,100,1000",
    "map_cut.1,10,100,1000",
    "map",
    "P.1,3,5,10,100",
    "recip_rank",
}
MRR_CUTOFFS = [1, 3, 10, 100]


def measure_names():
    names = []
    for m in sorted(PYTREC_MEASURES):
        if "." in m:
            base, cuts = m.split(".")
            names += [f"{base}_{c}" for c in cuts.split(",")]
        else:
            names.append(m)
    return names + [f"mrr_cut_{k}" for k in MRR_CUTOFFS]


def evaluate(qrels, run):
    per_query = pytrec_eval.RelevanceEvaluator(qrels, PYTREC_MEASURES).evaluate(run)
    for values in per_query.values():
        rr = values["recip_rank"]
        first = round(1 / rr) if rr > 0 else None
        for k in MRR_CUTOFFS:
            values[f"mrr_cut_{k}"] = rr if first is not None and first <= k else 0.0
    names = measure_names()
    mean = {m: sum(v[m] for v in per_query.values()) / len(per_query) for m in names}
    return per_query, mean


def has_ties(run):
    for docs in run.values():
        scores = [np.float32(s) for s in docs.values()]
        if len(set(scores)) != len(scores):
            return True
    return False


def check_ranx(name, qrels, run, per_query):
    """Cross-check mrr_cut_K with ranx on tie-free runs."""
    if ranx is None or has_ties(run):
        return False
    qids = sorted(q for q in per_query if run[q] and any(r >= 1 for r in qrels[q].values()))
    if not qids:
        return False
    rq = ranx.Qrels({q: {d: r for d, r in qrels[q].items() if r >= 1} for q in qids})
    rr = ranx.Run({q: run[q] for q in qids})
    for k in MRR_CUTOFFS:
        scores = ranx.evaluate(rq, rr, f"mrr@{k}", return_mean=False, make_comparable=True)
        got = dict(zip(rq.get_query_ids(), scores))
        for q in qids:
            want = per_query[q][f"mrr_cut_{k}"]
            if abs(got[q] - want) > 1e-12:
                sys.exit(f"{name}: query {q}: ranx mrr@{k} = {got[q]}, pytrec_eval-derived = {want}")
    return True


def doc_pool(rng, n):
    """Ids whose descending byte order differs from numeric order."""
    ids = set()
    while len(ids) < n:
        kind = rng.random()
        if kind < 0.6:
            ids.add(str(rng.randint(1, 1200)))
        elif kind < 0.8:
            ids.add("d" + str(rng.randint(0, 99)))
        else:
            ids.add(rng.choice(["A", "B", "a", "b", "Z", "z"]) + str(rng.randint(0, 9)))
    return sorted(ids)


def draw_score(rng, style):
    if style == "continuous":
        return rng.uniform(-5, 5)
    if style == "grid":  # exact ties
        return rng.randint(0, 4) / 4
    # float32 near-ties: distinct as float64, equal as float32
    base = rng.choice([0.1, 0.5, 1.0, 1000.0, -3.25])
    return base * (1 + rng.choice([0.0, 1e-9, 2e-8, -2e-8, 1e-3]))


def random_case(seed):
    rng = random.Random(seed)
    pool = doc_pool(rng, 300)
    qrels, run = {}, {}
    levels = [0, 1, 2, -1] if seed == 3 else [0, 1, 2]
    for qi in range(40):
        qid = f"q{qi}"
        judged = rng.sample(pool, rng.randint(1, 25))
        qrels[qid] = {d: rng.choice(levels) for d in judged}
        if qi % 10 == 0:  # no relevant document at all
            qrels[qid] = {d: 0 for d in judged}
        if all(r < 0 for r in qrels[qid].values()):
            # trec_eval reads stale state for a query whose judgements are all
            # negative; such qrels are outside what we compare.
            qrels[qid][judged[0]] = 0
        if qi % 13 == 5:  # judged but not run
            continue
        depth = rng.choice([0, 1, 2, 5, 9, 30, 150])
        style = rng.choice(["continuous", "grid", "near"]) if seed != 0 else "continuous"
        # Bias the ranking towards judged docs so the measures are not all 0.
        candidates = judged + rng.sample(pool, min(len(pool), depth))
        docs = rng.sample(candidates, min(depth, len(set(candidates))))
        run[qid] = {d: draw_score(rng, style) for d in dict.fromkeys(docs)}
    run["unjudged-query"] = {pool[0]: 1.0}
    return qrels, run


def ties_case():
    docs = ["9", "10", "100", "1000", "a", "B", "b", "Z", "aa"]
    qrels = {"t1": {"10": 1, "b": 2, "aa": 1}, "t2": {"9": 1}}
    run = {"t1": {d: 0.5 for d in docs}, "t2": {d: 0.5 for d in docs}}
    return qrels, run


def scifact_case(data):
    base = os.path.join(data, "scifact")
    qrels = {}
    with open(os.path.join(base, "qrels", "test.tsv"), encoding="utf8") as f:
        next(f)
        for line in f:
            q, d, s = line.rstrip("\n").split("\t")
            qrels.setdefault(q, {})[d] = int(s)
    with gzip.open(os.path.join(base, "corpus.jsonl.gz"), "rt", encoding="utf8") as f:
        corpus_ids = [json.loads(line)["_id"] for line in f if line.strip()]
    rng = random.Random(2024)
    run = {}
    for q in sorted(qrels):
        docs = list(qrels[q]) + rng.sample(corpus_ids, 100)
        run[q] = {d: round(rng.random(), 2) for d in docs}
    return qrels, run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join("..", "shared", "data"))
    parser.add_argument("--out", default=os.path.join("testdata", "metrics", "golden.json.gz"))
    args = parser.parse_args()

    cases = [(f"random-{seed}", *random_case(seed)) for seed in range(6)]
    cases.append(("ties", *ties_case()))
    cases.append(("scifact-test", *scifact_case(args.data)))

    out_cases = []
    for name, qrels, run in cases:
        per_query, mean = evaluate(qrels, run)
        ranx_checked = check_ranx(name, qrels, run, per_query)
        out_cases.append({
            "name": name,
            "ranx_checked": ranx_checked,
            "qrels": qrels,
            "run": run,
            "per_query": per_query,
            "mean": mean,
        })
        print(f"{name}: {len(per_query)} queries evaluated, ranx cross-check: {ranx_checked}")

    golden = {
        "generator": "tools/reference/metrics_golden.py",
        "pytrec_eval": "pytrec_eval-terrier " + package_version("pytrec_eval-terrier"),
        "ranx": package_version("ranx") if ranx is not None else "not installed",
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "measures": measure_names(),
        "cases": out_cases,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(args.out), suffix=".tmp")
    with os.fdopen(fd, "wb") as raw:
        # mtime=0 keeps the file byte-identical across regenerations.
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(json.dumps(golden, sort_keys=False).encode("utf8"))
        raw.flush()
        os.fsync(raw.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, args.out)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


def package_version(name):
    from importlib.metadata import version
    return version(name)


if __name__ == "__main__":
    main()
