package bert

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gradCheck compares backward's gradients with central differences of a scalar loss
// computed by the float32 forward, reporting the worst error per tensor.
type gradCheck struct {
	t    *testing.T
	loss func() float64
	eps  float32
}

// check perturbs param at the given indices (all when idx is nil) and compares
// (L(p+ε) − L(p−ε)) / 2ε with got. The tolerance is relative to the entry and to the
// tensor's largest gradient, since float32 rounding in the loss is what limits the
// difference quotient.
func (c gradCheck) check(name string, param, got []float32, idx []int) {
	c.t.Helper()
	if idx == nil {
		idx = make([]int, len(param))
		for i := range idx {
			idx[i] = i
		}
	}
	var scale float64
	for _, g := range got {
		scale = max(scale, math.Abs(float64(g)))
	}
	worst := 0.0
	for _, i := range idx {
		p := param[i]
		param[i] = p + c.eps
		up, dUp := c.loss(), float64(param[i]-p)
		param[i] = p - c.eps
		down, dDown := c.loss(), float64(p-param[i])
		param[i] = p
		num := (up - down) / (dUp + dDown)
		diff := math.Abs(num - float64(got[i]))
		tol := 1e-2*max(math.Abs(num), math.Abs(float64(got[i]))) + 2e-3*scale + 1e-5
		if diff > tol {
			c.t.Errorf("%s[%d]: backward %.6g, finite difference %.6g", name, i, got[i], num)
		}
		worst = max(worst, diff)
	}
	c.t.Logf("%-28s %5d entries, largest difference %.2g (largest gradient %.3g)", name, len(idx), worst, scale)
}

func randVec(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * float32(r.NormFloat64())
	}
	return v
}

// dotLoss is Σ y·w in float64.
func dotLoss(y, w []float32) float64 {
	var s float64
	for i, v := range y {
		s += float64(v) * float64(w[i])
	}
	return s
}

func TestLinearBackward(t *testing.T) {
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprint("threads=", threads), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			// 37 outputs: a full panel and a partial one; 9 rows: a 4-row tile remainder.
			m, in, out := 9, 7, 37
			w, b := randVec(r, out*in, 0.5), randVec(r, out, 0.5)
			l := newLinear(w, b, out, in)
			l.unpack()
			x, rw := randVec(r, m*in, 1), randVec(r, m*out, 1)
			y := make([]float32, m*out)
			loss := func() float64 {
				l.packFrom(l.w)
				l.forward(y, x, m, threads)
				return dotLoss(y, rw)
			}
			dx, dw, db := make([]float32, m*in), make([]float32, out*in), make([]float32, out)
			l.backward(dx, dw, db, rw, x, m, threads)
			c := gradCheck{t, loss, 1e-2}
			c.check("dx", x, dx, nil)
			c.check("dw", l.w, dw, nil)
			c.check("db", l.b, db, nil)
		})
	}
}

func TestLayerNormBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, h := 5, 9
	ln := layerNorm{g: randVec(r, h, 1), b: randVec(r, h, 1), eps: 1e-12}
	x, rw := randVec(r, m*h, 2), randVec(r, m*h, 1)
	y, stats := make([]float32, m*h), make([]float32, 2*m)
	loss := func() float64 {
		ln.forward(y, x, stats, m, 2)
		return dotLoss(y, rw)
	}
	loss()
	dx, dg, db := make([]float32, m*h), make([]float32, h), make([]float32, h)
	ln.backward(dx, dg, db, rw, x, stats, m, 2)
	c := gradCheck{t, loss, 1e-2}
	c.check("dx", x, dx, nil)
	c.check("dg", ln.g, dg, nil)
	c.check("db", ln.b, db, nil)
}

func TestAttentionBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	a := attention{heads: 2, headDim: 4}
	h := 8
	offs := []int{0, 3, 8, 9, 15} // lengths 3, 5, 1, 6
	m := offs[len(offs)-1]
	qkv, rw := randVec(r, m*3*h, 1), randVec(r, m*h, 1)
	ctx := make([]float32, m*h)
	loss := func() float64 {
		a.forward(ctx, qkv, offs, 2)
		return dotLoss(ctx, rw)
	}
	dqkv := make([]float32, m*3*h)
	a.backward(dqkv, rw, qkv, offs, 2)
	gradCheck{t, loss, 1e-2}.check("dqkv", qkv, dqkv, nil)
}

func TestActivationBackward(t *testing.T) {
	for name, act := range activations {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 8))
			x, rw := randVec(r, 64, 2), randVec(r, 64, 1)
			for i := range x {
				if name == "relu" && math.Abs(float64(x[i])) < 0.05 {
					x[i] += 0.1 // away from the kink, where the difference quotient is meaningless
				}
			}
			y := make([]float32, len(x))
			loss := func() float64 {
				copy(y, x)
				act.forward(y)
				return dotLoss(y, rw)
			}
			dx := make([]float32, len(x))
			act.backward(dx, rw, x)
			gradCheck{t, loss, 1e-2}.check("dx", x, dx, nil)
		})
	}
}

func TestEmbeddingsBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	h, vocab, positions := 5, 6, 7
	e := embeddings{
		word: randVec(r, vocab*h, 1), position: randVec(r, positions*h, 1), tokenType: randVec(r, 2*h, 1),
		norm: layerNorm{g: randVec(r, h, 1), b: randVec(r, h, 1), eps: 1e-12},
	}
	ids, offs := []int32{1, 4, 4, 2, 1, 5, 0, 3}, []int{0, 3, 8} // token 4 twice in one sequence, 1 in both
	m := len(ids)
	rw := randVec(r, m*h, 1)
	x, sum, stats := make([]float32, m*h), make([]float32, m*h), make([]float32, 2*m)
	loss := func() float64 {
		e.forward(x, sum, stats, ids, offs, h, 2)
		return dotLoss(x, rw)
	}
	loss()
	dg := embeddings{word: make([]float32, vocab*h), position: make([]float32, positions*h), tokenType: make([]float32, 2*h),
		norm: layerNorm{g: make([]float32, h), b: make([]float32, h)}}
	e.backward(&dg, make([]float32, m*h), rw, sum, stats, ids, offs, h, 2)
	c := gradCheck{t, loss, 1e-2}
	c.check("dword", e.word, dg.word, nil)
	c.check("dposition", e.position, dg.position, nil)
	c.check("dtokenType", e.tokenType, dg.tokenType, nil)
	c.check("dnorm.g", e.norm.g, dg.norm.g, nil)
	c.check("dnorm.b", e.norm.b, dg.norm.b, nil)
}

func TestPoolingBackward(t *testing.T) {
	for _, mode := range []Pooling{PoolMean, PoolCLS} {
		for _, normalize := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s normalize=%v", mode, normalize), func(t *testing.T) {
				r := rand.New(rand.NewPCG(11, 12))
				h, offs := 6, []int{0, 4, 5, 9}
				hidden, rw := randVec(r, offs[3]*h, 1), randVec(r, 3*h, 1)
				out := growVecs(nil, 3, h)
				loss := func() float64 {
					pool(out, hidden, offs, h, mode, normalize)
					var l float64
					for s, v := range out {
						l += dotLoss(v, rw[s*h:])
					}
					return l
				}
				raw := growVecs(nil, 3, h)
				pool(raw, hidden, offs, h, mode, false)
				dpooled := growVecs(nil, 3, h)
				for s := range dpooled {
					if normalize {
						l2NormalizeBackward(dpooled[s], rw[s*h:(s+1)*h], raw[s])
					} else {
						copy(dpooled[s], rw[s*h:(s+1)*h])
					}
				}
				dhidden := make([]float32, len(hidden))
				poolBackward(dhidden, dpooled, offs, h, mode)
				gradCheck{t, loss, 1e-2}.check("dhidden", hidden, dhidden, nil)
			})
		}
	}
}
