package moe

import (
	"math/rand/v2"

	"github.com/sbmoe/sbmoe/core/f32"
	"github.com/sbmoe/sbmoe/core/train"
)

// linear is y = x·Wᵀ + b with PyTorch's layout, W being (out,in). The weights are kept in
// that layout, not transposed into panels as the encoder does, because AdamW rewrites them
// every step: a row of W is one output's dot product with a row of x.
type linear struct {
	in, out int
	w, b    *train.Param // (out,in), (out)
}

func newLinear(name string, out, in int, frozen bool) linear {
	return linear{
		in: in, out: out,
		w: newParam(name+".weight", frozen, out, in),
		b: newParam(name+".bias", frozen, out),
	}
}

// init mirrors torch.nn.Linear.reset_parameters: kaiming_uniform(a=√5) on the weight, whose
// bound gain·√(3/in) with gain √(2/(1+5)) is 1/√in, and U(−1/√in, 1/√in) on the bias.
func (l *linear) init(rng *rand.Rand) {
	bound := 1 / sqrt32(float32(l.in))
	for _, p := range []*train.Param{l.w, l.b} {
		for i := range p.Data {
			p.Data[i] = float32(2*rng.Float64()-1) * bound
		}
	}
}

// forward: x is (rows,in), y is (rows,out) and is overwritten.
func (l *linear) forward(y, x []float32, rows int) {
	w, b := l.w.Data, l.b.Data
	for r := range rows {
		xr := x[r*l.in : (r+1)*l.in]
		yr := y[r*l.out : (r+1)*l.out]
		for o := range l.out {
			yr[o] = b[o] + f32.Dot(xr, w[o*l.in:(o+1)*l.in])
		}
	}
}

// backward: x is (rows,in) as given to forward, dy is (rows,out); adds dy·W into dx
// (rows,in) and, unless the layer is frozen, dyᵀ·x into dW and the column sums of dy into db.
// dx may be nil when nothing upstream needs it. tr is scratch of at least rows·out floats.
func (l *linear) backward(dx, dy, x []float32, rows int, tr []float32) {
	if dx != nil {
		f32.Gemm(rows, l.in, l.out, dy, l.out, l.w.Data, l.in, dx, l.in)
	}
	if l.w.Frozen {
		return
	}
	dyT := tr[:l.out*rows]
	for r := range rows {
		for o := range l.out {
			dyT[o*rows+r] = dy[r*l.out+o]
		}
	}
	f32.Gemm(l.out, l.in, rows, dyT, rows, x, l.in, l.w.Grad, l.in)
	db := l.b.Grad
	for o := range l.out {
		var s float32
		for _, v := range dyT[o*rows : (o+1)*rows] {
			s += v
		}
		db[o] += s
	}
}

// reluForward applies max(0, x) in place.
func reluForward(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}

// reluBackward zeroes dx where the activation y = relu(a) was clamped, as PyTorch does (the
// derivative at 0 is taken as 0).
func reluBackward(dx, y []float32) {
	for i, v := range y {
		if v <= 0 {
			dx[i] = 0
		}
	}
}
