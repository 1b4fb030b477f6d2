package main

import (
	"context"
	"fmt"
	"io"

	"github.com/sbmoe/sbmoe/tools/internal/cli"
)

func runIndex(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("index", "--corpus PATH --out FILE [flags]",
		"Encodes every document of a corpus (title + \" \" + text) with the model, its head applied\n"+
			"when the model folder has one, and writes an exact vector index: fp32, or int8 with one\n"+
			"scale per vector (--int8, 4× smaller). --weights int8 encodes with the int8 encoder\n"+
			"(weights in int8 with one scale per row; faster, vectors at cosine ≥ 0.99 to fp32).\n"+
			"The index records the model's fingerprint, which tells int8 weights from fp32, so\n"+
			"search and eval refuse to use it with another model or the other weights. The corpus\n"+
			"is a BEIR folder or a corpus.jsonl[.gz] file of {\"_id\",\"title\",\"text\"} lines.",
		"sbmoe index --corpus ../shared/data/scifact --out scifact.idx\n"+
			"sbmoe index --corpus docs.jsonl --out docs.idx --int8 --max-length 512\n"+
			"sbmoe index --corpus ../shared/data/scifact --out scifact-int8.idx --weights int8\n"+
			"sbmoe index --model runs/head --corpus ../shared/data/scifact --out scifact-head.idx", stderr)
	model := fs.String("model", defaultModelDir(), "model folder: a Hugging Face encoder, or one written by sbmoe train")
	corpus := fs.String("corpus", "", "BEIR folder or corpus.jsonl[.gz] file (required)")
	out := fs.String("out", "", "index file to write (required); written atomically")
	int8 := fs.Bool("int8", false, "store int8 vectors with a per-vector scale instead of fp32")
	weights := weightsFlag(fs)
	batch := fs.Int("batch", 32, "texts per forward pass")
	maxLen := fs.Int("max-length", 0, "longest token sequence; 0 = the model's max_seq_length")
	threads := fs.Int("threads", 0, "encoder threads; 0 = all cores")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	usageErr := usageError(stderr, "index")
	switch {
	case *corpus == "" || *out == "":
		return usageErr("--corpus and --out are required")
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if err := checkWeights(*weights); err != nil {
		return usageErr("%v", err)
	}
	r, err := openModelWeights(*model, *threads, *batch, *maxLen, *weights)
	if err != nil {
		return fail(stderr, "index", err)
	}
	docs, err := cli.LoadCorpus(*corpus)
	if err != nil {
		return fail(stderr, "index", err)
	}
	done := stopwatch(stderr, fmt.Sprintf("encoded %d documents", len(docs)))
	ix, err := r.Index(context.Background(), docs, cli.NewProgress(stderr, len(docs), "encoding", *quiet))
	if err != nil {
		return fail(stderr, "index", err)
	}
	done()
	if *int8 {
		ix = ix.Quantized()
	}
	if err := writeIndex(*out, ix, modelName(*model, *weights)); err != nil {
		return fail(stderr, "index", err)
	}
	fmt.Fprintf(stdout, "wrote %s: %d vectors, dim %d, %s, %s encoder, model fingerprint %s\n", *out, ix.Len(), ix.Dim(), ix.Kind(), encoderWeights(r), ix.Origin().Fingerprint)
	return 0
}
