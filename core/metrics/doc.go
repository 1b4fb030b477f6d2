// Package metrics evaluates rankings against relevance judgements with the
// semantics of trec_eval as exposed by pytrec_eval (pytrec_eval-terrier
// 0.5.11), which is what BEIR reports. Golden tests hold every per-query value
// and mean to 1e-6 of pytrec_eval's.
//
// Measures use trec_eval's names with the cutoff appended: ndcg_cut_K,
// recall_K, map_cut_K, map, P_K, recip_rank, plus mrr_cut_K, which trec_eval
// lacks (see below). Parse turns names such as "ndcg@10" into these.
//
// What trec_eval does, and so what this package does:
//
//   - Ranking. Documents are ordered by score, highest first; equal scores
//     are ordered by doc id in descending byte order ("9" before "100" before
//     "10"). pytrec_eval's trec_eval stores scores as 32-bit floats, so two
//     scores equal after rounding to float32 tie; scores here are compared as
//     float32 too. Every retrieved document counts, however deep.
//   - Relevance. A document is relevant when its judged relevance is >= 1;
//     unjudged documents are non-relevant. nDCG's gain is the relevance
//     itself, with gains <= 0 contributing nothing, the discount is
//     log2(rank+1), and the ideal ranking is the qrels' positive relevances
//     sorted in decreasing order. A query with no relevant document scores 0
//     on every measure.
//   - Cutoffs. P_K divides by K even when fewer than K documents were
//     retrieved; recall_K divides by the number of relevant documents;
//     map_cut_K sums precision at the relevant ranks <= K and divides by the
//     number of relevant documents, not by min(K, relevant).
//   - Queries. A query is evaluated when it is in both the qrels and the run
//     (an empty ranking counts as present and scores 0). Queries only in the
//     run are ignored; queries only in the qrels get no value, as in
//     pytrec_eval's output. The mean is over the evaluated queries, which is
//     how BEIR averages pytrec_eval's per-query values.
//
// mrr_cut_K is the reciprocal rank of the first relevant document if it is
// ranked within the top K, else 0: trec_eval's recip_rank computed on the run
// cut at depth K. Per query it equals ranx's "mrr@k" and BEIR's "MRR@k"
// (relevance > 0) whenever the top K holds no ties, since those two break
// ties differently (ranx by an unstable sort, BEIR by run insertion order).
// Their means differ from ours when the run lacks some qrels queries: ranx
// and BEIR's mrr divide by the number of qrels queries, counting missing ones
// as 0.
package metrics
