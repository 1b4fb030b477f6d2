// Package researchtest holds what the tests of the commands that train and evaluate
// (tools/experiment, tools/feedbackstudy, sbmoe train) share: the tiny model, running a
// command in-process, and toy BEIR collections written from the tiny model's vocabulary.
package researchtest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TinyModel is a random 2-layer BERT with its tokenizer, small enough for tests, as a
// path from a command's folder (tools/<command>).
var TinyModel = filepath.Join("..", "..", "testdata", "embeddings", "tiny")

// RunCLI runs a command line in-process through the command's run function and returns
// exit code, stdout and stderr.
func RunCLI(run func(args []string, stdout, stderr io.Writer) int, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// words are the toy collections' vocabulary, all in the tiny model's.
var words = strings.Fields("with that from were this they which have first also their been when after there into " +
	"time would what about said over then other more like back them only some could where just during under " +
	"while before through since because")

// Toy is a toy BEIR collection. Document i is titled with word i and its text is words
// i+5, i and i+11 (of the first Words words, cyclically); query i is its title word,
// with word i+5 after it when LongQueries, and judges document i relevant, in the test
// split when i%TestEvery == TestEvery-1 and in the train split otherwise.
type Toy struct {
	Docs        int // at most 40
	Words       int // at most 40
	TestEvery   int
	LongQueries bool
}

// Write writes the collection to dir, with its train split when withTrain.
func (c Toy) Write(t testing.TB, dir string, withTrain bool) {
	t.Helper()
	vocab := words[:c.Words]
	var corpus, queries, trainQrels, testQrels strings.Builder
	trainQrels.WriteString("query-id\tcorpus-id\tscore\n")
	testQrels.WriteString("query-id\tcorpus-id\tscore\n")
	for i := range c.Docs {
		w := vocab[i]
		fmt.Fprintf(&corpus, `{"_id":"d%d","title":"%s","text":"%s %s %s"}`+"\n", i, w, vocab[(i+5)%len(vocab)], w, vocab[(i+11)%len(vocab)])
		query := w
		if c.LongQueries {
			query += " " + vocab[(i+5)%len(vocab)]
		}
		fmt.Fprintf(&queries, `{"_id":"q%d","text":"%s"}`+"\n", i, query)
		qrels := &trainQrels
		if i%c.TestEvery == c.TestEvery-1 {
			qrels = &testQrels
		}
		fmt.Fprintf(qrels, "q%d\td%d\t1\n", i, i)
	}
	files := map[string]string{"corpus.jsonl": corpus.String(), "queries.jsonl": queries.String(), "qrels/test.tsv": testQrels.String()}
	if withTrain {
		files["qrels/train.tsv"] = trainQrels.String()
	}
	WriteFiles(t, dir, files)
}

// WriteFiles writes each file of files (a path relative to dir → its contents) under
// dir, making the folders it needs.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
