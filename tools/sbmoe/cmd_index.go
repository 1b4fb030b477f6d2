package main

import (
	"fmt"
	"io"

	"github.com/sbmoe/sbmoe/core/bert"
)

func runIndex(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("index", "--corpus PATH --out FILE [flags]",
		"Encodes every document of a corpus (title + \" \" + text) with the model and writes an\n"+
			"exact vector index: fp32, or int8 with one scale per vector (--int8, 4× smaller).\n"+
			"The corpus is a BEIR folder or a corpus.jsonl[.gz] file of {\"_id\",\"title\",\"text\"} lines.",
		"  sbmoe index --corpus ../shared/data/scifact --out scifact.idx\n"+
			"  sbmoe index --corpus docs.jsonl --out docs.idx --int8 --max-length 512", stderr)
	model := fs.String("model", defaultModelDir(), "model folder (Hugging Face layout)")
	corpus := fs.String("corpus", "", "BEIR folder or corpus.jsonl[.gz] file (required)")
	out := fs.String("out", "", "index file to write (required); written atomically")
	int8 := fs.Bool("int8", false, "store int8 vectors with a per-vector scale instead of fp32")
	batch := fs.Int("batch", 32, "texts per forward pass")
	maxLen := fs.Int("max-length", 0, "longest token sequence; 0 = the model's max_seq_length")
	threads := fs.Int("threads", 0, "encoder threads; 0 = all cores")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	if *corpus == "" || *out == "" {
		fmt.Fprintln(stderr, "sbmoe index: --corpus and --out are required (see sbmoe help index)")
		return 2
	}
	m, err := loadModel(*model, *threads)
	if err != nil {
		return fail(stderr, "index", err)
	}
	docs, err := loadCorpus(*corpus)
	if err != nil {
		return fail(stderr, "index", err)
	}
	done := stopwatch(stderr, fmt.Sprintf("encoded %d documents", len(docs)))
	opt := bert.EncodeOptions{BatchSize: *batch, MaxLength: *maxLen,
		Progress: newProgress(stderr, len(docs), "encoding", *quiet)}
	ix, err := buildIndex(m, docs, opt, *int8)
	if err != nil {
		return fail(stderr, "index", err)
	}
	done()
	if err := ix.WriteFile(*out); err != nil {
		return fail(stderr, "index", err)
	}
	fmt.Fprintf(stdout, "wrote %s: %d vectors, dim %d, %s\n", *out, ix.Len(), ix.Dim(), ix.Kind())
	return 0
}
