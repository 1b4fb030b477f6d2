package metrics

import (
	"math"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/beir"
)

func TestParse(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ndcg@10", "ndcg_cut_10"},
		{"NDCG@3", "ndcg_cut_3"},
		{"recall@100", "recall_100"},
		{"mrr@10", "mrr_cut_10"},
		{"MRR", "recip_rank"},
		{"map@100", "map_cut_100"},
		{"MAP", "map"},
		{"p@1", "P_1"},
		{"P@5", "P_5"},
		{"precision@1", "P_1"},
		{"ndcg_cut_10", "ndcg_cut_10"},
		{"recall_1000", "recall_1000"},
		{"map_cut_5", "map_cut_5"},
		{"map", "map"},
		{"P_10", "P_10"},
		{"recip_rank", "recip_rank"},
		{"mrr_cut_7", "mrr_cut_7"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "ndcg", "ndcg@", "ndcg@0", "ndcg@-1", "ndcg@+5", "ndcg@010", "ndcg@1.5",
		"ndcg_cut_", "P_0", "p_10", "recall", "bpref", "ndcg@10x", "ndcg_cut_99999999999999999999"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", in, got)
		} else if !strings.HasPrefix(err.Error(), "measure ") {
			t.Errorf("Parse(%q) error %q does not name the measure", in, err)
		}
	}
}

// TestEvaluateByHand checks one query worked out on paper. Ranking (ties by
// doc id descending): d3 (rel 2), d2 (0), d10 (unjudged), d1 (1); d4 (rel 1)
// not retrieved.
func TestEvaluateByHand(t *testing.T) {
	qrels := beir.Qrels{"q": {"d1": 1, "d2": 0, "d3": 2, "d4": 1}}
	run := Run{"q": {"d1": 0.1, "d10": 0.5, "d2": 0.5, "d3": 0.9}, "other": {"d1": 1}}
	perQuery, mean, err := Evaluate(qrels, run, []string{"ndcg@3", "ndcg@10", "recall@4", "map", "map@3", "p@4", "p@10", "mrr", "mrr@1"})
	if err != nil {
		t.Fatal(err)
	}
	log2 := math.Log2
	want := map[string]float64{
		"ndcg_cut_3":  2 / (2 + 1/log2(3) + 1/log2(4)),
		"ndcg_cut_10": (2 + 1/log2(5)) / (2 + 1/log2(3) + 1/log2(4)),
		"recall_4":    2.0 / 3,
		"map":         (1 + 2.0/4) / 3,
		"map_cut_3":   1.0 / 3,
		"P_4":         2.0 / 4,
		"P_10":        2.0 / 10,
		"recip_rank":  1,
		"mrr_cut_1":   1,
	}
	if len(perQuery) != 1 {
		t.Errorf("evaluated %d queries, want 1 (only q is judged)", len(perQuery))
	}
	for m, w := range want {
		if got := perQuery["q"][m]; math.Abs(got-w) > 1e-12 {
			t.Errorf("%s = %v, want %v", m, got, w)
		}
		if mean[m] != perQuery["q"][m] {
			t.Errorf("mean %s = %v, want the single query's %v", m, mean[m], perQuery["q"][m])
		}
	}
}

func TestEvaluateErrors(t *testing.T) {
	qrels := beir.Qrels{"q": {"d": 1}}
	tests := []struct {
		name     string
		run      Run
		measures []string
		wantErr  string
	}{
		{"unknown measure", Run{"q": {"d": 1}}, []string{"ndcg@10", "bpref"}, `evaluate: measure "bpref": unknown`},
		{"no measures", Run{"q": {"d": 1}}, nil, "evaluate: no measures"},
		{"no judged query", Run{"x": {"d": 1}}, []string{"map"}, "evaluate: none of the 1 run queries is in the qrels (1 queries)"},
		{"NaN", Run{"q": {"d": math.NaN()}}, []string{"map"}, `evaluate: query "q": doc "d": score is NaN`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Evaluate(qrels, tt.run, tt.measures)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

// TestEvaluateMeasureAliases checks that a human name and its canonical name
// give one output key.
func TestEvaluateMeasureAliases(t *testing.T) {
	perQuery, mean, err := Evaluate(beir.Qrels{"q": {"d": 1}}, Run{"q": {"d": 1}}, []string{"ndcg@10", "ndcg_cut_10", "mrr"})
	if err != nil {
		t.Fatal(err)
	}
	if len(mean) != 2 || len(perQuery["q"]) != 2 || mean["ndcg_cut_10"] != 1 || mean["recip_rank"] != 1 {
		t.Errorf("mean = %v, per query = %v; want ndcg_cut_10 and recip_rank, both 1", mean, perQuery)
	}
}
