package weights

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"time"

	"github.com/sbmoe/sbmoe/core/internal/golden"
)

const fixtureDir = "../../testdata/weights"

type expectedTensor struct {
	Name   string    `json:"name"`
	DType  string    `json:"dtype"`
	Shape  []int     `json:"shape"`
	Values []float64 `json:"values"`
}

func loadExpected(t *testing.T) []expectedTensor {
	t.Helper()
	var exp struct {
		Tensors []expectedTensor `json:"tensors"`
	}
	golden.ReadJSON(t, filepath.Join(fixtureDir, "tiny_expected.json"), &exp)
	return exp.Tensors
}

// requireMatchesExpected checks s against tiny_expected.json exactly: every source dtype widens
// to float32 without rounding, so any difference is a bug. It logs the largest difference per
// tensor, which is what one needs to see when a conversion is wrong.
func requireMatchesExpected(t *testing.T, s Set, exp []expectedTensor) {
	t.Helper()
	if len(s) != len(exp) {
		t.Errorf("got %d tensors %v, want %d", len(s), s.Names(), len(exp))
	}
	for _, e := range exp {
		got, err := s.Get(e.Name, e.Shape...)
		if err != nil {
			t.Errorf("%s: %v", e.DType, err)
			continue
		}
		if len(got.Data) != len(e.Values) {
			t.Errorf("tensor %s: %d values, want %d", e.Name, len(got.Data), len(e.Values))
			continue
		}
		maxDiff, at := 0.0, -1
		for i, v := range e.Values {
			if d := math.Abs(float64(got.Data[i]) - v); d > maxDiff || math.IsNaN(d) {
				maxDiff, at = d, i
			}
		}
		if at >= 0 {
			t.Errorf("tensor %s (%s): largest difference %g at index %d", e.Name, e.DType, maxDiff, at)
		}
	}
}

func TestFixturesMatchExpected(t *testing.T) {
	exp := loadExpected(t)
	tests := []struct {
		file string
		read func(string) (Set, error)
	}{
		{"tiny.safetensors", ReadSafetensors},
		{"tiny_pytorch_model.bin", ReadPyTorch},
		{"tiny_pytorch_legacy.bin", ReadPyTorch},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			s, err := tc.read(filepath.Join(fixtureDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			requireMatchesExpected(t, s, exp)
		})
	}
}

func TestLoadDir(t *testing.T) {
	exp := loadExpected(t)
	copyFixture := func(t *testing.T, dir, from, to string) {
		b, err := os.ReadFile(filepath.Join(fixtureDir, from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("prefers safetensors", func(t *testing.T) {
		dir := t.TempDir()
		copyFixture(t, dir, "tiny.safetensors", "model.safetensors")
		if err := os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), []byte("garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
		s, used, err := LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(used) != "model.safetensors" {
			t.Errorf("used %s, want model.safetensors", used)
		}
		requireMatchesExpected(t, s, exp)
	})
	t.Run("falls back to pytorch_model.bin", func(t *testing.T) {
		dir := t.TempDir()
		copyFixture(t, dir, "tiny_pytorch_model.bin", "pytorch_model.bin")
		s, used, err := LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(used) != "pytorch_model.bin" {
			t.Errorf("used %s, want pytorch_model.bin", used)
		}
		requireMatchesExpected(t, s, exp)
	})
	t.Run("sharded safetensors", func(t *testing.T) {
		dir := t.TempDir()
		a := &Tensor{Name: "a", Shape: []int{2}, Data: []float32{1, 2}}
		b := &Tensor{Name: "b", Shape: []int{}, Data: []float32{3}}
		for name, tensor := range map[string]*Tensor{"model-00001-of-00002.safetensors": a, "model-00002-of-00002.safetensors": b} {
			var buf bytes.Buffer
			if err := WriteSafetensors(&buf, []*Tensor{tensor}, nil); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		index := `{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`
		if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(index), 0o644); err != nil {
			t.Fatal(err)
		}
		s, used, err := LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(used) != "model.safetensors.index.json" || len(s) != 2 || s["b"].Data[0] != 3 {
			t.Errorf("used %s, got %v", used, s.Names())
		}
		index = `{"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}`
		if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(index), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "tensor c: missing from shard") {
			t.Errorf("missing tensor: got %v", err)
		}
	})
	t.Run("from an fs.FS, as the folder", func(t *testing.T) {
		for _, file := range []string{"tiny.safetensors", "tiny_pytorch_model.bin"} {
			b, err := os.ReadFile(filepath.Join(fixtureDir, file))
			if err != nil {
				t.Fatal(err)
			}
			name := map[string]string{"tiny.safetensors": "model.safetensors", "tiny_pytorch_model.bin": "pytorch_model.bin"}[file]
			s, used, err := LoadFS(fstest.MapFS{name: {Data: b}})
			if err != nil {
				t.Fatal(err)
			}
			if used != name {
				t.Errorf("used %s, want %s", used, name)
			}
			requireMatchesExpected(t, s, exp)
		}
	})
	t.Run("empty folder", func(t *testing.T) {
		dir := t.TempDir()
		if _, _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "no model.safetensors") {
			t.Errorf("got %v", err)
		}
	})
}

func TestCanonical(t *testing.T) {
	s, err := ReadSafetensors(filepath.Join(fixtureDir, "tiny.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"embeddings.LayerNorm.bias",
		"embeddings.LayerNorm.weight",
		"embeddings.word_embeddings.weight",
		"encoder.layer.0.attention.self.key.bias",
		"encoder.layer.0.attention.self.query.bias",
		"encoder.layer.0.attention.self.query.weight",
	}
	if got := c.Names(); !slices.Equal(got, want) {
		t.Errorf("canonical names:\n got %v\nwant %v", got, want)
	}
	if c["embeddings.LayerNorm.weight"].Name != "embeddings.LayerNorm.weight" {
		t.Errorf("tensor keeps its old name %q", c["embeddings.LayerNorm.weight"].Name)
	}
	if &c["embeddings.LayerNorm.weight"].Data[0] != &s["bert.embeddings.LayerNorm.gamma"].Data[0] {
		t.Error("canonical tensor does not share data with the source")
	}

	clash := Set{
		"bert.pooler.dense.weight": {Name: "bert.pooler.dense.weight"},
		"pooler.dense.weight":      {Name: "pooler.dense.weight"},
	}
	if _, err := clash.Canonical(); err == nil || !strings.Contains(err.Error(), "both map to pooler.dense.weight") {
		t.Errorf("clash: got %v", err)
	}
}

func TestGet(t *testing.T) {
	s := Set{"w": {Name: "w", Shape: []int{2, 3}, Data: make([]float32, 6)}}
	tests := []struct {
		name    string
		shape   []int
		wantErr string
	}{
		{"w", nil, ""},
		{"w", []int{2, 3}, ""},
		{"w", []int{3, 2}, "tensor w: shape [2 3], want [3 2]"},
		{"v", nil, "tensor v: not found"},
	}
	for _, tc := range tests {
		_, err := s.Get(tc.name, tc.shape...)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("Get(%q, %v) = %v, want %q", tc.name, tc.shape, err, tc.wantErr)
		}
	}
}

func TestFloat16ToFloat32(t *testing.T) {
	tests := []struct {
		bits uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x7bff, 65504},
		{0x0001, float32(math.Ldexp(1, -24))}, // smallest subnormal
		{0x03ff, float32(math.Ldexp(1023, -24))},
		{0x0400, float32(math.Ldexp(1, -14))}, // smallest normal
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	for _, tc := range tests {
		if got := float16ToFloat32(tc.bits); got != tc.want {
			t.Errorf("float16ToFloat32(%#04x) = %g, want %g", tc.bits, got, tc.want)
		}
	}
	if got := float16ToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("float16ToFloat32(0x7e00) = %g, want NaN", got)
	}
	if got := float16ToFloat32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("float16ToFloat32(0x8000) = %g, want -0", got)
	}
}

// TestMiniLM loads the real all-MiniLM-L6-v2 checkpoint: 6 layers, hidden size 384.
func TestMiniLM(t *testing.T) {
	path := filepath.Join("..", "..", "models", "all-MiniLM-L6-v2")
	if _, err := os.Stat(filepath.Join(path, "model.safetensors")); err != nil {
		t.Skipf("default model absent (run `make model`): %v", err)
	}
	start := time.Now()
	s, used, err := LoadDir(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d tensors from %s in %v", len(s), used, time.Since(start))
	if len(s) != 104 {
		t.Errorf("got %d tensors, want 104 (103 parameters and position_ids)", len(s))
	}
	c, err := s.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 103 {
		t.Errorf("canonical: got %d tensors, want 103", len(c))
	}
	shapes := map[string][]int{
		"embeddings.word_embeddings.weight":                 {30522, 384},
		"embeddings.position_embeddings.weight":             {512, 384},
		"embeddings.token_type_embeddings.weight":           {2, 384},
		"embeddings.LayerNorm.weight":                       {384},
		"encoder.layer.0.attention.self.query.weight":       {384, 384},
		"encoder.layer.5.intermediate.dense.weight":         {1536, 384},
		"encoder.layer.5.output.dense.weight":               {384, 1536},
		"encoder.layer.5.output.LayerNorm.bias":             {384},
		"pooler.dense.weight":                               {384, 384},
		"encoder.layer.3.attention.output.LayerNorm.weight": {384},
		"encoder.layer.2.attention.self.value.bias":         {384},
	}
	for name, shape := range shapes {
		if _, err := c.Get(name, shape...); err != nil {
			t.Error(err)
		}
	}
}
