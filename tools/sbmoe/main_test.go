package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/tools/internal/research/researchtest"

	"github.com/sbmoe/sbmoe/tools/internal/cli"
)

// tinyModel is a random 2-layer BERT with its tokenizer, small enough for CLI tests.
var tinyModel = filepath.Join("..", "..", "testdata", "embeddings", "tiny")

// runCLI runs the command line in-process and returns exit code, stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// writeDataset writes a small BEIR dataset and returns its folder.
func writeDataset(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"corpus.jsonl": `{"_id":"d1","title":"hello world","text":"the world says hello"}
{"_id":"d2","title":"","text":"a quick brown fox"}
{"_id":"d3","title":"lazy dog","text":"the dog sleeps all day"}
`,
		"queries.jsonl":  "{\"_id\":\"q1\",\"text\":\"hello\"}\n{\"_id\":\"q2\",\"text\":\"dog\"}\n{\"_id\":\"q3\",\"text\":\"unjudged\"}\n",
		"qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n",
	}
	researchtest.WriteFiles(t, dir, files)
	return dir
}

func TestHelp(t *testing.T) {
	code, out, _ := runCLI("help")
	if code != 0 || !strings.Contains(out, "Commands:") || !strings.Contains(out, "eval") {
		t.Fatalf("help: code %d, output %q", code, out)
	}
	for _, c := range commands() {
		args := []string{c.name, "--help"}
		if c.name == "model" {
			args = []string{"model", "fetch", "--help"}
		} else if c.name == "corpus" {
			args = []string{"corpus", "godoc", "--help"}
		}
		code, out, errOut := runCLI(args...)
		if code != 0 || !strings.Contains(out, "Usage: sbmoe "+c.name) || !strings.Contains(out, "Examples:") {
			t.Errorf("%v: code %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{}, {"frobnicate"}, {"index"}, {"index", "--corpus", "x"}, {"search"}, {"eval"},
		{"eval", "--format", "xml", "x"}, {"bench", "--seq", "1"}, {"model"}, {"model", "fetch"},
		{"corpus"}, {"index", "--no-such-flag"},
	} {
		if code, _, errOut := runCLI(args...); code != 2 || errOut == "" {
			t.Errorf("%q: exit %d (want 2), stderr %q", args, code, errOut)
		}
	}
}

func TestIndexSearchEval(t *testing.T) {
	data := writeDataset(t)
	idx := filepath.Join(t.TempDir(), "tiny.idx")
	code, out, errOut := runCLI("index", "--model", tinyModel, "--corpus", data, "--out", idx, "--quiet")
	if code != 0 || !strings.Contains(out, "3 vectors, dim 32") {
		t.Fatalf("index: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	code, out, errOut = runCLI("search", "--model", tinyModel, "--index", idx, "--corpus", data, "--json", "--k", "2", "hello", "dog")
	if code != 0 {
		t.Fatalf("search: exit %d: %s", code, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	for _, q := range []string{"hello", "dog"} {
		var res searchResult
		if err := dec.Decode(&res); err != nil {
			t.Fatalf("search output: %v\n%s", err, out)
		}
		if res.Query != q || len(res.Hits) != 2 || res.Hits[0].Rank != 1 || res.Hits[0].Score < res.Hits[1].Score {
			t.Errorf("search %q: %+v", q, res)
		}
	}
	code, out, errOut = runCLI("search", "--model", tinyModel, "--index", idx, "hello")
	if code != 0 || !strings.Contains(out, "query: hello") || !strings.Contains(out, "rank") {
		t.Errorf("search table: exit %d\n%s\n%s", code, out, errOut)
	}
	runFile := filepath.Join(t.TempDir(), "run.trec")
	code, out, errOut = runCLI("eval", "--model", tinyModel, "--format", "json", "--quiet", "--run", runFile, data)
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, errOut)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("eval output: %v\n%s", err, out)
	}
	if len(rep.Datasets) != 1 || rep.Datasets[0].Queries != 2 || rep.Datasets[0].Docs != 3 {
		t.Fatalf("eval report: %+v", rep)
	}
	for _, m := range evalMeasures {
		v, ok := rep.Datasets[0].Metrics[m]
		if !ok || v < 0 || v > 1 {
			t.Errorf("metric %s = %v (present %v)", m, v, ok)
		}
	}
	// With three documents and one relevant each, recall@100 is 1 for every query.
	if r := rep.Datasets[0].Metrics["recall@100"]; r != 1 {
		t.Errorf("recall@100 = %v, want 1", r)
	}
	trec, err := os.ReadFile(runFile)
	if err != nil || strings.Count(string(trec), "\n") != 6 {
		t.Errorf("run file: %v\n%s", err, trec)
	}
}

func TestBadInputs(t *testing.T) {
	data := writeDataset(t)
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "corpus.jsonl"), []byte("{\"_id\":\"d1\",\"text\":\"ok\"}\n{not json\n"), 0o644)
	notIndex := filepath.Join(bad, "not.idx")
	os.WriteFile(notIndex, []byte("hello"), 0o644)
	out := filepath.Join(t.TempDir(), "x.idx")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"index", "--model", tinyModel, "--corpus", bad, "--out", out, "--quiet"}, "corpus.jsonl:2"},
		{[]string{"index", "--model", tinyModel, "--corpus", filepath.Join(bad, "missing"), "--out", out}, "missing"},
		{[]string{"index", "--model", filepath.Join(bad, "nomodel"), "--corpus", data, "--out", out}, "config.json"},
		{[]string{"search", "--model", tinyModel, "--index", notIndex, "q"}, "not.idx"},
		{[]string{"eval", "--model", tinyModel, "--quiet", "--split", "dev", data}, "dev.tsv"},
	}
	for _, c := range cases {
		code, _, errOut := runCLI(c.args...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, stderr %q (want it to mention %q)", c.args, code, errOut, c.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed index run left an output file")
	}
}

func TestDimensionMismatch(t *testing.T) {
	data := writeDataset(t)
	idx := filepath.Join(t.TempDir(), "tiny.idx")
	if code, _, errOut := runCLI("index", "--model", tinyModel, "--corpus", data, "--out", idx, "--quiet"); code != 0 {
		t.Fatal(errOut)
	}
	model := filepath.Join("..", "..", "models", "all-MiniLM-L6-v2")
	if _, err := os.Stat(model); err != nil {
		t.Skip("default model not fetched")
	}
	code, _, errOut := runCLI("search", "--model", model, "--index", idx, "hello")
	if code != 1 || !strings.Contains(errOut, "32-dimensional") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestHelpExamplesParse runs every example line of every command's help, and of the
// overview, through the command's flag parser: an example that names a flag the command
// lacks, or misplaces an argument, fails here rather than for a user.
func TestHelpExamplesParse(t *testing.T) {
	cli.ParseOnly = true
	defer func() { cli.ParseOnly = false }()
	_, overview, _ := runCLI("help")
	lines := exampleLines(t, overview, "A typical session:")
	for _, c := range commands() {
		args := []string{c.name, "--help"}
		switch c.name {
		case "model":
			args = []string{"model", "fetch", "--help"}
		case "corpus":
			args = []string{"corpus", "godoc", "--help"}
		}
		_, help, _ := runCLI(args...)
		ex := exampleLines(t, help, "Examples:")
		if len(ex) == 0 {
			t.Errorf("sbmoe %s --help shows no examples", c.name)
		}
		lines = append(lines, ex...)
	}
	for _, line := range lines {
		words := shellWords(t, line)
		if len(words) < 2 || words[0] != "sbmoe" {
			t.Errorf("example %q does not run sbmoe", line)
			continue
		}
		if code, _, stderr := runCLI(words[1:]...); code != 0 || stderr != "" {
			t.Errorf("example %q: exit %d, %s", line, code, stderr)
		}
	}
}

// exampleLines returns the indented lines that follow heading in a help text.
func exampleLines(t *testing.T, help, heading string) []string {
	t.Helper()
	_, after, ok := strings.Cut(help, heading+"\n")
	if !ok {
		return nil
	}
	var out []string
	for _, line := range strings.Split(after, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		out = append(out, strings.TrimSpace(line))
	}
	return out
}

// shellWords splits a command line as sh would for these examples: the last command of a
// pipeline, without its comment, with single- and double-quoted words.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '#' && !inWord:
			return append(words, cur.String())[:len(words)]
		case r == '|':
			words, inWord = nil, false
			cur.Reset()
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unterminated quote in %q", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
