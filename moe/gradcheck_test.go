package moe

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGradFiniteDiff checks Backward against central differences of the scalar
// L = Σ out·R + aux, for dh and every trained parameter, on a small block (H=8, E=3, 4 rows).
// The code is float32, so the step is 1e-2 and the loss is summed in float64. Top-1 and ReLU
// are kinks: the inputs are drawn again until every kept expert leads the runner-up by 0.05
// in probability and every ReLU input is at least 0.05 away from 0, so no step crosses one.
//
// The learned router's gradient is, by design, not the gradient of its forward values: the
// kept expert's scale is 1 + p_k − stopgrad(p_k). Its finite differences are taken of the
// surrogate that defines it, L + Σ_r (p_rk − p_rk⁰)·(ŷ_r·R_r), with p⁰ the probabilities at
// the unperturbed point and ŷ_r = out_r − h_r (which is α·normalize(y) in a gain block).
//
// Gain blocks (OutputGain) are checked at a trained α and at α = 0, the untrained head,
// where the experts and the gate get no gradient from the output and α gets Σ ŷ·R.
func TestGradFiniteDiff(t *testing.T) {
	const hidden, experts, rows = 8, 3, 4
	for _, tc := range []struct {
		name   string
		router Router
		mix    Mix
		mode   Mode
		coef   float32
		output Output
		gain   float32 // α of a gain block
	}{
		{"paper/train", RouterPaper, MixTop1, Train, 0, "", 0},
		{"paper/eval/top1", RouterPaper, MixTop1, Eval, 0, "", 0},
		{"paper/eval/all", RouterPaper, MixAll, Eval, 0, "", 0},
		{"learned/train", RouterLearned, MixTop1, Train, 0.3, "", 0},
		{"learned/eval/top1", RouterLearned, MixTop1, Eval, 0.3, "", 0},
		{"learned/eval/all", RouterLearned, MixAll, Eval, 0.3, "", 0},
		{"gain/paper/train", RouterPaper, MixTop1, Train, 0, OutputGain, 0.7},
		{"gain/paper/eval/all", RouterPaper, MixAll, Eval, 0, OutputGain, -0.4},
		{"gain/learned/train", RouterLearned, MixTop1, Train, 0.3, OutputGain, 0.7},
		{"gain/learned/eval/top1", RouterLearned, MixTop1, Eval, 0.3, OutputGain, 1.3},
		{"gain/learned/eval/all", RouterLearned, MixAll, Eval, 0.3, OutputGain, 0.7},
		{"gain/paper/train/untrained", RouterPaper, MixTop1, Train, 0, OutputGain, 0},
		{"gain/learned/train/untrained", RouterLearned, MixTop1, Train, 0.3, OutputGain, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Hidden: hidden, Experts: experts, Router: tc.router, Mix: tc.mix, BalanceCoef: tc.coef, Output: tc.output}
			b, h, r, noise := clearOfKinks(t, cfg, rows, tc.mode)
			if b.gain != nil {
				b.gain.Data[0] = tc.gain
			}
			straightThrough := tc.router == RouterLearned && (tc.mode == Train || tc.mix == MixTop1)

			out := make([]float32, rows*hidden)
			rt := b.forward(out, h, rows, tc.mode, noise)
			p0 := make([]float32, rows)
			for i, k := range rt.Expert {
				p0[i] = rt.Probs[i*experts+k]
			}
			loss := func() float64 {
				rt := b.forward(out, h, rows, tc.mode, noise)
				l := float64(rt.AuxLoss)
				for i, v := range out {
					l += float64(v) * float64(r[i])
				}
				if straightThrough {
					for i, k := range rt.Expert {
						var yr float64
						for j := i * hidden; j < (i+1)*hidden; j++ {
							yr += float64(out[j]-h[j]) * float64(r[j])
						}
						l += float64(rt.Probs[i*experts+k]-p0[i]) * yr
					}
				}
				return l
			}

			loss()
			b.ZeroGrad()
			dh := make([]float32, len(h))
			b.Backward(dh, r, 1)

			check := func(name string, x, grad []float32) {
				t.Helper()
				var worst float64
				for i := range x {
					const step = 1e-2
					orig := x[i]
					x[i] = orig + step
					up := loss()
					x[i] = orig - step
					down := loss()
					x[i] = orig
					fd := (up - down) / (2 * step)
					an := float64(grad[i])
					err := math.Abs(fd-an) / (1e-2 + math.Abs(fd) + math.Abs(an))
					worst = max(worst, err)
					if err > 5e-3 {
						t.Errorf("%s[%d]: backward %.6g, finite difference %.6g", name, i, an, fd)
					}
				}
				t.Logf("%-48s max relative error %.2e", name, worst)
			}
			check("h", h, dh)
			for _, p := range b.Params() {
				if !p.Frozen {
					check(p.Name, p.Data, p.Grad)
				}
			}
		})
	}
}

// clearOfKinks draws weights, inputs h, targets R and noise (train mode) from successive
// seeds until the top-1 choice and every ReLU have the margins TestGradFiniteDiff needs.
func clearOfKinks(t *testing.T, cfg Config, rows int, mode Mode) (b *Block, h, r, noise []float32) {
	t.Helper()
	const margin = 0.05
	for seed := uint64(1); seed < 500; seed++ {
		b, err := New(cfg, seed)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		h, r = normals(rng, rows*cfg.Hidden), normals(rng, rows*cfg.Hidden)
		if mode == Train {
			noise = normals(rng, rows*cfg.Experts)
		}
		out := make([]float32, rows*cfg.Hidden)
		rt := b.forward(out, h, rows, mode, noise)
		if topMargin(rt.Probs, cfg.Experts) > margin && reluMargin(b, h, rows) > margin {
			return b, h, r, noise
		}
	}
	t.Fatal("no seed below 500 keeps the inputs clear of the kinks")
	return nil, nil, nil, nil
}

func normals(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// topMargin is the smallest gap between a row's largest and second-largest probability.
func topMargin(probs []float32, e int) float32 {
	worst := float32(math.Inf(1))
	for r := 0; r < len(probs)/e; r++ {
		first, second := float32(-1), float32(-1)
		for _, p := range probs[r*e : (r+1)*e] {
			if p > first {
				first, second = p, first
			} else if p > second {
				second = p
			}
		}
		if e > 1 {
			worst = min(worst, first-second)
		}
	}
	return worst
}

// reluMargin is the smallest |input| of any ReLU, gate or expert, over all rows.
func reluMargin(b *Block, h []float32, rows int) float32 {
	half := b.cfg.Hidden / 2
	pre := make([]float32, rows*half)
	worst := float32(math.Inf(1))
	for _, l := range append([]*linear{&b.gate1}, expertUps(b)...) {
		l.forward(pre, h, rows)
		for _, v := range pre {
			worst = min(worst, float32(math.Abs(float64(v))))
		}
	}
	return worst
}

func expertUps(b *Block) []*linear {
	ups := make([]*linear, len(b.experts))
	for m := range b.experts {
		ups[m] = &b.experts[m].up
	}
	return ups
}
