package bert

import "github.com/sbmoe/sbmoe/core/kernel"

// linear is y = x·Wᵀ + b in PyTorch's layout, W being (out,in). The forward pass uses
// wT, W transposed once at load time to (in,out), so the kernel streams rows of both.
type linear struct {
	in, out int
	wT      []float32 // (in,out)
	b       []float32 // (out)
}

// newLinear takes a PyTorch weight (out,in) and bias (out).
func newLinear(w, b []float32, out, in int) linear {
	wT := make([]float32, in*out)
	for o := range out {
		for i := range in {
			wT[i*out+o] = w[o*in+i]
		}
	}
	return linear{in: in, out: out, wT: wT, b: b}
}

// forward: x is (m,in), y is (m,out) and is overwritten.
func (l *linear) forward(y, x []float32, m, threads int) {
	parallelFor(m, threads, 4, func(lo, hi int) {
		yc := y[lo*l.out : hi*l.out]
		for r := range hi - lo {
			copy(yc[r*l.out:(r+1)*l.out], l.b)
		}
		kernel.Gemm(hi-lo, l.out, l.in, x[lo*l.in:], l.in, l.wT, l.out, yc, l.out)
	})
}
