package moe

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/core/weights"
	"github.com/sbmoe/sbmoe/internal/readbound"
)

func TestSaveReadRoundTrip(t *testing.T) {
	cfg := Config{Hidden: 12, Experts: 3, Router: RouterLearned, Mix: MixAll, BalanceCoef: 0.01}
	b, err := New(cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.Save(&buf); err != nil {
		t.Fatal(err)
	}
	fromBytes, err := Read(HeadFile, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	fromFS, err := LoadFS(fstest.MapFS{HeadFile: {Data: buf.Bytes()}})
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []*Block{fromBytes, fromFS} {
		sameBlock(t, got, b)
	}
}

func sameBlock(t *testing.T, got, want *Block) {
	t.Helper()
	if got.Config() != want.Config() {
		t.Errorf("config %+v, want %+v", got.Config(), want.Config())
	}
	for i, p := range got.Params() {
		q := want.Params()[i]
		if p.Name != q.Name || !slices.Equal(p.Shape, q.Shape) || !slices.Equal(p.Data, q.Data) || p.Frozen != q.Frozen {
			t.Errorf("tensor %d: %s %v frozen=%v, want %s %v frozen=%v (or data differs)", i, p.Name, p.Shape, p.Frozen, q.Name, q.Shape, q.Frozen)
		}
	}
}

// legacyFiles is a head in the two-file layout of earlier versions.
func legacyFiles(t *testing.T, b *Block, tensors []*weights.Tensor) fstest.MapFS {
	t.Helper()
	if tensors == nil {
		for _, p := range b.Params() {
			tensors = append(tensors, &weights.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Data})
		}
	}
	var w bytes.Buffer
	if err := weights.WriteSafetensors(&w, tensors, map[string]string{"format": "sbmoe-moe"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := MarshalConfig(b.Config())
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{legacyConfigFile: {Data: cfg}, legacyWeightsFile: {Data: w.Bytes()}}
}

func TestLoadLegacyLayout(t *testing.T) {
	b, err := New(Config{Hidden: 8, Experts: 2, Router: RouterPaper, Mix: MixTop1}, 7)
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadFS(legacyFiles(t, b, nil))
	if err != nil {
		t.Fatal(err)
	}
	sameBlock(t, got, b)
}

// TestLoadErrors damages a saved head one way at a time; each error must name the file and
// the field or tensor at fault.
func TestLoadErrors(t *testing.T) {
	cfg := Config{Hidden: 8, Experts: 2, Router: RouterPaper, Mix: MixTop1}
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
	headWith := func(meta map[string]string, ts []*weights.Tensor) []byte {
		var w bytes.Buffer
		if err := weights.WriteSafetensors(&w, ts, meta); err != nil {
			t.Fatal(err)
		}
		return w.Bytes()
	}
	goodConfig, _ := MarshalConfig(cfg)
	for _, tc := range []struct {
		name    string
		config  string            // moe_config.json; "" leaves the saved one
		tensors []*weights.Tensor // moe.safetensors; nil leaves the saved one
		raw     []byte            // moe.safetensors bytes, when set
		head    []byte            // a head.safetensors instead of the legacy pair, when set
		want    []string          // substrings of the error
		remove  string            // a file to delete
	}{
		{name: "empty folder", remove: "*", want: []string{HeadFile, legacyConfigFile}},
		{name: "missing weights", remove: legacyWeightsFile, want: []string{legacyWeightsFile}},
		{name: "bad json", config: `{"hidden_size": 8,`, want: []string{legacyConfigFile}},
		{name: "wrong type", config: `{"hidden_size": "8", "num_experts": 2, "router": "paper"}`, want: []string{legacyConfigFile, "field hidden_size"}},
		{name: "unknown field", config: `{"hidden_size": 8, "num_experts": 2, "router": "paper", "experts": 3}`, want: []string{legacyConfigFile, `"experts"`}},
		{name: "missing field", config: `{"hidden_size": 8, "router": "paper"}`, want: []string{legacyConfigFile, "field num_experts: missing"}},
		{name: "bad router", config: `{"hidden_size": 8, "num_experts": 2, "router": "random"}`, want: []string{"field router"}},
		{name: "shape mismatch", config: `{"hidden_size": 10, "num_experts": 2, "router": "paper"}`, want: []string{legacyWeightsFile, "cls_1.weight", "shape [4 8], want [5 10]"}},
		{name: "more experts than saved", config: `{"hidden_size": 8, "num_experts": 3, "router": "paper"}`, want: []string{legacyWeightsFile, "cls_3.weight"}},
		{name: "missing tensor", tensors: tensors("specializer.1.query_embedding_changer_4.bias"), want: []string{legacyWeightsFile, "specializer.1.query_embedding_changer_4.bias", "not found"}},
		{name: "extra tensor", tensors: tensors("", &weights.Tensor{Name: "doc_model.pooler.dense.bias", Shape: []int{1}, Data: []float32{0}}), want: []string{legacyWeightsFile, "doc_model.pooler.dense.bias"}},
		{name: "truncated weights", raw: []byte{1, 2, 3}, want: []string{legacyWeightsFile, "too short"}},
		{name: "head: not a head file", head: headWith(nil, tensors("")), want: []string{HeadFile, "metadata field format", "not an sbmoe head"}},
		{name: "head: bad config", head: headWith(map[string]string{"format": "sbmoe-head", "moe_config": `{"hidden_size": 8}`}, tensors("")), want: []string{HeadFile, "moe_config", "field num_experts: missing"}},
		{name: "head: missing tensor", head: headWith(map[string]string{"format": "sbmoe-head", "moe_config": string(goodConfig)}, tensors("cls_3.bias")), want: []string{HeadFile, "cls_3.bias", "not found"}},
		{name: "head: truncated", head: []byte{8, 0, 0}, want: []string{HeadFile, "too short"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := legacyFiles(t, b, tc.tensors)
			if tc.config != "" {
				files[legacyConfigFile] = &fstest.MapFile{Data: []byte(tc.config)}
			}
			if tc.raw != nil {
				files[legacyWeightsFile] = &fstest.MapFile{Data: tc.raw}
			}
			if tc.head != nil {
				files = fstest.MapFS{HeadFile: {Data: tc.head}}
			}
			switch tc.remove {
			case "*":
				files = fstest.MapFS{}
			case "":
			default:
				delete(files, tc.remove)
			}
			_, err := LoadFS(files)
			if err == nil {
				t.Fatal("LoadFS succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadNamesFolder(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.HasPrefix(err.Error(), dir+": load head: no "+HeadFile) {
		t.Errorf("got %v, want an error naming %s and %s", err, dir, HeadFile)
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
			want: Config{Hidden: 16, Experts: 4, Router: RouterLearned, Mix: MixAll, BalanceCoef: 0.01}},
		{json: `{"hidden_size": 384, "num_experts": 6, "router": "learned", "balance_coef": 0.01, "output": "gain"}`, want: ProductConfig(384)},
		{json: `{"hidden_size": 8, "num_experts": 2, "router": "paper", "output": "paper"}`,
			want: Config{Hidden: 8, Experts: 2, Router: RouterPaper, Mix: MixTop1, Output: OutputPaper}},
		{json: `{"hidden_size": 8, "num_experts": 2, "router": "paper", "output": "scaled"}`, wantErr: "field output"},
		{json: `{"hidden_size": 1, "num_experts": 6, "router": "paper"}`, wantErr: "field hidden_size"},
		{json: `{"hidden_size": 8, "num_experts": 0, "router": "paper"}`, wantErr: "field num_experts"},
		{json: `{"hidden_size": 8, "num_experts": 2, "router": "paper", "pool": "top2"}`, wantErr: "field mix"},
		{json: `{"hidden_size": 8, "num_experts": 2, "router": "paper", "mix": "all", "pool": "all"}`, wantErr: "field pool"},
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
		var c Config
		var err error
		readbound.Check(t, len(data), configBound, func() { c, err = ParseConfig(data) })
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
	b, _ := New(Config{Hidden: 8, Experts: 2, Router: RouterPaper, Mix: MixTop1}, 1)
	files := legacyFiles(t, b, nil)
	for _, cfg := range []string{
		`{"hidden_size": 1000000000, "num_experts": 2, "router": "paper"}`,
		`{"hidden_size": 8, "num_experts": 2, "router": "paper", "pool": 1}`,
	} {
		files[legacyConfigFile] = &fstest.MapFile{Data: []byte(cfg)}
		_, err := LoadFS(files)
		t.Logf("%s\n\t→ %v", cfg, err)
		if err == nil {
			t.Errorf("LoadFS accepted %s", cfg)
		}
	}
}
