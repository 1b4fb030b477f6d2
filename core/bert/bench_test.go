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
