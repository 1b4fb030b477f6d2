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
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/moe/headtrain"
	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
	"github.com/sbmoe/sbmoe/tools/internal/cli"
	"github.com/sbmoe/sbmoe/tools/internal/evaluate"
	"github.com/sbmoe/sbmoe/tools/internal/finetune"
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

// randomizationRounds is the number of sign patterns the paired tests draw.
const randomizationRounds = 100000

// mainExperts is the expert count of the main comparisons (the paper's default).
const mainExperts = 6

// The measures every run is scored with.
const (
	ndcgMeasure   = "ndcg@10"
	recallMeasure = "recall@100"
)

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
		for _, experts := range x.expertsOf(s.name) {
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

// retriever returns the zero-shot retriever: the base model's encoder (without its
// Normalize module with --no-normalize) and no head, lower-casing texts as the authors
// do, with documents cut at finetune's 256 tokens and queries at the model's length.
func (x *experiment) retriever() (*retriever.Retriever, error) {
	if x.base != nil {
		return x.base, nil
	}
	opts := retriever.Options{Threads: x.threads, MaxDocTokens: finetune.Defaults().MaxDocLen}
	opened, err := cli.OpenModel(x.model, opts)
	if err != nil {
		return nil, err
	}
	enc := opened.Encoder()
	if x.raw {
		enc.Config.Normalize = false
	}
	r, err := retriever.New(enc, nil, retriever.NewManifest(false, true, ""), opts)
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
	name       string
	dir        string
	supervised bool          // trained from qrels/train.tsv, else from crops of the corpus
	test       *beir.Dataset // the test split, for the full fine-tuning runs' evaluation
	unseen     []string      // SciFact: test queries none of whose relevant documents a train query has
	corpus     *index.Index
	queries    *index.Index
	vectors    *evaluate.Vectors // corpus and queries, as evaluate scores them
	pairs      *finetune.Pairs   // the training texts
	data       *headtrain.Data   // their vectors, on which every head trains
	zeroShot   scores
	encodeSecs float64 // encoding everything once (from the cache's record)
}

// prepare loads a collection and its cached vectors, encoding what the cache lacks.
func (x *experiment) prepare(ctx context.Context, name string) (*expSet, error) {
	dir := filepath.Join(x.data, name)
	ds, err := beir.Load(dir, "test")
	if err != nil {
		return nil, err
	}
	s := &expSet{name: name, dir: dir, test: ds}
	splits, err := beir.Splits(dir)
	if err != nil {
		return nil, err
	}
	if s.supervised = slices.Contains(splits, "train"); s.supervised {
		tr, err := beir.Load(dir, "train")
		if err != nil {
			return nil, err
		}
		if s.pairs, err = finetune.FromQrels(tr); err != nil {
			return nil, err
		}
		s.unseen = unseenQueries(ds.Qrels, tr.Qrels)
	} else if s.pairs, err = finetune.SelfSupervised(ds.Corpus, finetune.SelfCrops, experimentCropSeed); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	r, err := x.retriever()
	if err != nil {
		return nil, err
	}

	// Every text as the encoder reads it: prepared by the retriever (lower-cased), a
	// document as its title + " " + text, a crop as a document's text.
	cache := filepath.Join(x.out, "cache", name+x.suffix())
	docIDs, docTexts := make([]string, len(ds.Corpus)), make([]string, len(ds.Corpus))
	for i, d := range ds.Corpus {
		docIDs[i], docTexts[i] = d.ID, r.Text(retriever.Doc, "", d)
	}
	judged := ds.JudgedQueries()
	qIDs, qTexts := make([]string, len(judged)), make([]string, len(judged))
	for i, q := range judged {
		qIDs[i], qTexts[i] = q.ID, r.Text(retriever.Query, q.Text, retriever.Document{})
	}
	exIDs, exTexts := make([]string, len(s.pairs.Examples)), make([]string, len(s.pairs.Examples))
	for i, ex := range s.pairs.Examples {
		exIDs[i], exTexts[i] = ex.ID, r.Text(retriever.Query, ex.Query, retriever.Document{})
	}
	var secs float64
	cached := func(file string, ids, texts []string, side retriever.Side) (*index.Index, error) {
		ix, took, err := x.cachedVectors(ctx, r, filepath.Join(cache, file), name, ids, texts, side)
		secs += took
		return ix, err
	}
	if s.corpus, err = cached("corpus.idx", docIDs, docTexts, retriever.Doc); err != nil {
		return nil, err
	}
	if s.queries, err = cached("queries.idx", qIDs, qTexts, retriever.Query); err != nil {
		return nil, err
	}
	train, err := cached("train-queries.idx", exIDs, exTexts, retriever.Query)
	if err != nil {
		return nil, err
	}
	s.data = &headtrain.Data{Examples: make([]headtrain.Example, len(s.pairs.Examples))}
	for i, ex := range s.pairs.Examples {
		s.data.Examples[i] = headtrain.Example{ID: ex.ID, Query: train.Vector(i), Positives: ex.Positives}
	}
	if s.supervised {
		s.data.Docs = rows(s.corpus) // FromQrels's documents are the corpus, in order
	} else {
		cropTexts := make([]string, len(s.pairs.Docs))
		for i, d := range s.pairs.Docs {
			cropTexts[i] = r.Text(retriever.Doc, "", retriever.Document{Text: d})
		}
		docs, err := cached("train-docs.idx", exIDs, cropTexts, retriever.Doc)
		if err != nil {
			return nil, err
		}
		s.data.Docs = rows(docs) // each crop pair's second crop, one per example
	}
	if s.encodeSecs, err = x.encodeTime(cache, secs); err != nil {
		return nil, err
	}
	s.vectors = vectorsOf(s.corpus, s.queries)
	s.zeroShot, err = score(r, s.vectors, ds.Qrels, dir)
	return s, err
}

// experimentCropSeed draws the classic collections' crop pairs, the same for every
// training seed.
const experimentCropSeed = 42

// cachedVectors reads path, or encodes texts with r before its head (documents at
// finetune's 256-token cap, queries at the model's length) and writes them there, with
// r's fingerprint and the model folder as their origin. It returns the seconds spent
// encoding, 0 when the cache had them. As before the cache recorded an origin, a cached
// file is taken for the model's if it holds as many vectors, under the same first id: the
// fingerprint's definition may change while the vectors stay the same.
func (x *experiment) cachedVectors(ctx context.Context, r *retriever.Retriever, path, set string, ids, texts []string, side retriever.Side) (*index.Index, float64, error) {
	if ix, err := index.ReadFile(path); err == nil {
		switch {
		case ix.Kind() != index.Float32 || ix.Dim() != r.Dim():
			return nil, 0, fmt.Errorf("%s holds %s vectors of %d dimensions, not the model's float32 ones of %d: delete it to encode again", path, ix.Kind(), ix.Dim(), r.Dim())
		case ix.Len() != len(ids) || (ix.Len() > 0 && ix.ID(0) != ids[0]):
			return nil, 0, fmt.Errorf("%s holds %d vectors, not the %d of %s: delete it to encode again", path, ix.Len(), len(ids), set)
		}
		return ix, 0, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w (delete it to encode again)", err)
	}
	start := time.Now()
	what := "encode " + set + " " + strings.TrimSuffix(filepath.Base(path), ".idx")
	vecs, err := r.Pooled(ctx, side, texts, cli.NewProgress(x.stderr, len(texts), what, x.quiet))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	origin := index.Origin{Fingerprint: r.Fingerprint()}
	if len(x.model) <= maxOriginModel {
		origin.Model = x.model
	}
	ix, err := vectorIndex(r.Dim(), ids, vecs, origin)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	took := time.Since(start).Seconds()
	return ix, took, writeIndex(path, ix)
}

// maxOriginModel is the longest model name an index file records (index.Origin).
const maxOriginModel = 4096

// encodeTime records in cache/encode.json the seconds the cache took to fill, adding
// this call's, and returns the total.
func (x *experiment) encodeTime(cache string, secs float64) (float64, error) {
	path := filepath.Join(cache, "encode.json")
	var rec struct {
		Seconds float64 `json:"seconds"`
	}
	if raw, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(raw, &rec); err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	if secs == 0 {
		return rec.Seconds, nil
	}
	rec.Seconds += secs
	return rec.Seconds, atomicfile.WriteJSON(path, rec)
}

// unseenQueries returns the test queries none of whose relevant documents is relevant
// to a training query, sorted.
func unseenQueries(test, train beir.Qrels) []string {
	seen := map[string]bool{}
	for _, docs := range train {
		for d, rel := range docs {
			if rel >= 1 {
				seen[d] = true
			}
		}
	}
	var out []string
	for q, docs := range test {
		overlap, relevant := false, false
		for d, rel := range docs {
			if rel >= 1 {
				relevant = true
				overlap = overlap || seen[d]
			}
		}
		if relevant && !overlap {
			out = append(out, q)
		}
	}
	slices.Sort(out)
	return out
}

// scores are one retriever's per-query NDCG@10 and Recall@100 on a collection's judged
// test queries, and how its head routed the corpus and the queries.
type scores struct {
	NDCG      map[string]float64 `json:"ndcg@10"`
	Recall    map[string]float64 `json:"recall@100"`
	DocLoad   []int              `json:"expert_load_documents,omitempty"`
	QueryLoad []int              `json:"expert_load_queries,omitempty"`
	Seconds   float64            `json:"seconds"` // head, search and scoring
}

// score scores r (its head, if any, applied to copies of v) on pre-head vectors of a
// collection's corpus and judged queries; dir names the collection in errors.
func score(r *retriever.Retriever, v *evaluate.Vectors, qrels beir.Qrels, dir string) (scores, error) {
	start := time.Now()
	res, err := evaluate.Score(r, v, qrels, evaluate.Options{Measures: []string{ndcgMeasure, recallMeasure}})
	if err != nil {
		return scores{}, fmt.Errorf("%s: %w", dir, err)
	}
	sc := scores{NDCG: make(map[string]float64, len(res.PerQuery)), Recall: make(map[string]float64, len(res.PerQuery)),
		DocLoad: res.DocLoad, QueryLoad: res.QueryLoad}
	for q, m := range res.PerQuery {
		sc.NDCG[q], sc.Recall[q] = m[ndcgMeasure], m[recallMeasure]
	}
	sc.Seconds = time.Since(start).Seconds()
	return sc, nil
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
	Mixes map[string]scores `json:"pools"`
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
func (x *experiment) scoreBlock(s *expSet, block *moe.Block, v *evaluate.Vectors) (map[string]scores, error) {
	if block == nil {
		r, err := x.retriever()
		if err != nil {
			return nil, err
		}
		sc, err := score(r, v, s.test.Qrels, s.dir)
		return map[string]scores{finetune.RouterNone: sc}, err
	}
	mixes := map[string]scores{}
	for _, m := range experimentMixes {
		if err := block.SetMix(m); err != nil {
			return nil, err
		}
		r, err := x.withHead(block)
		if err != nil {
			return nil, err
		}
		sc, err := score(r, v, s.test.Qrels, s.dir)
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
	dir := filepath.Join(x.out, s.name, fmt.Sprintf("head-%depochs%s", x.headEpochs, x.suffix()), fmt.Sprintf("%s-e%d-seed%d", router, experts, seed))
	if r, err := readResult(dir); r != nil || err != nil {
		if err == nil {
			var head *moe.Block
			if head, err = loadRunHead(dir); err == nil {
				r.Rerouted, err = x.rerouted(head, s.corpus, seed)
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
	fmt.Fprintf(x.stderr, "head %s: %s, %d experts, seed %d, %d epochs on %d pairs\n", s.name, router, experts, seed, x.headEpochs, len(s.pairs.Examples))
	start := time.Now()
	block, err := moe.New(headBlockConfig(s.corpus.Dim(), experts, router), seed)
	if err != nil {
		return nil, err
	}
	res, err := headtrain.Train(ctx, block, s.data, headConfig(x.headEpochs, seed))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	r := &trainedRun{Set: s.name, Mode: "head", Router: router, Experts: experts, Seed: seed, Epochs: x.headEpochs,
		TrainSeconds: time.Since(start).Seconds(), History: res.History}
	if err := saveHead(dir, res.Head); err != nil {
		return nil, err
	}
	if r.Rerouted, err = x.rerouted(res.Head, s.corpus, seed); err != nil {
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
			dir := filepath.Join(x.out, s.name, fmt.Sprintf("full-%depochs", x.fullEpochs), fmt.Sprintf("%s-seed%d", router, seed))
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
	r := &trainedRun{Set: s.name, Mode: "full", Router: router, Experts: mainExperts, Seed: seed,
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
	if r.Mixes, err = x.scoreBlock(s, block, vectorsOf(corpus, queries)); err != nil {
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
		s.name, verb, router, cfg.Experts, seed, cfg.Epochs, dir)
	bar := newTrainProgress(x.stderr, x.quiet)
	cfg.Progress = bar.update
	start := time.Now()
	res, err := finetune.Train(cfg, s.pairs)
	bar.finish()
	if err != nil {
		return fmt.Errorf("full fine-tuning %s: %w", dir, err)
	}
	took := time.Since(start).Seconds()
	v, err := evaluate.Pooled(ctx, res.Retriever, s.test, cli.NewProgress(x.stderr, len(s.test.Corpus), "evaluate "+s.name+" "+filepath.Base(dir), x.quiet))
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
		ix, err := vectorIndex(res.Retriever.Dim(), f.ids, f.vecs, index.Origin{})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := writeIndex(path, ix); err != nil {
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

// vectorsOf returns pre-head vectors of a corpus and of queries, as evaluate scores them
// (views of the indexes' storage: evaluate.Score passes copies through the head).
func vectorsOf(corpus, queries *index.Index) *evaluate.Vectors {
	return &evaluate.Vectors{DocIDs: ids(corpus), QueryIDs: ids(queries), Docs: rows(corpus), Queries: rows(queries)}
}

// vectorIndex puts vecs under ids into a float32 index that records origin.
func vectorIndex(dim int, ids []string, vecs [][]float32, origin index.Origin) (*index.Index, error) {
	if len(ids) != len(vecs) {
		return nil, fmt.Errorf("%d ids, %d vectors", len(ids), len(vecs))
	}
	ix := index.New(dim, index.Float32)
	ix.SetOrigin(origin)
	for i, id := range ids {
		if err := ix.Add(id, vecs[i]); err != nil {
			return nil, fmt.Errorf("vector %d (%s): %w", i+1, id, err)
		}
	}
	return ix, nil
}

// writeIndex writes ix to path in the index file format, atomically, making its folder.
func writeIndex(path string, ix *index.Index) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(path, func(w io.Writer) error {
		_, err := ix.WriteTo(w)
		return err
	}); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
