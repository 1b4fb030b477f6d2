package metrics

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sbmoe/sbmoe/core/beir"
	goldenfile "github.com/sbmoe/sbmoe/core/internal/golden"
)

// golden is testdata/metrics/golden.json.gz, written by
// tools/reference/metrics_golden.py with pytrec_eval.
type golden struct {
	Generator  string   `json:"generator"`
	PytrecEval string   `json:"pytrec_eval"`
	Measures   []string `json:"measures"`
	Cases      []struct {
		Name     string                        `json:"name"`
		Qrels    beir.Qrels                    `json:"qrels"`
		Run      Run                           `json:"run"`
		PerQuery map[string]map[string]float64 `json:"per_query"`
		Mean     map[string]float64            `json:"mean"`
	} `json:"cases"`
}

const goldenTolerance = 1e-6

func readGolden(t *testing.T) golden {
	t.Helper()
	var g golden
	goldenfile.ReadJSON(t, filepath.Join("..", "..", "testdata", "metrics", "golden.json.gz"), &g)
	if len(g.Cases) == 0 || len(g.Measures) == 0 {
		t.Fatal("golden file has no cases or no measures")
	}
	return g
}

// TestGoldenPytrecEval compares every per-query value and mean with
// pytrec_eval's and reports the largest difference per measure.
func TestGoldenPytrecEval(t *testing.T) {
	g := readGolden(t)
	t.Logf("golden: %s, %s", g.Generator, g.PytrecEval)
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			perQuery, mean, err := Evaluate(c.Qrels, c.Run, g.Measures)
			if err != nil {
				t.Fatal(err)
			}
			gotQueries := mapKeys(perQuery)
			wantQueries := mapKeys(c.PerQuery)
			if !slices.Equal(gotQueries, wantQueries) {
				t.Fatalf("evaluated queries %v, pytrec_eval %v", gotQueries, wantQueries)
			}
			for _, m := range g.Measures {
				maxDiff, worst := 0.0, ""
				for qid, want := range c.PerQuery {
					if d := math.Abs(perQuery[qid][m] - want[m]); d > maxDiff || worst == "" {
						maxDiff, worst = max(d, maxDiff), qid
					}
				}
				if maxDiff > goldenTolerance {
					t.Errorf("%s: query %s: got %.9g, pytrec_eval %.9g (largest difference %.3g)",
						m, worst, perQuery[worst][m], c.PerQuery[worst][m], maxDiff)
				}
				if d := math.Abs(mean[m] - c.Mean[m]); d > goldenTolerance {
					t.Errorf("%s: mean %.9g, pytrec_eval %.9g", m, mean[m], c.Mean[m])
				}
				if testing.Verbose() {
					t.Logf("%-16s largest per-query difference %.3g, mean difference %.3g", m, maxDiff, math.Abs(mean[m]-c.Mean[m]))
				}
			}
		})
	}
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
