package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/moe/headtrain"
	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
	"github.com/sbmoe/sbmoe/tools/internal/cli"
	"github.com/sbmoe/sbmoe/tools/internal/evaluate"
	"github.com/sbmoe/sbmoe/tools/internal/finetune"
)

// trainEvalFile, inside --out, is the final evaluation's report, as sbmoe eval writes it.
const trainEvalFile = "eval.json"

// trainEval is eval.json: sbmoe eval's report and the training time.
type trainEval struct {
	evalReport
	TrainSeconds float64 `json:"train_seconds"`
}

func runTrain(args []string, stdout, stderr io.Writer) int {
	d := finetune.Defaults()
	fs := newFlags("train", "--out DIR (--data DIR | --corpus PATH --self-supervised MODE) [flags]",
		"Trains an SB-MoE head on the model's pooled embedding, with the encoder (the recipe of Sokli\n"+
			"et al.: InfoNCE with in-batch negatives, AdamW at two learning rates, noisy top-1 gating) or\n"+
			"alone (--freeze-encoder: vectors encoded once, the head trained in memory in seconds, as the\n"+
			"browser does). It checkpoints after every epoch into --out, then evaluates the kept model\n"+
			"on --eval-split by exact search over the corpus, exactly as sbmoe eval --model DIR will.\n\n"+
			"Training data come from a BEIR dataset's qrels/train.tsv (--data), or, for a corpus without\n"+
			"queries, from the corpus alone (--corpus with --self-supervised): \"title\" pairs each title with\n"+
			"its text, \"crops\" pairs two random spans of one document (Contriever). --router none trains\n"+
			"the encoder alone (the paper's fine-tuned baseline).\n\n"+
			"--recipe product trains the head the product learns from feedback (headtrain.Product): a gain\n"+
			"head that starts as the identity, for queries only (an index of the encoder's vectors stays\n"+
			"valid), with hard negatives mined from every document, the epoch with the best held-out\n"+
			"NDCG@10 kept, early stopping, and the untrained head kept unless a trained one beats it on\n"+
			"the held-out queries. It implies --freeze-encoder and the learned router, and its defaults\n"+
			"are --epochs 100 --lr-head 1e-3 --val-fraction 0.2 --keep best. With --self-supervised the\n"+
			"pseudo-query (a title or a crop) is paired with its whole document, as the index holds it.\n"+
			"--recipe paper (the default) is the SB-MoE recipe.\n\n"+
			"--out becomes a model folder that every command opens with --model: sbmoe.json (how texts\n"+
			"are prepared, where the head is), encoder/ (a Hugging Face model folder), head.safetensors,\n"+
			"training.json, eval.json and checkpoints/; --resume continues an interrupted run to the same\n"+
			"weights.",
		"sbmoe train --data ../shared/data/scifact --model models/tinybert --epochs 30 --out runs/scifact\n"+
			"sbmoe train --data ../shared/data/scifact --router none --out runs/scifact-ft\n"+
			"sbmoe train --data ../shared/data/scifact --freeze-encoder --router learned --lr-head 1e-3 --out runs/head\n"+
			"sbmoe train --data ../shared/data/scifact --recipe product --out runs/product\n"+
			"sbmoe train --corpus ../shared/data/lisa --self-supervised crops --recipe product --out runs/lisa\n"+
			"sbmoe train --corpus ../shared/data/cisi --self-supervised title --epochs 3 --out runs/cisi\n"+
			"sbmoe train --data ../shared/data/scifact --out runs/scifact --resume", stderr)
	data := fs.String("data", "", "BEIR dataset folder with a train split (qrels/train.tsv)")
	corpus := fs.String("corpus", "", "corpus folder or .jsonl[.gz] file, for --self-supervised training")
	self := fs.String("self-supervised", "", "make pairs from the corpus: title (title → text) or crops (two random spans)")
	model := fs.String("model", defaultModelDir(), "base model folder (Hugging Face layout)")
	router := fs.String("router", d.Router, "the head's router: paper (the authors'), learned (a router that learns), none (no head)")
	experts := fs.Int("experts", d.Experts, "experts in the head")
	mix := fs.String("mix", string(d.Mix), "how the head mixes experts at search time: top1 (the most probable) or all (weighted)")
	epochs := fs.Int("epochs", d.Epochs, "training epochs (the paper: 30 for TinyBERT, 20 for BERT and Contriever)")
	lrEncoder := fs.Float64("lr-encoder", d.EncoderLR, "encoder learning rate")
	lrHead := fs.Float64("lr-head", d.HeadLR, "head learning rate")
	batch := fs.Int("batch", d.BatchSize, "query–document pairs per step (in-batch negatives)")
	maxLen := fs.Int("max-length", 0, "longest token sequence of queries and documents; 0 = the model's max_seq_length for queries, 256 for documents")
	freeze := fs.Bool("freeze-encoder", false, "train the head alone on vectors encoded once")
	lowercase := fs.Bool("lowercase", d.Lowercase, "lower-case queries and documents, in training and at search time (the authors' recipe)")
	seed := fs.Uint64("seed", d.Seed, "seed of every random choice")
	keep := fs.String("keep", d.Keep, "model to keep: last (the paper) or best (lowest validation loss)")
	valFrac := fs.Float64("val-fraction", d.ValFraction, "share of training queries held out for validation (0 = none)")
	every := fs.Int("checkpoint-every", 0, "also checkpoint every N steps (0 = after each epoch only; not with --freeze-encoder)")
	recipe := fs.String("recipe", finetune.RecipePaper, "training recipe: paper (SB-MoE, as the authors train) or product (the head that learns\n"+
		"from feedback: identity start, queries only, hard negatives, NDCG validation, guard)")
	out := fs.String("out", "", "output folder (required)")
	resume := fs.Bool("resume", false, "continue the run in --out from its latest checkpoint")
	evalSplit := fs.String("eval-split", "test", "qrels split to evaluate on at the end; none to skip")
	threads := fs.Int("threads", 0, "encoder threads; 0 = all cores")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if code, ok := fs.ParseArgs(args, stdout); !ok {
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
	case *mix != string(moe.MixTop1) && *mix != string(moe.MixAll):
		return usageErr("--mix must be top1 or all, not %q", *mix)
	case *experts < 1:
		return usageErr("--experts must be positive")
	case *epochs < 1:
		return usageErr("--epochs must be positive")
	case *router != finetune.RouterPaper && *router != finetune.RouterLearned && *router != finetune.RouterNone:
		return usageErr("--router must be paper, learned or none, not %q", *router)
	case *keep != finetune.KeepLast && *keep != finetune.KeepBest:
		return usageErr("--keep must be last or best, not %q", *keep)
	case *every > 0 && *freeze:
		return usageErr("--checkpoint-every does not apply to --freeze-encoder, which checkpoints after each epoch")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	modelSet := set["model"]
	switch *recipe {
	case finetune.RecipePaper:
	case finetune.RecipeProduct:
		if *router == finetune.RouterNone || *every > 0 || (set["freeze-encoder"] && !*freeze) {
			return usageErr("--recipe product trains a head alone: it takes no --router none, --checkpoint-every or --freeze-encoder=false")
		}
		p := headtrain.Product()
		*freeze = true
		for name, v := range map[string]*string{"router": router, "keep": keep} {
			if !set[name] {
				*v = map[string]string{"router": finetune.RouterLearned, "keep": finetune.KeepBest}[name]
			}
		}
		if !set["epochs"] {
			*epochs = p.Epochs
		}
		if !set["lr-head"] {
			*lrHead = p.LR
		}
		if !set["val-fraction"] {
			*valFrac = p.ValFraction
		}
	default:
		return usageErr("--recipe must be paper or product, not %q", *recipe)
	}

	pairs, evalDir, err := trainingPairs(*data, *corpus, *self, *seed, *recipe == finetune.RecipeProduct)
	if err != nil {
		return fail(stderr, "train", err)
	}
	cfg := finetune.Config{BaseModel: *model, Out: *out, Resume: *resume, Epochs: *epochs, BatchSize: *batch,
		EncoderLR: *lrEncoder, HeadLR: *lrHead, WeightDecay: d.WeightDecay, MaxQueryLen: *maxLen, MaxDocLen: *maxLen,
		Seed: *seed, Router: *router, Experts: *experts, Mix: moe.Mix(*mix), FreezeEncoder: *freeze, Lowercase: *lowercase,
		Threads: *threads, ValFraction: *valFrac, Keep: *keep, CheckpointEvery: *every, Recipe: *recipe}
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
	fmt.Fprintf(stdout, "model written to %s (search with it: sbmoe search --model %s ...)\n", *out, *out)

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
	return evalTrained(stdout, stderr, res, evalDir, *evalSplit, *out, took.Seconds(), *quiet)
}

// trainingPairs loads the training data and returns the folder to evaluate on, if any.
// wholeDocs pairs each self-supervised pseudo-query with its whole document (title and
// text, as the index holds it) rather than with the rest of the pair.
func trainingPairs(data, corpus, self string, seed uint64, wholeDocs bool) (*finetune.Pairs, string, error) {
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
	docs, err := cli.LoadCorpus(corpus)
	if err != nil {
		return nil, "", err
	}
	pairs, err := finetune.SelfSupervised(docs, self, seed)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", corpus, err)
	}
	if wholeDocs {
		byID := make(map[string]beir.Doc, len(docs))
		for _, d := range docs {
			byID[d.ID] = d
		}
		for _, ex := range pairs.Examples { // each example's one positive is its own document's
			pairs.Docs[ex.Positives[0]] = beir.DocText(byID[ex.ID])
		}
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

// evalTrained scores the trained retriever exactly as sbmoe eval --model <out> does and
// writes eval.json.
func evalTrained(stdout, stderr io.Writer, res *finetune.Result, dir, split, out string, trainSeconds float64, quiet bool) int {
	start := time.Now()
	ds, err := beir.Load(dir, split)
	if err != nil {
		return fail(stderr, "train", err)
	}
	r := res.Retriever
	ev, err := evaluate.Dataset(context.Background(), r, ds, evaluate.Options{},
		cli.NewProgress(stderr, len(ds.Corpus), "evaluate "+ds.Name, quiet))
	if err != nil {
		return fail(stderr, "train", fmt.Errorf("%s: %w", dir, err))
	}
	rep := evalReport{Model: out, Fingerprint: r.Fingerprint(), Kernels: retriever.Kernels(), Datasets: []evalDataset{{
		Name: ds.Name, Split: split, Docs: len(ds.Corpus), Queries: len(ev.Run), Index: ev.Index.Kind().String(),
		Metrics: ev.Mean, Seconds: time.Since(start).Seconds(), DocLoad: ev.DocLoad, QueryLoad: ev.QueryLoad}}}
	printEvalTable(stdout, rep)
	if err := atomicfile.WriteJSON(filepath.Join(out, trainEvalFile), trainEval{rep, trainSeconds}); err != nil {
		return fail(stderr, "train", err)
	}
	return 0
}
