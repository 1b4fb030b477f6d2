package index

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkSearch scores one query against 10,000 all-MiniLM-L6-v2 sized
// vectors, as for a small BEIR corpus.
func BenchmarkSearch(b *testing.B) {
	const n, dim = 10000, 384
	rng := rand.New(rand.NewPCG(1, 2))
	f := build(b, Float32, randomVectors(rng, n, dim, false), dim)
	query := randomVectors(rng, 1, dim, false)[0]
	for _, ix := range []*Index{f, f.Quantized()} {
		for _, k := range []int{10, 1000} {
			b.Run(ix.Kind().String()+"/k="+strconv.Itoa(k), func(b *testing.B) {
				for b.Loop() {
					ix.Search(query, k)
				}
			})
		}
	}
}
