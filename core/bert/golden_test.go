package bert

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sbmoe/sbmoe/core/internal/golden"
)

// repoRoot is the module root, two folders above this package.
const repoRoot = "../.."

// loadDefaultModel loads the default model fetched by `make model`, skipping the test
// with a hint when it is absent.
func loadDefaultModel(t testing.TB) *Model {
	t.Helper()
	dir := filepath.Join(repoRoot, "models", "all-MiniLM-L6-v2")
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err != nil {
		t.Skipf("default model not found in %s: run `make model`", dir)
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// goldenEmbeddings is testdata/embeddings/golden.json.gz, written by
// tools/reference/embeddings_golden.py with sentence-transformers.
type goldenEmbeddings struct {
	Header map[string]any `json:"header"`
	Sets   []struct {
		Name         string `json:"name"`
		MaxSeqLength int    `json:"max_seq_length"`
		Normalize    bool   `json:"normalize"`
		Records      []struct {
			Source    string  `json:"source"`
			Text      string  `json:"text"`
			TokenIDs  []int32 `json:"token_ids"`
			Embedding string  `json:"embedding"`
		} `json:"records"`
	} `json:"sets"`
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 && bb == 0 {
		return 1
	}
	return ab / math.Sqrt(aa*bb)
}

// TestGoldenEmbeddings checks every text of the sentence-transformers golden file:
// identical token ids and cosine ≥ 0.9999, reporting the largest absolute difference.
func TestGoldenEmbeddings(t *testing.T) {
	m := loadDefaultModel(t)
	var g goldenEmbeddings
	golden.ReadJSON(t, filepath.Join(repoRoot, "testdata", "embeddings", "golden.json.gz"), &g)
	for _, set := range g.Sets {
		t.Run(set.Name, func(t *testing.T) {
			mm := *m
			mm.Config.Normalize = set.Normalize
			mm.Config.MaxSeqLength = set.MaxSeqLength
			texts := make([]string, len(set.Records))
			for i, r := range set.Records {
				texts[i] = r.Text
			}
			vecs := mm.Encode(texts, EncodeOptions{})
			worstCos, worstDiff, longest := 1.0, 0.0, 0
			for i, r := range set.Records {
				ids := mm.Tokenizer.Encode(r.Text, set.MaxSeqLength)
				if !slices.Equal(ids, r.TokenIDs) {
					t.Errorf("%s: token ids differ from the golden file", r.Source)
				}
				longest = max(longest, len(ids))
				want := golden.Float32s(t, r.Embedding)
				c := cosine(vecs[i], want)
				if c < 0.9999 {
					t.Errorf("%s (%d tokens): cosine %.6f < 0.9999", r.Source, len(ids), c)
				}
				worstCos = min(worstCos, c)
				for j := range want {
					worstDiff = max(worstDiff, math.Abs(float64(vecs[i][j]-want[j])))
				}
			}
			t.Logf("%d texts (longest %d tokens): lowest cosine %.7f, largest absolute difference %.3g",
				len(set.Records), longest, worstCos, worstDiff)
		})
	}
}
