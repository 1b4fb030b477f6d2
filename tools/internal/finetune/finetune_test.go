package finetune

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/core/train"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/moe/headtrain"
)

// tinyModel is a random 2-layer BERT (H=32) with its tokenizer.
var tinyModel = filepath.Join("..", "..", "..", "testdata", "embeddings", "tiny")

// toyWords are in the tiny model's vocabulary, one token each.
var toyWords = strings.Fields("with that from were this they which have first also their been when after there into " +
	"time would what about said over then other more like back them only some could where just during")

// toyPairs is a learnable set: query i is one word, its document repeats that word among
// words of other documents, so matching the shared token solves it.
func toyPairs(n int) *Pairs {
	p := &Pairs{}
	for i := range n {
		w := toyWords[i%len(toyWords)]
		p.Examples = append(p.Examples, Example{ID: fmt.Sprintf("q%d", i), Query: w, Positives: []int{i}})
		p.Docs = append(p.Docs, fmt.Sprintf("%s %s %s %s", w, toyWords[(i+7)%len(toyWords)], w, toyWords[(i+13)%len(toyWords)]))
	}
	return p
}

// toyConfig trains the tiny model fast: large learning rates, small batches.
func toyConfig(t *testing.T) Config {
	return Config{BaseModel: tinyModel, Out: t.TempDir(), Epochs: 2, BatchSize: 8, EncoderLR: 1e-3, HeadLR: 1e-3,
		Experts: 3, MaxQueryLen: 8, MaxDocLen: 16, Threads: 1, Lowercase: true}
}

// weightsOf copies every trained tensor of a result, by name.
func weightsOf(r *Result) map[string][]float32 {
	w := map[string][]float32{}
	for _, p := range r.Model.Params(nil) {
		w["encoder."+p.Name] = slices.Clone(p.Data)
	}
	if r.Block != nil {
		for _, p := range r.Block.Params() {
			w["moe."+p.Name] = slices.Clone(p.Data)
		}
	}
	return w
}

// sameWeights reports the first tensor that differs, bit for bit.
func sameWeights(t *testing.T, a, b map[string][]float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d tensors vs %d", len(a), len(b))
	}
	for name, x := range a {
		y := b[name]
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				t.Fatalf("%s[%d]: %g vs %g", name, i, x[i], y[i])
			}
		}
	}
}

// TestLossDecreases trains each configuration for 12 epochs. Fewer are not enough: with
// the paper router the gate's float32-noise gradient, which AdamW scales up, makes the
// first epochs wander (the loss may rise before it falls), differently for the SIMD and
// scalar kernels.
func TestLossDecreases(t *testing.T) {
	for _, tc := range []struct {
		router string
		freeze bool
	}{{RouterNone, false}, {RouterPaper, false}, {RouterLearned, false}, {RouterPaper, true}, {RouterLearned, true}} {
		t.Run(fmt.Sprintf("%s/freeze=%v", tc.router, tc.freeze), func(t *testing.T) {
			cfg := toyConfig(t)
			cfg.Router, cfg.FreezeEncoder, cfg.Epochs, cfg.ValFraction = tc.router, tc.freeze, 12, -1
			cfg.HeadLR = 3e-3
			steps := 0
			cfg.Progress = func(p Progress) {
				steps++
				if p.Epochs != 12 || p.Steps != 3 || p.Loss < 0 || p.PairsPerSec <= 0 {
					t.Errorf("progress %+v", p)
				}
			}
			res, err := Train(cfg, toyPairs(24))
			if err != nil {
				t.Fatal(err)
			}
			first, last := res.History[0].Loss, res.History[len(res.History)-1].Loss
			for _, h := range res.History {
				t.Logf("epoch %d loss %.4f", h.Epoch, h.Loss)
			}
			t.Logf("loss %.4f → %.4f, accuracy %.2f → %.2f", first, last, res.History[0].Accuracy, res.History[len(res.History)-1].Accuracy)
			if !(last < first) || steps != 36 || res.Steps != 36 {
				t.Errorf("loss %.4f → %.4f over %d steps (result says %d)", first, last, steps, res.Steps)
			}
			if (res.Block == nil) != (tc.router == RouterNone) {
				t.Errorf("block %v for router %s", res.Block != nil, tc.router)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	var runs []map[string][]float32
	for range 2 {
		cfg := toyConfig(t)
		cfg.Router = RouterLearned
		res, err := Train(cfg, toyPairs(20))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, weightsOf(res))
	}
	sameWeights(t, runs[0], runs[1])

	cfg := toyConfig(t)
	cfg.Router, cfg.Seed = RouterLearned, 7
	res, err := Train(cfg, toyPairs(20))
	if err != nil {
		t.Fatal(err)
	}
	if w := weightsOf(res); slices.Equal(w["moe.cls_1.weight"], runs[0]["moe.cls_1.weight"]) {
		t.Error("seeds 42 and 7 trained the same gate")
	}
}

// crash stops a run from inside its progress callback, as a killed process would,
// after the given global step.
type crash struct{}

func trainUntilCrash(t *testing.T, cfg Config, data *Pairs, afterStep int) {
	t.Helper()
	steps := 0
	cfg.Progress = func(Progress) {
		if steps++; steps == afterStep {
			panic(crash{})
		}
	}
	defer func() {
		if r := recover(); r != (crash{}) {
			t.Fatalf("run did not crash at step %d: %v", afterStep, r)
		}
	}()
	Train(cfg, data)
}

func TestResumeEquivalence(t *testing.T) {
	for _, tc := range []struct {
		name   string
		freeze bool
		every  int // checkpoint interval in steps
		crash  int // step after which the first run dies; 0 = it ends after epoch 1
	}{
		{"epoch boundary", false, 0, 0},
		{"mid-epoch", false, 2, 3},
		{"frozen encoder, crash mid-epoch", true, 0, 4}, // checkpoints after each epoch only
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := toyPairs(20) // 20 training pairs (5% would be one query: none held out), batches of 8, 8, 4
			cfg := toyConfig(t)
			cfg.FreezeEncoder, cfg.CheckpointEvery = tc.freeze, tc.every
			straight, err := Train(cfg, data)
			if err != nil {
				t.Fatal(err)
			}

			cfg.Out = t.TempDir()
			if tc.crash == 0 && !tc.freeze {
				once := cfg
				once.Epochs = 1
				if _, err := Train(once, data); err != nil {
					t.Fatal(err)
				}
			} else {
				trainUntilCrash(t, cfg, data, tc.crash)
			}
			cfg.Resume, cfg.BaseModel = true, ""
			resumed, err := Train(cfg, data)
			if err != nil {
				t.Fatal(err)
			}
			sameWeights(t, weightsOf(straight), weightsOf(resumed))
			if len(resumed.History) != 2 || resumed.History[1] != straight.History[1] || resumed.Steps != straight.Steps {
				t.Errorf("history %+v, want %+v", resumed.History, straight.History)
			}
		})
	}
}

func TestNonFiniteStops(t *testing.T) {
	data := toyPairs(20)
	cfg := toyConfig(t)
	cfg.Epochs = 1
	if _, err := Train(cfg, data); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(cfg.Out, CheckpointsDir, checkpointName(3))
	saved, err := bert.Load(checkpointEncoder(good))
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(saved.Params(nil)[0].Data)

	// Resuming with an absurd learning rate blows the weights up within a step or two.
	cfg.Epochs, cfg.Resume, cfg.EncoderLR, cfg.HeadLR = 2, true, 1e30, 1e30
	_, err = Train(cfg, data)
	if !errors.Is(err, train.ErrNonFinite) || !strings.Contains(err.Error(), "epoch 2, batch") || !strings.Contains(err.Error(), good) {
		t.Fatalf("error %v: want a non-finite loss naming epoch 2, its batch and %s", err, good)
	}
	t.Log(err)
	latest, err := os.ReadFile(filepath.Join(cfg.Out, CheckpointsDir, latestFile))
	if err != nil || strings.TrimSpace(string(latest)) != checkpointName(3) {
		t.Fatalf("latest = %q, %v", latest, err)
	}
	again, err := bert.Load(checkpointEncoder(good))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, again.Params(nil)[0].Data) {
		t.Error("the last good checkpoint changed")
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	cfg := toyConfig(t)
	cfg.Epochs, cfg.Mix = 1, moe.MixAll
	res, err := Train(cfg, toyPairs(20))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"encoder/config.json", "encoder/vocab.txt", "encoder/tokenizer.json", "encoder/modules.json",
		"encoder/1_Pooling/config.json", "encoder/model.safetensors", HeadFile, retriever.ManifestFile,
		TrainingFile, "checkpoints/latest", "checkpoints/step-00000003/state.json", "checkpoints/step-00000003/optimizer.safetensors"} {
		if _, err := os.Stat(filepath.Join(cfg.Out, f)); err != nil {
			t.Error(err)
		}
	}
	r, err := retriever.OpenDir(cfg.Out, retriever.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Head() == nil || r.Head().Config().Mix != moe.MixAll || !r.Manifest().Lowercase || r.Manifest().Recipe != RouterPaper {
		t.Fatalf("reopened: head %v, manifest %+v", r.Head() != nil, r.Manifest())
	}
	if r.Fingerprint() != res.Retriever.Fingerprint() {
		t.Errorf("fingerprint %s reopened, %s trained", r.Fingerprint(), res.Retriever.Fingerprint())
	}
	ctx := context.Background()
	queries := []string{"With THAT from", "the world", "during"}
	want, err := res.Retriever.EncodeQueries(ctx, queries)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.EncodeQueries(ctx, queries)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if !slices.Equal(want[i], got[i]) {
			t.Fatalf("query %d: reopened model gives %v, trained model %v", i, got[i][:4], want[i][:4])
		}
	}
}

func TestKeepBest(t *testing.T) {
	cfg := toyConfig(t)
	cfg.Epochs, cfg.Keep, cfg.ValFraction = 3, KeepBest, 0.25
	// A learning rate this large makes the validation loss move, so that the best
	// epoch need not be the last.
	cfg.EncoderLR, cfg.HeadLR = 0.05, 0.05
	res, err := Train(cfg, toyPairs(24))
	if err != nil {
		t.Fatal(err)
	}
	best := 0
	for i, e := range res.History {
		if e.ValLoss < res.History[best].ValLoss {
			best = i
		}
	}
	if res.Val != 6 || res.Train != 18 || res.Epoch != best+1 {
		t.Fatalf("val %d, train %d, kept epoch %d; history %+v", res.Val, res.Train, res.Epoch, res.History)
	}
	kept := filepath.Join(cfg.Out, CheckpointsDir, checkpointName(3*(best+1)))
	m, err := bert.Load(checkpointEncoder(kept))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Params(nil)[5].Data, res.Model.Params(nil)[5].Data) {
		t.Errorf("the result is not the model of epoch %d", best+1)
	}
}

func TestBadRuns(t *testing.T) {
	ok := toyPairs(20)
	for _, tc := range []struct {
		name string
		edit func(*Config)
		data *Pairs
		want string
	}{
		{"no base", func(c *Config) { c.BaseModel = "" }, ok, "no base model"},
		{"no out", func(c *Config) { c.Out = "" }, ok, "no output folder"},
		{"batch of one", func(c *Config) { c.BatchSize = 1 }, ok, "at least 2 pairs"},
		{"router", func(c *Config) { c.Router = "magic" }, ok, `router "magic"`},
		{"frozen without block", func(c *Config) { c.Router, c.FreezeEncoder = RouterNone, true }, ok, "nothing to train"},
		{"keep", func(c *Config) { c.Keep = "first" }, ok, `keep "first"`},
		{"negative lr", func(c *Config) { c.HeadLR = -1 }, ok, "learning rates"},
		{"missing model", func(c *Config) { c.BaseModel = "no/such/model" }, ok, "no/such/model"},
		{"resume nothing", func(c *Config) { c.Resume = true }, ok, "holds no checkpoint"},
		{"no examples", nil, &Pairs{}, "too few training examples"},
		{"one example", nil, toyPairs(1), "too few training examples"},
		{"duplicate id", nil, &Pairs{Docs: []string{"a"}, Examples: []Example{{ID: "x", Query: "a", Positives: []int{0}}, {ID: "x", Query: "b", Positives: []int{0}}}}, "not unique"},
		{"positive out of range", nil, &Pairs{Docs: []string{"a"}, Examples: []Example{{ID: "x", Query: "a", Positives: []int{3}}}}, "not one of the 1 documents"},
		{"no positive", nil, &Pairs{Docs: []string{"a"}, Examples: []Example{{ID: "x", Query: "a"}}}, "no positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := toyConfig(t)
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			_, err := Train(cfg, tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}

	// A second run into the same folder, and a resume with other settings, are refused.
	cfg := toyConfig(t)
	cfg.Epochs = 1
	if _, err := Train(cfg, ok); err != nil {
		t.Fatal(err)
	}
	if _, err := Train(cfg, ok); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("second run: %v", err)
	}
	cfg.Resume, cfg.BatchSize = true, 4
	if _, err := Train(cfg, ok); err == nil || !strings.Contains(err.Error(), "run settings") {
		t.Errorf("resume with another batch size: %v", err)
	}
}

// TestFrozenIsHeadtrain: sbmoe train --freeze-encoder is a layer over the in-memory
// trainer. The head it exports is, bit for bit, the head headtrain.Train makes from the
// same pairs encoded by a retriever over the base model; with KeepBest and a resume too.
func TestFrozenIsHeadtrain(t *testing.T) {
	data := toyPairs(24)
	for _, keep := range []string{KeepLast, KeepBest} {
		cfg := toyConfig(t)
		cfg.FreezeEncoder, cfg.Router, cfg.Epochs, cfg.Keep, cfg.ValFraction = true, RouterLearned, 4, keep, 0.25
		cfg.HeadLR = 0.05 // large, so that the best epoch need not be the last
		disk, err := Train(cfg, data)
		if err != nil {
			t.Fatal(err)
		}

		r, err := retriever.OpenDir(tinyModel, retriever.Options{MaxQueryTokens: cfg.MaxQueryLen, MaxDocTokens: cfg.MaxDocLen})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var queries, docs []string
		for _, ex := range data.Examples {
			queries = append(queries, strings.ToLower(ex.Query))
		}
		for _, d := range data.Docs {
			docs = append(docs, strings.ToLower(d))
		}
		qv, _ := r.Pooled(ctx, retriever.Query, queries, nil)
		dv, _ := r.Pooled(ctx, retriever.Doc, docs, nil)
		mem := &headtrain.Data{Docs: dv}
		for i, ex := range data.Examples {
			mem.Examples = append(mem.Examples, headtrain.Example{ID: ex.ID, Query: qv[i], Positives: ex.Positives})
		}
		block, err := moe.New(moe.Config{Hidden: 32, Experts: 3, Router: moe.RouterLearned, Mix: moe.MixTop1, BalanceCoef: 0.01}, cfg.Seed)
		if err != nil {
			t.Fatal(err)
		}
		got, err := headtrain.Train(ctx, block, mem, headtrain.Config{Epochs: cfg.Epochs, BatchSize: cfg.BatchSize, LR: cfg.HeadLR,
			WeightDecay: cfg.WeightDecay, Temperature: 0.05, Seed: cfg.Seed, ValFraction: cfg.ValFraction, Keep: keep})
		if err != nil {
			t.Fatal(err)
		}
		if got.Epoch != disk.Epoch || got.Head.Digest() != disk.Block.Digest() {
			t.Errorf("keep %s: in memory kept epoch %d (head %.12s), on disk epoch %d (head %.12s)", keep, got.Epoch, got.Head.Digest(), disk.Epoch, disk.Block.Digest())
		}
		onDisk, err := moe.Load(cfg.Out)
		if err != nil || onDisk.Digest() != disk.Block.Digest() {
			t.Errorf("keep %s: exported head differs from the result (%v)", keep, err)
		}

		// A run stopped after two epochs and resumed ends with the same head.
		cfg2 := cfg
		cfg2.Out, cfg2.Epochs = t.TempDir(), 2
		if _, err := Train(cfg2, data); err != nil {
			t.Fatal(err)
		}
		cfg2.Epochs, cfg2.Resume, cfg2.BaseModel = cfg.Epochs, true, ""
		resumed, err := Train(cfg2, data)
		if err != nil {
			t.Fatal(err)
		}
		if resumed.Block.Digest() != disk.Block.Digest() || resumed.Epoch != disk.Epoch {
			t.Errorf("keep %s: resumed run kept epoch %d, the straight one %d, or another head", keep, resumed.Epoch, disk.Epoch)
		}
	}
}
