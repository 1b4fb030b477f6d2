package bert

import (
	"fmt"
	"testing"
)

// BenchmarkForward measures one forward pass over a batch of 32 sequences of 128 and
// 512 tokens with the model's thread count (sbmoe bench is the user-facing version).
func BenchmarkForward(b *testing.B) {
	m := loadDefaultModel(b)
	for _, n := range []int{128, 512} {
		seq := make([]int32, n)
		for i := range seq {
			seq[i] = int32(1000 + i)
		}
		group := make([][]int32, 32)
		for i := range group {
			group[i] = seq
		}
		b.Run(fmt.Sprintf("seq=%d", n), func(b *testing.B) {
			for b.Loop() {
				m.Forward(group)
			}
			b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}

// BenchmarkTrainStep measures ForwardTrain plus Backward over 32 sequences of 128
// tokens, mean-pooled.
func BenchmarkTrainStep(b *testing.B) {
	m := loadDefaultModel(b)
	seq := make([]int32, 128)
	for i := range seq {
		seq[i] = int32(1000 + i)
	}
	group := make([][]int32, 32)
	for i := range group {
		group[i] = seq
	}
	g := m.NewGrads()
	a := m.ForwardTrain(group, nil)
	dpooled := make([][]float32, len(group))
	for s := range dpooled {
		dpooled[s] = make([]float32, m.Config.HiddenSize)
		dpooled[s][s] = 1
	}
	for b.Loop() {
		a = m.ForwardTrain(group, a)
		m.Backward(a, dpooled, g)
	}
	b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "seqs/s")
}
