// Command sbmoe-experiment runs the SB-MoE experiment and writes its report (make
// experiment): does one mixture-of-experts block on the pooled embedding beat the same
// model without it? It fine-tunes encoder and head on SciFact, trains heads alone on the
// frozen encoder of every collection, scores every trained block with TOP-1 and ALL
// inference, and tests each configuration against its baseline, query by query.
//
// It is a research tool beside the product CLI (tools/sbmoe): it calls the libraries
// directly — core/retriever to encode, moe/headtrain to train heads on vectors held in
// memory, tools/internal/finetune for full fine-tuning and tools/internal/evaluate to
// score — and keeps every run under --out, so an interrupted experiment continues.
//
// Run "sbmoe-experiment --help" for its flags.
package main

import (
	"fmt"
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
const prog = "sbmoe-experiment"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program but for the exit: it parses args, runs the experiment and
// returns the exit code (0 ok, 1 failure, 2 usage error).
func run(args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlags(prog, "", "[flags]",
		"Runs the SB-MoE experiment and writes its report: does one mixture-of-experts block on the\n"+
			"pooled embedding beat the same model without it?\n\n"+
			"  1. SciFact, full fine-tuning (encoder and head, documents cut to 256 tokens): the\n"+
			"     fine-tuned baseline (no block), the paper's router and the learned router, 6 experts,\n"+
			"     every seed; each trained block is scored with TOP-1 and ALL inference.\n"+
			"  2. Every collection, encoder frozen, head only: the paper's and the learned router with\n"+
			"     6 experts (each --experts count on the --sweep collections) and every seed, against\n"+
			"     the zero-shot encoder. SciFact trains on its\n"+
			"     train qrels; the classic collections on two random crops of each document (no labels).\n\n"+
			"Results are kept under --out (<collection>/full-<N>epochs/, <collection>/head-<N>epochs/):\n"+
			"a finished run is not run again, an interrupted full\n"+
			"fine-tuning resumes from its checkpoint, and the encoder's vectors of each collection are\n"+
			"computed once (--out/cache). The report (report.md, results.json, experts.png) goes to\n"+
			"--report. Significance: two-sided paired randomization test over the queries' scores\n"+
			"(averaged over seeds), against the fine-tuned baseline in part 1 and the zero-shot\n"+
			"encoder in part 2.",
		"  sbmoe-experiment                               # everything, several hours on 2 cores\n"+
			"  sbmoe-experiment --skip-full --experts 6       # head-only part, minutes\n"+
			"  sbmoe-experiment --full-epochs 20 --report results/experiment-20ep", stderr)
	data := fs.String("data", filepath.Join("..", "shared", "data"), "folder holding the BEIR collections ("+strings.Join(experimentSets, ", ")+")")
	model := fs.String("model", cli.DefaultModelDir(), "base model folder (Hugging Face layout)")
	out := fs.String("out", filepath.Join("runs", "experiment"), "folder for the runs and the vector cache")
	report := fs.String("report", filepath.Join("results", "experiment"), "folder for report.md, results.json and experts.png")
	seedList := fs.String("seeds", "42,43,44", "training seeds, comma-separated")
	expertList := fs.String("experts", "3,6,9,12", "expert counts of the head-only sweep, comma-separated (6 is the main setting)")
	fullEpochs := fs.Int("full-epochs", 1, "epochs of full fine-tuning (the recipe: 20; 1 fits a 2-core machine)")
	headEpochs := fs.Int("head-epochs", 20, "epochs of head-only training")
	sweep := fs.String("sweep", "scifact", "collections that get the whole --experts sweep; the others train 6 experts only")
	raw := fs.Bool("no-normalize", false, "leave out the model's Normalize module: heads train on raw mean-pooled vectors, as the\n"+
		"paper's base models give them (runs and cache get a -raw suffix; implies --skip-full)")
	skipFull := fs.Bool("skip-full", false, "leave out full fine-tuning (part 1) except runs already finished")
	sets := fs.String("datasets", strings.Join(experimentSets, ","), "collections to include, comma-separated")
	threads := fs.Int("threads", 0, "encoder threads; 0 = all cores")
	quiet := fs.Bool("quiet", false, "no progress bars")
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	usageErr := cli.UsageError(stderr, prog)
	x := &experiment{data: *data, model: *model, out: *out, report: *report, fullEpochs: *fullEpochs,
		headEpochs: *headEpochs, skipFull: *skipFull || *raw, raw: *raw, threads: *threads, quiet: *quiet, stdout: stdout, stderr: stderr}
	var err error
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if x.seeds, err = research.ParseList(*seedList, func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }); err != nil {
		return usageErr("--seeds: %v", err)
	}
	if x.experts, err = research.ParseList(*expertList, strconv.Atoi); err != nil || slices.ContainsFunc(x.experts, func(e int) bool { return e < 1 }) {
		return usageErr("--experts: want positive counts, got %q", *expertList)
	}
	if !slices.Contains(x.experts, mainExperts) {
		return usageErr("--experts must include %d, the main setting", mainExperts)
	}
	if x.sets, err = research.ParseList(*sets, research.OneOf("collection", experimentSets)); err != nil {
		return usageErr("--datasets: %v", err)
	}
	if x.sweep, err = research.ParseList(*sweep, func(s string) (string, error) {
		if !slices.Contains(experimentSets, s) {
			return "", fmt.Errorf("unknown collection %q", s)
		}
		return s, nil
	}); err != nil {
		return usageErr("--sweep: %v", err)
	}
	if *fullEpochs < 1 || *headEpochs < 1 {
		return usageErr("--full-epochs and --head-epochs must be positive")
	}
	if err := x.run(); err != nil {
		return cli.Fail(stderr, prog, err)
	}
	return 0
}
