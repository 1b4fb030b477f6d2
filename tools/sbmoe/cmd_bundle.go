package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/core/tokenizer"
	"github.com/sbmoe/sbmoe/tools/internal/bundler"
	"github.com/sbmoe/sbmoe/tools/internal/cli"
)

// defaultRuntime is where make build puts the browser runtime: bin/web beside bin/sbmoe.
func defaultRuntime() string {
	exe, err := os.Executable()
	if err != nil {
		return filepath.Join("bin", "web")
	}
	return filepath.Join(filepath.Dir(exe), "web")
}

func runBundle(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bundle", "--corpus PATH --out DIR [flags]",
		"Writes a bundle that puts semantic search on a web page: the model, an index of the corpus\n"+
			"made by that model, each document's id, title and snippet, the WebAssembly module with its\n"+
			"JS loader (sbmoe.js, a Web Worker) and a demo page (index.html), listed with their sizes and\n"+
			"SHA-256 in manifest.json. Files over 1 KB get .br and .gz copies beside them for servers that\n"+
			"send precompressed files. Serve the folder and open it, or in your own page:\n\n"+
			"  import { open } from './bundle/sbmoe.js';\n"+
			"  const search = await open('./bundle/');\n"+
			"  const hits = await search.search('how do I split a string', { k: 5 });\n\n"+
			"The model is a Hugging Face encoder or a folder written by sbmoe train (its head applies).\n"+
			"The encoder goes into the bundle as int8 (--weights int8, the default: linear and embedding\n"+
			"weights in int8 with one scale per row, a quarter of the fp32 size; a trained head stays\n"+
			"fp32) or as fp32 (--weights fp32: the exact model, four times the download). The index is\n"+
			"made by the encoder as the bundle holds it, so a page ranks as the index expects.\n"+
			"--int8-index is another thing: it stores the document vectors in int8.",
		"sbmoe bundle --corpus out/godoc/corpus.jsonl --out out/godoc-bundle\n"+
			"sbmoe bundle --corpus out/godoc/corpus.jsonl --out out/godoc-fp32 --weights fp32\n"+
			"sbmoe bundle --model runs/head --corpus ../shared/data/scifact --out site/search --int8-index", stderr)
	model := fs.String("model", defaultModelDir(), "model folder: a Hugging Face encoder, or one written by sbmoe train")
	corpus := fs.String("corpus", "", "BEIR folder or corpus.jsonl[.gz] file (required)")
	out := fs.String("out", "", "bundle folder to write (required); replaced as a whole when it holds a bundle")
	runtime := fs.String("runtime", defaultRuntime(), "folder with sbmoe.wasm and wasm_exec.js (make build writes bin/web)")
	weightsForm := fs.String("weights", retriever.WeightsInt8, "the encoder's form in the bundle: int8 (per-row scales) or fp32")
	int8Index := fs.Bool("int8-index", false, "store document vectors as int8 with a per-vector scale (4× smaller index)")
	demo := fs.Bool("demo", true, "write index.html, a search page over the bundle")
	compress := fs.Bool("compress", true, "write .br and .gz copies of the files over 1 KB")
	prune := fs.String("prune-vocab", "none", "keep only the vocabulary the corpus needs: none, corpus (unseen query words become [UNK]), or reachable (also every single character, so any word is spelled)")
	threads := fs.Int("threads", 0, "encoder threads; 0 = all cores")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	usageErr := usageError(stderr, "bundle")
	switch {
	case *corpus == "" || *out == "":
		return usageErr("--corpus and --out are required")
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *weightsForm != retriever.WeightsInt8 && *weightsForm != retriever.WeightsFP32:
		return usageErr("--weights must be int8 or fp32, not %q", *weightsForm)
	}
	pruning, ok := map[string]tokenizer.Pruning{"none": tokenizer.PruneNone, "corpus": tokenizer.PruneCorpus,
		"reachable": tokenizer.PruneReachable}[*prune]
	if !ok {
		return usageErr("--prune-vocab must be none, corpus or reachable, not %q", *prune)
	}
	r, err := openModel(*model, *threads, 0, 0)
	if err != nil {
		return fail(stderr, "bundle", err)
	}
	docs, err := cli.LoadCorpus(*corpus)
	if err != nil {
		return fail(stderr, "bundle", err)
	}
	done := stopwatch(stderr, fmt.Sprintf("encoded %d documents", len(docs)))
	res, err := bundler.Write(context.Background(), r, docs, bundler.Options{ModelDir: *model, Out: *out, Runtime: *runtime,
		Weights: *weightsForm, Int8Index: *int8Index, Demo: *demo, Compress: *compress, Prune: pruning, Progress: cli.NewProgress(stderr, len(docs), "encoding", *quiet)})
	if err != nil {
		return fail(stderr, "bundle", err)
	}
	done()
	fmt.Fprintf(stdout, "wrote %s: %d documents, %d files, %s encoder, model fingerprint %s\n", *out, res.Manifest.Documents, len(res.Manifest.Files), res.Manifest.Weights, res.Manifest.Fingerprint)
	fmt.Fprintf(stdout, "a page downloads %.1f MB before its first result (%.1f MB as Brotli)\n", float64(res.Bytes)/1e6, float64(res.Brotli)/1e6)
	return 0
}
