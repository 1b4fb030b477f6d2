package bert

import (
	"math"

	"github.com/sbmoe/sbmoe/core/kernel"
)

// activations maps config.json's hidden_act to the feed-forward non-linearity, applied
// in place. "gelu" is the exact erf form that Hugging Face BERT uses.
var activations = map[string]func(x []float32){
	"gelu":              kernel.GeluErf,
	"gelu_new":          geluTanh,
	"gelu_pytorch_tanh": geluTanh,
	"relu":              relu,
}

// geluTanh: ½x·(1 + tanh(√(2/π)·(x + 0.044715x³))).
func geluTanh(x []float32) {
	for i, v := range x {
		x[i] = float32(0.5 * float64(v) * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(float64(v)+0.044715*float64(v)*float64(v)*float64(v)))))
	}
}

func relu(x []float32) {
	for i, v := range x {
		x[i] = max(v, 0)
	}
}
