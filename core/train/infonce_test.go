package train

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func randomMatrix(r *rand.Rand, rows, cols int, scale float32) []float32 {
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = scale * float32(r.NormFloat64())
	}
	return x
}

// TestInfoNCEFiniteDifferences checks Backward against central differences of Forward.
// Inputs are scaled so scores are O(1): a step h then moves the loss far above float32's
// rounding of the scores, and the truncation error h²·L”'/6 stays near 1e-6.
func TestInfoNCEFiniteDifferences(t *testing.T) {
	const b, dim, h = 4, 6, 1e-3
	for _, c := range []struct {
		name  string
		tau   float32
		scale float32
	}{
		{"tau 0.05", 0.05, 0.15},
		{"tau 1", 1, 0.7},
		{"tau 0.05 confident", 0.05, 0.4},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			q := randomMatrix(r, b, dim, c.scale)
			d := randomMatrix(r, b, dim, c.scale)
			loss, err := NewInfoNCE(c.tau)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := loss.Forward(q, d, b, dim); err != nil {
				t.Fatal(err)
			}
			dq := make([]float32, b*dim)
			dd := make([]float32, b*dim)
			loss.Backward(dq, dd)

			numeric := func(x []float32) []float32 {
				g := make([]float32, len(x))
				for i := range x {
					orig := x[i]
					x[i] = orig + h
					plus, err := loss.Forward(q, d, b, dim)
					if err != nil {
						t.Fatal(err)
					}
					x[i] = orig - h
					minus, err := loss.Forward(q, d, b, dim)
					if err != nil {
						t.Fatal(err)
					}
					x[i] = orig
					g[i] = float32((plus.Loss - minus.Loss) / (2 * h))
				}
				return g
			}
			checkTensor(t, "dq", dq, numeric(q), 1e-3)
			checkTensor(t, "dd", dd, numeric(d), 1e-3)
		})
	}
}

func TestInfoNCEBackwardAdds(t *testing.T) {
	const b, dim = 3, 5
	r := rand.New(rand.NewPCG(3, 4))
	q, d := randomMatrix(r, b, dim, 0.3), randomMatrix(r, b, dim, 0.3)
	loss, _ := NewInfoNCE(DefaultTemperature)
	if _, err := loss.Forward(q, d, b, dim); err != nil {
		t.Fatal(err)
	}
	once := [2][]float32{make([]float32, b*dim), make([]float32, b*dim)}
	twice := [2][]float32{make([]float32, b*dim), make([]float32, b*dim)}
	loss.Backward(once[0], once[1])
	loss.Backward(twice[0], twice[1])
	loss.Backward(twice[0], twice[1])
	for k, name := range []string{"dq", "dd"} {
		doubled := make([]float32, len(once[k]))
		for i, v := range once[k] {
			doubled[i] = 2 * v
		}
		// Not bit-exact: the second call adds each product to the first call's sum.
		checkTensor(t, name+" after two calls", twice[k], doubled, 1e-6)
	}
}

func TestInfoNCERows(t *testing.T) {
	const b, dim = 5, 4
	r := rand.New(rand.NewPCG(5, 6))
	q := randomMatrix(r, b, dim, 1)
	d := make([]float32, b*dim)
	copy(d, q)
	copy(d[0:dim], q[dim:2*dim]) // query 0's positive duplicates query 1's: query 0 may miss
	loss, _ := NewInfoNCE(DefaultTemperature)
	stats, err := loss.Forward(q, d, b, dim)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	correct := 0
	for _, row := range loss.Rows() {
		sum += row.Loss
		if row.Correct {
			correct++
		}
	}
	if math.Abs(sum/b-stats.Loss) > 1e-12 || correct != stats.Correct {
		t.Errorf("rows sum to loss %v and %d correct; Stats has %v and %d", sum/b, correct, stats.Loss, stats.Correct)
	}
	if stats.Accuracy() != float64(stats.Correct)/b {
		t.Errorf("accuracy %v with %d of %d correct", stats.Accuracy(), stats.Correct, b)
	}
}

func TestInfoNCENonFinite(t *testing.T) {
	const b, dim = 2, 3
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		name string
		q, d []float32
	}{
		{"NaN query", []float32{1, nan, 0, 0, 1, 0}, []float32{1, 0, 0, 0, 1, 0}},
		{"infinite document", []float32{1, 0, 0, 0, 1, 0}, []float32{1, 0, 0, 0, inf, 0}},
		{"overflowing dot product", []float32{1e30, 0, 0, 0, 1, 0}, []float32{1e30, 0, 0, 0, 1, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			loss, _ := NewInfoNCE(DefaultTemperature)
			_, err := loss.Forward(c.q, c.d, b, dim)
			if !errors.Is(err, ErrNonFinite) {
				t.Fatalf("error %v, want one wrapping ErrNonFinite", err)
			}
			t.Log(err)
		})
	}
}

func TestNewInfoNCETemperature(t *testing.T) {
	for _, tau := range []float32{0, -0.05, float32(math.NaN()), float32(math.Inf(1))} {
		if _, err := NewInfoNCE(tau); err == nil {
			t.Errorf("temperature %v accepted", tau)
		}
	}
	if l, err := NewInfoNCE(DefaultTemperature); err != nil || l.Temperature() != DefaultTemperature {
		t.Errorf("default temperature: %v, %v", l, err)
	}
}

// TestInfoNCENoAllocations: the browser fine-tunes with this loss, so a training step must
// not allocate once its buffers exist, including the shorter last batch of an epoch.
func TestInfoNCENoAllocations(t *testing.T) {
	const b, dim = 64, 32
	r := rand.New(rand.NewPCG(7, 8))
	q, d := randomMatrix(r, b, dim, 0.2), randomMatrix(r, b, dim, 0.2)
	dq, dd := make([]float32, b*dim), make([]float32, b*dim)
	loss, _ := NewInfoNCE(DefaultTemperature)
	if _, err := loss.Forward(q, d, b, dim); err != nil {
		t.Fatal(err)
	}
	short := 10 * dim
	allocs := testing.AllocsPerRun(10, func() {
		loss.Forward(q, d, b, dim)
		loss.Backward(dq, dd)
		loss.Forward(q[:short], d[:short], 10, dim)
		loss.Backward(dq[:short], dd[:short])
	})
	if allocs != 0 {
		t.Errorf("%v allocations per step", allocs)
	}
}

func BenchmarkInfoNCE(b *testing.B) {
	const batch, dim = 64, 384
	r := rand.New(rand.NewPCG(9, 10))
	q, d := randomMatrix(r, batch, dim, 0.05), randomMatrix(r, batch, dim, 0.05)
	dq, dd := make([]float32, batch*dim), make([]float32, batch*dim)
	loss, _ := NewInfoNCE(DefaultTemperature)
	for b.Loop() {
		loss.Forward(q, d, batch, dim)
		loss.Backward(dq, dd)
	}
}
