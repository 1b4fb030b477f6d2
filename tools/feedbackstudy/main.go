// Command sbmoe-feedback runs the feedback-simulation study and writes its report (make
// feedback-study): does the product's head recipe (moe.ProductConfig trained with
// headtrain.Product: identity start, mined hard negatives, validation-NDCG selection and
// the guard) make search better as a site's visitors use it, and never worse?
//
//  1. SciFact's training claims act as visitors and each claim's relevant abstracts as the
//     results they clicked: learning curves over 25 … 809 clicks, head only on the frozen
//     encoder, scored on the 300 test claims and on the 104 that share no relevant
//     abstract with a training claim, each against zero-shot.
//  2. Label-free adaptation at build time on the classic collections, from pairs the
//     corpus makes itself (crops, titles).
//  3. The same splits with the paper's recipe (paper and learned routers), with the head
//     on both sides instead of queries only, and with one part of the recipe left out at
//     a time.
//
// Like sbmoe-experiment it calls the libraries directly and reads the encoder's vectors
// from the same cache (runs/experiment/cache, encoding what is missing), so every head
// trains in seconds; each run's result is kept under --out and not run again.
//
// Run "sbmoe-feedback --help" for its flags.
package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sbmoe/sbmoe/tools/internal/cli"
	"github.com/sbmoe/sbmoe/tools/internal/research"
)

// prog is the command's name in its help and its messages.
const prog = "sbmoe-feedback"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program but for the exit: it parses args, runs the study and returns
// the exit code (0 ok, 1 failure, 2 usage error).
func run(args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlags(prog, "", "[flags]",
		"Runs the feedback-simulation study of the product's head recipe and writes its report:\n"+
			"does a head that learns from a site's clicks, or at build time from its text, make\n"+
			"search better, and never worse?\n\n"+
			"  1. SciFact: the training claims are visitors, their relevant abstracts the results they\n"+
			"     clicked; heads train on the first 25 … 809 clicks (--clicks) of a seed's order, on\n"+
			"     the frozen encoder, and are scored on the test claims (and the unseen ones).\n"+
			"  2. The classic collections: heads train label-free on pairs the corpus makes itself.\n"+
			"  3. The paper's recipe (paper and learned routers) on the same data, the product head on\n"+
			"     both sides, and the product recipe with one part left out (at the most clicks).\n\n"+
			"Vectors come from --cache (sbmoe-experiment's cache; what is missing is encoded once);\n"+
			"each run's result is kept under --out and not run again. The report (report.md,\n"+
			"results.json, curves.png) goes to --report. Significance: two-sided paired randomization\n"+
			"test over the queries' scores (averaged over seeds) against zero-shot.",
		"  sbmoe-feedback                                   # the whole study\n"+
			"  sbmoe-feedback --datasets scifact --seeds 42      # the learning curve, one seed", stderr)
	data := fs.String("data", filepath.Join("..", "shared", "data"), "folder holding the BEIR collections ("+strings.Join(studySets, ", ")+")")
	model := fs.String("model", cli.DefaultModelDir(), "base model folder (Hugging Face layout)")
	cache := fs.String("cache", filepath.Join("runs", "experiment", "cache"), "folder of the encoder's cached vectors (sbmoe-experiment's)")
	out := fs.String("out", filepath.Join("runs", "feedback"), "folder for the runs")
	report := fs.String("report", filepath.Join("results", "feedback"), "folder for report.md, results.json and curves.png")
	seedList := fs.String("seeds", "42,43,44", "training seeds, comma-separated")
	clickList := fs.String("clicks", "25,50,100,200,400,809", "click counts of SciFact's learning curve; a count above the training claims takes them all")
	sets := fs.String("datasets", strings.Join(studySets, ","), "collections to include, comma-separated")
	partList := fs.String("parts", strings.Join(studyParts, ","), "parts of the study to run, comma-separated: selection (the recipe's, on SciFact's\n"+
		"training claims), curve (SciFact's learning curves), ablations, classic (the label-free collections)")
	maxPairs := fs.Int("max-pairs", 2000, "most label-free pairs a product head trains on, drawn per seed (0 = all); negatives and\n"+
		"validation still rank against the whole corpus")
	threads := fs.Int("threads", 0, "encoder threads; 0 = all cores")
	quiet := fs.Bool("quiet", false, "no progress bars")
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	usageErr := cli.UsageError(stderr, prog)
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	st := &study{data: *data, model: *model, cache: *cache, out: *out, report: *report, threads: *threads, maxPairs: *maxPairs,
		quiet: *quiet, stdout: stdout, stderr: stderr}
	var err error
	if st.seeds, err = research.ParseList(*seedList, func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }); err != nil {
		return usageErr("--seeds: %v", err)
	}
	if st.clicks, err = research.ParseList(*clickList, strconv.Atoi); err != nil || slices.ContainsFunc(st.clicks, func(n int) bool { return n < 2 }) {
		return usageErr("--clicks: want counts of at least 2, got %q", *clickList)
	}
	slices.Sort(st.clicks)
	if st.sets, err = research.ParseList(*sets, research.OneOf("collection", studySets)); err != nil {
		return usageErr("--datasets: %v", err)
	}
	if st.parts, err = research.ParseList(*partList, research.OneOf("part", studyParts)); err != nil {
		return usageErr("--parts: %v", err)
	}
	if err := st.run(); err != nil {
		return cli.Fail(stderr, prog, err)
	}
	return 0
}
