package moe_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/sbmoe/sbmoe/moe"
)

// A training step of the head on a batch of pooled vectors, then inference with every
// expert mixed.
func Example() {
	const rows, hidden = 4, 8
	cfg := moe.Config{Hidden: hidden, Experts: 3, Router: moe.RouterLearned, Mix: moe.MixTop1, BalanceCoef: 0.01}
	block, err := moe.New(cfg, 42)
	if err != nil {
		fmt.Println(err)
		return
	}
	rng := rand.New(rand.NewPCG(42, 0))
	h := make([]float32, rows*hidden)
	for i := range h {
		h[i] = float32(rng.NormFloat64())
	}

	out := make([]float32, rows*hidden)
	routing := block.Forward(out, h, rows, moe.Train, rng)
	fmt.Println("experts kept:", len(routing.Expert), "aux loss > 0:", routing.AuxLoss > 0)

	dout := make([]float32, rows*hidden) // the loss's gradient with respect to out
	for i := range dout {
		dout[i] = 1
	}
	dh := make([]float32, rows*hidden) // flows on into the encoder
	block.ZeroGrad()
	block.Backward(dh, dout, 1)
	trained := 0
	for _, p := range block.Params() {
		if !p.Frozen {
			trained++
		}
	}
	fmt.Println("tensors:", len(block.Params()), "trained:", trained)

	if err := block.SetMix(moe.MixAll); err != nil {
		fmt.Println(err)
		return
	}
	block.Forward(out, h, rows, moe.Eval, nil)
	// Output:
	// experts kept: 4 aux loss > 0: true
	// tensors: 18 trained: 16
}
