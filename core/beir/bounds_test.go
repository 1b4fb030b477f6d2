package beir

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/internal/readbound"
)

// The fuzz targets check every input against a memory bound and a time limit, so that `go
// test` checks the bounds over the seed corpus and the regression inputs under
// testdata/fuzz, and `make fuzz` over what the fuzzer makes. The input is what the readers
// read: a gzip-compressed file's bound is that of its decompressed text.

var (
	// corpusBound: each document costs its strings, its slot in the list (48 bytes, the list
	// growing a quarter at a time) and an entry in the id map; the shortest lines,
	// {"_id":"1","text":""}, cost about 20 bytes per byte (TestReadWorstCases). The 64 KiB
	// line buffer is the fixed part.
	corpusBound = readbound.Bound{PerByte: 40, Fixed: 160 << 10}
	// qrelsBound: a judgement costs its fields and an entry in its query's map, and each
	// query a map of its own; the shortest lines, "q\td\t1", cost about 37 bytes per byte.
	qrelsBound = readbound.Bound{PerByte: 64, Fixed: 160 << 10}
)

// TestReadWorstCases reads the files that cost the most memory per byte: many of the
// shortest documents, queries and judgements.
func TestReadWorstCases(t *testing.T) {
	const n = 1 << 15
	var corpus, qrels bytes.Buffer
	for i := range n {
		fmt.Fprintf(&corpus, "{\"_id\":\"%x\",\"text\":\"\"}\n", i)
		fmt.Fprintf(&qrels, "%x\t%x\t1\n", i, i)
	}
	tests := []struct {
		name  string
		data  []byte
		bound readbound.Bound
		read  func(io.Reader) error
	}{
		{"corpus", corpus.Bytes(), corpusBound, func(r io.Reader) error { _, err := ReadCorpus(r, "corpus.jsonl"); return err }},
		{"queries", corpus.Bytes(), corpusBound, func(r io.Reader) error { _, err := ReadQueries(r, "queries.jsonl"); return err }},
		{"qrels", qrels.Bytes(), qrelsBound, func(r io.Reader) error { _, err := ReadQrels(r, "test.tsv"); return err }},
		{"blank lines", bytes.Repeat([]byte("\n"), n), corpusBound, func(r io.Reader) error { _, err := ReadCorpus(r, "corpus.jsonl"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			readbound.Check(t, len(tc.data), tc.bound, func() { err = tc.read(bytes.NewReader(tc.data)) })
			if err != nil && tc.name != "blank lines" {
				t.Fatal(err)
			}
		})
	}
}

// TestLineTooLong: a line longer than maxLineBytes is an error naming the file and line,
// before more of it is read.
func TestLineTooLong(t *testing.T) {
	r := io.MultiReader(strings.NewReader("{\"_id\": \"1\", \"text\": \"a\"}\n{\"_id\": \"2\", \"text\": \""), zeros{})
	_, err := ReadCorpus(r, "corpus.jsonl")
	if want := fmt.Sprintf("corpus.jsonl:2: read: line longer than %d bytes", maxLineBytes); err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}

// zeros is an endless stream of '0' bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}
