package train

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/sbmoe/sbmoe/core/internal/golden"
)

// goldenFile is testdata/train/golden.json, written by tools/reference/train_golden.py with torch.
type goldenFile struct {
	Generator string `json:"generator"`
	Torch     string `json:"torch"`
	InfoNCE   []struct {
		Name    string    `json:"name"`
		B       int       `json:"b"`
		Dim     int       `json:"dim"`
		Tau     float32   `json:"tau"`
		Q       []float32 `json:"q"`
		D       []float32 `json:"d"`
		Loss    float64   `json:"loss"`
		Correct int       `json:"correct"`
		DQ      []float32 `json:"dq"`
		DD      []float32 `json:"dd"`
	} `json:"infonce"`
	AdamW struct {
		B      int       `json:"b"`
		Dim    int       `json:"dim"`
		Tau    float32   `json:"tau"`
		Q0     []float32 `json:"q0"`
		D0     []float32 `json:"d0"`
		Groups []struct {
			Name        string  `json:"name"`
			LR          float64 `json:"lr"`
			WeightDecay float64 `json:"weight_decay"`
		} `json:"groups"`
		Steps  int       `json:"steps"`
		Losses []float64 `json:"losses"`
		Q      []float32 `json:"q"`
		D      []float32 `json:"d"`
	} `json:"adamw"`
}

func readGolden(t *testing.T) goldenFile {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "train", "golden.json")
	var g goldenFile
	golden.ReadJSON(t, path, &g)
	t.Logf("%s: written by %s with torch %s", path, g.Generator, g.Torch)
	return g
}

// maxDiff returns the largest absolute difference between got and want, and the largest
// absolute value of want, which scales the tolerance of a tensor.
func maxDiff(got, want []float32) (diff, scale float64) {
	for i := range want {
		diff = math.Max(diff, math.Abs(float64(got[i])-float64(want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	return diff, scale
}

// checkTensor fails when got differs from want by more than tol times want's largest value,
// and logs the largest difference either way.
func checkTensor(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	diff, scale := maxDiff(got, want)
	t.Logf("%s: largest difference %.3g (%.3g of its largest value %.3g)", name, diff, diff/scale, scale)
	if diff > tol*scale {
		t.Errorf("%s: largest difference %.3g exceeds %.1g × %.3g", name, diff, tol, scale)
	}
}

// lossDiff is the difference of two losses relative to the larger of the loss and 1: a loss
// near zero is a difference of O(1) scores, and its rounding error is that of the scores.
func lossDiff(got, want float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), 1)
}

func checkLoss(t *testing.T, name string, got, want float64) {
	t.Helper()
	diff := lossDiff(got, want)
	t.Logf("%s: %.9g, torch %.9g, relative difference %.3g", name, got, want, diff)
	if !(diff <= lossTol) {
		t.Errorf("%s: %.9g, torch %.9g: relative difference %.3g exceeds %.1g", name, got, want, diff, lossTol)
	}
}

// Tolerances against torch, about ten times the differences seen. Scores are float32 sums in
// another order than torch's, so they agree to a few ulps; the loss (float64 here, float32 in
// torch) then agrees to about 1e-7 (see lossDiff), gradients to about 1e-6 of their largest
// value, and parameters after 10 AdamW steps to about 1e-7.
const (
	lossTol     = 1e-6
	gradientTol = 1e-5
	paramTol    = 1e-6
)

func TestInfoNCEGolden(t *testing.T) {
	g := readGolden(t)
	for _, c := range g.InfoNCE {
		t.Run(c.Name, func(t *testing.T) {
			loss, err := NewInfoNCE(c.Tau)
			if err != nil {
				t.Fatal(err)
			}
			stats, err := loss.Forward(c.Q, c.D, c.B, c.Dim)
			if err != nil {
				t.Fatal(err)
			}
			checkLoss(t, "loss", stats.Loss, c.Loss)
			if stats.Correct != c.Correct || stats.Queries != c.B {
				t.Errorf("correct %d of %d, torch %d of %d", stats.Correct, stats.Queries, c.Correct, c.B)
			}
			dq := make([]float32, len(c.Q))
			dd := make([]float32, len(c.D))
			loss.Backward(dq, dd)
			checkTensor(t, "dq", dq, c.DQ, gradientTol)
			checkTensor(t, "dd", dd, c.DD, gradientTol)
		})
	}
}

// TestAdamWGolden trains learnable queries and documents with InfoNCE and AdamW in two
// parameter groups, as the golden script does with torch.optim.AdamW, and compares the loss
// before every step and the final parameters.
func TestAdamWGolden(t *testing.T) {
	c := readGolden(t).AdamW
	n := c.B * c.Dim
	q := &Param{Name: "q", Shape: []int{c.B, c.Dim}, Data: append([]float32(nil), c.Q0...), Grad: make([]float32, n)}
	d := &Param{Name: "d", Shape: []int{c.B, c.Dim}, Data: append([]float32(nil), c.D0...), Grad: make([]float32, n)}
	params := map[string]*Param{"q": q, "d": d}
	var groups []Group
	for _, g := range c.Groups {
		groups = append(groups, Group{Name: g.Name, LR: g.LR, WeightDecay: g.WeightDecay, Params: []*Param{params[g.Name]}})
	}
	opt, err := NewAdamW(groups...)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := NewInfoNCE(c.Tau)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for step := range c.Steps {
		ZeroGrad([]*Param{q, d})
		stats, err := loss.Forward(q.Data, d.Data, c.B, c.Dim)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		loss.Backward(q.Grad, d.Grad)
		opt.Step()
		diff := lossDiff(stats.Loss, c.Losses[step])
		worst = math.Max(worst, diff)
		if !(diff <= lossTol) {
			t.Errorf("step %d: loss %.9g, torch %.9g: relative difference %.3g exceeds %.1g", step, stats.Loss, c.Losses[step], diff, lossTol)
		}
	}
	t.Logf("losses of %d steps: largest relative difference %.3g", c.Steps, worst)
	checkTensor(t, "final q", q.Data, c.Q, paramTol)
	checkTensor(t, "final d", d.Data, c.D, paramTol)
}
