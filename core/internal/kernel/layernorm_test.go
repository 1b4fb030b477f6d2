package kernel

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLayerNormMatchesScalar checks every row length up to 2000 (vector body and
// scalar tail), in place and not, against the specification: statistics to float64
// rounding and outputs to one float32 rounding, guards untouched, inputs unchanged.
func TestLayerNormMatchesScalar(t *testing.T) {
	forEachFloatPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		for n := 0; n <= 2000; n += 1 + n/16 {
			x := randSlice(r, n)
			for i := range x {
				x[i] = 3*x[i] + 0.5 // not centred
			}
			if n > 3 {
				x[n/2] = 40 // an outlier channel, as BERT has
			}
			g, b := randSlice(r, n), randSlice(r, n)
			x0, g0, b0 := slices.Clone(x), slices.Clone(g), slices.Clone(b)
			y := make([]float32, n+2)
			y[n], y[n+1] = guard, guard
			want := make([]float32, n)
			mean, rstd := LayerNorm(y, x, g, b, 1e-12)
			wm, wr := LayerNormScalar(want, x, g, b, 1e-12)
			if y[n] != guard || y[n+1] != guard {
				t.Fatalf("n=%d: wrote past y", n)
			}
			if !slices.Equal(x, x0) || !slices.Equal(g, g0) || !slices.Equal(b, b0) {
				t.Fatalf("n=%d: LayerNorm changed its inputs", n)
			}
			if !close32(mean, wm, 1e-6) || !close32(rstd, wr, 1e-6) {
				t.Fatalf("n=%d: statistics %g, %g; want %g, %g", n, mean, rstd, wm, wr)
			}
			for i := range want {
				if !close32(y[i], want[i], 1e-6) {
					t.Fatalf("n=%d: y[%d] = %g, want %g", n, i, y[i], want[i])
				}
			}
			LayerNorm(x, x, g, b, 1e-12) // in place
			for i := range want {
				if !close32(x[i], want[i], 1e-6) {
					t.Fatalf("n=%d in place: y[%d] = %g, want %g", n, i, x[i], want[i])
				}
			}
		}
	})
}

// close32 reports whether a and b agree to tol relative to max(1, |b|).
func close32(a, b float32, tol float64) bool {
	return math.Abs(float64(a-b)) <= tol*max(1, math.Abs(float64(b)))
}
