package headtrain

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/sbmoe/sbmoe/core/train"
	"github.com/sbmoe/sbmoe/moe"
)

// Example is one training query: its pooled vector and its positive documents.
type Example struct {
	// ID names the query in errors and seeds its choice of positive in each epoch
	// (train.PositiveIndex), so it must be unique.
	ID        string
	Query     []float32
	Positives []int // indices into Data.Docs; never empty
}

// Data are a head's training data: pooled (pre-head) vectors of queries and documents.
type Data struct {
	Examples []Example
	// Docs holds pooled document vectors; an entry no example names may be nil, unless
	// the run mines hard negatives or validates by NDCG: then Docs is the whole collection
	// (a site's index), every query is ranked against all of it, and every entry is needed.
	Docs [][]float32
}

// Which epoch's head Train returns.
const (
	KeepLast = "last" // the paper's choice
	KeepBest = "best" // the epoch with the best validation score
)

// What the held-out examples measure after every epoch.
const (
	// ValidateLoss is the in-batch InfoNCE loss of each held-out query against the others'
	// first positives (lower is better), as the paper's 5% split measures it.
	ValidateLoss = "loss"
	// ValidateNDCG is NDCG@10 of each held-out query ranked against every document of
	// Data.Docs, its positives being the relevant ones (higher is better): what search
	// will do with the head.
	ValidateNDCG = "ndcg@10"
)

// Config is a training run. Zero fields take the recipe's defaults (Defaults).
type Config struct {
	Epochs      int
	BatchSize   int
	LR          float64 // the head's learning rate
	WeightDecay float64
	Temperature float32
	Seed        uint64
	// ValFraction is the share of examples held out for validation; 0 = 0.05,
	// negative = none.
	ValFraction float64
	Keep        string // KeepLast or KeepBest
	// QueriesOnly trains a head that changes queries alone: documents bypass the block in
	// training and validation, as they will at search time (retriever.HeadQueries), so an
	// index of the encoder's document vectors stays valid however the head learns.
	QueriesOnly bool

	// HardNegatives is how many mined documents each training query brings into its batch
	// as negatives, beside the batch's positives; 0 trains on in-batch negatives alone (the
	// paper). Before every epoch each training query is ranked against every document of
	// Data.Docs under the current head, and its negatives are drawn from its MineDepth
	// best-ranked documents that are not among its positives. In the loss, a document row
	// that is one of a query's own positives is masked out of its softmax.
	HardNegatives int
	// MineDepth is how many of the best-ranked non-positive documents the hard negatives
	// are drawn from (deterministically, per seed, epoch and query); 0 = HardNegatives,
	// the very top.
	MineDepth int
	// Validation is ValidateLoss (the default) or ValidateNDCG.
	Validation string
	// Patience stops the run after so many epochs without a better validation score
	// (0: never early).
	Patience int
	// MinSteps makes an epoch at least so many optimizer steps: a handful of examples is
	// passed over several times between two validations, so that a head trained on
	// twenty clicks moves as far between two checks as one trained on a thousand (0: an
	// epoch is one pass).
	MinSteps int
	// Guard scores the untrained head on the validation examples as epoch 0, and keeps it
	// unless a trained epoch scores better: a run that cannot show on held-out examples
	// that it helps returns the head it started from, which for a gain head
	// (moe.OutputGain) is the identity. It needs KeepBest.
	Guard bool

	// Progress, when set, is called after every step.
	Progress func(Progress) `json:"-"`
}

// Defaults are the SB-MoE recipe's settings for the head (DESIGN.md §2).
func Defaults() Config {
	return Config{Epochs: 20, BatchSize: 64, LR: 1e-4, WeightDecay: 0.01, Temperature: 0.05, Seed: 42,
		ValFraction: 0.05, Keep: KeepLast}
}

// RecipeProduct names the product recipe (Product) where a trained folder records its
// recipe (retriever.Manifest.Recipe); the paper's recipes are named by their router.
const RecipeProduct = "product"

// Product is the recipe for a head that learns from a site's own data, feedback or text,
// and must never make its search worse (RATIONALE.md, "SB-MoE heads"): train a gain head
// (moe.ProductConfig), which starts as the identity, on queries only, with four hard
// negatives per query mined from the top 20 of the whole index every epoch (an epoch being
// at least ten steps), hold out a fifth of the examples, keep the epoch with the best
// validation NDCG@10, stop after ten epochs without a better one (at most 100), and keep
// the untrained head unless a trained epoch beats it. The learning rate is 1e-3: α starts
// at zero and moves about that much a step.
func Product() Config {
	return Config{Epochs: 100, BatchSize: 64, LR: 1e-3, WeightDecay: 0.01, Temperature: 0.05, Seed: 42,
		ValFraction: 0.2, Keep: KeepBest, QueriesOnly: true, HardNegatives: 4, MineDepth: 20,
		Validation: ValidateNDCG, Patience: 10, MinSteps: 10, Guard: true}
}

// Progress reports one finished step.
type Progress struct {
	Epoch, Epochs int // Epoch counts from 1
	Step, Steps   int // within the epoch, from 1
	Loss          float64
	Accuracy      float64 // share of the batch's queries whose positive scored highest
	PairsPerSec   float64 // over the epoch so far
}

// EpochStats summarise one epoch.
type EpochStats struct {
	Epoch    int     `json:"epoch"` // from 1
	Loss     float64 `json:"loss"`  // mean training loss over the epoch's batches, aux loss included
	Accuracy float64 `json:"accuracy"`
	// ValLoss and ValAccuracy are the in-batch InfoNCE loss and accuracy of the held-out
	// queries (block in Eval mode, each query's first positive), when there are any and
	// the run validates by loss.
	ValLoss     float64 `json:"val_loss,omitempty"`
	ValAccuracy float64 `json:"val_accuracy,omitempty"`
	// ValNDCG is the mean NDCG@10 of the held-out queries when the run validates by NDCG.
	ValNDCG float64 `json:"val_ndcg@10,omitempty"`
}

// State is where a run stands after a whole number of epochs: what a caller that
// checkpoints (sbmoe train) saves beside the head and the optimizer, and gives to Restore.
type State struct {
	Epoch   int          `json:"epochs_done"`
	Step    int          `json:"global_step"`
	History []EpochStats `json:"history"`
	Best    *BestEpoch   `json:"best,omitempty"`
	// Start is the untrained head's validation (epoch 0), with Guard.
	Start *EpochStats `json:"start,omitempty"`
	// Stopped is set when Patience ended the run early.
	Stopped bool `json:"stopped,omitempty"`
}

// BestEpoch is the epoch with the best validation score so far; epoch 0 is the untrained
// head, a candidate with Guard.
type BestEpoch struct {
	Epoch   int     `json:"epoch"`
	ValLoss float64 `json:"val_loss"`
	ValNDCG float64 `json:"val_ndcg@10,omitempty"`
}

// Result is a finished run.
type Result struct {
	Head    *moe.Block   // the kept epoch's head
	History []EpochStats // one entry per epoch
	// Epoch is the kept epoch, from 1; 0 when Guard kept the untrained head.
	Epoch int
	Steps int // optimizer steps in all
	// Train and Val count the training and held-out examples.
	Train, Val int
	// Start is the untrained head's validation, with Guard.
	Start *EpochStats
	// Stopped reports that Patience ended the run before Config.Epochs.
	Stopped bool
}

// ErrNoExamples is returned when the data hold fewer than two training examples.
var ErrNoExamples = errors.New("too few training examples")

// Trainer trains one head. It works on vectors held in memory and writes nothing.
type Trainer struct {
	cfg              Config
	data             *Data
	block            *moe.Block
	opt              *train.AdamW
	loss             *train.InfoNCE // in-batch negatives alone
	mined            contrastive    // with hard negatives
	trainIdx, valIdx []int
	st               State
	best             *moe.Block // a copy of the block at State.Best, with KeepBest
	// h, out, dout and dh are (rows,H): queries, then their positives, then the mined
	// negatives; cols names the document of each document row.
	h, out, dout, dh []float32
	cols             []int

	// docs ranks against Data.Docs as the current head makes them (the encoder's vectors
	// with QueriesOnly); docsStep is the step they were made at, -1 before the first.
	docs      ranker
	docsStep  int
	negatives [][]int // this epoch's mined negatives of each training example (by trainIdx position)
	ranked    [][]int // scratch of the rankings
}

// New prepares to train block, in place, on data: it holds out the validation examples and
// builds the optimizer. The block's router and pool stay as they are.
func New(block *moe.Block, data *Data, cfg Config) (*Trainer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := validate(data, block.Config().Hidden); err != nil {
		return nil, err
	}
	if cfg.ranks() {
		for i, d := range data.Docs {
			if d == nil {
				return nil, fmt.Errorf("document %d has no vector: mining hard negatives and NDCG validation rank every document", i)
			}
		}
	}
	t := &Trainer{cfg: cfg, data: data, block: block, docsStep: -1}
	t.trainIdx, t.valIdx = split(len(data.Examples), max(cfg.ValFraction, 0), cfg.Seed)
	if len(t.trainIdx) < 2 {
		return nil, fmt.Errorf("%w: %d, at least 2 are needed", ErrNoExamples, len(t.trainIdx))
	}
	if len(t.valIdx) == 0 {
		switch {
		case cfg.Keep == KeepBest:
			return nil, errors.New("config: keeping the best epoch needs validation examples")
		case cfg.Patience > 0:
			return nil, errors.New("config: stopping early needs validation examples")
		}
	}
	t.mined.temperature = cfg.Temperature
	head := train.Group{Name: "head", LR: cfg.LR, WeightDecay: cfg.WeightDecay, Params: block.Params()}
	if t.opt, err = train.NewAdamW(head); err != nil {
		return nil, err
	}
	if t.loss, err = train.NewInfoNCE(cfg.Temperature); err != nil {
		return nil, err
	}
	return t, nil
}

// Train trains block on data for cfg.Epochs epochs and returns the kept head: the block
// itself (KeepLast) or a copy of its best epoch (KeepBest). It is deterministic for a
// seed; ctx stops it between steps.
func Train(ctx context.Context, block *moe.Block, data *Data, cfg Config) (*Result, error) {
	t, err := New(block, data, cfg)
	if err != nil {
		return nil, fmt.Errorf("train head: %w", err)
	}
	for !t.Done() {
		if err := t.Epoch(ctx); err != nil {
			return nil, fmt.Errorf("train head: %w", err)
		}
	}
	return t.Result(), nil
}

func (c Config) withDefaults() (Config, error) {
	d := Defaults()
	if c.Epochs == 0 {
		c.Epochs = d.Epochs
	}
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	if c.LR == 0 {
		c.LR = d.LR
	}
	if c.Temperature == 0 {
		c.Temperature = d.Temperature
	}
	if c.ValFraction == 0 {
		c.ValFraction = d.ValFraction
	}
	if c.Keep == "" {
		c.Keep = d.Keep
	}
	if c.Validation == "" {
		c.Validation = ValidateLoss
	}
	switch {
	case c.Epochs < 0:
		return c, fmt.Errorf("config: epochs %d must be positive", c.Epochs)
	case c.BatchSize < 2:
		return c, fmt.Errorf("config: batch size %d: InfoNCE needs at least 2 pairs for in-batch negatives", c.BatchSize)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return c, fmt.Errorf("config: learning rate %g must be positive and finite", c.LR)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return c, fmt.Errorf("config: weight decay %g must be non-negative", c.WeightDecay)
	case !(c.Temperature > 0) || math.IsInf(float64(c.Temperature), 0):
		return c, fmt.Errorf("config: temperature %g must be positive", c.Temperature)
	case c.ValFraction >= 1:
		return c, fmt.Errorf("config: validation fraction %g must be below 1", c.ValFraction)
	case c.Keep != KeepLast && c.Keep != KeepBest:
		return c, fmt.Errorf("config: keep %q: want %s or %s", c.Keep, KeepLast, KeepBest)
	case c.HardNegatives < 0 || c.MineDepth < 0 || (c.MineDepth > 0 && c.MineDepth < c.HardNegatives):
		return c, fmt.Errorf("config: %d hard negatives from the top %d: want 0 ≤ negatives ≤ depth (or depth 0)", c.HardNegatives, c.MineDepth)
	case c.Validation != ValidateLoss && c.Validation != ValidateNDCG:
		return c, fmt.Errorf("config: validation %q: want %s or %s", c.Validation, ValidateLoss, ValidateNDCG)
	case c.Patience < 0 || c.MinSteps < 0:
		return c, fmt.Errorf("config: patience %d and minimum steps %d must not be negative", c.Patience, c.MinSteps)
	case c.Guard && c.Keep != KeepBest:
		return c, errors.New("config: the guard keeps the untrained head or the best epoch: it needs keep best")
	}
	return c, nil
}

// ranks reports whether the run ranks queries against every document.
func (c Config) ranks() bool { return c.HardNegatives > 0 || c.Validation == ValidateNDCG }

// better reports whether validation stats a beat b on the run's measure.
func (c Config) better(a EpochStats, b *BestEpoch) bool {
	if c.Validation == ValidateNDCG {
		return a.ValNDCG > b.ValNDCG
	}
	return a.ValLoss < b.ValLoss
}

func validate(d *Data, hidden int) error {
	if d == nil || len(d.Examples) == 0 {
		return fmt.Errorf("%w: none", ErrNoExamples)
	}
	seen := make(map[string]bool, len(d.Examples))
	for i, ex := range d.Examples {
		switch {
		case seen[ex.ID]:
			return fmt.Errorf("training example %d: id %q is not unique", i+1, ex.ID)
		case len(ex.Positives) == 0:
			return fmt.Errorf("training example %q: no positive document", ex.ID)
		case len(ex.Query) != hidden:
			return fmt.Errorf("training example %q: query vector has %d dimensions, the head %d", ex.ID, len(ex.Query), hidden)
		}
		seen[ex.ID] = true
		for _, p := range ex.Positives {
			switch {
			case p < 0 || p >= len(d.Docs):
				return fmt.Errorf("training example %q: positive %d is not one of the %d documents", ex.ID, p, len(d.Docs))
			case len(d.Docs[p]) != hidden:
				return fmt.Errorf("training example %q: document %d has %d dimensions, the head %d", ex.ID, p, len(d.Docs[p]), hidden)
			}
		}
	}
	return nil
}

// split divides n examples into training and validation indices, holding out a
// fraction (rounded) chosen at random from seed. Both lists are sorted. Fewer than two
// held-out queries are none: a lone query has no in-batch negative to be scored against.
func split(n int, fraction float64, seed uint64) (trainIdx, valIdx []int) {
	nVal := min(int(fraction*float64(n)+0.5), n-1)
	if nVal < 2 {
		nVal = 0
	}
	perm := rand.New(rand.NewPCG(seed, 0x5a11d)).Perm(n)
	valIdx = slices.Clone(perm[:max(nVal, 0)])
	trainIdx = slices.Clone(perm[max(nVal, 0):])
	slices.Sort(valIdx)
	slices.Sort(trainIdx)
	return trainIdx, valIdx
}

// Split is the held-out split New makes: the indices of the training and the validation
// examples among n, for a validation fraction (0 = none) and a seed.
func Split(n int, fraction float64, seed uint64) (trainIdx, valIdx []int) {
	return split(n, fraction, seed)
}

// Done reports whether every epoch has run, or Patience stopped the run.
func (t *Trainer) Done() bool { return t.st.Epoch >= t.cfg.Epochs || t.st.Stopped }

// State is where the run stands.
func (t *Trainer) State() State { return t.st }

// Optimizer is the run's AdamW, for a caller that checkpoints its state.
func (t *Trainer) Optimizer() *train.AdamW { return t.opt }

// Best is the head of the best epoch so far with KeepBest, else nil.
func (t *Trainer) Best() *moe.Block { return t.best }

// Counts returns the number of training and held-out examples.
func (t *Trainer) Counts() (train, val int) { return len(t.trainIdx), len(t.valIdx) }

// Restore continues a run from a checkpoint: st and the optimizer state (Optimizer().Save's
// bytes) as saved after an epoch, with the block passed to New holding that epoch's weights,
// and, with KeepBest, the best epoch's head (the untrained head when Guard kept epoch 0).
func (t *Trainer) Restore(st State, optimizer []byte, best *moe.Block) error {
	if st.Epoch < 0 || st.Epoch > t.cfg.Epochs || len(st.History) != st.Epoch {
		return fmt.Errorf("restore: state of %d epochs with %d in its history, for a run of %d", st.Epoch, len(st.History), t.cfg.Epochs)
	}
	if t.cfg.Keep == KeepBest && st.Best != nil && best == nil {
		return errors.New("restore: the best epoch's head is missing")
	}
	if err := t.opt.Load("optimizer state", optimizer); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	t.st, t.best = st, best
	return nil
}

// Epoch trains one epoch, then validates and, with KeepBest, remembers the best head. A
// non-finite loss or weight stops it with an error wrapping train.ErrNonFinite that names
// the batch. With Guard, the first call scores the untrained head first; with
// HardNegatives, each call mines the epoch's negatives first.
func (t *Trainer) Epoch(ctx context.Context) error {
	epoch := t.st.Epoch
	if t.cfg.Guard && t.st.Start == nil {
		start, err := t.validation()
		if err != nil {
			return fmt.Errorf("validation of the untrained head: %w", err)
		}
		t.st.Start = &start
		t.st.Best = &BestEpoch{Epoch: 0, ValLoss: start.ValLoss, ValNDCG: start.ValNDCG}
		t.best = t.block.Clone()
	}
	// An epoch is one pass over the training examples, or as many as MinSteps needs; pass
	// p of the run draws its batches and positives as epoch p of a one-pass run would.
	passes := t.passes()
	var batches [][]int
	var passOf []int
	for j := range passes {
		bs, err := train.Batches(len(t.trainIdx), t.cfg.BatchSize, t.cfg.Seed, epoch*passes+j, false)
		if err != nil {
			return err
		}
		batches = append(batches, bs...)
		for range bs {
			passOf = append(passOf, epoch*passes+j)
		}
	}
	if t.cfg.HardNegatives > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		t.mine(epoch)
	}
	start := time.Now()
	var lossSum float64
	correct, seen := 0, 0
	for b, batch := range batches {
		if err := ctx.Err(); err != nil {
			return err
		}
		loss, right, err := t.step(batch, passOf[b])
		if err != nil {
			return fmt.Errorf("epoch %d, batch %d of %d: %w", epoch+1, b+1, len(batches), err)
		}
		t.st.Step++
		lossSum += loss
		correct += right
		seen += len(batch)
		if t.cfg.Progress != nil {
			t.cfg.Progress(Progress{Epoch: epoch + 1, Epochs: t.cfg.Epochs, Step: b + 1, Steps: len(batches), Loss: loss,
				Accuracy: float64(right) / float64(len(batch)), PairsPerSec: float64(seen) / time.Since(start).Seconds()})
		}
	}
	for _, p := range t.block.Params() {
		if i := slices.IndexFunc(p.Data, func(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }); i >= 0 {
			return fmt.Errorf("epoch %d: parameter %s holds %g: %w", epoch+1, p.Name, p.Data[i], train.ErrNonFinite)
		}
	}
	es := EpochStats{Epoch: epoch + 1, Loss: lossSum / float64(len(batches)), Accuracy: float64(correct) / float64(seen)}
	if len(t.valIdx) > 0 {
		v, err := t.validation()
		if err != nil {
			return fmt.Errorf("epoch %d, validation: %w", epoch+1, err)
		}
		es.ValLoss, es.ValAccuracy, es.ValNDCG = v.ValLoss, v.ValAccuracy, v.ValNDCG
	}
	t.st.History = append(t.st.History, es)
	t.st.Epoch = epoch + 1
	if len(t.valIdx) > 0 && (t.st.Best == nil || t.cfg.better(es, t.st.Best)) {
		t.st.Best = &BestEpoch{Epoch: epoch + 1, ValLoss: es.ValLoss, ValNDCG: es.ValNDCG}
		if t.cfg.Keep == KeepBest {
			t.best = t.block.Clone()
		}
	}
	if t.cfg.Patience > 0 && t.st.Epoch-t.st.Best.Epoch >= t.cfg.Patience {
		t.st.Stopped = true
	}
	return nil
}

// passes is how many passes over the training examples an epoch makes: one, or as many
// as it takes to make MinSteps steps.
func (t *Trainer) passes() int {
	perPass := (len(t.trainIdx) + t.cfg.BatchSize - 1) / t.cfg.BatchSize
	return max(1, (t.cfg.MinSteps+perPass-1)/perPass)
}

// validation scores the block as it stands on the held-out examples, by the run's measure.
func (t *Trainer) validation() (EpochStats, error) {
	var es EpochStats
	if t.cfg.Validation == ValidateNDCG {
		es.ValNDCG = t.validateNDCG()
		return es, nil
	}
	var err error
	es.ValLoss, es.ValAccuracy, err = t.validate()
	return es, err
}

// Result is the run so far: the kept head, the history and the counts.
func (t *Trainer) Result() *Result {
	res := &Result{Head: t.block, History: slices.Clone(t.st.History), Epoch: t.st.Epoch, Steps: t.st.Step,
		Train: len(t.trainIdx), Val: len(t.valIdx), Start: t.st.Start, Stopped: t.st.Stopped}
	if t.cfg.Keep == KeepBest && t.st.Best != nil {
		res.Head, res.Epoch = t.best, t.st.Best.Epoch
	}
	return res
}

// noiseStream separates the gate noise's generator from the other draws of the seed.
// Each step's noise comes from (seed, global step) alone, so a resumed run draws what
// an uninterrupted one would.
const noiseStream = 0x6e6f697365

// step trains on one batch of indices into trainIdx and returns its loss (the block's aux
// loss included) and how many queries ranked their positive first. epoch is the pass, which
// chooses each query's positive.
func (t *Trainer) step(batch []int, epoch int) (float64, int, error) {
	if t.cfg.HardNegatives > 0 {
		return t.minedStep(batch, epoch)
	}
	h, b := t.block.Config().Hidden, len(batch)
	t.h, t.out = grow(t.h, 2*b*h), grow(t.out, 2*b*h)
	t.dout, t.dh = grow(t.dout, 2*b*h), grow(t.dh, 2*b*h)
	for i, k := range batch {
		ex := &t.data.Examples[t.trainIdx[k]]
		d := ex.Positives[train.PositiveIndex(t.cfg.Seed, epoch, ex.ID, len(ex.Positives))]
		copy(t.h[i*h:(i+1)*h], ex.Query)
		copy(t.h[(b+i)*h:(b+i+1)*h], t.data.Docs[d])
	}
	rng := rand.New(rand.NewPCG(t.cfg.Seed^noiseStream, uint64(t.st.Step)))
	rows := t.headRows(b)
	aux := t.block.Forward(t.out[:rows*h], t.h[:rows*h], rows, moe.Train, rng).AuxLoss
	copy(t.out[rows*h:], t.h[rows*h:])
	stats, err := t.loss.Forward(t.out[:b*h], t.out[b*h:], b, h)
	if err != nil {
		return 0, 0, err
	}
	if math.IsNaN(float64(aux)) || math.IsInf(float64(aux), 0) {
		return 0, 0, fmt.Errorf("load-balancing loss %g: %w", aux, train.ErrNonFinite)
	}
	clear(t.dout)
	t.loss.Backward(t.dout[:b*h], t.dout[b*h:])
	clear(t.dh)
	t.block.Backward(t.dh[:rows*h], t.dout[:rows*h], 1)
	t.opt.Step()
	t.block.ZeroGrad()
	return stats.Loss + float64(aux), stats.Correct, nil
}

// validate returns the in-batch loss and accuracy of the held-out queries, each with
// its first positive, in batches of the training size (a last batch of one query,
// which would score a trivial zero, joins the one before).
func (t *Trainer) validate() (loss, acc float64, err error) {
	h, n := t.block.Config().Hidden, len(t.valIdx)
	var sum float64
	correct := 0
	for lo := 0; lo < n; {
		hi := min(lo+t.cfg.BatchSize, n)
		if n-hi == 1 {
			hi = n
		}
		b := hi - lo
		t.h, t.out = grow(t.h, 2*b*h), grow(t.out, 2*b*h)
		for i := range b {
			ex := &t.data.Examples[t.valIdx[lo+i]]
			copy(t.h[i*h:(i+1)*h], ex.Query)
			copy(t.h[(b+i)*h:(b+i+1)*h], t.data.Docs[ex.Positives[0]])
		}
		rows := t.headRows(b)
		t.block.Forward(t.out[:rows*h], t.h[:rows*h], rows, moe.Eval, nil)
		copy(t.out[rows*h:], t.h[rows*h:])
		stats, err := t.loss.Forward(t.out[:b*h], t.out[b*h:], b, h)
		if err != nil {
			return 0, 0, err
		}
		sum += stats.Loss * float64(b)
		correct += stats.Correct
		lo = hi
	}
	return sum / float64(n), float64(correct) / float64(n), nil
}

// headRows is how many of a batch's 2b rows (queries first) go through the block.
func (t *Trainer) headRows(b int) int {
	if t.cfg.QueriesOnly {
		return b
	}
	return 2 * b
}

// grow returns buf resliced to n floats when it has the room, else a new slice.
func grow(buf []float32, n int) []float32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]float32, n)
}
