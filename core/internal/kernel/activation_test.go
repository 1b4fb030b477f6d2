package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExp32Scalar(t *testing.T) {
	var worst float64
	for x := -87.0; x <= 88; x += 0.001 { // normal results; subnormals lose precision by nature
		got, want := float64(Exp32(float32(x))), math.Exp(float64(float32(x)))
		if want == 0 {
			continue
		}
		worst = max(worst, math.Abs(got-want)/want)
	}
	t.Logf("Exp32 largest relative error %.3g", worst)
	if worst > 3e-7 {
		t.Fatalf("Exp32 relative error %.3g > 3e-7", worst)
	}
	for _, c := range []struct{ in, want float32 }{{0, 1}, {-200, 0}, {float32(math.Inf(-1)), 0}, {float32(math.Inf(1)), float32(math.Inf(1))}} {
		if got := Exp32(c.in); got != c.want {
			t.Errorf("Exp32(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if nan := Exp32(float32(math.NaN())); nan == nan {
		t.Error("Exp32(NaN) is not NaN")
	}
}

func TestErf32Scalar(t *testing.T) {
	var worst float64
	for x := -6.0; x <= 6; x += 0.0005 {
		worst = max(worst, math.Abs(float64(Erf32(float32(x)))-math.Erf(float64(float32(x)))))
	}
	t.Logf("Erf32 largest absolute error %.3g", worst)
	if worst > 5e-7 {
		t.Fatalf("Erf32 absolute error %.3g > 5e-7", worst)
	}
}

func TestSoftmax(t *testing.T) {
	x := []float32{1, 2, 3, 4, guard}
	SoftmaxScaled(x[:4], 0.5)
	var sum float64
	for i := range 4 {
		want := math.Exp(0.5*float64(i+1)-2) / (math.Exp(-1.5) + math.Exp(-1) + math.Exp(-0.5) + 1)
		if math.Abs(float64(x[i])-want) > 1e-7 {
			t.Errorf("x[%d] = %g, want %g", i, x[i], want)
		}
		sum += float64(x[i])
	}
	if math.Abs(sum-1) > 1e-6 || x[4] != guard {
		t.Errorf("sum %g, guard %g", sum, x[4])
	}
	big := []float32{1000, 1000, -1000}
	SoftmaxScaled(big, 1)
	if big[0] != 0.5 || big[1] != 0.5 || big[2] > 1e-37 { // SIMD clamps e^x at the smallest normal float
		t.Errorf("large inputs: %v", big)
	}
	SoftmaxScaled(nil, 1)
}

func TestSoftmaxMatchesScalar(t *testing.T) {
	for n := 1; n <= 600; n += 1 + n/8 {
		for _, spread := range []float32{0.1, 3, 40} {
			x := make([]float32, n+2)
			for i := range x[:n] {
				x[i] = float32((i*7919)%101-50) * spread / 50
			}
			x[n], x[n+1] = guard, guard
			want := append([]float32(nil), x...)
			SoftmaxScaled(x[:n], 0.125)
			SoftmaxScaledScalar(want[:n], 0.125)
			for i := range x[:n] {
				if math.Abs(float64(x[i]-want[i])) > 2e-7+4e-6*float64(want[i]) {
					t.Fatalf("n=%d spread=%g i=%d: got %g want %g", n, spread, i, x[i], want[i])
				}
			}
			if x[n] != guard || x[n+1] != guard {
				t.Fatalf("n=%d: wrote past the end", n)
			}
		}
	}
}

func TestGeluMatchesReference(t *testing.T) {
	for n := 0; n <= 100; n++ {
		x := make([]float32, n+2)
		want := make([]float64, n)
		for i := range x[:n] {
			x[i] = float32(i-n/2) * 0.173
			v := float64(x[i])
			want[i] = 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
		}
		x[n], x[n+1] = guard, guard
		scalar := append([]float32(nil), x...)
		GeluErf(x[:n])
		GeluErfScalar(scalar[:n])
		for i := range want {
			tol := 1e-6 * max(1, math.Abs(want[i]))
			if math.Abs(float64(x[i])-want[i]) > tol || math.Abs(float64(scalar[i])-want[i]) > tol {
				t.Fatalf("n=%d i=%d x=%g: got %g (scalar %g), want %g", n, i, float64(float32(i-n/2)*0.173), x[i], scalar[i], want[i])
			}
		}
		if x[n] != guard || x[n+1] != guard {
			t.Fatalf("n=%d: wrote past the end", n)
		}
	}
}

// geluBackwardInputs are the test inputs of GeluErfBackward: special values first (signed
// zeros, tiny and subnormal values, where f′ crosses zero at x ≈ −0.7518, the edges of
// erf's clamp at |x| = 4√2 and of exp's at x²/2 = 87.34 (|x| ≈ 13.22), large values),
// then a sweep of [−20, 20].
func geluBackwardInputs() (xs []float32, specials int) {
	xs = []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-40, -1e-40, 1e-7, -1e-7,
		0.75179, -0.75179, 5.656854, -5.656854, 10, -10, 13.2, -13.2, 13.2166, -13.2166, 13.22, -13.22,
		14.5, -14.5, 100, -100, 1e10, -1e10, 1e30, -1e30, 1e37, -1e37, 3e38, -3e38}
	specials = len(xs)
	for x := -20.0; x <= 20; x += 0.01 {
		xs = append(xs, float32(x))
	}
	return xs, specials
}

// geluBackwardTol bounds the difference between GeluErfBackward and its scalar twin in
// dx = dx₀ + dy·f′(x), f′ = Φ + x·φ: 2⁻²¹ (4 ulp) relative to the terms' magnitude
// |dx₀| + |dy·f′|, for the FMAs in the vector code, plus 2⁻²¹·|dy| (4 ulp of 1)
// absolute, for Φ: the vector erf rounds differently by a few ulp of 1, which is all of
// f′ where Φ and x·φ cancel (f′ = 0 at x ≈ −0.75, and Φ ≈ 1e-8 near x = −5.6).
// Measured on AVX-512 and AVX2 over [−20, 20] in steps of 1e-4: at most 2.1e-7·|dy|.
func geluBackwardTol(dx0, dy, f float32) float64 {
	return 0x1p-21 * (math.Abs(float64(dx0)) + math.Abs(float64(dy*f)) + math.Abs(float64(dy)))
}

func TestGeluBackwardMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	pool, specials := geluBackwardInputs()
	lengths := []int{255, 1000, 4099, len(pool)}
	for n := 0; n <= 70; n++ {
		lengths = append(lengths, n)
	}
	var worst float64 // largest difference over its tolerance
	for _, n := range lengths {
		x, dy, dx := make([]float32, n), make([]float32, n), make([]float32, n+2)
		for i := range x {
			if n == len(pool) {
				x[i] = pool[i]
			} else if r.IntN(2) == 0 {
				x[i] = pool[r.IntN(specials)]
			} else {
				x[i] = pool[r.IntN(len(pool))]
			}
			dy[i] = float32(r.NormFloat64())
			dx[i] = float32(r.NormFloat64())
		}
		dx[n], dx[n+1] = guard, guard
		dx0 := append([]float32(nil), dx...)
		want := append([]float32(nil), dx...)
		f := make([]float32, n) // f′(x) from the scalar twin, for the tolerance
		ones := make([]float32, n)
		for i := range ones {
			ones[i] = 1
		}
		GeluErfBackwardScalar(f, ones, x)
		GeluErfBackward(dx[:n], dy, x)
		GeluErfBackwardScalar(want[:n], dy, x)
		for i := range x {
			d := math.Abs(float64(dx[i] - want[i]))
			worst = max(worst, d/geluBackwardTol(dx0[i], dy[i], f[i]))
			if !(d <= geluBackwardTol(dx0[i], dy[i], f[i])) {
				t.Fatalf("n=%d i=%d x=%g dy=%g dx₀=%g: got %g, scalar %g (difference %.3g > %.3g)",
					n, i, x[i], dy[i], dx0[i], dx[i], want[i], d, geluBackwardTol(dx0[i], dy[i], f[i]))
			}
		}
		if dx[n] != guard || dx[n+1] != guard {
			t.Fatalf("n=%d: wrote past the end", n)
		}
		// dx is accumulated into, not overwritten: with dy = 0 it must not move.
		copy(dx, dx0)
		GeluErfBackward(dx[:n], make([]float32, n), x)
		for i := range dx {
			if dx[i] != dx0[i] {
				t.Fatalf("n=%d i=%d: dy=0 changed dx from %g to %g", n, i, dx0[i], dx[i])
			}
		}
	}
	t.Logf("%s: largest difference from the scalar twin %.2g of the tolerance", Impl(), worst)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic with dy shorter than x")
		}
	}()
	GeluErfBackward(make([]float32, 3), make([]float32, 2), make([]float32, 3))
}

func TestGeluBackwardScalarMatchesReference(t *testing.T) {
	xs, _ := geluBackwardInputs()
	var worst float64
	for _, c := range []struct{ dx0, dy float32 }{{0, 1}, {0.25, -3}} {
		dx, dy := make([]float32, len(xs)), make([]float32, len(xs))
		for i := range dx {
			dx[i], dy[i] = c.dx0, c.dy
		}
		GeluErfBackwardScalar(dx, dy, xs)
		for i, x := range xs {
			v := float64(x)
			f := 0.5*(1+math.Erf(v/math.Sqrt2)) + v*math.Exp(-0.5*v*v)/math.Sqrt(2*math.Pi)
			want := float64(c.dx0) + float64(c.dy)*f
			err := math.Abs(float64(dx[i])-want) / (math.Abs(float64(c.dy)) * max(1, math.Abs(f)))
			worst = max(worst, err)
			if err > 1e-6 {
				t.Fatalf("x=%g dx₀=%g dy=%g: got %g, want %g", x, c.dx0, c.dy, dx[i], want)
			}
		}
	}
	t.Logf("GeluErfBackwardScalar largest error %.3g (relative to |dy|·max(1, |f′|))", worst)
}

func BenchmarkGeluErfBackward(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 14))
	x, dy, dx := randSlice(r, 4096), randSlice(r, 4096), make([]float32, 4096)
	b.Run(Impl(), func(b *testing.B) {
		for b.Loop() {
			GeluErfBackward(dx, dy, x)
		}
	})
	b.Run("scalar", func(b *testing.B) {
		for b.Loop() {
			GeluErfBackwardScalar(dx, dy, x)
		}
	})
}

func BenchmarkActivations(b *testing.B) {
	x := make([]float32, 128*1536)
	for i := range x {
		x[i] = float32(i%200-100) * 0.05
	}
	b.Run(Impl()+"/gelu", func(b *testing.B) {
		for b.Loop() {
			GeluErf(x)
		}
	})
	b.Run("scalar/gelu", func(b *testing.B) {
		for b.Loop() {
			GeluErfScalar(x)
		}
	})
	row := x[:128]
	b.Run(Impl()+"/softmax128", func(b *testing.B) {
		for b.Loop() {
			SoftmaxScaled(row, 0.1)
		}
	})
	b.Run("scalar/softmax128", func(b *testing.B) {
		for b.Loop() {
			SoftmaxScaledScalar(row, 0.1)
		}
	})
}
