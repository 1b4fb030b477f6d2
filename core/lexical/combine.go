package lexical

import (
	"cmp"
	"slices"
)

// DenseWeight is the dense ranking's weight in Combine, the BM25 ranking's being 1 −
// DenseWeight. 0.5 gave the best mean NDCG@10 over the seven shared collections, and was
// also the weight chosen for each of them on the other six (results/modes.md, made by
// sbmoe-benchsite modes).
const DenseWeight = 0.5

// FusionDepth is how many documents of each ranking hybrid search fuses.
const FusionDepth = 100

// Ranked is a document of a ranking: its position in the index and its score.
type Ranked struct {
	Index int
	Score float32
}

// Combine fuses a dense and a BM25 ranking of the same documents, each best first, by a
// convex combination of their scores, each min-max normalised over its own list:
//
//	score(d) = DenseWeight·(s_dense(d) − min)/(max − min) + (1 − DenseWeight)·(s_bm25(d) − min)/(max − min)
//
// where a document missing from a list scores 0 there, and a list whose scores are all
// equal counts 1 for each of its documents. It returns the k best, ties broken by dense
// order, then BM25 order. Unlike reciprocal rank fusion (Fuse) it keeps how far apart the
// scores are, which on the shared collections ranks better (results/modes.md).
func Combine(k int, dense, lex []Ranked) []FusedHit {
	score := map[int]float64{}
	first := map[int]int{}
	order := 0
	add := func(list []Ranked, w float64) {
		if len(list) == 0 {
			return
		}
		lo, hi := list[len(list)-1].Score, list[0].Score
		for _, r := range list {
			v := 1.0
			if hi > lo {
				v = float64(r.Score-lo) / float64(hi-lo)
			}
			score[r.Index] += w * v
			if _, ok := first[r.Index]; !ok {
				first[r.Index] = order
				order++
			}
		}
	}
	add(dense, DenseWeight)
	add(lex, 1-DenseWeight)
	hits := make([]FusedHit, 0, len(score))
	for d, s := range score {
		hits = append(hits, FusedHit{Index: d, Score: s})
	}
	slices.SortFunc(hits, func(a, b FusedHit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(first[a.Index], first[b.Index])
	})
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits
}
