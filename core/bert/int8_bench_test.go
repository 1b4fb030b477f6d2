package bert

import (
	"fmt"
	"testing"

	"github.com/sbmoe/sbmoe/core/internal/kernel"
)

// BenchmarkEncoder compares the fp32 and int8 forms of the default model: documents
// per second for a batch of 32 sequences of 128 tokens, and the latency of one
// 16-token query, with the model's thread count (GOMAXPROCS).
func BenchmarkEncoder(b *testing.B) {
	m := loadDefaultModel(b)
	type variant struct {
		name, impl string // impl: the int8 kernels current while it runs
		m          *Model
	}
	variants := []variant{{"fp32", kernel.Int8Impl(), m}}
	defer kernel.SetInt8Impl(kernel.Int8Impl())
	for _, impl := range kernel.Int8Impls() {
		if impl == "scalar" && len(kernel.Int8Impls()) > 1 {
			continue // minutes per batch
		}
		if err := kernel.SetInt8Impl(impl); err != nil {
			b.Fatal(err)
		}
		q, err := m.QuantizeInt8()
		if err != nil {
			b.Fatal(err)
		}
		variants = append(variants, variant{"int8-" + impl, impl, q})
	}
	seq := func(n int) []int32 {
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(1000 + i)
		}
		s[0], s[n-1] = 101, 102
		return s
	}
	batch := make([][]int32, 32)
	for i := range batch {
		batch[i] = seq(128)
	}
	query := [][]int32{seq(16)}
	for _, v := range variants {
		// The weights remember the kernels they were packed for; quantising and
		// dequantising the activations take the current ones.
		if err := kernel.SetInt8Impl(v.impl); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/docs/seq=128", v.name), func(b *testing.B) {
			for b.Loop() {
				v.m.Forward(batch)
			}
			b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "docs/s")
		})
		b.Run(fmt.Sprintf("%s/query/seq=16", v.name), func(b *testing.B) {
			for b.Loop() {
				v.m.Forward(query)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/query")
		})
	}
}
