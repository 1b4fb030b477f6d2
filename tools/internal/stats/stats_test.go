package stats

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestAgainstSciPy checks both tests against testdata/stats/paired.json
// (tools/reference/stats_golden.py).
func TestAgainstSciPy(t *testing.T) {
	var file struct {
		Cases []struct {
			Name  string
			A, B  []float64
			T     float64
			TP    float64 `json:"t_p"`
			PermP float64 `json:"perm_p"`
		}
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "stats", "paired.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("paired.json: %v", err)
	}
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range file.Cases {
		tv, p, err := PairedT(c.A, c.B)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(tv-c.T) > 1e-9*math.Max(1, math.Abs(c.T)) || math.Abs(p-c.TP) > 1e-9 {
			t.Errorf("%s: t-test t=%.12g p=%.12g, SciPy t=%.12g p=%.12g", c.Name, tv, p, c.T, c.TP)
		}
		pp, err := PairedRandomization(c.A, c.B, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(pp-c.PermP) > 1e-12 {
			t.Errorf("%s: randomization p=%.12g, SciPy %.12g", c.Name, pp, c.PermP)
		}
	}
}

// TestRandomizationSampled: beyond the exact limit the sampled p-value estimates the
// exact one, computed here on 20 pairs, repeated with one more pair of equal scores
// (which changes no sign pattern's sum).
func TestRandomizationSampled(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a, b := make([]float64, exactLimit), make([]float64, exactLimit)
	for i := range a {
		a[i], b[i] = rng.Float64(), rng.Float64()-0.15
	}
	exact, err := PairedRandomization(a, b, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	sampled, err := PairedRandomization(append(a, 0.5), append(b, 0.5), 200000, 9)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(sampled-exact) > 0.005 || exact < 0.01 || exact > 0.99 {
		t.Errorf("sampled p %.4f, exact %.4f", sampled, exact)
	}
}

func TestEdgeCases(t *testing.T) {
	if _, std := MeanStd([]float64{2}); std != 0 {
		t.Errorf("std of one value %g", std)
	}
	if m, s := MeanStd([]float64{1, 2, 3, 4}); m != 2.5 || math.Abs(s-math.Sqrt(5.0/3)) > 1e-15 {
		t.Errorf("MeanStd = %g, %g", m, s)
	}
	if _, p, err := PairedT([]float64{1, 2}, []float64{1, 2}); err != nil || p != 1 {
		t.Errorf("identical samples: p %g, %v", p, err)
	}
	if _, _, err := PairedT([]float64{1, 2}, []float64{1}); err == nil {
		t.Error("unpaired samples accepted")
	}
	if _, err := PairedRandomization([]float64{1}, []float64{2}, 10, 1); err == nil {
		t.Error("one pair accepted")
	}
	if _, err := PairedRandomization(make([]float64, 30), make([]float64, 30), 0, 1); err == nil {
		t.Error("zero rounds accepted")
	}
}
