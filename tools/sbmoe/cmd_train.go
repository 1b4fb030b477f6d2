package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/sbmoe/sbmoe/core/atomicfile"
	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/metrics"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/moe/finetune"
)

// Inside --out: the final evaluation's report, as sbmoe eval writes it, and the folder
// with the evaluation's pre-head vectors (corpus.idx, queries.idx) and its run.trec.
const (
	trainEvalFile   = "eval.json"
	trainVectorsDir = "eval"
)

// trainEval is eval.json: sbmoe eval's report, the training time and the expert loads.
type trainEval struct {
	evalReport
	TrainSeconds float64 `json:"train_seconds"`
	DocLoad      []int   `json:"expert_load_documents,omitempty"`
	QueryLoad    []int   `json:"expert_load_queries,omitempty"`
}

func runTrain(args []string, stdout, stderr io.Writer) int {
	d := finetune.Defaults()
	fs := newFlags("train", "--out DIR (--data DIR | --corpus PATH --self-supervised MODE) [flags]",
		"Fine-tunes the encoder with an SB-MoE head on top (the recipe of Sokli et al.: InfoNCE with\n"+
			"in-batch negatives, AdamW at two learning rates, noisy top-1 gating), checkpoints after every\n"+
			"epoch into --out, then evaluates the kept model on --eval-split by exact search over the corpus.\n\n"+
			"Training data come from a BEIR dataset's qrels/train.tsv (--data), or, for a corpus without\n"+
			"queries, from the corpus alone (--corpus with --self-supervised): \"title\" pairs each title with\n"+
			"its text, \"crops\" pairs two random spans of one document (Contriever). --moe none trains the\n"+
			"encoder alone (the paper's fine-tuned baseline); --freeze-encoder trains the head alone on\n"+
			"vectors encoded once, which is fast.\n\n"+
			"--out receives encoder/ (a Hugging Face model folder), moe/ (the head), training.json,\n"+
			"eval.json and checkpoints/; --resume continues an interrupted run to the same weights.",
		"  sbmoe train --data ../shared/data/scifact --model models/tinybert --epochs 30 --out runs/scifact\n"+
			"  sbmoe train --data ../shared/data/scifact --moe none --out runs/scifact-ft\n"+
			"  sbmoe train --data ../shared/data/scifact --freeze-encoder --moe learned --lr-head 1e-3 --out runs/head\n"+
			"  sbmoe train --corpus ../shared/data/cisi --self-supervised title --epochs 3 --out runs/cisi\n"+
			"  sbmoe train --data ../shared/data/scifact --out runs/scifact --resume", stderr)
	data := fs.String("data", "", "BEIR dataset folder with a train split (qrels/train.tsv)")
	corpus := fs.String("corpus", "", "corpus folder or .jsonl[.gz] file, for --self-supervised training")
	self := fs.String("self-supervised", "", "make pairs from the corpus: title (title → text) or crops (two random spans)")
	model := fs.String("model", defaultModelDir(), "base model folder (Hugging Face layout)")
	router := fs.String("moe", d.Router, "head: paper (the authors' router), learned (a router that learns), none (no head)")
	experts := fs.Int("experts", d.Experts, "experts in the head")
	pool := fs.String("pool", string(d.Pool), "how the head mixes experts at search time: top1 or all")
	epochs := fs.Int("epochs", d.Epochs, "training epochs (the paper: 30 for TinyBERT, 20 for BERT and Contriever)")
	lrEncoder := fs.Float64("lr-encoder", d.EncoderLR, "encoder learning rate")
	lrHead := fs.Float64("lr-head", d.HeadLR, "head learning rate")
	batch := fs.Int("batch", d.BatchSize, "query–document pairs per step (in-batch negatives)")
	maxLen := fs.Int("max-length", 0, "longest token sequence of queries and documents; 0 = the model's max_seq_length for queries, 256 for documents")
	freeze := fs.Bool("freeze-encoder", false, "train the head alone on vectors encoded once")
	seed := fs.Uint64("seed", d.Seed, "seed of every random choice")
	keep := fs.String("keep", d.Keep, "model to keep: last (the paper) or best (lowest validation loss)")
	valFrac := fs.Float64("val-fraction", d.ValFraction, "share of training queries held out for validation (0 = none)")
	every := fs.Int("checkpoint-every", 0, "also checkpoint every N steps (0 = after each epoch only)")
	out := fs.String("out", "", "output folder (required)")
	resume := fs.Bool("resume", false, "continue the run in --out from its latest checkpoint")
	evalSplit := fs.String("eval-split", "test", "qrels split to evaluate on at the end; none to skip")
	threads := fs.Int("threads", 0, "encoder threads; 0 = all cores")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	usageErr := usageError(stderr, "train")
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *out == "":
		return usageErr("--out is required")
	case (*data == "") == (*corpus == ""):
		return usageErr("give either --data (a BEIR dataset with a train split) or --corpus with --self-supervised")
	case *corpus != "" && *self == "":
		return usageErr("--corpus needs --self-supervised title or crops")
	case *data != "" && *self != "":
		return usageErr("--self-supervised takes --corpus, not --data")
	case *pool != string(moe.PoolTop1) && *pool != string(moe.PoolAll):
		return usageErr("--pool must be top1 or all, not %q", *pool)
	case *experts < 1:
		return usageErr("--experts must be positive")
	case *epochs < 1:
		return usageErr("--epochs must be positive")
	case *router != finetune.RouterPaper && *router != finetune.RouterLearned && *router != finetune.RouterNone:
		return usageErr("--moe must be paper, learned or none, not %q", *router)
	case *keep != finetune.KeepLast && *keep != finetune.KeepBest:
		return usageErr("--keep must be last or best, not %q", *keep)
	}
	modelSet := false
	fs.Visit(func(f *flag.Flag) { modelSet = modelSet || f.Name == "model" })

	pairs, evalDir, err := trainingPairs(*data, *corpus, *self, *seed)
	if err != nil {
		return fail(stderr, "train", err)
	}
	cfg := finetune.Config{BaseModel: *model, Out: *out, Resume: *resume, Epochs: *epochs, BatchSize: *batch,
		EncoderLR: *lrEncoder, HeadLR: *lrHead, WeightDecay: d.WeightDecay, MaxQueryLen: *maxLen, MaxDocLen: *maxLen,
		Seed: *seed, Router: *router, Experts: *experts, Pool: moe.Pool(*pool), FreezeEncoder: *freeze,
		Threads: *threads, ValFraction: *valFrac, Keep: *keep, CheckpointEvery: *every}
	if *valFrac == 0 {
		cfg.ValFraction = -1
	}
	if *resume && !modelSet {
		cfg.BaseModel = "" // the checkpoint knows its base model
	}
	if _, err := os.Stat(*model); err != nil && !*resume && *model == defaultModelDir() {
		return fail(stderr, "train", fmt.Errorf("model folder %s is missing: run `make model` or pass --model DIR", *model))
	}
	bar := newTrainProgress(stderr, *quiet)
	cfg.Progress = bar.update
	start := time.Now()
	res, err := finetune.Train(cfg, pairs)
	bar.finish()
	if err != nil {
		if errors.Is(err, finetune.ErrNoExamples) {
			err = fmt.Errorf("%w (%d pairs in the data)", err, len(pairs.Examples))
		}
		return fail(stderr, "train", err)
	}
	took := time.Since(start)
	printHistory(stdout, res, *router, took)
	fmt.Fprintf(stdout, "model written to %s", filepath.Join(*out, finetune.EncoderDir))
	if res.Block != nil {
		fmt.Fprintf(stdout, " and %s", filepath.Join(*out, finetune.BlockDir))
	}
	fmt.Fprintln(stdout)

	if *evalSplit == "none" || evalDir == "" {
		return 0
	}
	splits, err := beir.Splits(evalDir)
	if err != nil {
		return fail(stderr, "train", err)
	}
	if !slices.Contains(splits, *evalSplit) {
		fmt.Fprintf(stdout, "no qrels/%s.tsv in %s: skipping the evaluation\n", *evalSplit, evalDir)
		return 0
	}
	if *threads > 0 {
		res.Model.Threads = *threads
	}
	return evalTrained(stdout, stderr, res, evalDir, *evalSplit, *out, took.Seconds(), *quiet)
}

// trainingPairs loads the training data and returns the folder to evaluate on, if any.
func trainingPairs(data, corpus, self string, seed uint64) (*finetune.Pairs, string, error) {
	if data != "" {
		splits, err := beir.Splits(data)
		if err != nil {
			return nil, "", fmt.Errorf("%s is not a BEIR dataset with a train split: %w", data, err)
		}
		if !slices.Contains(splits, "train") {
			return nil, "", fmt.Errorf("%s has no train split (qrels/train.tsv; it has %v): train from its corpus alone with --corpus %s --self-supervised title (or crops)",
				data, splits, data)
		}
		ds, err := beir.Load(data, "train")
		if err != nil {
			return nil, "", err
		}
		pairs, err := finetune.FromQrels(ds)
		return pairs, data, err
	}
	docs, err := loadCorpus(corpus)
	if err != nil {
		return nil, "", err
	}
	pairs, err := finetune.SelfSupervised(docs, self, seed)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", corpus, err)
	}
	evalDir := ""
	if st, err := os.Stat(filepath.Join(corpus, "qrels")); err == nil && st.IsDir() {
		evalDir = corpus // a BEIR folder: evaluate on its judgements
	}
	return pairs, evalDir, nil
}

// trainProgress draws one progress bar per epoch with the loss, accuracy and throughput.
type trainProgress struct {
	w     io.Writer
	quiet bool
	epoch int
	bar   *progressbar.ProgressBar
}

func newTrainProgress(w io.Writer, quiet bool) *trainProgress {
	return &trainProgress{w: w, quiet: quiet}
}

func (p *trainProgress) update(s finetune.Progress) {
	if p.quiet {
		return
	}
	if s.Epoch != p.epoch || p.bar == nil {
		p.finish()
		p.epoch = s.Epoch
		p.bar = progressbar.NewOptions(s.Steps,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionFullWidth(),
		)
	}
	p.bar.Describe(fmt.Sprintf("epoch %d/%d  loss %.4f  acc %.2f  %.1f pairs/s", s.Epoch, s.Epochs, s.Loss, s.Accuracy, s.PairsPerSec))
	p.bar.Set(s.Step)
}

func (p *trainProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		io.WriteString(p.w, "\n")
		p.bar = nil
	}
}

func printHistory(w io.Writer, res *finetune.Result, router string, took time.Duration) {
	fmt.Fprintf(w, "trained %d epochs (%d steps, head %s) on %d pairs, %d held out, in %s; kept epoch %d\n",
		len(res.History), res.Steps, router, res.Train, res.Val, took.Round(time.Second), res.Epoch)
	fmt.Fprintln(w, "| epoch | loss | accuracy | val loss | val accuracy |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|")
	for _, e := range res.History {
		fmt.Fprintf(w, "| %d | %.4f | %.4f |", e.Epoch, e.Loss, e.Accuracy)
		if res.Val > 0 {
			fmt.Fprintf(w, " %.4f | %.4f |\n", e.ValLoss, e.ValAccuracy)
		} else {
			fmt.Fprintln(w, " – | – |")
		}
	}
}

// evalTrained scores the trained retriever as sbmoe eval does — every document and
// judged query encoded, passed through the head, ranked by exact dot product — and
// reports the share of documents and queries each expert receives. Texts are
// lower-cased, as in training.
func evalTrained(stdout, stderr io.Writer, res *finetune.Result, dir, split, out string, trainSeconds float64, quiet bool) int {
	start := time.Now()
	ds, err := beir.Load(dir, split)
	if err != nil {
		return fail(stderr, "train", err)
	}
	docTexts := make([]string, len(ds.Corpus))
	for i, doc := range ds.Corpus {
		docTexts[i] = strings.ToLower(beir.DocText(doc))
	}
	queries := ds.JudgedQueries()
	qTexts := make([]string, len(queries))
	for i, q := range queries {
		qTexts[i] = strings.ToLower(q.Text)
	}
	opt := bert.EncodeOptions{Progress: newProgress(stderr, len(docTexts), "evaluate "+ds.Name, quiet)}
	dim := res.Model.Config.HiddenSize
	docIDs := make([]string, len(ds.Corpus))
	for i, doc := range ds.Corpus {
		docIDs[i] = doc.ID
	}
	qIDs := make([]string, len(queries))
	for i, q := range queries {
		qIDs[i] = q.ID
	}
	// The encoder's own vectors are kept, so that the run can be scored again with
	// another pool or head without encoding the corpus again (sbmoe experiment does).
	raw, err := vectorIndex(dim, docIDs, res.Model.Encode(docTexts, opt))
	if err != nil {
		return fail(stderr, "train", fmt.Errorf("%s: corpus: %w", dir, err))
	}
	rawQ, err := vectorIndex(dim, qIDs, res.Model.Encode(qTexts, bert.EncodeOptions{}))
	if err != nil {
		return fail(stderr, "train", fmt.Errorf("%s: queries: %w", dir, err))
	}
	if err := os.MkdirAll(filepath.Join(out, trainVectorsDir), 0o755); err != nil {
		return fail(stderr, "train", err)
	}
	if err := raw.WriteFile(filepath.Join(out, trainVectorsDir, "corpus.idx")); err != nil {
		return fail(stderr, "train", err)
	}
	if err := rawQ.WriteFile(filepath.Join(out, trainVectorsDir, "queries.idx")); err != nil {
		return fail(stderr, "train", err)
	}
	run, docLoad, queryLoad, err := headRun(raw, rawQ, res.Block, 1000)
	if err != nil {
		return fail(stderr, "train", fmt.Errorf("%s: %w", dir, err))
	}
	measures := make([]string, len(evalMeasures))
	for i, name := range evalMeasures {
		measures[i], _ = metrics.Parse(name)
	}
	_, mean, err := metrics.Evaluate(ds.Qrels, run, measures)
	if err != nil {
		return fail(stderr, "train", fmt.Errorf("%s: %w", dir, err))
	}
	named := make(map[string]float64, len(mean))
	for i, name := range evalMeasures {
		named[name] = mean[measures[i]]
	}
	rep := evalReport{Model: filepath.Join(out, finetune.EncoderDir), Kernels: kernelImpl(), Datasets: []evalDataset{{
		Name: ds.Name, Split: split, Docs: len(ds.Corpus), Queries: len(queries), Index: index.Float32.String(),
		Metrics: named, Seconds: time.Since(start).Seconds()}}}
	printEvalTable(stdout, rep)
	if res.Block != nil {
		fmt.Fprintf(stdout, "expert load (%s, pool %s): documents %s; queries %s\n", ds.Name, res.Block.Config().Pool,
			shares(docLoad), shares(queryLoad))
	}
	report := trainEval{rep, trainSeconds, docLoad, queryLoad}
	runPath := filepath.Join(out, trainVectorsDir, "run.trec")
	if err := atomicfile.Write(runPath, func(w io.Writer) error { return metrics.WriteTREC(w, run, "sbmoe", 1000) }); err != nil {
		return fail(stderr, "train", fmt.Errorf("write %s: %w", runPath, err))
	}
	path := filepath.Join(out, trainEvalFile)
	if err := atomicfile.WriteJSON(path, report); err != nil {
		return fail(stderr, "train", err)
	}
	return 0
}

// shares formats expert counts as percentages: "0: 12.5%, 1: 87.5%".
func shares(counts []int) string {
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

// rows returns an index's vectors (views of its storage).
func rows(ix *index.Index) [][]float32 {
	vs := make([][]float32, ix.Len())
	for i := range vs {
		vs[i] = ix.Vector(i)
	}
	return vs
}

// clonedRows returns copies of an index's vectors.
func clonedRows(ix *index.Index) [][]float32 {
	vs := rows(ix)
	for i, v := range vs {
		vs[i] = slices.Clone(v)
	}
	return vs
}

// ids returns an index's ids in order.
func ids(ix *index.Index) []string {
	out := make([]string, ix.Len())
	for i := range out {
		out[i] = ix.ID(i)
	}
	return out
}

// vectorIndex puts vecs under ids into a float32 index.
func vectorIndex(dim int, ids []string, vecs [][]float32) (*index.Index, error) {
	ix := index.New(dim, index.Float32)
	for i, id := range ids {
		if err := ix.Add(id, vecs[i]); err != nil {
			return nil, fmt.Errorf("vector %d (%s): %w", i+1, id, err)
		}
	}
	return ix, nil
}

// headRun passes the pre-head vectors of the corpus and the queries through block (in
// Eval mode, nil for none) and ranks the top depth documents of every query by exact
// dot product. It returns the run and the documents and queries per expert.
func headRun(corpus, queries *index.Index, block *moe.Block, depth int) (run metrics.Run, docLoad, queryLoad []int, err error) {
	ix, qvecs := corpus, rows(queries)
	if block != nil {
		dvecs, docExperts := finetune.ApplyBlock(block, clonedRows(corpus))
		var qExperts []int
		qvecs, qExperts = finetune.ApplyBlock(block, clonedRows(queries))
		docLoad, queryLoad = finetune.Load(block, docExperts), finetune.Load(block, qExperts)
		if ix, err = vectorIndex(corpus.Dim(), ids(corpus), dvecs); err != nil {
			return nil, nil, nil, fmt.Errorf("corpus after the head: %w", err)
		}
	}
	hits := ix.SearchBatch(qvecs, depth, 0)
	run = make(metrics.Run, len(hits))
	for i, hs := range hits {
		ranked := make(map[string]float64, len(hs))
		for _, h := range hs {
			ranked[h.ID] = float64(h.Score)
		}
		run[queries.ID(i)] = ranked
	}
	return run, docLoad, queryLoad, nil
}
