package headtrain

import (
	"math"

	"github.com/sbmoe/sbmoe/core/f32"
)

// ranker ranks query vectors against every document of a collection by exact dot
// product, as the index searches: the trainer mines hard negatives and scores its
// held-out queries with it. Documents are held transposed, (H,N), so that a chunk of
// queries is scored by one matrix product.
type ranker struct {
	n, dim int
	dT     []float32 // (H,N)
	scores []float32 // (rankChunk,N)
}

// rankChunk is how many queries one matrix product scores.
const rankChunk = 64

// setDocs copies docs (N vectors of dim) in, replacing what the ranker held.
func (r *ranker) setDocs(docs [][]float32, dim int) {
	r.n, r.dim = len(docs), dim
	r.dT = grow(r.dT, dim*r.n)
	for j, d := range docs {
		for k, v := range d[:dim] {
			r.dT[k*r.n+j] = v
		}
	}
}

// top writes into out[i] the k best-ranked documents of query i of qs (rows vectors,
// (rows,H) flat), best first, leaving out those skip(i, doc) names. Ties go to the
// lower-numbered document, so the ranking depends on the scores alone.
func (r *ranker) top(qs []float32, rows, k int, skip func(i, doc int) bool, out [][]int) {
	for lo := 0; lo < rows; lo += rankChunk {
		m := min(rankChunk, rows-lo)
		s := grow(r.scores, m*r.n)
		r.scores = s
		clear(s)
		f32.Gemm(m, r.n, r.dim, qs[lo*r.dim:(lo+m)*r.dim], r.dim, r.dT, r.n, s, r.n)
		for i := range m {
			out[lo+i] = topK(s[i*r.n:(i+1)*r.n], k, func(doc int) bool { return skip != nil && skip(lo+i, doc) }, out[lo+i][:0])
		}
	}
}

// topK appends to dst the indices of the k largest scores, largest first, ties to the
// lower index, leaving out the indices skip names.
func topK(scores []float32, k int, skip func(int) bool, dst []int) []int {
	if k <= 0 {
		return dst
	}
	for j, v := range scores {
		if len(dst) == k && !(v > scores[dst[k-1]]) {
			continue
		}
		if skip(j) {
			continue
		}
		// Insert after every kept index whose score is at least v.
		at := len(dst)
		for at > 0 && scores[dst[at-1]] < v {
			at--
		}
		if len(dst) < k {
			dst = append(dst, 0)
		}
		copy(dst[at+1:], dst[at:len(dst)-1])
		dst[at] = j
	}
	return dst
}

// ndcgAt10 is NDCG@10 of one ranking with binary relevance: the documents in relevant are
// relevant (gain 1), every other is not, as trec_eval's ndcg_cut_10 scores binary qrels.
func ndcgAt10(ranked []int, relevant []int) float64 {
	var dcg, ideal float64
	for r, d := range ranked[:min(10, len(ranked))] {
		for _, p := range relevant {
			if p == d {
				dcg += 1 / math.Log2(float64(r+2))
				break
			}
		}
	}
	for r := range min(10, len(relevant)) {
		ideal += 1 / math.Log2(float64(r+2))
	}
	if ideal == 0 {
		return 0
	}
	return dcg / ideal
}
