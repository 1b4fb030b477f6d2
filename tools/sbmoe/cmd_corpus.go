package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/sbmoe/sbmoe/tools/internal/cli"
	"github.com/sbmoe/sbmoe/tools/internal/godoc"
)

func runCorpus(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "godoc" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, "Usage: sbmoe corpus godoc --out FILE\n\nRun \"sbmoe corpus godoc --help\" for the flags.")
			return 0
		}
		fmt.Fprintln(stderr, "sbmoe corpus: the only corpus is godoc: sbmoe corpus godoc --out FILE")
		return 2
	}
	fs := newFlags("corpus godoc", "--out FILE [flags]",
		"Writes a demo corpus in BEIR's corpus.jsonl form from the Go standard library's documentation\n"+
			"in GOROOT: one document per package and per documented exported function, method and type.\n"+
			"Every machine with the Go toolchain has it, so the demo needs no download.",
		"  sbmoe corpus godoc --out out/godoc/corpus.jsonl", stderr)
	out := fs.String("out", "", "corpus.jsonl to write (required); written atomically")
	goroot := fs.String("goroot", runtime.GOROOT(), "Go installation to read")
	if code, ok := fs.ParseArgs(args[1:], stdout); !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintln(stderr, "sbmoe corpus godoc: --out is required")
		return 2
	}
	if err := cli.MakeParent(*out); err != nil {
		return fail(stderr, "corpus godoc", err)
	}
	docs, err := godoc.Corpus(*goroot)
	if err != nil {
		return fail(stderr, "corpus godoc", err)
	}
	if err := godoc.WriteJSONL(*out, docs); err != nil {
		return fail(stderr, "corpus godoc", err)
	}
	fmt.Fprintf(stdout, "wrote %s: %d documents from %s\n", *out, len(docs), *goroot)
	return 0
}
