package bert

import (
	"math"

	"github.com/sbmoe/sbmoe/core/internal/kernel"
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
	longest := longestSeq(offs)
	jobs := (len(offs) - 1) * a.heads
	parallelFor(jobs, threads, 1, func(lo, hi int) {
		scores := make([]float32, longest*longest)
		keysT := make([]float32, a.headDim*longest)
		for job := lo; job < hi; job++ {
			s, head := job/a.heads, job%a.heads
			r0, n, col := offs[s], offs[s+1]-offs[s], head*a.headDim
			a.probs(scores, keysT, qkv, r0, n, col, h)
			out := ctx[r0*h+col:]
			for t := range n {
				clear(out[t*h : t*h+a.headDim])
			}
			kernel.Gemm(n, a.headDim, n, scores[:n*n], n, qkv[r0*3*h+2*h+col:], 3*h, out, h)
		}
	})
}

// probs writes P = softmax(Q·Kᵀ/√d), (n,n), for one head of one sequence of n tokens
// starting at row r0; col is the head's first column within Q (and within K and V,
// which start h and 2h further). keysT is scratch for Kᵀ, (d,n).
func (a *attention) probs(p, keysT, qkv []float32, r0, n, col, h int) {
	d, ld := a.headDim, 3*h
	transposeCols(keysT, qkv[(r0*ld)+h+col:], n, d, ld)
	p = p[:n*n]
	clear(p)
	kernel.Gemm(n, n, d, qkv[r0*ld+col:], ld, keysT, n, p, n)
	scale := float32(1 / math.Sqrt(float64(d)))
	for t := range n {
		kernel.SoftmaxScaled(p[t*n:(t+1)*n], scale)
	}
}

// backward: qkv is forward's input, dctx the gradient of its output (m,h); it adds the
// gradient of Q, K and V into dqkv (m,3h), laid out as qkv. P is recomputed from Q and
// K rather than saved, which would take Σ n²·heads floats per layer. For one head,
// with O = P·V and S = Q·Kᵀ/√d:
//
//	dV = Pᵀ·dO,  dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)) / √d,  dQ = dS·K,  dK = dSᵀ·Q
//
// Each job owns one head of one sequence, whose rows and columns of dqkv no other job
// touches.
func (a *attention) backward(dqkv, dctx, qkv []float32, offs []int, threads int) {
	h, d := a.heads*a.headDim, a.headDim
	ld := 3 * h
	longest := longestSeq(offs)
	scale := float32(1 / math.Sqrt(float64(d)))
	jobs := (len(offs) - 1) * a.heads
	parallelFor(jobs, threads, 1, func(lo, hi int) {
		p := make([]float32, longest*longest)
		dp := make([]float32, longest*longest)
		colsT := make([]float32, d*longest)
		for job := lo; job < hi; job++ {
			s, head := job/a.heads, job%a.heads
			r0, n, col := offs[s], offs[s+1]-offs[s], head*d
			q, k, v := qkv[r0*ld+col:], qkv[r0*ld+h+col:], qkv[r0*ld+2*h+col:]
			dq, dk, dv := dqkv[r0*ld+col:], dqkv[r0*ld+h+col:], dqkv[r0*ld+2*h+col:]
			do := dctx[r0*h+col:]
			a.probs(p, colsT, qkv, r0, n, col, h)
			pn, dpn := p[:n*n], dp[:n*n]

			kernel.GemmTN(n, d, n, pn, n, do, h, dv, ld) // dV = Pᵀ·dO

			transposeCols(colsT, v, n, d, ld)
			clear(dpn)
			kernel.Gemm(n, n, d, do, h, colsT, n, dpn, n)
			for t := range n {
				pr, dr := pn[t*n:(t+1)*n], dpn[t*n:(t+1)*n]
				dot := kernel.Dot(pr, dr)
				for j, pv := range pr {
					dr[j] = scale * pv * (dr[j] - dot)
				}
			}
			kernel.Gemm(n, d, n, dpn, n, k, ld, dq, ld)
			kernel.GemmTN(n, d, n, dpn, n, q, ld, dk, ld) // dK = dSᵀ·Q
		}
	})
}

// transposeCols writes the (rows,cols) matrix a, whose rows are ld apart, into t as
// (cols,rows). Four rows go at a time, so that each write fills four neighbouring
// floats of t rather than one float per cache line.
func transposeCols(t, a []float32, rows, cols, ld int) {
	r := 0
	for ; r+4 <= rows; r += 4 {
		a0, a1 := a[r*ld:r*ld+cols], a[(r+1)*ld:(r+1)*ld+cols]
		a2, a3 := a[(r+2)*ld:(r+2)*ld+cols], a[(r+3)*ld:(r+3)*ld+cols]
		for c := range a0 {
			o := t[c*rows+r : c*rows+r+4 : c*rows+r+4]
			o[0], o[1], o[2], o[3] = a0[c], a1[c], a2[c], a3[c]
		}
	}
	for ; r < rows; r++ {
		for c, v := range a[r*ld : r*ld+cols] {
			t[c*rows+r] = v
		}
	}
}

// longestSeq is the most rows any sequence of offs has.
func longestSeq(offs []int) int {
	longest := 0
	for s := range len(offs) - 1 {
		longest = max(longest, offs[s+1]-offs[s])
	}
	return longest
}
