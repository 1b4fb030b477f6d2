package bert

import "math"

// activations maps config.json's hidden_act to the feed-forward non-linearity, applied
// in place. "gelu" is the exact erf form that Hugging Face BERT uses.
var activations = map[string]func(x []float32){
	"gelu":              geluErf,
	"gelu_new":          geluTanh,
	"gelu_pytorch_tanh": geluTanh,
	"relu":              relu,
}

// geluErf: x·½·(1 + erf(x/√2)).
func geluErf(x []float32) {
	for i, v := range x {
		x[i] = 0.5 * v * (1 + erf32(v*math.Sqrt2/2))
	}
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
