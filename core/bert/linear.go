package bert

import "github.com/sbmoe/sbmoe/core/internal/kernel"

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
//
// Training keeps W itself too (w, materialised by unpack on first use), because it
// is what the optimizer updates and what dx = dy·W reads row by row; pack copies it
// back into the panels. Inference never holds both.
type linear struct {
	in, out int
	panels  []float32   // ⌈out/panelWidth⌉ panels of (in,panelWidth), zero-padded
	w       []float32   // (out,in), nil until training needs it
	b       []float32   // (out)
	q       *linearInt8 // the int8 weight of an int8 model, which then has no panels
	// observe, when set, sees every input (m,in) that forward gets: the int8
	// quantiser's calibration.
	observe func(x []float32, m int)
}

// newLinear takes a PyTorch weight (out,in) and bias (out).
func newLinear(w, b []float32, out, in int) linear {
	n := (out + panelWidth - 1) / panelWidth
	l := linear{in: in, out: out, panels: make([]float32, n*in*panelWidth), b: b}
	l.packFrom(w)
	return l
}

// packFrom writes W (out,in) into the panels.
func (l *linear) packFrom(w []float32) {
	for o := range l.out {
		p, col := o/panelWidth, o%panelWidth
		for i := range l.in {
			l.panels[(p*l.in+i)*panelWidth+col] = w[o*l.in+i]
		}
	}
}

// unpack materialises w from the panels if it is not held yet.
func (l *linear) unpack() {
	if l.q != nil {
		panic("bert: an int8 model cannot be trained: it has no fp32 weights")
	}
	if l.w != nil {
		return
	}
	l.w = make([]float32, l.out*l.in)
	for o := range l.out {
		p, col := o/panelWidth, o%panelWidth
		for i := range l.in {
			l.w[o*l.in+i] = l.panels[(p*l.in+i)*panelWidth+col]
		}
	}
}

// forward: x is (m,in), y is (m,out) and is overwritten.
func (l *linear) forward(y, x []float32, m, threads int) {
	if l.observe != nil {
		l.observe(x[:m*l.in], m)
	}
	if l.q != nil {
		l.q.forward(y, x, l.b, l.in, l.out, m, threads)
		return
	}
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

// backward: x is (m,in) and dy (m,out) as in forward; it adds dy·W into dx (m,in),
// dyᵀ·x into dw (out,in) and Σ rows of dy into db (out). dyT is scratch of at least
// out·m floats. Threads split dx by rows and dw, db by output rows, so every
// gradient element is summed by one goroutine in a fixed order whatever the thread
// count.
func (l *linear) backward(dx, dw, db, dy, x []float32, m int, dyT []float32, threads int) {
	transpose(dyT, dy, m, l.out, threads)
	parallelFor(l.out, threads, 4, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			var s float32
			for _, v := range dyT[o*m : (o+1)*m] {
				s += v
			}
			db[o] += s
		}
		// Blocks of k (rows of x) keep a slice of x in cache while every output row
		// of the chunk meets it.
		for k0 := 0; k0 < m; k0 += gradRowBlock {
			k := min(gradRowBlock, m-k0)
			kernel.Gemm(hi-lo, l.in, k, dyT[lo*m+k0:], m, x[k0*l.in:], l.in, dw[lo*l.in:], l.in)
		}
	})
	parallelFor(m, threads, 4, func(lo, hi int) {
		kernel.Gemm(hi-lo, l.in, l.out, dy[lo*l.out:], l.out, l.w, l.in, dx[lo*l.in:], l.in)
	})
}

// gradRowBlock is how many input rows a weight-gradient product takes at a time: 256
// rows of a 384-wide input are 384 KB, in L2.
const gradRowBlock = 256

// transpose writes the (rows,cols) matrix a into t as (cols,rows).
func transpose(t, a []float32, rows, cols, threads int) {
	const tile = 32
	parallelFor(cols, threads, tile, func(lo, hi int) {
		for r0 := 0; r0 < rows; r0 += tile {
			for c := lo; c < hi; c++ {
				for r := r0; r < min(r0+tile, rows); r++ {
					t[c*rows+r] = a[r*cols+c]
				}
			}
		}
	})
}
