package moe

import (
	"math"

	"github.com/sbmoe/sbmoe/core/train"
)

// newParam allocates a tensor of the block and its gradient. noise_linear is Frozen: the
// authors leave it out of the optimizer, so Backward never writes its Grad, which stays zero
// (the gradient still flows through the layer into h).
func newParam(name string, frozen bool, shape ...int) *train.Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &train.Param{Name: name, Shape: shape, Data: make([]float32, n), Grad: make([]float32, n), Frozen: frozen}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
