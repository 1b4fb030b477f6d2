package train

// Param is one trainable tensor: its values and the gradient the backward passes add into.
// Data and Grad have the same length, the product of Shape; both are row-major.
//
// Models keep their weights in their own layouts and expose them as Params whose Data and
// Grad alias those buffers, so the optimizer updates the model in place.
type Param struct {
	Name   string // unique within the model; names the optimizer state in checkpoints
	Shape  []int
	Data   []float32
	Grad   []float32
	Frozen bool // skipped by the optimizer: no update, no state, no weight decay
}

// ZeroGrad sets every gradient to zero. Backward passes add into gradients, so this is the
// explicit step between optimizer steps.
func ZeroGrad(params []*Param) {
	for _, p := range params {
		clear(p.Grad)
	}
}
