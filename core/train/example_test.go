package train_test

import (
	"fmt"

	"github.com/sbmoe/sbmoe/core/train"
)

// Example trains two query and two document embeddings directly, so that each query scores
// its own document highest.
func Example() {
	const b, dim = 2, 3
	q := &train.Param{Name: "q", Shape: []int{b, dim}, Data: []float32{1, 0, 0, 0, 1, 0}, Grad: make([]float32, b*dim)}
	d := &train.Param{Name: "d", Shape: []int{b, dim}, Data: []float32{0.2, 0.9, 0.1, 0.8, 0.1, 0.3}, Grad: make([]float32, b*dim)}
	params := []*train.Param{q, d}

	loss, err := train.NewInfoNCE(train.DefaultTemperature)
	if err != nil {
		fmt.Println(err)
		return
	}
	opt, err := train.NewAdamW(
		train.Group{Name: "queries", LR: 1e-2, WeightDecay: train.DefaultWeightDecay, Params: []*train.Param{q}},
		train.Group{Name: "documents", LR: 1e-2, WeightDecay: 0, Params: []*train.Param{d}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for step := range 60 {
		train.ZeroGrad(params)
		stats, err := loss.Forward(q.Data, d.Data, b, dim)
		if err != nil {
			fmt.Println(err)
			return
		}
		loss.Backward(q.Grad, d.Grad)
		opt.Step()
		if step%20 == 0 || step == 59 {
			fmt.Printf("step %d: loss %.2f, accuracy %.1f\n", step, stats.Loss, stats.Accuracy())
		}
	}
	// Output:
	// step 0: loss 14.00, accuracy 0.0
	// step 20: loss 1.96, accuracy 0.5
	// step 40: loss 0.00, accuracy 1.0
	// step 59: loss 0.00, accuracy 1.0
}

// ExampleBatches shuffles ten training pairs into batches of four for epoch 0 of seed 42.
func ExampleBatches() {
	batches, err := train.Batches(10, 4, 42, 0, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(batches)
	// Output: [[3 2 5 6] [4 1 0 7] [9 8]]
}
