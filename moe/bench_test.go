package moe

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkStep is one forward and backward of the default model's batch (64×384, 6
// experts) in training mode.
func BenchmarkStep(b *testing.B) {
	for _, router := range []Router{RouterPaper, RouterLearned} {
		b.Run(string(router), func(b *testing.B) {
			const rows, hidden = 64, 384
			cfg := Config{Hidden: hidden, Experts: 6, Router: router, Mix: MixTop1}
			blk, _ := New(cfg, 1)
			rng := rand.New(rand.NewPCG(1, 2))
			h, dout := normals(rng, rows*hidden), normals(rng, rows*hidden)
			out, dh := make([]float32, rows*hidden), make([]float32, rows*hidden)
			b.ReportAllocs()
			for b.Loop() {
				blk.Forward(out, h, rows, Train, rng)
				blk.Backward(dh, dout, 1)
			}
		})
	}
}

// BenchmarkEvalAll is inference with every expert mixed, the costliest pool.
func BenchmarkEvalAll(b *testing.B) {
	const rows, hidden = 64, 384
	cfg := Config{Hidden: hidden, Experts: 6, Router: RouterPaper, Mix: MixAll}
	blk, _ := New(cfg, 1)
	h := normals(rand.New(rand.NewPCG(1, 2)), rows*hidden)
	out := make([]float32, rows*hidden)
	for b.Loop() {
		blk.Forward(out, h, rows, Eval, nil)
	}
}
