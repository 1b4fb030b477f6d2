package moe

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goldenDir holds the files written by tools/reference/moe_golden.py.
var goldenDir = filepath.Join("..", "testdata", "moe")

type goldenCase struct {
	Name   string               `json:"name"`
	Router Router               `json:"router"`
	Mode   string               `json:"mode"`
	Mix    Mix                  `json:"pool"`
	Out    []float32            `json:"out"`
	Expert []int                `json:"expert"`
	Probs  []float32            `json:"probs"`
	Aux    float32              `json:"aux"`
	Grads  map[string][]float64 `json:"grads"`
}

type goldenFile struct {
	Generator   string       `json:"generator"`
	Hidden      int          `json:"hidden_size"`
	Experts     int          `json:"num_experts"`
	Rows        int          `json:"rows"`
	BalanceCoef float32      `json:"balance_coef"`
	H           []float32    `json:"h"`
	R           []float32    `json:"r"`
	Noise       []float32    `json:"noise"`
	Cases       []goldenCase `json:"cases"`
}

// TestGolden runs the PyTorch golden cases (paper and learned routers, training with fixed
// noise, TOP-1 and ALL inference) and compares the output, the routing, the balance loss and
// the gradient of Σ out·r + aux with respect to h and every trained parameter.
func TestGolden(t *testing.T) {
	var g goldenFile
	readGolden(t, filepath.Join(goldenDir, "golden.json"), &g)
	t.Logf("golden: %s", g.Generator)

	loaded, err := Load(goldenDir) // tensors written by safetensors.torch with the authors' names
	if err != nil {
		t.Fatal(err)
	}
	const tol = 2e-5
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			cfg := Config{Hidden: g.Hidden, Experts: g.Experts, Router: c.Router, Mix: c.Mix}
			if c.Router == RouterLearned {
				cfg.BalanceCoef = g.BalanceCoef
			}
			b := withConfig(t, loaded, cfg)
			mode, noise := Eval, []float32(nil)
			if c.Mode == "train" {
				mode, noise = Train, g.Noise
			}
			out := make([]float32, g.Rows*g.Hidden)
			rt := b.forward(out, g.H, g.Rows, mode, noise)
			for r, k := range c.Expert {
				if rt.Expert[r] != k {
					t.Errorf("row %d: expert %d, want %d", r, rt.Expert[r], k)
				}
			}
			checkClose(t, "out", out, widen(c.Out), tol)
			checkClose(t, "probs", rt.Probs, widen(c.Probs), tol)
			checkClose(t, "aux", []float32{rt.AuxLoss}, []float64{float64(c.Aux)}, tol)

			b.ZeroGrad()
			dh := make([]float32, len(g.H))
			b.Backward(dh, g.R, 1)
			checkClose(t, "h", dh, c.Grads["h"], tol)
			for _, p := range b.Params() {
				if p.Frozen {
					if slices.ContainsFunc(p.Grad, func(v float32) bool { return v != 0 }) {
						t.Errorf("%s is frozen but has a gradient", p.Name)
					}
					continue
				}
				want, ok := c.Grads[p.Name]
				if !ok {
					t.Fatalf("golden has no gradient for %s", p.Name)
				}
				checkClose(t, p.Name, p.Grad, want, tol)
			}
		})
	}
}

// withConfig copies src's weights into a new block of the same shape under cfg.
func withConfig(t *testing.T, src *Block, cfg Config) *Block {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	b := newBlock(cfg)
	for i, p := range b.params {
		copy(p.Data, src.params[i].Data)
	}
	return b
}

func widen(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// checkClose logs the largest absolute difference of a tensor and fails above tol (scaled
// by the largest magnitude when that exceeds 1).
func checkClose(t *testing.T, name string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	var worst, scale float64
	at := 0
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
		scale = max(scale, math.Abs(w))
	}
	t.Logf("%-48s max |diff| %.2e (max |value| %.2e)", name, worst, scale)
	if !(worst <= tol*max(1, scale)) {
		t.Errorf("%s[%d] = %g, want %g (|diff| %.2e > %.0e)", name, at, got[at], want[at], worst, tol)
	}
}

// readGolden decodes the reference file at path (JSON, gzipped when its name ends in .gz)
// into v. It is core/internal/golden.ReadJSON, which Go's internal rule keeps out of reach
// of this package.
func readGolden(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err == nil {
			b, err = io.ReadAll(zr)
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// goldenFloats decodes a tensor of a reference file: base64 of little-endian float32s.
func goldenFloats(t testing.TB, s string) []float32 {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw)%4 != 0 {
		t.Fatalf("golden tensor of %d bytes: %v", len(raw), err)
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}
