package headtrain

import (
	"fmt"
	"math"

	"github.com/sbmoe/sbmoe/core/f32"
	"github.com/sbmoe/sbmoe/core/train"
)

// contrastive is InfoNCE over the batch's positives and mined hard negatives, with the
// false negatives masked: query i scores every document row of the batch, its positive is
// row i, and a row holding another of query i's positives (a document two queries of the
// batch share, or a mined negative that is another query's positive) is left out of its
// softmax rather than pushed away.
//
//	S = Q·Dᵀ / τ                                  Q is (B,H), D is (N,H), N ≥ B; S is (B,N)
//	loss = (1/B) Σ_i ( logsumexp_{j ∉ M_i} S_ij − S_ii )    M_i: rows masked for query i
//
// Like train.InfoNCE it keeps one batch between Forward and Backward and reuses its buffers.
type contrastive struct {
	temperature float32

	b, n, dim int
	q, d      []float32 // the last Forward's inputs, read again by Backward
	dT        []float32 // Dᵀ, (H,N)
	probs     []float32 // softmax of S by row over the unmasked rows, (B,N)
	dS, dST   []float32 // dloss/dS (B,N) and its transpose (N,B)
}

// forward computes the loss of b queries q (b,H) against n document rows d (n,H), row i
// being query i's positive; masked(i, j) says whether row j ≠ i is left out for query i.
// It keeps q and d, which must not change before backward, and returns the loss and how
// many queries scored their positive above every unmasked row.
func (l *contrastive) forward(q, d []float32, b, n, dim int, masked func(i, j int) bool) (float64, int, error) {
	if b <= 0 || n < b || len(q) != b*dim || len(d) != n*dim {
		panic(fmt.Sprintf("headtrain: contrastive.forward: b=%d n=%d dim=%d with %d query and %d document values", b, n, dim, len(q), len(d)))
	}
	l.b, l.n, l.dim = b, n, dim
	l.dT, l.probs = grow(l.dT, dim*n), grow(l.probs, b*n)
	l.dS, l.dST = grow(l.dS, b*n), grow(l.dST, n*b)
	l.q, l.d = nil, nil
	for j := range n {
		for k := range dim {
			l.dT[k*n+j] = d[j*dim+k]
		}
	}
	s := l.probs // scores first, probabilities after
	clear(s)
	f32.Gemm(b, n, dim, q, dim, l.dT, n, s, n)

	var loss float64
	correct := 0
	for i := range b {
		row := s[i*n : (i+1)*n]
		best := i
		for j := range row {
			row[j] /= l.temperature
			if v := float64(row[j]); math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, 0, fmt.Errorf("score of query %d against document row %d is %v: %w", i, j, v, train.ErrNonFinite)
			}
			if j != i && masked(i, j) {
				row[j] = float32(math.Inf(-1))
			} else if row[j] > row[best] {
				best = j
			}
		}
		maxScore := float64(row[best])
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - maxScore) // exp(−Inf) = 0 for the masked rows
		}
		lse := maxScore + math.Log(sum)
		loss += lse - float64(row[i])
		if best == i {
			correct++
		}
		for j, v := range row {
			row[j] = float32(math.Exp(float64(v) - lse))
		}
	}
	l.q, l.d = q, d
	return loss / float64(b), correct, nil
}

// backward adds the gradients of the last forward's loss to dq (b,H) and dd (n,H):
//
//	dS = (P − I) / B        dQ += dS·D / τ        dD += dSᵀ·Q / τ
//
// with P zero on the masked rows. dd may be nil when the documents take no gradient.
func (l *contrastive) backward(dq, dd []float32) {
	b, n, dim := l.b, l.n, l.dim
	if l.q == nil || len(dq) != b*dim || (dd != nil && len(dd) != n*dim) {
		panic(fmt.Sprintf("headtrain: contrastive.backward: %d and %d gradient values after a forward of b=%d n=%d dim=%d", len(dq), len(dd), b, n, dim))
	}
	scale := 1 / (float32(b) * l.temperature)
	for i := range b {
		for j := range n {
			g := l.probs[i*n+j]
			if i == j {
				g--
			}
			g *= scale
			l.dS[i*n+j] = g
			l.dST[j*b+i] = g
		}
	}
	f32.Gemm(b, dim, n, l.dS, n, l.d, dim, dq, dim)
	if dd != nil {
		f32.Gemm(n, dim, b, l.dST, b, l.q, dim, dd, dim)
	}
}
