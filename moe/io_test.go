package moe

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/weights"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	cfg := Config{Hidden: 12, Experts: 3, Router: RouterLearned, Pool: PoolAll, BalanceCoef: 0.01}
	b, err := New(cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := b.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config() != cfg {
		t.Errorf("config %+v, want %+v", got.Config(), cfg)
	}
	for i, p := range got.Params() {
		q := b.Params()[i]
		if p.Name != q.Name || !slices.Equal(p.Shape, q.Shape) || !slices.Equal(p.Data, q.Data) || p.Frozen != q.Frozen {
			t.Errorf("tensor %d: %s %v frozen=%v, want %s %v frozen=%v (or data differs)", i, p.Name, p.Shape, p.Frozen, q.Name, q.Shape, q.Frozen)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("directory holds %d files after save, want 2 (no temporary files left)", len(entries))
	}
}

// TestLoadErrors damages a saved head one way at a time; each error must name the file and
// the field or tensor at fault.
func TestLoadErrors(t *testing.T) {
	cfg := Config{Hidden: 8, Experts: 2, Router: RouterPaper, Pool: PoolTop1}
	b, err := New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	tensors := func(skip string, extra ...*weights.Tensor) []*weights.Tensor {
		var ts []*weights.Tensor
		for _, p := range b.Params() {
			if p.Name != skip {
				ts = append(ts, &weights.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Data})
			}
		}
		return append(ts, extra...)
	}
	for _, tc := range []struct {
		name    string
		config  string            // moe_config.json; "" leaves the saved one
		tensors []*weights.Tensor // moe.safetensors; nil leaves the saved one
		raw     []byte            // moe.safetensors bytes, when set
		want    []string          // substrings of the error
		remove  string            // a file to delete
	}{
		{name: "missing config", remove: ConfigFile, want: []string{ConfigFile}},
		{name: "missing weights", remove: WeightsFile, want: []string{WeightsFile}},
		{name: "bad json", config: `{"hidden_size": 8,`, want: []string{ConfigFile}},
		{name: "wrong type", config: `{"hidden_size": "8", "num_experts": 2, "router": "paper"}`, want: []string{ConfigFile, "field hidden_size"}},
		{name: "unknown field", config: `{"hidden_size": 8, "num_experts": 2, "router": "paper", "experts": 3}`, want: []string{ConfigFile, `"experts"`}},
		{name: "missing field", config: `{"hidden_size": 8, "router": "paper"}`, want: []string{ConfigFile, "field num_experts: missing"}},
		{name: "bad router", config: `{"hidden_size": 8, "num_experts": 2, "router": "random"}`, want: []string{"field router"}},
		{name: "shape mismatch", config: `{"hidden_size": 10, "num_experts": 2, "router": "paper"}`, want: []string{WeightsFile, "cls_1.weight", "shape [4 8], want [5 10]"}},
		{name: "more experts than saved", config: `{"hidden_size": 8, "num_experts": 3, "router": "paper"}`, want: []string{WeightsFile, "cls_3.weight"}},
		{name: "missing tensor", tensors: tensors("specializer.1.query_embedding_changer_4.bias"), want: []string{WeightsFile, "specializer.1.query_embedding_changer_4.bias", "not found"}},
		{name: "extra tensor", tensors: tensors("", &weights.Tensor{Name: "doc_model.pooler.dense.bias", Shape: []int{1}, Data: []float32{0}}), want: []string{WeightsFile, "doc_model.pooler.dense.bias"}},
		{name: "truncated weights", raw: []byte{1, 2, 3}, want: []string{WeightsFile, "too short"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := b.Save(dir); err != nil {
				t.Fatal(err)
			}
			if tc.config != "" {
				write(t, filepath.Join(dir, ConfigFile), []byte(tc.config))
			}
			if tc.tensors != nil {
				if err := weights.WriteSafetensors(filepath.Join(dir, WeightsFile), tc.tensors, nil); err != nil {
					t.Fatal(err)
				}
			}
			if tc.raw != nil {
				write(t, filepath.Join(dir, WeightsFile), tc.raw)
			}
			if tc.remove != "" {
				if err := os.Remove(filepath.Join(dir, tc.remove)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(dir)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		json    string
		want    Config
		wantErr string
	}{
		{json: `{"hidden_size": 384, "num_experts": 6, "router": "paper"}`, want: DefaultConfig(384)},
		{json: `{"hidden_size": 16, "num_experts": 4, "router": "learned", "pool": "all", "balance_coef": 0.01}`,
			want: Config{Hidden: 16, Experts: 4, Router: RouterLearned, Pool: PoolAll, BalanceCoef: 0.01}},
		{json: `{"hidden_size": 1, "num_experts": 6, "router": "paper"}`, wantErr: "field hidden_size"},
		{json: `{"hidden_size": 8, "num_experts": 0, "router": "paper"}`, wantErr: "field num_experts"},
		{json: `{"hidden_size": 8, "num_experts": 2, "router": "paper", "pool": "top2"}`, wantErr: "field pool"},
		{json: `{"hidden_size": 8, "num_experts": 2, "router": "paper", "balance_coef": 0.01}`, wantErr: "field balance_coef"},
		{json: `{"hidden_size": 8, "num_experts": 2, "router": "learned", "balance_coef": -1}`, wantErr: "field balance_coef"},
		{json: `{"hidden_size": 8, "num_experts": 2, "router": "paper"} {}`, wantErr: "data after"},
		{json: `[]`, wantErr: "cannot unmarshal"},
		{json: ``, wantErr: "EOF"},
	} {
		got, err := ParseConfig([]byte(tc.json))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseConfig(%s) error %v, want one mentioning %q", tc.json, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseConfig(%s) = %+v, %v; want %+v", tc.json, got, err, tc.want)
		}
	}
}

// FuzzParseConfig: whatever the bytes, ParseConfig returns a valid config that survives a
// round trip through MarshalConfig, or an error; it never panics.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"hidden_size": 384, "num_experts": 6, "router": "paper", "pool": "top1", "balance_coef": 0}`))
	f.Add([]byte(`{"hidden_size": 16, "num_experts": 4, "router": "learned", "pool": "all", "balance_coef": 0.01}`))
	f.Add([]byte(`{"hidden_size": 1e400}`))
	f.Add([]byte(`{"hidden_size": -3, "num_experts": 9223372036854775807, "router": null}`))
	f.Add([]byte(`{"balance_coef": "NaN"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted an invalid config: %v", err)
		}
		b, err := MarshalConfig(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseConfig(b)
		if err != nil || back != c {
			t.Fatalf("round trip %+v → %s → %+v, %v", c, b, back, err)
		}
	})
}

func TestLoadErrorMessages(t *testing.T) {
	dir := t.TempDir()
	b, _ := New(Config{Hidden: 8, Experts: 2, Router: RouterPaper, Pool: PoolTop1}, 1)
	if err := b.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []string{
		`{"hidden_size": 1000000000, "num_experts": 2, "router": "paper"}`,
		`{"hidden_size": 8, "num_experts": 2, "router": "paper", "pool": 1}`,
	} {
		write(t, filepath.Join(dir, ConfigFile), []byte(cfg))
		_, err := Load(dir)
		t.Logf("%s\n\t→ %v", cfg, err)
		if err == nil {
			t.Errorf("Load accepted %s", cfg)
		}
	}
}
