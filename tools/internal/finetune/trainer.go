package finetune

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/core/train"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/moe/headtrain"
)

// Result is a finished run.
type Result struct {
	Model *bert.Model
	Block *moe.Block // nil with RouterNone
	// Retriever is Model and Block with the run's text preparation, as the exported
	// folder opens.
	Retriever *retriever.Retriever
	// History has one entry per epoch, the resumed ones included.
	History []EpochStats
	// Epoch is the epoch whose model was kept (Config.Keep), counting from 1.
	Epoch int
	Steps int // optimizer steps in all
	// Train and Val count the training and held-out examples.
	Train, Val int
}

// EpochStats summarise one epoch.
type EpochStats = headtrain.EpochStats

// ErrNoExamples is returned when the data hold fewer than two training examples.
var ErrNoExamples = headtrain.ErrNoExamples

// trainer is one run's model, optimizer and the buffers its steps reuse.
type trainer struct {
	cfg       Config
	base      string // the base model folder, for the tokenizer and config files
	data      *Pairs
	trainIdx  []int
	valIdx    []int
	qLen      int
	dLen      int
	model     *bert.Model
	texts     *retriever.Retriever // the run's text preparation over model
	block     *moe.Block
	grads     *bert.Grads
	opt       *train.AdamW
	loss      *train.InfoNCE
	head      *headtrain.Trainer // FreezeEncoder: the in-memory trainer this run drives
	st        state
	qa, da    *bert.Activations
	h, out    []float32 // (2B,H): queries then documents
	dout, dh  []float32
	dpq, dpd  [][]float32 // views of dh, per sequence, for the encoder's Backward
	qseqs     [][]int32
	dseqs     [][]int32
	lastSaved string // checkpoint folder of the last save
}

// Train runs cfg on data: it splits off the validation queries, trains for
// cfg.Epochs epochs (resuming from cfg.Out when cfg.Resume), checkpoints after each
// epoch, and exports the kept epoch's model to cfg.Out (encoder/, head.safetensors and
// sbmoe.json). A non-finite loss stops the run with an error wrapping train.ErrNonFinite
// that names the epoch and batch; the last checkpoint, written before, stays as it was.
func Train(cfg Config, data *Pairs) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	t := &trainer{cfg: cfg, data: data}
	if err := t.setup(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if t.head != nil {
		err = t.runHead()
	} else {
		err = t.run()
	}
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	res, err := t.export()
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return res, nil
}

// manifest is the trained folder's sbmoe.json.
func (t *trainer) manifest() retriever.Manifest {
	if t.cfg.Recipe == RecipeProduct {
		m := retriever.NewManifest(true, t.cfg.Lowercase, RecipeProduct)
		m.HeadAppliesTo = retriever.HeadQueries
		return m
	}
	return retriever.NewManifest(t.cfg.Router != RouterNone, t.cfg.Lowercase, t.cfg.Router)
}

// setup loads the model (from the base or the latest checkpoint), builds the block and
// the optimizer, and with a frozen encoder encodes every text once and hands the vectors
// to the in-memory head trainer.
func (t *trainer) setup() error {
	if err := validatePairs(t.data); err != nil {
		return err
	}
	cfg := t.cfg
	t.trainIdx, t.valIdx = headtrain.Split(len(t.data.Examples), max(cfg.ValFraction, 0), cfg.Seed)
	if len(t.trainIdx) < 2 {
		return fmt.Errorf("%w: %d, at least 2 are needed", ErrNoExamples, len(t.trainIdx))
	}
	var ckpt string
	if cfg.Resume {
		var err error
		if ckpt, err = t.loadState(); err != nil {
			return err
		}
	} else {
		if _, err := os.Stat(filepath.Join(cfg.Out, CheckpointsDir, latestFile)); err == nil {
			return fmt.Errorf("%s already holds a run: resume it or choose another output folder", cfg.Out)
		}
		base, err := filepath.Abs(cfg.BaseModel)
		if err != nil {
			return err
		}
		t.base = base
		t.st = state{Version: stateVersion, BaseModel: base, Fingerprint: t.fingerprint()}
	}
	modelDir := t.base
	if ckpt != "" && !cfg.FreezeEncoder {
		modelDir = checkpointEncoder(ckpt)
	}
	m, err := bert.Load(modelDir)
	if err != nil {
		return err
	}
	if cfg.Threads > 0 {
		m.Threads = cfg.Threads
	}
	t.model = m
	t.qLen = min(cmp.Or(cfg.MaxQueryLen, m.Config.MaxSeqLength), m.Config.MaxPositions)
	t.dLen = min(cfg.MaxDocLen, m.Config.MaxSeqLength, m.Config.MaxPositions)
	if t.texts, err = retriever.New(m, nil, t.manifest(), retriever.Options{Threads: cfg.Threads, BatchSize: cfg.BatchSize,
		MaxQueryTokens: t.qLen, MaxDocTokens: t.dLen}); err != nil {
		return err
	}
	if cfg.Router != RouterNone {
		if ckpt != "" {
			t.block, err = moe.Load(ckpt)
		} else {
			t.block, err = moe.New(cfg.blockConfig(m.Config.HiddenSize), cfg.Seed)
		}
		if err != nil {
			return err
		}
		if err := t.block.SetMix(cfg.Mix); err != nil {
			return err
		}
	}
	if cfg.FreezeEncoder {
		return t.setupHead(ckpt)
	}
	t.grads = m.NewGrads()
	groups := []train.Group{{Name: "encoder", LR: cfg.EncoderLR, WeightDecay: cfg.WeightDecay, Params: m.Params(t.grads)}}
	if t.block != nil {
		groups = append(groups, train.Group{Name: "head", LR: cfg.HeadLR, WeightDecay: cfg.WeightDecay, Params: t.block.Params()})
	}
	if t.opt, err = train.NewAdamW(groups...); err != nil {
		return err
	}
	if ckpt != "" {
		raw, err := os.ReadFile(checkpointOptimizer(ckpt))
		if err != nil {
			return err
		}
		if err := t.opt.Load(checkpointOptimizer(ckpt), raw); err != nil {
			return err
		}
	}
	t.loss, err = train.NewInfoNCE(cfg.Temperature)
	return err
}

// setupHead encodes every query and every positive document once, with the frozen
// encoder, and builds the in-memory head trainer over those vectors, restored from ckpt
// when resuming.
func (t *trainer) setupHead(ckpt string) error {
	ctx := context.Background()
	queries := make([]string, len(t.data.Examples))
	for i, ex := range t.data.Examples {
		queries[i] = t.texts.Text(retriever.Query, ex.Query, retriever.Document{})
	}
	// The product recipe ranks against every document; the paper's reads positives only.
	used := make([]bool, len(t.data.Docs))
	var docIdx []int
	var docs []string
	if t.cfg.Recipe == RecipeProduct {
		for d, text := range t.data.Docs {
			used[d] = true
			docIdx, docs = append(docIdx, d), append(docs, t.texts.Text(retriever.Doc, "", retriever.Document{Text: text}))
		}
	}
	for _, ex := range t.data.Examples {
		for _, d := range ex.Positives {
			if !used[d] {
				used[d] = true
				docIdx, docs = append(docIdx, d), append(docs, t.texts.Text(retriever.Doc, "", retriever.Document{Text: t.data.Docs[d]}))
			}
		}
	}
	qv, err := t.texts.Pooled(ctx, retriever.Query, queries, nil)
	if err != nil {
		return err
	}
	dv, err := t.texts.Pooled(ctx, retriever.Doc, docs, nil)
	if err != nil {
		return err
	}
	data := &headtrain.Data{Docs: make([][]float32, len(t.data.Docs))}
	for i, d := range docIdx {
		data.Docs[d] = dv[i]
	}
	for i, ex := range t.data.Examples {
		data.Examples = append(data.Examples, headtrain.Example{ID: ex.ID, Query: qv[i], Positives: ex.Positives})
	}
	cfg := headtrain.Config{Epochs: t.cfg.Epochs, BatchSize: t.cfg.BatchSize, LR: t.cfg.HeadLR, WeightDecay: t.cfg.WeightDecay,
		Temperature: t.cfg.Temperature, Seed: t.cfg.Seed, ValFraction: t.cfg.ValFraction, Keep: t.cfg.Keep, Progress: t.cfg.Progress}
	if t.cfg.Recipe == RecipeProduct {
		p := headtrain.Product()
		p.Epochs, p.BatchSize, p.LR, p.WeightDecay, p.Temperature = cfg.Epochs, cfg.BatchSize, cfg.LR, cfg.WeightDecay, cfg.Temperature
		p.Seed, p.ValFraction, p.Progress = cfg.Seed, cfg.ValFraction, cfg.Progress
		cfg = p
	}
	if t.head, err = headtrain.New(t.block, data, cfg); err != nil {
		return err
	}
	if ckpt == "" {
		return nil
	}
	raw, err := os.ReadFile(checkpointOptimizer(ckpt))
	if err != nil {
		return err
	}
	var best *moe.Block
	switch {
	case t.st.Best == nil || t.cfg.Keep != KeepBest:
	case t.st.Best.Epoch == 0: // the guard's untrained head, which the seed makes again
		best, err = moe.New(t.cfg.blockConfig(t.model.Config.HiddenSize), t.cfg.Seed)
	default:
		best, err = moe.Load(filepath.Join(t.cfg.Out, CheckpointsDir, t.st.Best.Checkpoint))
	}
	if err != nil {
		return err
	}
	hs := headtrain.State{Epoch: t.st.Epoch, Step: t.st.GlobalStep, History: t.st.History, Start: t.st.Start, Stopped: t.st.Stopped}
	if t.st.Best != nil {
		hs.Best = &headtrain.BestEpoch{Epoch: t.st.Best.Epoch, ValLoss: t.st.Best.ValLoss, ValNDCG: t.st.Best.ValNDCG}
	}
	return t.head.Restore(hs, raw, best)
}

func validatePairs(p *Pairs) error {
	if p == nil || len(p.Examples) == 0 {
		return fmt.Errorf("%w: none", ErrNoExamples)
	}
	seen := make(map[string]bool, len(p.Examples))
	for i, ex := range p.Examples {
		switch {
		case seen[ex.ID]:
			return fmt.Errorf("training example %d: id %q is not unique", i+1, ex.ID)
		case len(ex.Positives) == 0:
			return fmt.Errorf("training example %q: no positive document", ex.ID)
		}
		seen[ex.ID] = true
		for _, d := range ex.Positives {
			if d < 0 || d >= len(p.Docs) {
				return fmt.Errorf("training example %q: positive %d is not one of the %d documents", ex.ID, d, len(p.Docs))
			}
		}
	}
	return nil
}

// runHead drives the in-memory head trainer epoch by epoch, checkpointing after each.
func (t *trainer) runHead() error {
	for !t.head.Done() {
		if err := t.head.Epoch(context.Background()); err != nil {
			return fmt.Errorf("%w (the last good checkpoint is in %s)", err, t.checkpointNote())
		}
		hs := t.head.State()
		t.st.Epoch, t.st.GlobalStep, t.st.History = hs.Epoch, hs.Step, hs.History
		t.st.Start, t.st.Stopped = hs.Start, hs.Stopped
		if hs.Best != nil && (t.st.Best == nil || t.st.Best.Epoch != hs.Best.Epoch) {
			t.st.Best = &bestEpoch{Epoch: hs.Best.Epoch, ValLoss: hs.Best.ValLoss, ValNDCG: hs.Best.ValNDCG, Checkpoint: checkpointName(hs.Step)}
			if hs.Best.Epoch == 0 {
				t.st.Best.Checkpoint = "" // the untrained head has no checkpoint
			}
		}
		if err := t.checkpoint(); err != nil {
			return err
		}
	}
	return nil
}

// run trains the remaining epochs of full fine-tuning, checkpointing as it goes.
func (t *trainer) run() error {
	cfg := t.cfg
	for epoch := t.st.Epoch; epoch < cfg.Epochs; epoch++ {
		batches, err := train.Batches(len(t.trainIdx), cfg.BatchSize, cfg.Seed, epoch, false)
		if err != nil {
			return err
		}
		start, seen := time.Now(), 0
		for b := t.st.Batch; b < len(batches); b++ {
			stats, err := t.step(batches[b], epoch)
			if err != nil {
				return fmt.Errorf("epoch %d, batch %d of %d: %w (the last good checkpoint is in %s)",
					epoch+1, b+1, len(batches), err, t.checkpointNote())
			}
			t.st.Batch, t.st.GlobalStep = b+1, t.st.GlobalStep+1
			t.st.LossSum += stats.Loss
			t.st.Correct += stats.Correct
			t.st.Seen += len(batches[b])
			seen += len(batches[b])
			if cfg.Progress != nil {
				cfg.Progress(Progress{Epoch: epoch + 1, Epochs: cfg.Epochs, Step: b + 1, Steps: len(batches),
					Loss: stats.Loss, Accuracy: stats.Accuracy(), PairsPerSec: float64(seen) / time.Since(start).Seconds()})
			}
			if cfg.CheckpointEvery > 0 && t.st.GlobalStep%cfg.CheckpointEvery == 0 && b+1 < len(batches) {
				if err := t.checkpoint(); err != nil {
					return err
				}
			}
		}
		es := EpochStats{Epoch: epoch + 1, Loss: t.st.LossSum / float64(len(batches)),
			Accuracy: float64(t.st.Correct) / float64(t.st.Seen)}
		if len(t.valIdx) > 0 {
			if es.ValLoss, es.ValAccuracy, err = t.validate(); err != nil {
				return fmt.Errorf("epoch %d, validation: %w (the last good checkpoint is in %s)", epoch+1, err, t.checkpointNote())
			}
		}
		t.st.History = append(t.st.History, es)
		t.st.Epoch, t.st.Batch, t.st.LossSum, t.st.Correct, t.st.Seen = epoch+1, 0, 0, 0, 0
		if len(t.valIdx) > 0 && (t.st.Best == nil || es.ValLoss < t.st.Best.ValLoss) {
			t.st.Best = &bestEpoch{Epoch: epoch + 1, ValLoss: es.ValLoss, Checkpoint: checkpointName(t.st.GlobalStep)}
		}
		if err := t.checkpoint(); err != nil {
			return err
		}
	}
	return nil
}

// stepStats is what one step reports: InfoNCE's loss plus the block's aux loss.
type stepStats struct {
	Loss    float64
	Correct int
	n       int
}

func (s stepStats) Accuracy() float64 { return float64(s.Correct) / float64(s.n) }

// step trains the encoder (and the block, when there is one) on one batch of indices into
// trainIdx.
func (t *trainer) step(batch []int, epoch int) (stepStats, error) {
	h, b := t.model.Config.HiddenSize, len(batch)
	t.h, t.out = grow(t.h, 2*b*h), grow(t.out, 2*b*h)
	t.dout, t.dh = grow(t.dout, 2*b*h), grow(t.dh, 2*b*h)
	t.qseqs, t.dseqs = t.qseqs[:0], t.dseqs[:0]
	for _, k := range batch {
		ex := &t.data.Examples[t.trainIdx[k]]
		d := ex.Positives[train.PositiveIndex(t.cfg.Seed, epoch, ex.ID, len(ex.Positives))]
		t.qseqs = append(t.qseqs, t.tokens(retriever.Query, ex.Query))
		t.dseqs = append(t.dseqs, t.tokens(retriever.Doc, t.data.Docs[d]))
	}
	t.qa = t.model.ForwardTrain(t.qseqs, t.qa)
	t.da = t.model.ForwardTrain(t.dseqs, t.da)
	for i := range b {
		copy(t.h[i*h:(i+1)*h], t.qa.Pooled()[i])
		copy(t.h[(b+i)*h:(b+i+1)*h], t.da.Pooled()[i])
	}

	out, aux := t.h, float32(0)
	if t.block != nil {
		rng := rand.New(rand.NewPCG(t.cfg.Seed^noiseStream, uint64(t.st.GlobalStep)))
		aux = t.block.Forward(t.out, t.h, 2*b, moe.Train, rng).AuxLoss
		out = t.out
	}
	stats, err := t.loss.Forward(out[:b*h], out[b*h:], b, h)
	if err != nil {
		return stepStats{}, err
	}
	if math.IsNaN(float64(aux)) || math.IsInf(float64(aux), 0) {
		return stepStats{}, fmt.Errorf("load-balancing loss %g: %w", aux, train.ErrNonFinite)
	}

	clear(t.dout)
	t.loss.Backward(t.dout[:b*h], t.dout[b*h:])
	dh := t.dout
	if t.block != nil {
		clear(t.dh)
		t.block.Backward(t.dh, t.dout, 1)
		dh = t.dh
	}
	t.dpq, t.dpd = views(t.dpq, dh[:b*h], b, h), views(t.dpd, dh[b*h:], b, h)
	t.model.Backward(t.qa, t.dpq, t.grads)
	t.model.Backward(t.da, t.dpd, t.grads)
	t.opt.Step()
	t.model.SyncWeights()
	t.grads.Zero()
	if t.block != nil {
		t.block.ZeroGrad()
	}
	return stepStats{Loss: stats.Loss + float64(aux), Correct: stats.Correct, n: b}, nil
}

// tokens prepares a query or a document text as the run does and tokenizes it at the
// run's length for that side.
func (t *trainer) tokens(s retriever.Side, text string) []int32 {
	if s == retriever.Query {
		return t.model.Tokenizer.Encode(t.texts.Text(s, text, retriever.Document{}), t.qLen)
	}
	return t.model.Tokenizer.Encode(t.texts.Text(s, "", retriever.Document{Text: text}), t.dLen)
}

// noiseStream separates the gate noise's generator from the other draws of the seed; it
// is the one package headtrain uses, so both trainers draw the same noise.
const noiseStream = 0x6e6f697365

// validate returns the in-batch loss and accuracy of the held-out queries, each with
// its first positive, in batches of the training size (a last batch of one query,
// which would score a trivial zero, joins the one before).
func (t *trainer) validate() (loss, acc float64, err error) {
	h, n := t.model.Config.HiddenSize, len(t.valIdx)
	qs, ds := make([][]int32, n), make([][]int32, n)
	for j, i := range t.valIdx {
		ex := &t.data.Examples[i]
		qs[j] = t.tokens(retriever.Query, ex.Query)
		ds[j] = t.tokens(retriever.Doc, t.data.Docs[ex.Positives[0]])
	}
	qv := t.model.EncodeIDs(qs, t.cfg.BatchSize, nil)
	dv := t.model.EncodeIDs(ds, t.cfg.BatchSize, nil)
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
			copy(t.h[i*h:(i+1)*h], qv[lo+i])
			copy(t.h[(b+i)*h:(b+i+1)*h], dv[lo+i])
		}
		out := t.h
		if t.block != nil {
			t.block.Forward(t.out, t.h, 2*b, moe.Eval, nil)
			out = t.out
		}
		stats, err := t.loss.Forward(out[:b*h], out[b*h:], b, h)
		if err != nil {
			return 0, 0, err
		}
		sum += stats.Loss * float64(b)
		correct += stats.Correct
		lo = hi
	}
	return sum / float64(n), float64(correct) / float64(n), nil
}

// grow returns buf resliced to n floats when it has the room, else a new slice.
func grow(buf []float32, n int) []float32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]float32, n)
}

// views returns rows slices of h floats over flat, reusing vs when it has the right shape.
func views(vs [][]float32, flat []float32, rows, h int) [][]float32 {
	if cap(vs) < rows {
		vs = make([][]float32, rows)
	}
	vs = vs[:rows]
	for i := range vs {
		vs[i] = flat[i*h : (i+1)*h : (i+1)*h]
	}
	return vs
}
