package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/tools/internal/research/researchtest"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/retriever"
)

// writeTrainDataset writes a BEIR dataset with train and test splits: 24 documents,
// one query each, half judged for training and half for testing.
func writeTrainDataset(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	researchtest.Toy{Docs: 24, Words: 26, TestEvery: 2}.Write(t, dir, true)
	return dir
}

func TestTrainEndToEnd(t *testing.T) {
	data := writeTrainDataset(t)
	for _, tc := range []struct {
		name  string
		args  []string
		block bool
	}{
		{"paper head", []string{"--data", data, "--experts", "3"}, true},
		{"baseline", []string{"--data", data, "--router", "none"}, false},
		{"frozen learned head, titles", []string{"--corpus", data, "--self-supervised", "title", "--freeze-encoder", "--router", "learned", "--mix", "all"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			args := append([]string{"train", "--model", tinyModel, "--out", out, "--epochs", "1", "--batch", "4",
				"--lr-encoder", "1e-4", "--lr-head", "1e-3", "--max-length", "16", "--quiet"}, tc.args...)
			code, stdout, stderr := runCLI(args...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
			}
			t.Log(stdout)
			for _, want := range []string{"trained 1 epochs", "| 1 |", "ndcg@10", "recall@100", "mrr@10", "map@100", "model written to"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if strings.Contains(stdout, "expert load") != tc.block {
				t.Errorf("expert load reported: %v, want %v", !tc.block, tc.block)
			}
			m, err := bert.Load(filepath.Join(out, "encoder"))
			if err != nil {
				t.Fatal(err)
			}
			if v := m.Encode([]string{"with"}, bert.EncodeOptions{}); len(v[0]) != 32 {
				t.Errorf("reloaded encoder gives %d values", len(v[0]))
			}
			r, err := retriever.OpenDir(out, retriever.Options{})
			if err != nil || (r.Head() != nil) != tc.block || !r.Manifest().Lowercase {
				t.Errorf("reopened: %v, head %v (block expected: %v)", err, r != nil && r.Head() != nil, tc.block)
			}
			raw, err := os.ReadFile(filepath.Join(out, "eval.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Datasets []struct {
					Queries int
					Metrics map[string]float64
					DocLoad []int `json:"expert_load_documents"`
				}
			}
			if err := json.Unmarshal(raw, &rep); err != nil || len(rep.Datasets) != 1 || rep.Datasets[0].Queries != 12 {
				t.Fatalf("eval.json %s: %v", raw, err)
			}
			if n := rep.Datasets[0].Metrics["ndcg@10"]; n <= 0 || n > 1 {
				t.Errorf("ndcg@10 %g", n)
			}
			if tc.block != (len(rep.Datasets[0].DocLoad) > 0) {
				t.Errorf("document load %v", rep.Datasets[0].DocLoad)
			}
			for _, f := range []string{"training.json", "checkpoints/latest"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestTrainedFolderServes trains a head, then runs sbmoe eval, index and search on the
// trained folder: eval reproduces the final evaluation of sbmoe train exactly, index and
// search apply the head, and the plain encoder's index is refused by the trained model.
func TestTrainedFolderServes(t *testing.T) {
	data := writeTrainDataset(t)
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCLI("train", "--model", tinyModel, "--data", data, "--out", out, "--epochs", "2", "--batch", "4",
		"--lr-head", "1e-2", "--max-length", "16", "--freeze-encoder", "--experts", "3", "--quiet")
	if code != 0 {
		t.Fatalf("train: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var trained evalReport
	raw, err := os.ReadFile(filepath.Join(out, "eval.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &trained); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI("eval", "--model", out, "--format", "json", "--quiet", data)
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, stderr)
	}
	var evaluated evalReport
	if err := json.Unmarshal([]byte(stdout), &evaluated); err != nil {
		t.Fatal(err)
	}
	if evaluated.Fingerprint != trained.Fingerprint {
		t.Errorf("eval fingerprint %s, train's %s", evaluated.Fingerprint, trained.Fingerprint)
	}
	for _, m := range evalMeasures {
		if got, want := evaluated.Datasets[0].Metrics[m], trained.Datasets[0].Metrics[m]; got != want {
			t.Errorf("%s: sbmoe eval --model %s gives %v, sbmoe train's evaluation %v", m, out, got, want)
		}
	}
	if !slices.Equal(evaluated.Datasets[0].DocLoad, trained.Datasets[0].DocLoad) {
		t.Errorf("expert load %v, train's %v", evaluated.Datasets[0].DocLoad, trained.Datasets[0].DocLoad)
	}

	idx := filepath.Join(t.TempDir(), "head.idx")
	if code, stdout, stderr = runCLI("index", "--model", out, "--corpus", data, "--out", idx, "--quiet"); code != 0 ||
		!strings.Contains(stdout, trained.Fingerprint) {
		t.Fatalf("index: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI("search", "--model", out, "--index", idx, "--json", "--k", "3", "WITH")
	if code != 0 {
		t.Fatalf("search: exit %d\n%s", code, stderr)
	}
	// The same ranking as the evaluation's run for that query's text, lower-cased.
	r, err := retriever.OpenDir(out, retriever.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := r.Search(context.Background(), ix, []string{"with"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	var res searchResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	for i, h := range res.Hits {
		if h.ID != want[0][i].ID || h.Score != want[0][i].Score {
			t.Errorf("hit %d: %s %v, want %s %v", i, h.ID, h.Score, want[0][i].ID, want[0][i].Score)
		}
	}

	plainIdx := filepath.Join(t.TempDir(), "plain.idx")
	if code, _, stderr = runCLI("index", "--model", tinyModel, "--corpus", data, "--out", plainIdx, "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	code, _, stderr = runCLI("search", "--model", out, "--index", plainIdx, "with")
	if code != 1 || !strings.Contains(stderr, "fingerprint") || !strings.Contains(stderr, tinyModel) || !strings.Contains(stderr, trained.Fingerprint) {
		t.Errorf("search of another model's index: exit %d, %s", code, stderr)
	}
	code, _, stderr = runCLI("eval", "--model", filepath.Join(out, "encoder"), "--quiet", data)
	if code != 0 {
		t.Errorf("the encoder folder alone: exit %d, %s", code, stderr)
	}

	// A damaged head names its file.
	if err := os.WriteFile(filepath.Join(out, "head.safetensors"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr = runCLI("eval", "--model", out, "--quiet", data); code != 1 || !strings.Contains(stderr, "head.safetensors") {
		t.Errorf("damaged head: exit %d, %s", code, stderr)
	}
}

func TestTrainResume(t *testing.T) {
	data := writeTrainDataset(t)
	out := filepath.Join(t.TempDir(), "run")
	common := []string{"train", "--model", tinyModel, "--data", data, "--out", out, "--batch", "4", "--experts", "2",
		"--max-length", "16", "--eval-split", "none", "--quiet"}
	if code, _, stderr := runCLI(append(common, "--epochs", "1")...); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := runCLI(append(common, "--epochs", "1")...); code != 1 || !strings.Contains(stderr, "already holds a run") {
		t.Errorf("a second run into the same folder: exit %d, %s", code, stderr)
	}
	// --resume without --model takes the base model from the checkpoint.
	code, stdout, stderr := runCLI("train", "--data", data, "--out", out, "--batch", "4", "--experts", "2",
		"--max-length", "16", "--eval-split", "none", "--quiet", "--epochs", "2", "--resume")
	if code != 0 || !strings.Contains(stdout, "trained 2 epochs") || !strings.Contains(stdout, "| 2 |") {
		t.Errorf("resume: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

func TestTrainBadInputs(t *testing.T) {
	data := writeTrainDataset(t)
	noTrain := writeDataset(t) // only a test split
	empty := t.TempDir()
	broken := writeTrainDataset(t)
	if err := os.WriteFile(filepath.Join(broken, "qrels", "train.tsv"), []byte("q1\tnope\t1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := func() string { return filepath.Join(t.TempDir(), "run") }
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--data", data}, 2, "--out is required"},
		{[]string{"--out", out()}, 2, "give either --data"},
		{[]string{"--data", data, "--corpus", data, "--out", out()}, 2, "give either --data"},
		{[]string{"--corpus", data, "--out", out()}, 2, "--self-supervised"},
		{[]string{"--data", data, "--self-supervised", "title", "--out", out()}, 2, "takes --corpus"},
		{[]string{"--data", data, "--router", "magic", "--out", out()}, 2, "--router must be"},
		{[]string{"--data", data, "--mix", "some", "--out", out()}, 2, "--mix must be"},
		{[]string{"--data", data, "--freeze-encoder", "--checkpoint-every", "2", "--out", out()}, 2, "does not apply"},
		{[]string{"--data", data, "--epochs", "0", "--out", out()}, 2, "--epochs must be positive"},
		{[]string{"--data", data, "stray", "--out", out()}, 2, "unexpected argument"},
		{[]string{"--data", noTrain, "--out", out()}, 1, "no train split"},
		{[]string{"--data", empty, "--out", out()}, 1, "not a BEIR dataset"},
		{[]string{"--data", broken, "--out", out()}, 1, "nope"},
		{[]string{"--corpus", data, "--self-supervised", "sentences", "--out", out()}, 1, "unknown mode"},
		{[]string{"--corpus", filepath.Join(empty, "none.jsonl"), "--self-supervised", "crops", "--out", out()}, 1, "none.jsonl"},
		{[]string{"--data", data, "--out", out(), "--resume"}, 1, "holds no checkpoint"},
		{[]string{"--data", data, "--out", out(), "--batch", "1"}, 1, "at least 2 pairs"},
	} {
		args := append([]string{"train", "--model", tinyModel, "--quiet", "--epochs", "1"}, tc.args...)
		code, _, stderr := runCLI(args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
