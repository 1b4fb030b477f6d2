package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/sbmoe/sbmoe/core/atomicfile"
	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/metrics"
)

// evalMeasures are the paper's metrics, in the order tables show them.
var evalMeasures = []string{"ndcg@10", "recall@100", "mrr@10", "map@100", "p@1", "ndcg@3"}

// evalReport is --format json's output and --out's content.
type evalReport struct {
	Model    string        `json:"model"`
	Kernels  string        `json:"kernels"`
	Datasets []evalDataset `json:"datasets"`
}

type evalDataset struct {
	Name    string             `json:"name"`
	Split   string             `json:"split"`
	Docs    int                `json:"docs"`
	Queries int                `json:"queries"`
	Index   string             `json:"index"`
	Metrics map[string]float64 `json:"metrics"`
	Seconds float64            `json:"seconds"`
}

func runEval(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("eval", "[flags] DATASET_DIR ...",
		"Evaluates zero-shot retrieval on BEIR datasets: encodes the corpus and the judged queries,\n"+
			"ranks the whole corpus by exact dot product (top --depth) and scores the ranking with\n"+
			"trec_eval's definitions (equal to pytrec_eval): "+strings.Join(evalMeasures, ", ")+".",
		"  sbmoe eval ../shared/data/scifact\n"+
			"  sbmoe eval --format json --out results.json ../shared/data/cisi ../shared/data/npl\n"+
			"  sbmoe eval --run scifact.trec --int8 ../shared/data/scifact", stderr)
	model := fs.String("model", defaultModelDir(), "model folder (Hugging Face layout)")
	split := fs.String("split", "test", "qrels split to evaluate (qrels/<split>.tsv)")
	depth := fs.Int("depth", 1000, "documents retrieved per query")
	format := fs.String("format", "markdown", "output: markdown or json")
	out := fs.String("out", "", "also write the JSON report to this file (atomically)")
	runPath := fs.String("run", "", "write the ranking as a TREC run file (one dataset only)")
	int8 := fs.Bool("int8", false, "search an int8 index (per-vector scale) instead of fp32")
	batch := fs.Int("batch", 32, "texts per forward pass")
	maxLen := fs.Int("max-length", 0, "longest token sequence; 0 = the model's max_seq_length")
	threads := fs.Int("threads", 0, "encoder threads; 0 = all cores")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	dirs := fs.Args()
	switch {
	case len(dirs) == 0:
		fmt.Fprintln(stderr, "sbmoe eval: give at least one dataset folder (see sbmoe help eval)")
		return 2
	case *format != "markdown" && *format != "json":
		fmt.Fprintf(stderr, "sbmoe eval: --format must be markdown or json, not %q\n", *format)
		return 2
	case *runPath != "" && len(dirs) > 1:
		fmt.Fprintln(stderr, "sbmoe eval: --run takes one dataset")
		return 2
	}
	measures := make([]string, len(evalMeasures))
	for i, name := range evalMeasures {
		measures[i], _ = metrics.Parse(name)
	}
	m, err := loadModel(*model, *threads)
	if err != nil {
		return fail(stderr, "eval", err)
	}
	rep := evalReport{Model: *model, Kernels: kernelImpl()}
	for _, dir := range dirs {
		start := time.Now()
		ds, err := beir.Load(dir, *split)
		if err != nil {
			return fail(stderr, "eval", err)
		}
		opt := bert.EncodeOptions{BatchSize: *batch, MaxLength: *maxLen,
			Progress: newProgress(stderr, len(ds.Corpus), filepath.Base(dir), *quiet)}
		ix, err := buildIndex(m, ds.Corpus, opt, *int8)
		if err != nil {
			return fail(stderr, "eval", fmt.Errorf("%s: %w", dir, err))
		}
		queries := ds.JudgedQueries()
		texts := make([]string, len(queries))
		for i, q := range queries {
			texts[i] = q.Text
		}
		qvecs := m.Encode(texts, bert.EncodeOptions{BatchSize: *batch, MaxLength: *maxLen})
		hits := ix.SearchBatch(qvecs, *depth, 0)
		run := metrics.Run{}
		for i, q := range queries {
			ranked := make(map[string]float64, len(hits[i]))
			for _, h := range hits[i] {
				ranked[h.ID] = float64(h.Score)
			}
			run[q.ID] = ranked
		}
		_, mean, err := metrics.Evaluate(ds.Qrels, run, measures)
		if err != nil {
			return fail(stderr, "eval", fmt.Errorf("%s: %w", dir, err))
		}
		named := make(map[string]float64, len(mean))
		for i, name := range evalMeasures {
			named[name] = mean[measures[i]]
		}
		if *runPath != "" {
			if err := atomicfile.Write(*runPath, func(w io.Writer) error {
				return metrics.WriteTREC(w, run, "sbmoe", *depth)
			}); err != nil {
				return fail(stderr, "eval", fmt.Errorf("write %s: %w", *runPath, err))
			}
		}
		rep.Datasets = append(rep.Datasets, evalDataset{Name: filepath.Base(filepath.Clean(dir)), Split: *split,
			Docs: len(ds.Corpus), Queries: len(queries), Index: ix.Kind().String(), Metrics: named,
			Seconds: time.Since(start).Seconds()})
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
	printEvalTable(stdout, rep)
	return 0
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
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
