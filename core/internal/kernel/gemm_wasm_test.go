//go:build goexperiment.simd && wasm && !purego

package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestGemmWasmExact: SIMD128 has no fused multiply-add, so the 4×8 tiles and the single
// rows below them sum every element in GemmScalar's order: the same floats, bit for bit
// (18 rows: a 10-word query).
func TestGemmWasmExact(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range [][3]int{{18, 384, 384}, {1, 8, 5}, {3, 16, 33}, {6, 1536, 384}, {67, 48, 31}} {
		m, n, k := s[0], s[1], s[2]
		t.Run(fmt.Sprintf("m%d_n%d_k%d", m, n, k), func(t *testing.T) {
			a, b, c := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
			want := append([]float32(nil), c...)
			Gemm(m, n, k, a, k, b, n, c, n)
			GemmScalar(m, n, k, a, k, b, n, want, n)
			for i := range c {
				if c[i] != want[i] {
					t.Fatalf("C[%d,%d] = %v, GemmScalar %v", i/n, i%n, c[i], want[i])
				}
			}
		})
	}
}
