package bert

import (
	"math"

	"github.com/sbmoe/sbmoe/core/kernel"
)

// attention is BERT's multi-head self-attention before its output projection: for each
// sequence and head, softmax(Q·Kᵀ/√d)·V over the sequence's own tokens.
type attention struct {
	heads, headDim int
}

// forward: qkv is (m,3h), the rows of all sequences back to back with the query, key
// and value projections side by side; offs[s]..offs[s+1] are sequence s's rows. ctx is
// (m,h) and is overwritten with each head's output in its columns.
func (a *attention) forward(ctx, qkv []float32, offs []int, threads int) {
	h := a.heads * a.headDim
	longest := 0
	for s := range len(offs) - 1 {
		longest = max(longest, offs[s+1]-offs[s])
	}
	jobs := (len(offs) - 1) * a.heads
	parallelFor(jobs, threads, 1, func(lo, hi int) {
		scores := make([]float32, longest*longest)
		keysT := make([]float32, a.headDim*longest)
		for job := lo; job < hi; job++ {
			s, head := job/a.heads, job%a.heads
			a.head(ctx, qkv, offs[s], offs[s+1]-offs[s], head*a.headDim, h, scores, keysT)
		}
	})
}

// head computes one head of one sequence of n tokens starting at row r0; col is the
// head's first column within Q (and within K and V, which start h and 2h further).
func (a *attention) head(ctx, qkv []float32, r0, n, col, h int, scores, keysT []float32) {
	d, ld := a.headDim, 3*h
	q := qkv[r0*ld+col:]
	for t := range n {
		k := qkv[(r0+t)*ld+h+col:]
		for j := range d {
			keysT[j*n+t] = k[j]
		}
	}
	sc := scores[:n*n]
	clear(sc)
	kernel.Gemm(n, n, d, q, ld, keysT, n, sc, n)
	scale := float32(1 / math.Sqrt(float64(d)))
	for t := range n {
		kernel.SoftmaxScaled(sc[t*n:(t+1)*n], scale)
	}
	out := ctx[r0*h+col:]
	for t := range n {
		clear(out[t*h : t*h+d])
	}
	kernel.Gemm(n, d, n, sc, n, qkv[r0*ld+2*h+col:], ld, out, h)
}
