package bert

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sbmoe/sbmoe/core/internal/golden"

	"github.com/sbmoe/sbmoe/core/weights"
)

// tinyGolden is testdata/embeddings/tiny/golden.json: a random 2-layer BertModel with
// CLS pooling, written by tools/reference/embeddings_golden.py.
type tinyGolden struct {
	Records []struct {
		Text            string      `json:"text"`
		TokenIDs        []int32     `json:"token_ids"`
		LastHiddenState [][]float32 `json:"last_hidden_state"`
		CLSPooled       []float32   `json:"cls_pooled"`
		MeanPooled      []float32   `json:"mean_pooled"`
		STEmbedding     []float32   `json:"st_embedding"`
	} `json:"records"`
}

// TestTinyModel checks the hidden states, both poolings and the sentence-transformers
// output of a tiny random model, loaded from model.safetensors and from
// pytorch_model.bin.
func TestTinyModel(t *testing.T) {
	dir := filepath.Join(repoRoot, "testdata", "embeddings", "tiny")
	var g tinyGolden
	golden.ReadJSON(t, filepath.Join(dir, "golden.json"), &g)
	fromSafetensors, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fromSafetensors.Config.Pooling != PoolCLS {
		t.Fatalf("pooling %q, want cls from 1_Pooling/config.json", fromSafetensors.Config.Pooling)
	}
	set, err := weights.ReadPyTorch(filepath.Join(dir, "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	fromPyTorch, err := New(fromSafetensors.Config, set)
	if err != nil {
		t.Fatal(err)
	}
	fromPyTorch.Tokenizer = fromSafetensors.Tokenizer
	for name, m := range map[string]*Model{"safetensors": fromSafetensors, "pytorch": fromPyTorch} {
		t.Run(name, func(t *testing.T) {
			var worst float64
			compare := func(what string, got, want []float32) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
				}
				for i := range want {
					d := math.Abs(float64(got[i] - want[i]))
					worst = max(worst, d)
					if d > 1e-5 {
						t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
					}
				}
			}
			h := m.Config.HiddenSize
			for _, r := range g.Records {
				ids := m.Tokenizer.Encode(r.Text, m.Config.MaxSeqLength)
				if !slices.Equal(ids, r.TokenIDs) {
					t.Fatalf("%q: ids %v, want %v", r.Text, ids, r.TokenIDs)
				}
				hidden, offs := m.Forward([][]int32{ids})
				for tok, want := range r.LastHiddenState {
					compare(r.Text+" hidden", hidden[tok*h:(tok+1)*h], want)
				}
				mean, cls := make([]float32, h), make([]float32, h)
				pool([][]float32{mean}, hidden, offs, h, PoolMean, false)
				pool([][]float32{cls}, hidden, offs, h, PoolCLS, false)
				compare(r.Text+" mean", mean, r.MeanPooled)
				compare(r.Text+" cls", cls, r.CLSPooled)
				compare(r.Text+" encode", m.Encode([]string{r.Text}, EncodeOptions{})[0], r.STEmbedding)
			}
			t.Logf("largest absolute difference %.3g", worst)
		})
	}
}
