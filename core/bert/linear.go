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
	np := panels(l.out, panelWidth)
	if splitByColumns(m, threads) {
		parallelFor(np, threads, 1, func(p0, p1 int) { l.product(y, x, 0, m, p0, p1) })
		return
	}
	parallelFor(m, threads, 4, func(lo, hi int) {
		for r0 := lo; r0 < hi; r0 += rowBlock {
			l.product(y, x, r0, min(rowBlock, hi-r0), 0, np)
		}
	})
}

// product writes rows r0..r0+rows of y, the columns of panels p0..p1: the bias, then
// the product.
func (l *linear) product(y, x []float32, r0, rows, p0, p1 int) {
	c0, c1 := p0*panelWidth, min(p1*panelWidth, l.out)
	for r := r0; r < r0+rows; r++ {
		copy(y[r*l.out+c0:r*l.out+c1], l.b[c0:c1])
	}
	for p := p0; p < p1; p++ {
		cols := min(panelWidth, l.out-p*panelWidth)
		kernel.Gemm(rows, cols, l.in, x[r0*l.in:], l.in,
			l.panels[p*l.in*panelWidth:], panelWidth, y[r0*l.out+p*panelWidth:], l.out)
	}
}

// splitByColumns says whether a linear layer over m rows splits its work between
// threads by output columns rather than by rows. With few rows, splitting rows would
// leave each thread a handful of them and still make every thread read all of W, which
// then costs more than the arithmetic; splitting columns halves what each thread reads.
// Both give the same bits: every output element is summed by one kernel call in the
// same order either way.
func splitByColumns(m, threads int) bool {
	return threads > 1 && m < splitRowsFrom*threads
}

// splitRowsFrom is the rows per thread from which a linear layer splits rows.
const splitRowsFrom = 64

// panels is ⌈n/width⌉.
func panels(n, width int) int { return (n + width - 1) / width }

// backward: x is (m,in) and dy (m,out) as in forward; it adds dy·W into dx (m,in),
// dyᵀ·x into dw (out,in) and Σ rows of dy into db (out). Threads split dx by rows and
// dw, db by output rows, so every gradient element is summed by one goroutine in a
// fixed order whatever the thread count. dyᵀ·x reads dy in place (kernel.GemmTN),
// summing each element over the rows in order, as a product with dy transposed would.
func (l *linear) backward(dx, dw, db, dy, x []float32, m int, threads int) {
	parallelFor(l.out, threads, 4, func(lo, hi int) {
		// Each bias gradient is summed from zero over the rows in order, then added.
		sums := make([]float32, hi-lo)
		for r := range m {
			for o, v := range dy[r*l.out+lo : r*l.out+hi] {
				sums[o] += v
			}
		}
		for o, v := range sums {
			db[lo+o] += v
		}
		// Blocks of k (rows of x) keep a slice of x in cache while every output row
		// of the chunk meets it.
		for k0 := 0; k0 < m; k0 += gradRowBlock {
			k := min(gradRowBlock, m-k0)
			kernel.GemmTN(hi-lo, l.in, k, dy[k0*l.out+lo:], l.out, x[k0*l.in:], l.in, dw[lo*l.in:], l.in)
		}
	})
	parallelFor(m, threads, 4, func(lo, hi int) {
		kernel.Gemm(hi-lo, l.in, l.out, dy[lo*l.out:], l.out, l.w, l.in, dx[lo*l.in:], l.in)
	})
}

// gradRowBlock is how many input rows a weight-gradient product takes at a time: 256
// rows of a 384-wide input are 384 KB, in L2.
const gradRowBlock = 256
