package bert

import (
	"math"

	"github.com/sbmoe/sbmoe/core/internal/kernel"
)

// activation is the feed-forward non-linearity: forward applies it in place, backward
// adds dy·f′(x) into dx, x being forward's input.
type activation struct {
	forward  func(x []float32)
	backward func(dx, dy, x []float32)
}

// activations maps config.json's hidden_act to the feed-forward non-linearity. "gelu"
// is the exact erf form that Hugging Face BERT uses; its backward, kernel.GeluErfBackward,
// adds dy·(Φ(x) + x·φ(x)) with the kernels' float32 erf and exp, as forward computes Φ.
var activations = map[string]activation{
	"gelu":              {kernel.GeluErf, kernel.GeluErfBackward},
	"gelu_new":          {geluTanh, geluTanhBackward},
	"gelu_pytorch_tanh": {geluTanh, geluTanhBackward},
	"relu":              {relu, reluBackward},
}

// geluTanh: ½x·(1 + tanh(√(2/π)·(x + 0.044715x³))).
func geluTanh(x []float32) {
	for i, v := range x {
		x[i] = float32(0.5 * float64(v) * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(float64(v)+0.044715*float64(v)*float64(v)*float64(v)))))
	}
}

// geluTanhBackward: with u = √(2/π)·(x + 0.044715x³) and t = tanh u,
// f′ = ½(1 + t) + ½x·(1 − t²)·√(2/π)·(1 + 3·0.044715x²).
func geluTanhBackward(dx, dy, x []float32) {
	c := math.Sqrt(2 / math.Pi)
	for i, v := range x {
		xv := float64(v)
		t := math.Tanh(c * (xv + 0.044715*xv*xv*xv))
		dx[i] += dy[i] * float32(0.5*(1+t)+0.5*xv*(1-t*t)*c*(1+3*0.044715*xv*xv))
	}
}

func relu(x []float32) {
	for i, v := range x {
		x[i] = max(v, 0)
	}
}

// reluBackward passes the gradient where x > 0 (0 at the kink, as PyTorch does).
func reluBackward(dx, dy, x []float32) {
	for i, v := range x {
		if v > 0 {
			dx[i] += dy[i]
		}
	}
}
