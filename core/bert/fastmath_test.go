package bert

import (
	"math"
	"testing"
)

func TestExp32(t *testing.T) {
	var worst float64
	for x := -87.0; x <= 88; x += 0.001 { // normal results; subnormals lose precision by nature
		got, want := float64(exp32(float32(x))), math.Exp(float64(float32(x)))
		if want == 0 {
			continue
		}
		worst = max(worst, math.Abs(got-want)/want)
	}
	t.Logf("exp32 largest relative error %.3g", worst)
	if worst > 3e-7 {
		t.Fatalf("exp32 relative error %.3g > 3e-7", worst)
	}
	for _, c := range []struct{ in, want float32 }{{0, 1}, {-200, 0}, {float32(math.Inf(-1)), 0}, {float32(math.Inf(1)), float32(math.Inf(1))}} {
		if got := exp32(c.in); got != c.want {
			t.Errorf("exp32(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if nan := exp32(float32(math.NaN())); nan == nan {
		t.Error("exp32(NaN) is not NaN")
	}
}

func TestErf32(t *testing.T) {
	var worst float64
	for x := -6.0; x <= 6; x += 0.0005 {
		worst = max(worst, math.Abs(float64(erf32(float32(x)))-math.Erf(float64(float32(x)))))
	}
	t.Logf("erf32 largest absolute error %.3g", worst)
	if worst > 5e-7 {
		t.Fatalf("erf32 absolute error %.3g > 5e-7", worst)
	}
}
