package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/moe/headtrain"
	"github.com/sbmoe/sbmoe/tools/internal/research"
	"github.com/sbmoe/sbmoe/tools/internal/research/researchtest"
)

// runCLI runs the command line in-process and returns exit code, stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	return researchtest.RunCLI(run, args...)
}

// toy is the tests' BEIR collection: 24 documents of four words from the tiny model's
// vocabulary, one query per document (its title word), judged relevant in the test split
// for odd documents and in the train split for even ones.
var toy = researchtest.Toy{Docs: 24, Words: 26, TestEvery: 2}

// TestExperimentEndToEnd runs the whole experiment on toy collections with the tiny
// model: a supervised "scifact" and a label-free "adi", two seeds, 3 and 6 experts.
// A second run finds every result in place and trains nothing.
func TestExperimentEndToEnd(t *testing.T) {
	data := t.TempDir()
	toy.Write(t, filepath.Join(data, "scifact"), true)
	toy.Write(t, filepath.Join(data, "adi"), false)
	out, report := filepath.Join(t.TempDir(), "runs"), filepath.Join(t.TempDir(), "report")
	args := []string{"--data", data, "--model", researchtest.TinyModel, "--out", out, "--report", report,
		"--datasets", "scifact,adi", "--seeds", "1,2", "--experts", "3,6", "--sweep", "scifact",
		"--full-epochs", "1", "--head-epochs", "2", "--threads", "1", "--quiet"}
	code, stdout, stderr := runCLI(args...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, want := range []string{"full fine-tuning scifact", "head scifact: learned, 3 experts, seed 2", "head adi: paper, 6 experts"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "head adi: paper, 3 experts") {
		t.Error("adi, outside --sweep, trained 3 experts")
	}
	md, err := os.ReadFile(filepath.Join(report, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Answers", "## 1. SciFact, full fine-tuning", "fine-tuned baseline (no block)",
		"scifact (12 unseen)", "## 2. Frozen encoder", "| adi | learned router, ALL | 2 |", "## 3. Number of experts",
		"## 4. Routing", "## Method"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	var rep expReport
	raw, err := os.ReadFile(filepath.Join(report, "results.json"))
	if err == nil {
		err = json.Unmarshal(raw, &rep)
	}
	if err != nil {
		t.Fatal(err)
	}
	// scifact: (zero-shot vs baseline, baseline, 4 full) + (zero-shot, 2 counts × 4 heads), for all queries
	// and the unseen ones; adi: zero-shot + 4 heads.
	if want := 2*(6+9) + 5; len(rep.Configs) != want {
		t.Errorf("%d configurations, want %d", len(rep.Configs), want)
	}
	for _, c := range rep.Configs {
		if c.Mode != "zero-shot" && c.Seeds != 2 {
			t.Errorf("%+v: %d seeds, want 2", c, c.Seeds)
		}
		if c.Mode == "head" && (c.Test == nil || c.Test.Baseline != "zero-shot" || c.Test.NDCGP <= 0 || c.Test.NDCGP > 1) {
			t.Errorf("%s %s %d %s: test %+v", c.Set, c.Router, c.Experts, c.Mix, c.Test)
		}
		if c.Mode == "head" && c.Router != "none" && (len(c.DocLoad) != c.Experts || c.Rerouted < 0 || c.Rerouted > 1) {
			t.Errorf("%s %s %d: document shares %v, rerouted %g", c.Set, c.Router, c.Experts, c.DocLoad, c.Rerouted)
		}
	}
	png, err := os.ReadFile(filepath.Join(report, "experts.png"))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("experts.png: %v", err)
	}
	checkRunFolders(t, out)

	code, _, stderr = runCLI(args...)
	if code != 0 || strings.Contains(stderr, "head ") || strings.Contains(stderr, "full fine-tuning") {
		t.Errorf("second run: exit %d, trained again:\n%s", code, stderr)
	}
	again, err := os.ReadFile(filepath.Join(report, "report.md"))
	if err != nil || !bytes.Equal(md, again) {
		t.Errorf("second report differs (%v)", err)
	}

	// A full run whose result was lost after its vectors were kept is scored again from
	// them, without training.
	if err := os.Remove(filepath.Join(out, "scifact", "full-1epochs", "learned-seed2", resultFile)); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(args...)
	if code != 0 || strings.Contains(stderr, "full fine-tuning") {
		t.Errorf("lost result: exit %d, trained again:\n%s", code, stderr)
	}
	if again, err := os.ReadFile(filepath.Join(report, "report.md")); err != nil || !bytes.Equal(md, again) {
		t.Errorf("report after rescoring differs (%v)", err)
	}

	// A damaged cache file is named, with what to do.
	if err := os.WriteFile(filepath.Join(out, "cache", "adi", "corpus.idx"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(args...)
	if code != 1 || !strings.Contains(stderr, filepath.Join("adi", "corpus.idx")) || !strings.Contains(stderr, "delete it") {
		t.Errorf("damaged cache: exit %d, %s", code, stderr)
	}
}

func TestExperimentUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--experts", "3,9"}, "must include 6"},
		{[]string{"--experts", "6,x"}, "--experts"},
		{[]string{"--seeds", "1,1"}, "appears twice"},
		{[]string{"--datasets", "msmarco"}, `unknown collection "msmarco"`},
		{[]string{"--full-epochs", "0"}, "must be positive"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	code, _, stderr := runCLI("--data", t.TempDir(), "--datasets", "adi", "--quiet")
	if code != 1 || !strings.Contains(stderr, "adi") {
		t.Errorf("missing collection: exit %d, %q", code, stderr)
	}
}

// TestExperimentNoNormalize: --no-normalize keeps its runs and cache apart and skips
// full fine-tuning.
func TestExperimentNoNormalize(t *testing.T) {
	data := t.TempDir()
	toy.Write(t, filepath.Join(data, "scifact"), true)
	out, report := filepath.Join(t.TempDir(), "runs"), filepath.Join(t.TempDir(), "report")
	code, stdout, stderr := runCLI("--data", data, "--model", researchtest.TinyModel, "--out", out, "--report", report,
		"--datasets", "scifact", "--seeds", "1", "--experts", "6", "--head-epochs", "1", "--threads", "1", "--no-normalize", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if strings.Contains(stderr, "full fine-tuning") {
		t.Errorf("--no-normalize ran full fine-tuning:\n%s", stderr)
	}
	for _, p := range []string{filepath.Join(out, "cache", "scifact-raw", "corpus.idx"),
		filepath.Join(out, "scifact", "head-1epochs-raw", "paper-e6-seed1", resultFile)} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	md, err := os.ReadFile(filepath.Join(report, "report.md"))
	if err != nil || !bytes.Contains(md, []byte("without its Normalize module")) {
		t.Errorf("report.md (%v):\n%s", err, md)
	}
}

// checkRunFolders checks what the end-to-end test's runs keep: a head run its trained head,
// the one headtrain gives on the cached vectors with the experiment's settings; a full run
// the trained model and its pre-head vectors of the test corpus and queries.
func checkRunFolders(t *testing.T, out string) {
	t.Helper()
	dir := filepath.Join(out, "scifact", "head-2epochs", "learned-e3-seed2")
	saved, err := moe.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c := saved.Config(); c.Experts != 3 || c.Router != moe.RouterLearned || c.Mix != moe.MixTop1 || c.BalanceCoef != 0.01 {
		t.Errorf("saved head's config %+v", c)
	}
	read := func(name string) *index.Index {
		ix, err := index.ReadFile(filepath.Join(out, "cache", "scifact", name))
		if err != nil {
			t.Fatal(err)
		}
		return ix
	}
	corpus, train := read("corpus.idx"), read("train-queries.idx")
	if corpus.Origin().Fingerprint == "" {
		t.Error("the cache records no fingerprint")
	}
	// The toy train qrels judge document 2i relevant to query 2i.
	data := &headtrain.Data{Docs: research.Rows(corpus)}
	for i := range train.Len() {
		var d int
		if _, err := fmt.Sscanf(train.ID(i), "q%d", &d); err != nil {
			t.Fatal(err)
		}
		data.Examples = append(data.Examples, headtrain.Example{ID: train.ID(i), Query: train.Vector(i), Positives: []int{d}})
	}
	block, err := moe.New(headBlockConfig(corpus.Dim(), 3, "learned"), 2)
	if err != nil {
		t.Fatal(err)
	}
	res, err := headtrain.Train(t.Context(), block, data, headConfig(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	if res.Head.Digest() != saved.Digest() {
		t.Error("the saved head differs from headtrain's on the cached vectors")
	}

	full := filepath.Join(out, "scifact", "full-1epochs", "paper-seed1")
	for name, n := range map[string]int{"corpus.idx": 24, "queries.idx": 12} {
		if ix, err := index.ReadFile(filepath.Join(full, runVectorsDir, name)); err != nil {
			t.Error(err)
		} else if ix.Len() != n {
			t.Errorf("%s: %d vectors, want %d", name, ix.Len(), n)
		}
	}
	for _, name := range []string{filepath.Join(runVectorsDir, runTrainFile), moe.HeadFile, "sbmoe.json", filepath.Join("encoder", "model.safetensors")} {
		if _, err := os.Stat(filepath.Join(full, name)); err != nil {
			t.Error(err)
		}
	}
}
