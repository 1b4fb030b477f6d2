package bert

import "github.com/sbmoe/sbmoe/core/kernel"

// panelWidth is the number of output columns the weight is packed by: the widest
// row tile of the kernels (32 floats, two AVX-512 vectors).
const panelWidth = 32

// rowBlock is how many input rows meet every weight panel before the next rows come
// in: 64 rows of a 384- or 768-wide input stay in L2 meanwhile.
const rowBlock = 64

// linear is y = x·Wᵀ + b in PyTorch's layout, W being (out,in). At load time W is
// transposed and cut into panels of panelWidth output columns, each stored
// contiguously as (in,panelWidth), so the kernel streams one panel row after another
// instead of striding across the whole (in,out) matrix.
type linear struct {
	in, out int
	panels  []float32 // ⌈out/panelWidth⌉ panels of (in,panelWidth), zero-padded
	b       []float32 // (out)
}

// newLinear takes a PyTorch weight (out,in) and bias (out).
func newLinear(w, b []float32, out, in int) linear {
	n := (out + panelWidth - 1) / panelWidth
	panels := make([]float32, n*in*panelWidth)
	for o := range out {
		p, col := o/panelWidth, o%panelWidth
		for i := range in {
			panels[(p*in+i)*panelWidth+col] = w[o*in+i]
		}
	}
	return linear{in: in, out: out, panels: panels, b: b}
}

// forward: x is (m,in), y is (m,out) and is overwritten.
func (l *linear) forward(y, x []float32, m, threads int) {
	parallelFor(m, threads, 4, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			copy(y[r*l.out:(r+1)*l.out], l.b)
		}
		for r0 := lo; r0 < hi; r0 += rowBlock {
			rows := min(rowBlock, hi-r0)
			for p := 0; p*panelWidth < l.out; p++ {
				cols := min(panelWidth, l.out-p*panelWidth)
				kernel.Gemm(rows, cols, l.in, x[r0*l.in:], l.in,
					l.panels[p*l.in*panelWidth:], panelWidth, y[r0*l.out+p*panelWidth:], l.out)
			}
		}
	})
}
