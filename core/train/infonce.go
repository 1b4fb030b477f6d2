package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/sbmoe/sbmoe/core/internal/kernel"
)

// DefaultTemperature is τ of the SB-MoE recipe.
const DefaultTemperature = 0.05

// ErrNonFinite is wrapped by the error of a loss that met a NaN or an infinity: the model has
// diverged or its inputs are corrupt. The trainer stops on it, names the batch, and keeps its
// last good checkpoint.
var ErrNonFinite = errors.New("non-finite value")

// InfoNCE is the contrastive loss of SB-MoE training, query→document with in-batch negatives:
// query i's positive is document i and the other B−1 documents of the batch are its negatives.
// As the authors compute it (torch.matmul(q, d.T)/τ, then F.cross_entropy with labels
// arange(B)):
//
//	S = Q·Dᵀ / τ                                Q, D are (B, dim); S is (B, B)
//	loss = (1/B) Σ_i ( logsumexp_j S_ij − S_ii )
//
// Similarity is the raw dot product (no normalisation) and there is no document→query term.
//
// An InfoNCE keeps one batch's softmax between Forward and Backward and reuses its buffers
// from batch to batch; it is not safe for concurrent use.
type InfoNCE struct {
	temperature float32

	b, dim int
	q, d   []float32 // the last Forward's inputs, read again by Backward
	dT     []float32 // Dᵀ, (dim, B): Gemm multiplies row-major operands only
	probs  []float32 // softmax of S by row, (B, B)
	dS     []float32 // dloss/dS, (B, B)
	dST    []float32 // its transpose, (B, B)
	rows   []RowStat
}

// RowStat is what one query contributed to the last Forward.
type RowStat struct {
	Loss    float64 // logsumexp_j S_ij − S_ii
	Correct bool    // its positive scored highest (argmax, first index on ties, as torch)
}

// Stats summarises one Forward.
type Stats struct {
	Loss    float64 // mean cross-entropy over the queries
	Correct int     // queries whose positive scored highest
	Queries int
}

// Accuracy is the fraction of queries whose positive scored highest.
func (s Stats) Accuracy() float64 {
	if s.Queries == 0 {
		return 0
	}
	return float64(s.Correct) / float64(s.Queries)
}

// NewInfoNCE returns the loss at temperature τ (DefaultTemperature in the recipe).
func NewInfoNCE(temperature float32) (*InfoNCE, error) {
	if !(temperature > 0) || math.IsInf(float64(temperature), 1) {
		return nil, fmt.Errorf("infonce: temperature %v: must be positive and finite", temperature)
	}
	return &InfoNCE{temperature: temperature}, nil
}

// Temperature returns τ.
func (l *InfoNCE) Temperature() float32 { return l.temperature }

// Forward computes the loss of b queries q (b, dim) against their b documents d (b, dim).
// It keeps references to q and d, which must not change before Backward. A NaN or infinite
// score is an error wrapping ErrNonFinite that names the query and document.
func (l *InfoNCE) Forward(q, d []float32, b, dim int) (Stats, error) {
	if b <= 0 || dim <= 0 || len(q) != b*dim || len(d) != b*dim {
		panic(fmt.Sprintf("train: InfoNCE.Forward: b=%d dim=%d with %d query and %d document values", b, dim, len(q), len(d)))
	}
	l.resize(b, dim)
	l.q, l.d = nil, nil // set again on success: there is nothing to differentiate after an error

	for i := range b {
		for k := range dim {
			l.dT[k*b+i] = d[i*dim+k]
		}
	}
	s := l.probs // scores first, turned into probabilities row by row below
	clear(s)
	kernel.Gemm(b, b, dim, q, dim, l.dT, b, s, b)

	var stats Stats
	stats.Queries = b
	for i := range b {
		row := s[i*b : (i+1)*b]
		best := 0
		for j := range row {
			row[j] /= l.temperature
			if v := float64(row[j]); math.IsNaN(v) || math.IsInf(v, 0) {
				return Stats{}, fmt.Errorf("infonce: score of query %d against document %d is %v: %w", i, j, v, ErrNonFinite)
			}
			if row[j] > row[best] {
				best = j
			}
		}
		// log-softmax shifted by the row maximum, so no exponent is positive.
		maxScore := float64(row[best])
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - maxScore)
		}
		lse := maxScore + math.Log(sum)
		l.rows[i] = RowStat{Loss: lse - float64(row[i]), Correct: best == i}
		stats.Loss += l.rows[i].Loss
		if best == i {
			stats.Correct++
		}
		for j, v := range row {
			row[j] = float32(math.Exp(float64(v) - lse))
		}
	}
	stats.Loss /= float64(b)
	l.q, l.d = q, d
	return stats, nil
}

// Rows returns the per-query results of the last Forward; the slice is reused by the next.
func (l *InfoNCE) Rows() []RowStat { return l.rows }

// Backward adds the gradients of the last Forward's loss to dq (b, dim) and dd (b, dim):
//
//	dS = (softmax(S) − I) / B        dQ += dS·D / τ        dD += dSᵀ·Q / τ
func (l *InfoNCE) Backward(dq, dd []float32) {
	b, dim := l.b, l.dim
	if l.q == nil || len(dq) != b*dim || len(dd) != b*dim {
		panic(fmt.Sprintf("train: InfoNCE.Backward: %d and %d gradient values after a Forward of b=%d dim=%d", len(dq), len(dd), b, dim))
	}
	scale := 1 / (float32(b) * l.temperature)
	for i := range b {
		for j := range b {
			g := l.probs[i*b+j]
			if i == j {
				g--
			}
			g *= scale
			l.dS[i*b+j] = g
			l.dST[j*b+i] = g
		}
	}
	kernel.Gemm(b, dim, b, l.dS, b, l.d, dim, dq, dim)
	kernel.Gemm(b, dim, b, l.dST, b, l.q, dim, dd, dim)
}

// resize reuses the buffers' memory when the batch is no larger than one seen before, so the
// short last batch of an epoch allocates nothing.
func (l *InfoNCE) resize(b, dim int) {
	l.b, l.dim = b, dim
	l.dT = grow(l.dT, dim*b)
	l.probs = grow(l.probs, b*b)
	l.dS = grow(l.dS, b*b)
	l.dST = grow(l.dST, b*b)
	if cap(l.rows) < b {
		l.rows = make([]RowStat, b)
	}
	l.rows = l.rows[:b]
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}
