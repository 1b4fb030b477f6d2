package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe/headtrain"
	"github.com/sbmoe/sbmoe/tools/internal/research"
	"github.com/sbmoe/sbmoe/tools/internal/research/researchtest"
)

// runCLI runs the command line in-process and returns exit code, stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	return researchtest.RunCLI(run, args...)
}

// toy is the tests' BEIR collection: 40 documents of four words from the tiny model's
// vocabulary, one query per document (its title word and another), judged relevant in the
// test split for every fourth document and in the train split for the others.
var toy = researchtest.Toy{Docs: 40, Words: 40, TestEvery: 4, LongQueries: true}

// TestStudyEndToEnd runs the whole study on toy collections with the tiny model: a
// supervised "scifact" (30 training claims) and a label-free "adi". A second run finds
// every result in place and trains nothing.
func TestStudyEndToEnd(t *testing.T) {
	data := t.TempDir()
	toy.Write(t, filepath.Join(data, "scifact"), true)
	toy.Write(t, filepath.Join(data, "adi"), false)
	out, cache, report := filepath.Join(t.TempDir(), "runs"), filepath.Join(t.TempDir(), "cache"), filepath.Join(t.TempDir(), "report")
	args := []string{"--data", data, "--model", researchtest.TinyModel, "--out", out, "--cache", cache, "--report", report,
		"--datasets", "scifact,adi", "--seeds", "1", "--clicks", "10,1000", "--parts", "curve,ablations,classic",
		"--threads", "1", "--quiet"}
	code, stdout, stderr := runCLI(args...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, want := range []string{"scifact: product on 10 clicks pairs, seed 1", "scifact: paper on 30 clicks pairs",
		"scifact: no-guard on 30 clicks", "adi: product on 40 crops pairs", "adi: product on 40 titles pairs", "adi: learned on 40 crops"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	md, err := os.ReadFile(filepath.Join(report, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Answers", "Clicks before SciFact NDCG@10 is significantly better than zero-shot",
		"## 1. SciFact: learning from clicks", "| 30 | product head, queries only |", "## 2. SciFact at 30 clicks",
		"## 3. Label-free adaptation", "| adi | product head, queries only | titles (40) |", "## 4. Routing", "| goal | met | measured |",
		"Is label-free adaptation (titles, queries only) ever significantly worse", "The heads side by side on SciFact at 30 clicks",
		"| learned router (paper recipe) | crops | 1 |", "`bin/sbmoe-feedback --data"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if st, err := os.Stat(filepath.Join(report, "curves.png")); err != nil || st.Size() < 1000 {
		t.Errorf("curves.png: %v", err)
	}
	var rep struct {
		Sets []struct {
			Name    string `json:"name"`
			Configs []struct {
				Arm     string    `json:"arm"`
				NDCG    float64   `json:"ndcg@10"`
				DocLoad []float64 `json:"expert_share_documents"`
			} `json:"configurations"`
		} `json:"datasets"`
	}
	raw, _ := os.ReadFile(filepath.Join(report, "results.json"))
	if err := json.Unmarshal(raw, &rep); err != nil || len(rep.Sets) != 2 || len(rep.Sets[0].Configs) == 0 {
		t.Fatalf("results.json: %v, %+v", err, rep)
	}
	// Documents pass through the heads trained on both sides, and only those.
	for _, c := range rep.Sets[0].Configs {
		if both := c.Arm == armBoth.Name || c.Arm == armPaper.Name || c.Arm == armLearned.Name; both != (c.DocLoad != nil) {
			t.Errorf("%s: documents per expert %v", c.Arm, c.DocLoad)
		}
	}

	// Everything is in place: nothing trains, and the vectors come from the cache.
	code, _, stderr = runCLI(args...)
	if code != 0 || strings.Contains(stderr, " pairs, seed ") {
		t.Errorf("second run: exit %d, stderr %s", code, stderr)
	}
	for _, f := range []string{"corpus.idx", "queries.idx", "train-queries.idx", "train-docs.idx", "train-titles.idx"} {
		if _, err := os.Stat(filepath.Join(cache, "adi", f)); err != nil {
			t.Errorf("cache: %v", err)
		}
	}
}

// TestClickOrder: a seed's clicks are a prefix of its arrival order, so the learning curve
// of one seed is nested, and other seeds order them otherwise.
func TestClickOrder(t *testing.T) {
	var clicks []headtrain.Example
	for i := range 50 {
		clicks = append(clicks, headtrain.Example{ID: fmt.Sprint(i)})
	}
	few, more, other := clickOrder(clicks, 10, 1), clickOrder(clicks, 30, 1), clickOrder(clicks, 10, 2)
	for i := range few {
		if few[i].ID != more[i].ID {
			t.Fatalf("10 clicks are not the first of 30: %v, %v", few, more)
		}
	}
	same := 0
	for i := range few {
		if few[i].ID == other[i].ID {
			same++
		}
	}
	if same == len(few) {
		t.Error("seeds 1 and 2 order the clicks alike")
	}
	if n := len(clickOrder(clicks, 1000, 1)); n != 50 {
		t.Errorf("%d clicks of 50", n)
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--clicks", "1,5"}, "--clicks"},
		{[]string{"--datasets", "msmarco"}, "unknown collection"},
		{[]string{"--parts", "all"}, "unknown part"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr)
		}
	}
	if code, stdout, _ := runCLI("--help"); code != 0 || !strings.Contains(stdout, "-parts string") {
		t.Errorf("--help: exit %d\n%s", code, stdout)
	}
}

// TestUntrainedIsZeroShot: runs that all score like zero-shot (an untrained head, kept by
// the guard) differ from it by exactly nothing, so the paired tests give p = 1, however
// the seeds' mean rounds.
func TestUntrainedIsZeroShot(t *testing.T) {
	var queries []string
	zero := research.Scores{NDCG: map[string]float64{}, Recall: map[string]float64{}}
	for i := range 40 {
		q := fmt.Sprint("q", i)
		queries = append(queries, q)
		zero.NDCG[q], zero.Recall[q] = 0.1+float64(i)/70, 0.7
	}
	base := summarize("toy", "all", "zero-shot", "zero-shot", "", 0, []*runResult{{Scores: zero}}, queries, nil)
	runs := []*runResult{{Scores: zero}, {Scores: zero}, {Scores: zero}}
	s := summarize("toy", "all", "product", "product", pairsClicks, 10, runs, queries, &base)
	if s.DeltaNDCG != 0 || s.NDCGP != 1 || s.RecallP != 1 || s.NDCGTP != 1 {
		t.Errorf("Δ %g, p %g and %g, t-test p %g; want 0, 1, 1, 1", s.DeltaNDCG, s.NDCGP, s.RecallP, s.NDCGTP)
	}
}

// TestBothSidesArm: the head trained on both sides is scored on both sides too.
func TestBothSidesArm(t *testing.T) {
	if armBoth.Side != retriever.HeadBoth || armBoth.Train(1).QueriesOnly {
		t.Errorf("product-both: side %q, queries only %v", armBoth.Side, armBoth.Train(1).QueriesOnly)
	}
	if armProduct.Side != retriever.HeadQueries || !armProduct.Train(1).QueriesOnly {
		t.Errorf("product: side %q, queries only %v", armProduct.Side, armProduct.Train(1).QueriesOnly)
	}
}
