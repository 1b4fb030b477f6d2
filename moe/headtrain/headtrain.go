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
	// Docs holds pooled document vectors; an entry no example names may be nil.
	Docs [][]float32
}

// Which epoch's head Train returns.
const (
	KeepLast = "last" // the paper's choice
	KeepBest = "best" // the epoch with the lowest validation loss
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
	// Progress, when set, is called after every step.
	Progress func(Progress)
}

// Defaults are the SB-MoE recipe's settings for the head (DESIGN.md §2).
func Defaults() Config {
	return Config{Epochs: 20, BatchSize: 64, LR: 1e-4, WeightDecay: 0.01, Temperature: 0.05, Seed: 42,
		ValFraction: 0.05, Keep: KeepLast}
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
	// queries (block in Eval mode, each query's first positive), when there are any.
	ValLoss     float64 `json:"val_loss,omitempty"`
	ValAccuracy float64 `json:"val_accuracy,omitempty"`
}

// State is where a run stands after a whole number of epochs: what a caller that
// checkpoints (sbmoe train) saves beside the head and the optimizer, and gives to Restore.
type State struct {
	Epoch   int          `json:"epochs_done"`
	Step    int          `json:"global_step"`
	History []EpochStats `json:"history"`
	Best    *BestEpoch   `json:"best,omitempty"`
}

// BestEpoch is the epoch with the lowest validation loss so far.
type BestEpoch struct {
	Epoch   int     `json:"epoch"`
	ValLoss float64 `json:"val_loss"`
}

// Result is a finished run.
type Result struct {
	Head    *moe.Block   // the kept epoch's head
	History []EpochStats // one entry per epoch
	Epoch   int          // the kept epoch, from 1
	Steps   int          // optimizer steps in all
	// Train and Val count the training and held-out examples.
	Train, Val int
}

// ErrNoExamples is returned when the data hold fewer than two training examples.
var ErrNoExamples = errors.New("too few training examples")

// Trainer trains one head. It works on vectors held in memory and writes nothing.
type Trainer struct {
	cfg              Config
	data             *Data
	block            *moe.Block
	opt              *train.AdamW
	loss             *train.InfoNCE
	trainIdx, valIdx []int
	st               State
	best             *moe.Block // a copy of the block at State.Best, with KeepBest
	h, out, dout, dh []float32  // (2B,H): queries then documents
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
	t := &Trainer{cfg: cfg, data: data, block: block}
	t.trainIdx, t.valIdx = split(len(data.Examples), max(cfg.ValFraction, 0), cfg.Seed)
	if len(t.trainIdx) < 2 {
		return nil, fmt.Errorf("%w: %d, at least 2 are needed", ErrNoExamples, len(t.trainIdx))
	}
	if cfg.Keep == KeepBest && len(t.valIdx) == 0 {
		return nil, errors.New("config: keeping the best epoch needs validation examples")
	}
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
	}
	return c, nil
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

// Done reports whether every epoch has run.
func (t *Trainer) Done() bool { return t.st.Epoch >= t.cfg.Epochs }

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
// and, with KeepBest, the best epoch's head.
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
// the batch.
func (t *Trainer) Epoch(ctx context.Context) error {
	epoch := t.st.Epoch
	batches, err := train.Batches(len(t.trainIdx), t.cfg.BatchSize, t.cfg.Seed, epoch, false)
	if err != nil {
		return err
	}
	start := time.Now()
	var lossSum float64
	correct, seen := 0, 0
	for b, batch := range batches {
		if err := ctx.Err(); err != nil {
			return err
		}
		loss, right, err := t.step(batch, epoch)
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
		if es.ValLoss, es.ValAccuracy, err = t.validate(); err != nil {
			return fmt.Errorf("epoch %d, validation: %w", epoch+1, err)
		}
	}
	t.st.History = append(t.st.History, es)
	t.st.Epoch = epoch + 1
	if len(t.valIdx) > 0 && (t.st.Best == nil || es.ValLoss < t.st.Best.ValLoss) {
		t.st.Best = &BestEpoch{Epoch: epoch + 1, ValLoss: es.ValLoss}
		if t.cfg.Keep == KeepBest {
			t.best = t.block.Clone()
		}
	}
	return nil
}

// Result is the run so far: the kept head, the history and the counts.
func (t *Trainer) Result() *Result {
	res := &Result{Head: t.block, History: slices.Clone(t.st.History), Epoch: t.st.Epoch, Steps: t.st.Step,
		Train: len(t.trainIdx), Val: len(t.valIdx)}
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
// loss included) and how many queries ranked their positive first.
func (t *Trainer) step(batch []int, epoch int) (float64, int, error) {
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
