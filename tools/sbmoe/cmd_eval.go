package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/metrics"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
	"github.com/sbmoe/sbmoe/tools/internal/cli"
	"github.com/sbmoe/sbmoe/tools/internal/evaluate"
)

// evalMeasures are the paper's metrics, in the order tables show them.
var evalMeasures = evaluate.Measures

// evalReport is --format json's output and --out's content.
type evalReport struct {
	Model       string        `json:"model,omitempty"`
	Mode        string        `json:"mode,omitempty"`
	Weights     string        `json:"weights,omitempty"` // the encoder's: fp32 or int8
	Fingerprint string        `json:"fingerprint"`
	Kernels     string        `json:"kernels"`
	Datasets    []evalDataset `json:"datasets"`
}

type evalDataset struct {
	Name    string             `json:"name"`
	Split   string             `json:"split"`
	Docs    int                `json:"docs"`
	Queries int                `json:"queries"`
	Index   string             `json:"index"`
	Metrics map[string]float64 `json:"metrics"`
	Seconds float64            `json:"seconds"`
	// DocLoad and QueryLoad count the documents and queries each expert of the head
	// receives; absent without a head.
	DocLoad   []int `json:"expert_load_documents,omitempty"`
	QueryLoad []int `json:"expert_load_queries,omitempty"`
}

func runEval(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("eval", "[flags] DATASET_DIR ...",
		"Evaluates retrieval on BEIR datasets: encodes the corpus and the judged queries with the\n"+
			"model (its head and text preparation applied when the folder was written by sbmoe train),\n"+
			"ranks the whole corpus by exact dot product (top 1000) and scores the ranking with\n"+
			"trec_eval's definitions (equal to pytrec_eval): "+strings.Join(evalMeasures, ", ")+".\n"+
			"--mode bm25 ranks by BM25 alone (no model), --mode hybrid fuses BM25's and the model's\n"+
			"100 best as a site's search box does (an even mix of their min-max normalised scores).\n"+
			"--weights int8 evaluates the int8 encoder (an fp32 model quantised as it opens);\n"+
			"--compare adds an earlier report's NDCG@10 (eval --out) and the difference to the table,\n"+
			"as make eval-int8 does against the fp32 results.",
		"sbmoe eval ../shared/data/scifact\n"+
			"sbmoe eval --format json --out results.json ../shared/data/cisi ../shared/data/npl\n"+
			"sbmoe eval --run scifact.trec --int8 ../shared/data/scifact\n"+
			"sbmoe eval --model runs/head ../shared/data/scifact\n"+
			"sbmoe eval --mode hybrid ../shared/data/scifact ../shared/data/npl\n"+
			"sbmoe eval --weights int8 --compare results/zero-shot.json ../shared/data/scifact", stderr)
	model := fs.String("model", defaultModelDir(), "model folder: a Hugging Face encoder, or one written by sbmoe train")
	split := fs.String("split", "test", "qrels split to evaluate (qrels/<split>.tsv)")
	format := fs.String("format", "markdown", "output: markdown or json")
	out := fs.String("out", "", "also write the JSON report to this file (atomically)")
	runPath := fs.String("run", "", "write the ranking as a TREC run file (one dataset only)")
	int8 := fs.Bool("int8", false, "search an int8 index (per-vector scale) instead of fp32")
	batch := fs.Int("batch", 32, "texts per forward pass")
	maxLen := fs.Int("max-length", 0, "longest token sequence; 0 = the model's max_seq_length")
	threads := fs.Int("threads", 0, "encoder threads; 0 = all cores")
	quiet := fs.Bool("quiet", false, "no progress bar")
	mode := fs.String("mode", evaluate.Dense, "ranking: dense (the model), bm25 (keywords alone) or hybrid (both, fused)")
	weights := weightsFlag(fs)
	compare := fs.String("compare", "", "JSON report of an earlier eval (--out) whose NDCG@10 the table shows beside this run's")
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	usageErr := usageError(stderr, "eval")
	dirs := fs.Args()
	switch {
	case len(dirs) == 0:
		return usageErr("give at least one dataset folder")
	case *format != "markdown" && *format != "json":
		return usageErr("--format must be markdown or json, not %q", *format)
	case *runPath != "" && len(dirs) > 1:
		return usageErr("--run takes one dataset")
	case *mode != evaluate.Dense && *mode != evaluate.BM25 && *mode != evaluate.Hybrid:
		return usageErr("--mode must be dense, bm25 or hybrid, not %q", *mode)
	case *compare != "" && *format != "markdown":
		return usageErr("--compare changes the markdown table only")
	case *mode == evaluate.BM25 && *weights != "":
		return usageErr("--weights chooses the encoder's weights, and --mode bm25 uses no encoder")
	}
	if err := checkWeights(*weights); err != nil {
		return usageErr("%v", err)
	}
	var baseline *evalReport
	if *compare != "" {
		var err error
		if baseline, err = readEvalReport(*compare); err != nil {
			return fail(stderr, "eval", err)
		}
	}
	for _, p := range []string{*out, *runPath} {
		if p != "" {
			if err := cli.MakeParent(p); err != nil {
				return fail(stderr, "eval", err)
			}
		}
	}
	var r *retriever.Retriever
	rep := evalReport{Model: *model, Mode: *mode, Kernels: retriever.Kernels()}
	if *mode == evaluate.BM25 {
		rep.Model = ""
	} else {
		var err error
		if r, err = openModelWeights(*model, *threads, *batch, *maxLen, *weights); err != nil {
			return fail(stderr, "eval", err)
		}
		rep.Fingerprint, rep.Weights = r.Fingerprint(), encoderWeights(r)
		if r.Encoder().Int8() {
			rep.Kernels = "int8 " + bert.Int8Kernels() + ", float32 " + rep.Kernels
		}
	}
	for _, dir := range dirs {
		start := time.Now()
		ds, err := beir.Load(dir, *split)
		if err != nil {
			return fail(stderr, "eval", err)
		}
		res, err := evaluate.Dataset(context.Background(), r, ds, evaluate.Options{Int8: *int8, Mode: *mode},
			cli.NewProgress(stderr, len(ds.Corpus), filepath.Base(dir), *quiet))
		if err != nil {
			return fail(stderr, "eval", fmt.Errorf("%s: %w", dir, err))
		}
		if *runPath != "" {
			if err := atomicfile.Write(*runPath, func(w io.Writer) error {
				return metrics.WriteTREC(w, res.Run, "sbmoe", evaluate.Depth)
			}); err != nil {
				return fail(stderr, "eval", fmt.Errorf("write %s: %w", *runPath, err))
			}
		}
		kind := evaluate.BM25
		if res.Index != nil {
			kind = res.Index.Kind().String()
		}
		rep.Datasets = append(rep.Datasets, evalDataset{Name: filepath.Base(filepath.Clean(dir)), Split: *split,
			Docs: len(ds.Corpus), Queries: len(res.Run), Index: kind, Metrics: res.Mean,
			Seconds: time.Since(start).Seconds(), DocLoad: res.DocLoad, QueryLoad: res.QueryLoad})
	}
	if *out != "" {
		if err := atomicfile.WriteJSON(*out, rep); err != nil {
			return fail(stderr, "eval", err)
		}
	}
	if *format == "json" {
		if err := writeJSON(stdout, rep); err != nil {
			return fail(stderr, "eval", err)
		}
		return 0
	}
	if baseline != nil {
		printComparison(stdout, rep, *baseline, *compare)
		return 0
	}
	printEvalTable(stdout, rep)
	return 0
}

// readEvalReport reads a JSON report that eval --out wrote.
func readEvalReport(path string) (*evalReport, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--compare: %w", err)
	}
	var rep evalReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("--compare %s: not an eval report (sbmoe eval --out): %w", path, err)
	}
	if len(rep.Datasets) == 0 {
		return nil, fmt.Errorf("--compare %s: no datasets (not a report of sbmoe eval --out?)", path)
	}
	return &rep, nil
}

// printComparison is the table of rep beside an earlier report's NDCG@10: each dataset
// of rep with the earlier figure of the same name and split, the difference, and the
// largest difference at the end. A dataset the earlier report lacks shows "–" there.
func printComparison(w io.Writer, rep, base evalReport, basePath string) {
	const m = "ndcg@10"
	label := func(r evalReport) string {
		switch {
		case r.Weights != "":
			return r.Weights
		case r.Model != "":
			return retriever.WeightsFP32 // a report from before int8 encoders
		}
		return r.Mode
	}
	this, that := label(rep), label(base)
	if this == that {
		this, that = "this run", basePath
	}
	fmt.Fprintf(w, "| dataset | split | docs | queries | NDCG@10 %s | NDCG@10 %s | difference | Recall@100 %s | seconds |\n", that, this, this)
	fmt.Fprintf(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	worst, worstName := -1.0, ""
	for _, d := range rep.Datasets {
		var b *evalDataset
		for i := range base.Datasets {
			if base.Datasets[i].Name == d.Name && base.Datasets[i].Split == d.Split {
				b = &base.Datasets[i]
			}
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d |", d.Name, d.Split, d.Docs, d.Queries)
		if b == nil {
			fmt.Fprintf(w, " – | %.4f | – |", d.Metrics[m])
		} else {
			diff := d.Metrics[m] - b.Metrics[m]
			fmt.Fprintf(w, " %.4f | %.4f | %+.4f |", b.Metrics[m], d.Metrics[m], diff)
			if math.Abs(diff) > worst {
				worst, worstName = math.Abs(diff), d.Name
			}
		}
		fmt.Fprintf(w, " %.4f | %.1f |\n", d.Metrics["recall@100"], d.Seconds)
	}
	if worst >= 0 {
		fmt.Fprintf(w, "\nLargest |difference| of NDCG@10: %.4f (%s).\n", worst, worstName)
	}
}

func printEvalTable(w io.Writer, rep evalReport) {
	fmt.Fprintf(w, "| dataset | split | docs | queries | %s | seconds |\n", strings.Join(evalMeasures, " | "))
	fmt.Fprintf(w, "|---|---|---:|---:|%s---:|\n", strings.Repeat("---:|", len(evalMeasures)))
	for _, d := range rep.Datasets {
		fmt.Fprintf(w, "| %s | %s | %d | %d |", d.Name, d.Split, d.Docs, d.Queries)
		for _, name := range evalMeasures {
			fmt.Fprintf(w, " %.4f |", d.Metrics[name])
		}
		fmt.Fprintf(w, " %.1f |\n", d.Seconds)
	}
	for _, d := range rep.Datasets {
		if d.DocLoad != nil || d.QueryLoad != nil {
			fmt.Fprintf(w, "\nexpert load (%s): documents %s; queries %s\n", d.Name, shares(d.DocLoad), shares(d.QueryLoad))
		}
	}
}

// shares formats expert counts as percentages: "0: 12.5%, 1: 87.5%" ("–" for none).
func shares(counts []int) string {
	if counts == nil {
		return "–"
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	parts := make([]string, len(counts))
	for i, c := range counts {
		parts[i] = fmt.Sprintf("%d: %.1f%%", i, 100*float64(c)/float64(max(total, 1)))
	}
	return strings.Join(parts, ", ")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
