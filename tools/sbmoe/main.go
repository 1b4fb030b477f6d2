// Command sbmoe is the native sbmoe tool: fetch models, write the demo corpus, index a
// corpus, search it, evaluate a retriever on a BEIR dataset, train an SB-MoE head (or the
// whole encoder with it), and benchmark encoding and training. Every command that encodes
// opens its model through package retriever, so a folder written by sbmoe train searches
// with its head and its text preparation.
//
// Run "sbmoe help" for the commands and "sbmoe help <command>" for each one's flags.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/sbmoe/sbmoe/tools/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand: its one-line summary and its entry point, which returns
// the process exit code.
type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"model", "fetch a model from the Hugging Face Hub (sbmoe model fetch <repo>)", runModel},
		{"corpus", "write a demo corpus (sbmoe corpus godoc: the Go standard library's documentation)", runCorpus},
		{"index", "encode a corpus into a vector index file", runIndex},
		{"search", "answer queries from an index", runSearch},
		{"eval", "evaluate the retriever on a BEIR dataset (NDCG, recall, MRR, MAP, P)", runEval},
		{"bench", "measure encoder throughput (documents per second)", runBench},
		{"bench-train", "measure training throughput (query–document pairs per second)", runBenchTrain},
		{"train", "fine-tune the encoder with an SB-MoE head (or the head alone) and evaluate it", runTrain},
		{"quantize", "write the int8 form of a model folder (int8 weights with one scale per row)", runQuantize},
		{"bundle", "write a bundle that searches a corpus in a web page (WebAssembly, JS module, demo page)", runBundle},
		{"serve", "serve a bundle or a site on this machine, as a static host would", runServe},
		{"site", "index a built static site for search in its pages: sections, bundle and search widget", runSite},
		{"edge", "run a bundle's search as a Cloudflare Worker: build the worker, serve it in local workerd, benchmark it", runEdge},
	}
}

const usageHeader = `sbmoe: a dense retriever (BERT encoder + SB-MoE head + exact vector search) in pure Go.

Usage:
  sbmoe <command> [flags] [arguments]

Commands:
`

const usageFooter = `
A typical session:
  sbmoe index  --corpus ../shared/data/scifact --out scifact.idx
  sbmoe search --index scifact.idx --corpus ../shared/data/scifact "vitamin d and bone density"
  sbmoe eval   ../shared/data/scifact
  sbmoe train  --data ../shared/data/scifact --freeze-encoder --out runs/head
  sbmoe eval   --model runs/head ../shared/data/scifact

Every command that encodes takes --model DIR: a Hugging Face model folder, or a folder
written by sbmoe train (its head and text preparation apply); default %s,
or $SBMOE_MODEL. --weights int8 (index, search, eval, bench) runs its int8 form, which
bundles carry by default. Run "sbmoe help <command>" for a command's flags.
`

func usage(w io.Writer) {
	fmt.Fprint(w, usageHeader)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, usageFooter, defaultModelDir())
}

// run is the whole program but for the exit: it parses args, runs one command and
// returns the exit code (0 ok, 1 failure, 2 usage error).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			return run([]string{rest[0], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(rest, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "sbmoe: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func defaultModelDir() string { return cli.DefaultModelDir() }

// fail prints an error in the form every command uses and returns exit code 1.
func fail(stderr io.Writer, cmd string, err error) int { return cli.Fail(stderr, "sbmoe "+cmd, err) }

// newFlags makes a command's flag set (see cli.NewFlags).
func newFlags(name, synopsis, about, examples string, stderr io.Writer) *cli.Flags {
	return cli.NewFlags("sbmoe", name, synopsis, about, examples, stderr)
}

// usageError returns a command's reporter of bad arguments.
func usageError(stderr io.Writer, cmd string) func(format string, a ...any) int {
	return cli.UsageError(stderr, "sbmoe "+cmd)
}
