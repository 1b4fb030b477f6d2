package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/moe/headtrain"
	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
	"github.com/sbmoe/sbmoe/tools/internal/cli"
	"github.com/sbmoe/sbmoe/tools/internal/evaluate"
	"github.com/sbmoe/sbmoe/tools/internal/finetune"
	"github.com/sbmoe/sbmoe/tools/internal/research"
)

// experimentSets are the collections the experiment reads from --data, in report
// order: SciFact has a train split (supervised training); the others are trained from
// their corpus alone.
var experimentSets = []string{"scifact", "cisi", "medline", "cacm", "npl", "lisa", "adi"}

// experimentRouters are the trained configurations of every comparison; RouterNone is
// the fine-tuned baseline, which only full fine-tuning has (a frozen encoder without a
// block is the zero-shot model).
var experimentRouters = []string{finetune.RouterNone, finetune.RouterPaper, finetune.RouterLearned}

// experimentMixes are the inference modes every trained block is scored with.
var experimentMixes = []moe.Mix{moe.MixTop1, moe.MixAll}

// mainExperts is the expert count of the main comparisons (the paper's default).
const mainExperts = 6

// headConfig is how every head-only run trains: the SB-MoE recipe for the head (batch 64,
// learning rate 1e-4, τ = 0.05, 5% of the training queries held out, the last epoch
// kept), as the experiment trained its heads before moe/headtrain existed, through
// finetune.Train with a frozen encoder and precomputed vectors. That call gave no
// WeightDecay and finetune did not default it, so those heads trained without weight
// decay (sbmoe train passes the recipe's 0.01; the report's Method says 0.01 too). 0 it
// stays here, so that the heads, and the committed results, stay the same bit for bit;
// with 0.01 SciFact's paper-router TOP-1 NDCG@10 moves from 0.6207 to 0.6224.
func headConfig(epochs int, seed uint64) headtrain.Config {
	return headtrain.Config{Epochs: epochs, BatchSize: 64, LR: 1e-4, WeightDecay: 0, Temperature: 0.05, Seed: seed,
		ValFraction: 0.05, Keep: headtrain.KeepLast}
}

// headBlockConfig is the untrained block of a head-only run, as finetune builds one: top-1
// during training, and the learned router's load-balancing loss at Switch's 0.01.
func headBlockConfig(hidden, experts int, router string) moe.Config {
	c := moe.Config{Hidden: hidden, Experts: experts, Router: moe.Router(router), Mix: moe.MixTop1}
	if router == finetune.RouterLearned {
		c.BalanceCoef = finetune.Defaults().BalanceCoef
	}
	return c
}

// experiment is one invocation's settings and the zero-shot retriever, opened when
// first needed.
type experiment struct {
	data, model, out, report string
	seeds                    []uint64
	experts                  []int
	sets, sweep              []string
	fullEpochs, headEpochs   int
	skipFull                 bool
	raw                      bool // --no-normalize
	threads                  int
	quiet                    bool
	stdout, stderr           io.Writer
	base                     *retriever.Retriever
}

// suffix names the runs and cache of --no-normalize apart.
func (x *experiment) suffix() string {
	if x.raw {
		return "-raw"
	}
	return ""
}

// run does every part that is not done yet, then writes the report.
func (x *experiment) run() error {
	start := time.Now()
	ctx := context.Background()
	var sets []*expSet
	for _, name := range x.sets {
		s, err := x.prepare(ctx, name)
		if err != nil {
			return err
		}
		sets = append(sets, s)
	}
	var full []*trainedRun
	if slices.Contains(x.sets, "scifact") && !x.raw {
		var err error
		if full, err = x.fullRuns(ctx, sets[slices.Index(x.sets, "scifact")]); err != nil {
			return err
		}
	}
	var heads []*trainedRun
	for _, s := range sets {
		for _, experts := range x.expertsOf(s.Name) {
			for _, router := range experimentRouters[1:] {
				for _, seed := range x.seeds {
					r, err := x.trainHead(ctx, s, router, experts, seed)
					if err != nil {
						return err
					}
					heads = append(heads, r)
				}
			}
		}
	}
	rep := x.summarise(sets, full, heads)
	if err := writeExperimentReport(x.report, rep); err != nil {
		return err
	}
	fmt.Fprintf(x.stdout, "experiment done in %s: %s\n", time.Since(start).Round(time.Second), filepath.Join(x.report, "report.md"))
	return nil
}

// expertsOf returns the expert counts a collection's heads are trained with.
func (x *experiment) expertsOf(set string) []int {
	if slices.Contains(x.sweep, set) {
		return x.experts
	}
	return []int{mainExperts}
}

// retriever returns the zero-shot retriever (research.OpenZeroShot, without the model's
// Normalize module with --no-normalize), opened when first needed.
func (x *experiment) retriever() (*retriever.Retriever, error) {
	if x.base != nil {
		return x.base, nil
	}
	r, err := research.OpenZeroShot(x.model, x.threads, x.raw)
	if err != nil {
		return nil, err
	}
	x.base = r
	return r, nil
}

// withHead returns the zero-shot retriever with block as its head, to pass vectors
// through it.
func (x *experiment) withHead(block *moe.Block) (*retriever.Retriever, error) {
	base, err := x.retriever()
	if err != nil {
		return nil, err
	}
	return retriever.New(base.Encoder(), block, base.Manifest(), retriever.Options{Threads: x.threads})
}

// expSet is one collection: its test judgements, the zero-shot encoder's vectors of
// its corpus and judged queries, and the training data of its heads.
type expSet struct {
	*research.Collection
	vectors    *evaluate.Vectors // corpus and queries, as evaluate scores them
	data       *headtrain.Data   // the training pairs' vectors, on which every head trains
	zeroShot   research.Scores
	encodeSecs float64 // encoding everything once (from the cache's record)
}

// prepare loads a collection and its cached vectors, encoding what the cache lacks.
func (x *experiment) prepare(ctx context.Context, name string) (*expSet, error) {
	c, err := research.Load(x.data, name)
	if err != nil {
		return nil, err
	}
	r, err := x.retriever()
	if err != nil {
		return nil, err
	}
	cache := &research.Cache{Dir: filepath.Join(x.out, "cache", name+x.suffix()), Set: name, Model: x.model, Retriever: r,
		Progress: x.stderr, Quiet: x.quiet}
	if err := c.Encode(ctx, cache); err != nil {
		return nil, err
	}
	s := &expSet{Collection: c, data: &headtrain.Data{Examples: make([]headtrain.Example, len(c.Pairs.Examples))}}
	for i, ex := range c.Pairs.Examples {
		s.data.Examples[i] = headtrain.Example{ID: ex.ID, Query: c.TrainQueries.Vector(i), Positives: ex.Positives}
	}
	if s.Supervised {
		s.data.Docs = research.Rows(s.Corpus) // FromQrels's documents are the corpus, in order
	} else {
		s.data.Docs = research.Rows(s.TrainDocs) // each crop pair's second crop, one per example
	}
	if s.encodeSecs, err = cache.EncodeSeconds(); err != nil {
		return nil, err
	}
	s.vectors = research.VectorsOf(s.Corpus, s.Queries)
	s.zeroShot, err = research.Score(r, s.vectors, s.Test.Qrels, s.Dir)
	return s, err
}

// trainedRun is one training run and its scores under each inference mix ("none"
// without a block); it is saved as result.json in the run's folder.
type trainedRun struct {
	Set          string                 `json:"dataset"`
	Mode         string                 `json:"mode"` // "full" or "head"
	Router       string                 `json:"router"`
	Experts      int                    `json:"experts"`
	Seed         uint64                 `json:"seed"`
	Epochs       int                    `json:"epochs"`
	TrainSeconds float64                `json:"train_seconds"`
	History      []headtrain.EpochStats `json:"history"`
	// Mixes holds the scores under each inference mix; its JSON name is the one results
	// of earlier versions were written with.
	Mixes map[string]research.Scores `json:"pools"`
	// Rerouted is the share of the corpus whose most probable expert differs from the
	// one the same block had before training (same seed), on the same vectors: how far
	// training moved the router.
	Rerouted float64 `json:"rerouted"`
}

const resultFile = "result.json"

// legacyHeadDir is where sbmoe train saved a run's head before head.safetensors: the
// folder of moe_config.json and moe.safetensors. Runs kept from then still read.
const legacyHeadDir = "moe"

// readResult returns a finished run's result, or nil when the run is not finished.
func readResult(dir string) (*trainedRun, error) {
	raw, err := os.ReadFile(filepath.Join(dir, resultFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var r trainedRun
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%s: %w (delete the run's folder to run it again)", filepath.Join(dir, resultFile), err)
	}
	return &r, nil
}

// loadRunHead reads the head a run folder keeps: head.safetensors, or, in a run kept
// from before it, the moe/ folder.
func loadRunHead(dir string) (*moe.Block, error) {
	if _, err := os.Stat(filepath.Join(dir, moe.HeadFile)); errors.Is(err, os.ErrNotExist) {
		if st, err := os.Stat(filepath.Join(dir, legacyHeadDir)); err == nil && st.IsDir() {
			return moe.Load(filepath.Join(dir, legacyHeadDir))
		}
	}
	return moe.Load(dir)
}

// saveHead writes block to dir/head.safetensors, atomically.
func saveHead(dir string, block *moe.Block) error {
	path := filepath.Join(dir, moe.HeadFile)
	if err := atomicfile.Write(path, block.Save); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// scoreBlock scores a trained block (nil for none) with every mix, on pre-head vectors.
func (x *experiment) scoreBlock(s *expSet, block *moe.Block, v *evaluate.Vectors) (map[string]research.Scores, error) {
	if block == nil {
		r, err := x.retriever()
		if err != nil {
			return nil, err
		}
		sc, err := research.Score(r, v, s.Test.Qrels, s.Dir)
		return map[string]research.Scores{finetune.RouterNone: sc}, err
	}
	mixes := map[string]research.Scores{}
	for _, m := range experimentMixes {
		if err := block.SetMix(m); err != nil {
			return nil, err
		}
		r, err := x.withHead(block)
		if err != nil {
			return nil, err
		}
		sc, err := research.Score(r, v, s.Test.Qrels, s.Dir)
		if err != nil {
			return nil, err
		}
		mixes[string(m)] = sc
	}
	return mixes, nil
}

// trainHead trains one head on s's cached vectors (or reads its finished result). The
// run's folder keeps the trained head (head.safetensors) and result.json.
func (x *experiment) trainHead(ctx context.Context, s *expSet, router string, experts int, seed uint64) (*trainedRun, error) {
	dir := filepath.Join(x.out, s.Name, fmt.Sprintf("head-%depochs%s", x.headEpochs, x.suffix()), fmt.Sprintf("%s-e%d-seed%d", router, experts, seed))
	if r, err := readResult(dir); r != nil || err != nil {
		if err == nil {
			var head *moe.Block
			if head, err = loadRunHead(dir); err == nil {
				r.Rerouted, err = x.rerouted(head, s.Corpus, seed)
			}
		}
		return r, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(x.stderr, "head %s: %s, %d experts, seed %d, %d epochs on %d pairs\n", s.Name, router, experts, seed, x.headEpochs, len(s.Pairs.Examples))
	start := time.Now()
	block, err := moe.New(headBlockConfig(s.Corpus.Dim(), experts, router), seed)
	if err != nil {
		return nil, err
	}
	res, err := headtrain.Train(ctx, block, s.data, headConfig(x.headEpochs, seed))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	r := &trainedRun{Set: s.Name, Mode: "head", Router: router, Experts: experts, Seed: seed, Epochs: x.headEpochs,
		TrainSeconds: time.Since(start).Seconds(), History: res.History}
	if err := saveHead(dir, res.Head); err != nil {
		return nil, err
	}
	if r.Rerouted, err = x.rerouted(res.Head, s.Corpus, seed); err != nil {
		return nil, err
	}
	if r.Mixes, err = x.scoreBlock(s, res.Head, s.vectors); err != nil {
		return nil, err
	}
	return r, atomicfile.WriteJSON(filepath.Join(dir, resultFile), r)
}

// rerouted compares the routing of a trained block with that of the same block before
// training (same config and seed) on a corpus's pre-head vectors, and returns the share
// of documents whose most probable expert changed.
func (x *experiment) rerouted(trained *moe.Block, corpus *index.Index, seed uint64) (float64, error) {
	initial, err := moe.New(trained.Config(), seed)
	if err != nil {
		return 0, err
	}
	var routes [2][]int
	for i, block := range []*moe.Block{trained, initial} {
		r, err := x.withHead(block)
		if err != nil {
			return 0, err
		}
		routes[i] = r.ApplyHead(retriever.Doc, clonedRows(corpus))
	}
	a, b := routes[0], routes[1]
	changed := 0
	for i := range a {
		if a[i] != b[i] {
			changed++
		}
	}
	return float64(changed) / float64(max(len(a), 1)), nil
}

// Inside a full fine-tuning run's folder, beside what finetune.Train writes there: the
// trained encoder's vectors before the head, of the test corpus and of the judged test
// queries (the index file format), so that its block is scored with each mix without
// encoding again, and the training time, written last, once the vectors are in place.
const (
	runVectorsDir = "eval"
	runTrainFile  = "train.json" // in runVectorsDir: {"train_seconds": …}
	// legacyEvalFile is the evaluation report sbmoe train wrote last before, with
	// train_seconds among its fields, and its vectors in runVectorsDir too.
	legacyEvalFile = "eval.json"
)

// fullRuns fine-tunes encoder and head on SciFact for every router and seed, and
// scores each from the pre-head vectors its folder keeps.
func (x *experiment) fullRuns(ctx context.Context, s *expSet) ([]*trainedRun, error) {
	var out []*trainedRun
	for _, seed := range x.seeds {
		for _, router := range experimentRouters {
			dir := filepath.Join(x.out, s.Name, fmt.Sprintf("full-%depochs", x.fullEpochs), fmt.Sprintf("%s-seed%d", router, seed))
			r, err := readResult(dir)
			if err != nil {
				return nil, err
			}
			if r != nil && router != finetune.RouterNone {
				corpus, err := index.ReadFile(filepath.Join(dir, runVectorsDir, "corpus.idx"))
				if err != nil {
					return nil, err
				}
				head, err := loadRunHead(dir)
				if err != nil {
					return nil, err
				}
				if r.Rerouted, err = x.rerouted(head, corpus, seed); err != nil {
					return nil, err
				}
			}
			if r == nil {
				if r, err = x.fullRun(ctx, s, dir, router, seed); err != nil {
					return nil, err
				}
			}
			if r != nil {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// fullRun trains (or resumes) one full fine-tuning run and scores it; nil when
// --skip-full leaves it out.
func (x *experiment) fullRun(ctx context.Context, s *expSet, dir, router string, seed uint64) (*trainedRun, error) {
	timePath, ok := trainTimeFile(dir)
	if !ok {
		if x.skipFull {
			return nil, nil
		}
		if err := x.fineTune(ctx, s, dir, router, seed); err != nil {
			return nil, err
		}
		timePath, _ = trainTimeFile(dir)
	}
	var took struct {
		TrainSeconds float64 `json:"train_seconds"`
	}
	raw, err := os.ReadFile(timePath)
	if err == nil {
		err = json.Unmarshal(raw, &took)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", timePath, err)
	}
	var summary struct {
		History []headtrain.EpochStats `json:"history"`
	}
	raw, err = os.ReadFile(filepath.Join(dir, finetune.TrainingFile))
	if err == nil {
		err = json.Unmarshal(raw, &summary)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, finetune.TrainingFile), err)
	}
	corpus, err := index.ReadFile(filepath.Join(dir, runVectorsDir, "corpus.idx"))
	if err != nil {
		return nil, err
	}
	queries, err := index.ReadFile(filepath.Join(dir, runVectorsDir, "queries.idx"))
	if err != nil {
		return nil, err
	}
	r := &trainedRun{Set: s.Name, Mode: "full", Router: router, Experts: mainExperts, Seed: seed,
		Epochs: len(summary.History), TrainSeconds: took.TrainSeconds, History: summary.History}
	var block *moe.Block
	if router == finetune.RouterNone {
		r.Experts = 0
	} else {
		if block, err = loadRunHead(dir); err != nil {
			return nil, err
		}
		if r.Rerouted, err = x.rerouted(block, corpus, seed); err != nil {
			return nil, err
		}
	}
	if r.Mixes, err = x.scoreBlock(s, block, research.VectorsOf(corpus, queries)); err != nil {
		return nil, err
	}
	return r, atomicfile.WriteJSON(filepath.Join(dir, resultFile), r)
}

// trainTimeFile returns the file holding a full run's training time, and whether the run
// has one, which it has once its pre-head vectors are in place.
func trainTimeFile(dir string) (string, bool) {
	for _, p := range []string{filepath.Join(dir, runVectorsDir, runTrainFile), filepath.Join(dir, legacyEvalFile)} {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// fineTune trains encoder and head with finetune's recipe (resuming from the run's
// checkpoints when it has some), then encodes the test corpus and judged queries with the
// trained encoder, before its head, into the run's folder, and records the training time.
func (x *experiment) fineTune(ctx context.Context, s *expSet, dir, router string, seed uint64) error {
	cfg := finetune.Defaults()
	cfg.BaseModel, cfg.Out, cfg.Epochs, cfg.Seed = x.model, dir, x.fullEpochs, seed
	cfg.Router, cfg.Experts, cfg.Threads = router, mainExperts, x.threads
	if _, err := os.Stat(filepath.Join(dir, finetune.CheckpointsDir)); err == nil {
		cfg.Resume = true
	}
	verb := "training"
	if cfg.Resume {
		verb = "resuming"
	}
	fmt.Fprintf(x.stderr, "full fine-tuning %s: %s %s router, %d experts, seed %d, %d epoch(s), into %s\n",
		s.Name, verb, router, cfg.Experts, seed, cfg.Epochs, dir)
	bar := newTrainProgress(x.stderr, x.quiet)
	cfg.Progress = bar.update
	start := time.Now()
	res, err := finetune.Train(cfg, s.Pairs)
	bar.finish()
	if err != nil {
		return fmt.Errorf("full fine-tuning %s: %w", dir, err)
	}
	took := time.Since(start).Seconds()
	v, err := evaluate.Pooled(ctx, res.Retriever, s.Test, cli.NewProgress(x.stderr, len(s.Test.Corpus), "evaluate "+s.Name+" "+filepath.Base(dir), x.quiet))
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	vecDir := filepath.Join(dir, runVectorsDir)
	if err := os.MkdirAll(vecDir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		ids  []string
		vecs [][]float32
	}{{"corpus.idx", v.DocIDs, v.Docs}, {"queries.idx", v.QueryIDs, v.Queries}} {
		path := filepath.Join(vecDir, f.name)
		ix, err := research.VectorIndex(res.Retriever.Dim(), f.ids, f.vecs, index.Origin{})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := research.WriteIndex(path, ix); err != nil {
			return err
		}
	}
	return atomicfile.WriteJSON(filepath.Join(vecDir, runTrainFile), struct {
		TrainSeconds float64 `json:"train_seconds"`
	}{took})
}

// trainProgress draws one progress bar per epoch of full fine-tuning, with the loss,
// accuracy and throughput.
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

// clonedRows returns copies of an index's vectors.
func clonedRows(ix *index.Index) [][]float32 {
	vs := research.Rows(ix)
	for i, v := range vs {
		vs[i] = slices.Clone(v)
	}
	return vs
}
