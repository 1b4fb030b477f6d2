package kernel

import (
	"math"
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
