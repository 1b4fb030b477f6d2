package lexical

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/internal/golden"
)

type goldenFile struct {
	Header   map[string]any `json:"header"`
	Analysed []struct {
		Text  string   `json:"text"`
		Terms []string `json:"terms"`
	} `json:"analysed"`
	Queries []struct {
		ID   string  `json:"id"`
		Text string  `json:"text"`
		Top  [][]any `json:"top"`
	} `json:"queries"`
}

func readGolden(t *testing.T) goldenFile {
	var g goldenFile
	golden.ReadJSON(t, filepath.Join("..", "..", "testdata", "lexical", "scifact_bm25.json.gz"), &g)
	t.Logf("golden file by %v, %v", g.Header["generator"], g.Header["versions"])
	return g
}

func TestAnalyzeMatchesBM25S(t *testing.T) {
	for _, a := range readGolden(t).Analysed {
		if got := Analyze(a.Text); !slices.Equal(got, a.Terms) && !(len(got) == 0 && len(a.Terms) == 0) {
			t.Errorf("%.60q:\n got  %q\n want %q", a.Text, got, a.Terms)
		}
	}
}

// TestScoresMatchBM25S indexes SciFact (../shared/data) and compares every test query's ten
// best documents and scores with bm25s's.
func TestScoresMatchBM25S(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "scifact")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("SciFact is not in %s (../shared/data is beside the project on its machines)", dir)
	}
	g := readGolden(t)
	ds, err := beir.Load(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	docs := ds.Corpus
	ids, texts := make([]string, len(docs)), make([]string, len(docs))
	for i, d := range docs {
		ids[i], texts[i] = d.ID, beir.DocText(d)
	}
	ix, err := Build(ids, texts)
	if err != nil {
		t.Fatal(err)
	}
	worst, compared := 0.0, 0
	for _, q := range g.Queries {
		hits := ix.Search(q.Text, 10)
		if len(hits) != len(q.Top) {
			t.Errorf("query %s: %d hits, bm25s %d", q.ID, len(hits), len(q.Top))
			continue
		}
		for i, h := range hits {
			id, score := q.Top[i][0].(string), q.Top[i][1].(float64)
			rel := math.Abs(float64(h.Score)-score) / max(score, 1e-9)
			worst = max(worst, rel)
			compared++
			if rel > 1e-5 {
				t.Errorf("query %s, hit %d: %s %v, bm25s %s %v", q.ID, i, h.ID, h.Score, id, score)
			} else if h.ID != id {
				// bm25s keeps float32 scores: ties within its rounding may order differently.
				t.Logf("query %s, hit %d: %s, bm25s %s (scores %v, %v)", q.ID, i, h.ID, id, h.Score, score)
			}
		}
	}
	t.Logf("%d hits compared; largest relative score difference %.2g", compared, worst)
}

func TestFuse(t *testing.T) {
	got := Fuse(3, []int{5, 1, 2}, []int{1, 7, 5})
	want := []int{1, 5, 7} // 1: 1/62+1/61, 5: 1/61+1/63, 7: 1/62
	for i, h := range got {
		if h.Index != want[i] {
			t.Fatalf("fused %v, want %v", got, want)
		}
	}
}

func TestSearchEdgeCases(t *testing.T) {
	ix, err := Build([]string{"a", "b"}, []string{"Vitamin D and bones", "fish oil"})
	if err != nil {
		t.Fatal(err)
	}
	if hits := ix.Search("the of and", 5); hits != nil {
		t.Errorf("stop words only: %v", hits)
	}
	if hits := ix.Search("vitamins", 5); len(hits) != 1 || hits[0].ID != "a" {
		t.Errorf("stemmed match: %v", hits)
	}
	if _, err := Build([]string{"a", "a"}, []string{"x", "y"}); err == nil {
		t.Error("duplicate ids accepted")
	}
}

// TestStemMatchesSnowball stems every word of the shared collections and compares with
// PyStemmer's Snowball English stemmer (tools/reference/bm25_golden.py).
func TestStemMatchesSnowball(t *testing.T) {
	var g struct {
		Words []string `json:"words"`
		Stems []string `json:"stems"`
	}
	golden.ReadJSON(t, filepath.Join("..", "..", "testdata", "lexical", "stems.json.gz"), &g)
	bad := 0
	for i, w := range g.Words {
		if got := Stem(w); got != g.Stems[i] {
			if bad++; bad <= 20 {
				t.Errorf("Stem(%q) = %q, Snowball %q", w, got, g.Stems[i])
			}
		}
	}
	t.Logf("%d words, %d differ", len(g.Words), bad)
}
