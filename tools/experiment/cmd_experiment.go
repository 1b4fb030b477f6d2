package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/metrics"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/tools/internal/finetune"
	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
)

// experimentSets are the collections the experiment reads from --data, in report
// order: SciFact has a train split (supervised training); the others are trained from
// their corpus alone.
var experimentSets = []string{"scifact", "cisi", "medline", "cacm", "npl", "lisa", "adi"}

// experimentRouters are the trained configurations of every comparison; RouterNone is
// the fine-tuned baseline, which only full fine-tuning has (a frozen encoder without a
// block is the zero-shot model).
var experimentRouters = []string{finetune.RouterNone, finetune.RouterPaper, finetune.RouterLearned}

// experimentPools are the inference modes every trained block is scored with.
var experimentPools = []moe.Mix{moe.MixTop1, moe.MixAll}

// randomizationRounds is the number of sign patterns the paired tests draw.
const randomizationRounds = 100000

func runExperiment(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("experiment", "[flags]",
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
		"  sbmoe experiment                               # everything, several hours on 2 cores\n"+
			"  sbmoe experiment --skip-full --experts 6       # head-only part, minutes\n"+
			"  sbmoe experiment --full-epochs 20 --report results/experiment-20ep", stderr)
	data := fs.String("data", filepath.Join("..", "shared", "data"), "folder holding the BEIR collections ("+strings.Join(experimentSets, ", ")+")")
	model := fs.String("model", defaultModelDir(), "base model folder (Hugging Face layout)")
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
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	usageErr := usageError(stderr, "experiment")
	x := &experiment{data: *data, model: *model, out: *out, report: *report, fullEpochs: *fullEpochs,
		headEpochs: *headEpochs, skipFull: *skipFull || *raw, raw: *raw, threads: *threads, quiet: *quiet, stdout: stdout, stderr: stderr}
	var err error
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if x.seeds, err = parseList(*seedList, func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }); err != nil {
		return usageErr("--seeds: %v", err)
	}
	if x.experts, err = parseList(*expertList, strconv.Atoi); err != nil || slices.ContainsFunc(x.experts, func(e int) bool { return e < 1 }) {
		return usageErr("--experts: want positive counts, got %q", *expertList)
	}
	if !slices.Contains(x.experts, mainExperts) {
		return usageErr("--experts must include %d, the main setting", mainExperts)
	}
	if x.sets, err = parseList(*sets, func(s string) (string, error) {
		if !slices.Contains(experimentSets, s) {
			return "", fmt.Errorf("unknown collection %q (want some of %s)", s, strings.Join(experimentSets, ", "))
		}
		return s, nil
	}); err != nil {
		return usageErr("--datasets: %v", err)
	}
	if x.sweep, err = parseList(*sweep, func(s string) (string, error) {
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
		return fail(stderr, "experiment", err)
	}
	return 0
}

// mainExperts is the expert count of the main comparisons (the paper's default).
const mainExperts = 6

// parseList parses a comma-separated list, refusing empty and repeated items.
func parseList[T comparable](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range strings.Split(s, ",") {
		v, err := parse(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("%v appears twice", v)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// experiment is one invocation's settings and the encoder, loaded when first needed.
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
	encoder                  *bert.Model
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
	var sets []*expSet
	for _, name := range x.sets {
		s, err := x.prepare(name)
		if err != nil {
			return err
		}
		sets = append(sets, s)
	}
	var full []*trainedRun
	if slices.Contains(x.sets, "scifact") && !x.raw {
		var err error
		if full, err = x.fullRuns(sets[slices.Index(x.sets, "scifact")]); err != nil {
			return err
		}
	}
	var heads []*trainedRun
	for _, s := range sets {
		for _, experts := range x.expertsOf(s.name) {
			for _, router := range experimentRouters[1:] {
				for _, seed := range x.seeds {
					r, err := x.trainHead(s, router, experts, seed)
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

// expSet is one collection: its test judgements, the zero-shot encoder's vectors of
// its corpus and judged queries, and the training data of its heads.
type expSet struct {
	name       string
	dir        string
	supervised bool // trained from qrels/train.tsv, else from crops of the corpus
	qrels      beir.Qrels
	unseen     []string // SciFact: test queries none of whose relevant documents a train query has
	corpus     *index.Index
	queries    *index.Index
	pairs      *finetune.Pairs
	vectors    *finetune.Vectors
	zeroShot   scores
	encodeSecs float64 // encoding everything once (from the cache's record)
}

// loadEncoder loads the base model once.
func (x *experiment) loadEncoder() (*bert.Model, error) {
	if x.encoder == nil {
		m, err := loadModel(x.model, x.threads)
		if err != nil {
			return nil, err
		}
		if x.raw {
			m.Config.Normalize = false
		}
		x.encoder = m
	}
	return x.encoder, nil
}

// prepare loads a collection and its cached vectors, encoding what the cache lacks.
func (x *experiment) prepare(name string) (*expSet, error) {
	dir := filepath.Join(x.data, name)
	ds, err := beir.Load(dir, "test")
	if err != nil {
		return nil, err
	}
	s := &expSet{name: name, dir: dir, qrels: ds.Qrels}
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

	cache := filepath.Join(x.out, "cache", name+x.suffix())
	docIDs, docTexts := make([]string, len(ds.Corpus)), make([]string, len(ds.Corpus))
	for i, d := range ds.Corpus {
		docIDs[i], docTexts[i] = d.ID, strings.ToLower(beir.DocText(d))
	}
	judged := ds.JudgedQueries()
	qIDs, qTexts := make([]string, len(judged)), make([]string, len(judged))
	for i, q := range judged {
		qIDs[i], qTexts[i] = q.ID, strings.ToLower(q.Text)
	}
	exIDs, exTexts := make([]string, len(s.pairs.Examples)), make([]string, len(s.pairs.Examples))
	for i, ex := range s.pairs.Examples {
		exIDs[i], exTexts[i] = ex.ID, ex.Query
	}
	var secs float64
	cached := func(file string, ids, texts []string, doc bool) (*index.Index, error) {
		ix, took, err := x.cachedVectors(filepath.Join(cache, file), name, ids, texts, doc)
		secs += took
		return ix, err
	}
	if s.corpus, err = cached("corpus.idx", docIDs, docTexts, true); err != nil {
		return nil, err
	}
	if s.queries, err = cached("queries.idx", qIDs, qTexts, false); err != nil {
		return nil, err
	}
	train, err := cached("train-queries.idx", exIDs, exTexts, false)
	if err != nil {
		return nil, err
	}
	s.vectors = &finetune.Vectors{Queries: rows(train)}
	if s.supervised {
		s.vectors.Docs = rows(s.corpus) // FromQrels's documents are the corpus, in order
	} else {
		docs, err := cached("train-docs.idx", exIDs, s.pairs.Docs, true)
		if err != nil {
			return nil, err
		}
		s.vectors.Docs = rows(docs) // each crop pair's second crop, one per example
	}
	s.encodeSecs, err = x.encodeTime(cache, secs)
	if err != nil {
		return nil, err
	}
	s.zeroShot, err = evaluate(s, s.corpus, s.queries, nil)
	return s, err
}

// experimentCropSeed draws the classic collections' crop pairs, the same for every
// training seed.
const experimentCropSeed = 42

// cachedVectors reads path, or encodes texts (documents at finetune's 256-token cap,
// queries at the model's length) and writes them there. It returns the seconds spent
// encoding, 0 when the cache had them.
func (x *experiment) cachedVectors(path, set string, ids, texts []string, doc bool) (*index.Index, float64, error) {
	if ix, err := index.ReadFile(path); err == nil {
		if ix.Len() != len(ids) || (ix.Len() > 0 && ix.ID(0) != ids[0]) {
			return nil, 0, fmt.Errorf("%s holds %d vectors, not the %d of %s: delete it to encode again", path, ix.Len(), len(ids), set)
		}
		return ix, 0, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w (delete it to encode again)", err)
	}
	m, err := x.loadEncoder()
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	opt := bert.EncodeOptions{Progress: newProgress(x.stderr, len(texts), "encode "+set+" "+strings.TrimSuffix(filepath.Base(path), ".idx"), x.quiet)}
	if doc {
		opt.MaxLength = finetune.Defaults().MaxDocLen
	}
	ix, err := vectorIndex(m.Config.HiddenSize, ids, m.Encode(texts, opt))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, 0, err
	}
	return ix, time.Since(start).Seconds(), ix.WriteFile(path)
}

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

// evaluate scores block (nil: the encoder alone) on pre-head vectors of s's corpus and
// judged queries.
func evaluate(s *expSet, corpus, queries *index.Index, block *moe.Block) (scores, error) {
	start := time.Now()
	run, docLoad, queryLoad, err := headRun(corpus, queries, block, 1000)
	if err != nil {
		return scores{}, fmt.Errorf("%s: %w", s.dir, err)
	}
	ndcg, _ := metrics.Parse("ndcg@10")
	recall, _ := metrics.Parse("recall@100")
	perQuery, _, err := metrics.Evaluate(s.qrels, run, []string{ndcg, recall})
	if err != nil {
		return scores{}, fmt.Errorf("%s: %w", s.dir, err)
	}
	sc := scores{NDCG: map[string]float64{}, Recall: map[string]float64{}, DocLoad: docLoad, QueryLoad: queryLoad}
	for q, m := range perQuery {
		sc.NDCG[q], sc.Recall[q] = m[ndcg], m[recall]
	}
	sc.Seconds = time.Since(start).Seconds()
	return sc, nil
}

// trainedRun is one training run and its scores under each inference pool
// ("none" without a block); it is saved as result.json in the run's folder.
type trainedRun struct {
	Set          string                `json:"dataset"`
	Mode         string                `json:"mode"` // "full" or "head"
	Router       string                `json:"router"`
	Experts      int                   `json:"experts"`
	Seed         uint64                `json:"seed"`
	Epochs       int                   `json:"epochs"`
	TrainSeconds float64               `json:"train_seconds"`
	History      []finetune.EpochStats `json:"history"`
	Pools        map[string]scores     `json:"pools"`
	// Rerouted is the share of the corpus whose most probable expert differs from the
	// one the same block had before training (same seed), on the same vectors: how far
	// training moved the router.
	Rerouted float64 `json:"rerouted"`
}

const resultFile = "result.json"

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

// scoreBlock scores a trained block (nil for none) with every pool.
func scoreBlock(s *expSet, block *moe.Block, corpus, queries *index.Index) (map[string]scores, error) {
	if block == nil {
		sc, err := evaluate(s, corpus, queries, nil)
		return map[string]scores{finetune.RouterNone: sc}, err
	}
	pools := map[string]scores{}
	for _, p := range experimentPools {
		if err := block.SetMix(p); err != nil {
			return nil, err
		}
		sc, err := evaluate(s, corpus, queries, block)
		if err != nil {
			return nil, err
		}
		pools[string(p)] = sc
	}
	return pools, nil
}

// trainHead trains one head on s's cached vectors (or reads its finished result).
func (x *experiment) trainHead(s *expSet, router string, experts int, seed uint64) (*trainedRun, error) {
	dir := filepath.Join(x.out, s.name, fmt.Sprintf("head-%depochs%s", x.headEpochs, x.suffix()), fmt.Sprintf("%s-e%d-seed%d", router, experts, seed))
	if r, err := readResult(dir); r != nil || err != nil {
		if err == nil {
			r.Rerouted, err = rerouted(dir, s.corpus, seed)
		}
		return r, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	fmt.Fprintf(x.stderr, "head %s: %s, %d experts, seed %d, %d epochs on %d pairs\n", s.name, router, experts, seed, x.headEpochs, len(s.pairs.Examples))
	start := time.Now()
	res, err := finetune.Train(finetune.Config{BaseModel: x.model, Out: dir, Epochs: x.headEpochs, Seed: seed,
		Router: router, Experts: experts, FreezeEncoder: true, Vectors: s.vectors, HeadOnly: true, Threads: x.threads}, s.pairs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	r := &trainedRun{Set: s.name, Mode: "head", Router: router, Experts: experts, Seed: seed, Epochs: x.headEpochs,
		TrainSeconds: time.Since(start).Seconds(), History: res.History}
	if r.Pools, err = scoreBlock(s, res.Block, s.corpus, s.queries); err != nil {
		return nil, err
	}
	if r.Rerouted, err = rerouted(dir, s.corpus, seed); err != nil {
		return nil, err
	}
	return r, atomicfile.WriteJSON(filepath.Join(dir, resultFile), r)
}

// rerouted compares the routing of the block trained in dir with that of the same
// block before training on a corpus's vectors, and returns the share of documents
// whose most probable expert changed.
func rerouted(dir string, corpus *index.Index, seed uint64) (float64, error) {
	trained, err := moe.Load(filepath.Join(dir, finetune.BlockDir))
	if err != nil {
		return 0, err
	}
	initial, err := moe.New(trained.Config(), seed)
	if err != nil {
		return 0, err
	}
	_, a := finetune.ApplyBlock(trained, clonedRows(corpus))
	_, b := finetune.ApplyBlock(initial, clonedRows(corpus))
	changed := 0
	for i := range a {
		if a[i] != b[i] {
			changed++
		}
	}
	return float64(changed) / float64(max(len(a), 1)), nil
}

// fullRuns fine-tunes encoder and head on SciFact for every router and seed, with
// sbmoe train, and scores each from the vectors its evaluation kept.
func (x *experiment) fullRuns(s *expSet) ([]*trainedRun, error) {
	var out []*trainedRun
	for _, seed := range x.seeds {
		for _, router := range experimentRouters {
			dir := filepath.Join(x.out, s.name, fmt.Sprintf("full-%depochs", x.fullEpochs), fmt.Sprintf("%s-seed%d", router, seed))
			r, err := readResult(dir)
			if err != nil {
				return nil, err
			}
			if r == nil {
				if r, err = x.fullRun(s, dir, router, seed); err != nil {
					return nil, err
				}
			}
			if r == nil {
				continue
			}
			if router != finetune.RouterNone {
				corpus, err := index.ReadFile(filepath.Join(dir, trainVectorsDir, "corpus.idx"))
				if err != nil {
					return nil, err
				}
				if r.Rerouted, err = rerouted(dir, corpus, seed); err != nil {
					return nil, err
				}
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// fullRun trains (or resumes) one full fine-tuning run and scores it; nil when
// --skip-full leaves it out.
func (x *experiment) fullRun(s *expSet, dir, router string, seed uint64) (*trainedRun, error) {
	evalPath := filepath.Join(dir, trainEvalFile)
	if _, err := os.Stat(evalPath); err != nil {
		if x.skipFull {
			return nil, nil
		}
		args := []string{"--data", s.dir, "--model", x.model, "--moe", router, "--experts", strconv.Itoa(mainExperts),
			"--seed", strconv.FormatUint(seed, 10), "--epochs", strconv.Itoa(x.fullEpochs), "--out", dir,
			"--threads", strconv.Itoa(x.threads)}
		if x.quiet {
			args = append(args, "--quiet")
		}
		if _, err := os.Stat(filepath.Join(dir, finetune.CheckpointsDir)); err == nil {
			args = append(args, "--resume")
		}
		fmt.Fprintf(x.stderr, "full fine-tuning %s: sbmoe train %s\n", s.name, strings.Join(args, " "))
		if code := runTrain(args, x.stdout, x.stderr); code != 0 {
			return nil, fmt.Errorf("full fine-tuning %s failed (exit %d)", dir, code)
		}
	}
	var ev trainEval
	raw, err := os.ReadFile(evalPath)
	if err == nil {
		err = json.Unmarshal(raw, &ev)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", evalPath, err)
	}
	var summary struct {
		History []finetune.EpochStats `json:"history"`
	}
	raw, err = os.ReadFile(filepath.Join(dir, finetune.TrainingFile))
	if err == nil {
		err = json.Unmarshal(raw, &summary)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, finetune.TrainingFile), err)
	}
	corpus, err := index.ReadFile(filepath.Join(dir, trainVectorsDir, "corpus.idx"))
	if err != nil {
		return nil, err
	}
	queries, err := index.ReadFile(filepath.Join(dir, trainVectorsDir, "queries.idx"))
	if err != nil {
		return nil, err
	}
	var block *moe.Block
	if router != finetune.RouterNone {
		if block, err = moe.Load(filepath.Join(dir, finetune.BlockDir)); err != nil {
			return nil, err
		}
	}
	r := &trainedRun{Set: s.name, Mode: "full", Router: router, Experts: mainExperts, Seed: seed,
		Epochs: len(summary.History), TrainSeconds: ev.TrainSeconds, History: summary.History}
	if router == finetune.RouterNone {
		r.Experts = 0
	}
	if r.Pools, err = scoreBlock(s, block, corpus, queries); err != nil {
		return nil, err
	}
	return r, atomicfile.WriteJSON(filepath.Join(dir, resultFile), r)
}
