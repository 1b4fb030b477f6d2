package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/moe/headtrain"
	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
	"github.com/sbmoe/sbmoe/tools/internal/research"
)

// Where an arm's training pairs come from.
const (
	pairsClicks = "clicks" // SciFact's training claims and their relevant abstracts
	pairsCrops  = "crops"  // a crop of each document: with the document itself, or with a second crop (paper)
	pairsTitles = "titles" // each document's title with the document
)

// arm is one way of training a head: the block, the trainer's settings, which side the
// head changes and where its pairs come from.
type arm struct {
	Name  string // in run folders and results.json
	Label string // in the report
	// Product arms pair a pseudo-query with the document as the index holds it; the
	// paper's recipe pairs two crops, as sbmoe-experiment trains.
	Product bool
	Block   func(hidden int) moe.Config
	Train   func(seed uint64) headtrain.Config
	Side    string // retriever.HeadQueries or retriever.HeadBoth
}

// productArm is the product recipe, changed by edit.
func productArm(name, label string, edit func(*moe.Config, *headtrain.Config)) arm {
	return arm{Name: name, Label: label, Product: true, Side: retriever.HeadQueries,
		Block: func(hidden int) moe.Config {
			c := moe.ProductConfig(hidden)
			if edit != nil {
				edit(&c, nil)
			}
			return c
		},
		Train: func(seed uint64) headtrain.Config {
			c := headtrain.Product()
			c.Seed = seed
			if edit != nil {
				edit(nil, &c)
			}
			return c
		}}
}

// bothSides is a trained on both sides, applied to both sides when scored: documents
// pass through the head as the queries do (the index is rebuilt).
func bothSides(a arm) arm {
	a.Side = retriever.HeadBoth
	return a
}

// paperArm is the SB-MoE recipe of the head-only runs of sbmoe-experiment, on both sides.
func paperArm(router moe.Router) arm {
	return arm{Name: string(router), Label: string(router) + " router (paper recipe)", Side: retriever.HeadBoth,
		Block: func(hidden int) moe.Config {
			c := moe.Config{Hidden: hidden, Experts: 6, Router: router, Mix: moe.MixTop1}
			if router == moe.RouterLearned {
				c.BalanceCoef = 0.01
			}
			return c
		},
		Train: func(seed uint64) headtrain.Config {
			return headtrain.Config{Epochs: 20, BatchSize: 64, LR: 1e-4, WeightDecay: 0, Temperature: 0.05, Seed: seed,
				ValFraction: 0.05, Keep: headtrain.KeepLast}
		}}
}

var (
	armProduct = productArm("product", "product head, queries only", nil)
	armBoth    = bothSides(productArm("product-both", "product head, both sides", func(_ *moe.Config, t *headtrain.Config) {
		if t != nil {
			t.QueriesOnly = false
		}
	}))
	armPaper   = paperArm(moe.RouterPaper)
	armLearned = paperArm(moe.RouterLearned)
	// The ablations: the product recipe with one part left out.
	ablations = []arm{
		productArm("no-hard-negatives", "− hard negatives (in-batch only)", func(_ *moe.Config, t *headtrain.Config) {
			if t != nil {
				t.HardNegatives, t.MineDepth = 0, 0
			}
		}),
		productArm("loss-validation", "− NDCG validation (in-batch loss instead)", func(_ *moe.Config, t *headtrain.Config) {
			if t != nil {
				t.Validation = headtrain.ValidateLoss
			}
		}),
		productArm("no-guard", "− guard (best trained epoch even if worse than untrained)", func(_ *moe.Config, t *headtrain.Config) {
			if t != nil {
				t.Guard = false
			}
		}),
		productArm("paper-output", "− identity start (the paper's output, normalize(mix) + h)", func(b *moe.Config, _ *headtrain.Config) {
			if b != nil {
				b.Output = moe.OutputPaper
			}
		}),
	}
)

// runResult is one trained head and its scores, saved as result.json in its run folder.
type runResult struct {
	Set          string  `json:"dataset"`
	Arm          string  `json:"arm"`
	Pairs        string  `json:"pairs"`
	Clicks       int     `json:"clicks,omitempty"` // SciFact: training claims used
	Seed         uint64  `json:"seed"`
	Examples     int     `json:"examples"`
	Train        int     `json:"train"`
	Val          int     `json:"validation"`
	TrainSeconds float64 `json:"train_seconds"`
	Epochs       int     `json:"epochs"` // run
	Kept         int     `json:"kept_epoch"`
	Stopped      bool    `json:"stopped_early,omitempty"`
	Gain         float32 `json:"gain,omitempty"`
	// StartNDCG and KeptNDCG are the validation NDCG@10 of the untrained and the kept
	// head (product arms).
	StartNDCG float64                `json:"val_ndcg_untrained,omitempty"`
	KeptNDCG  float64                `json:"val_ndcg_kept,omitempty"`
	History   []headtrain.EpochStats `json:"history"`
	Scores    research.Scores        `json:"scores"`
	// Recipe is the block's and the trainer's settings: a result made with other settings
	// (the recipe changed since) is run again.
	Recipe string `json:"recipe"`
}

// recipeOf is the settings an arm trains with at a seed, as runResult.Recipe records them.
func recipeOf(a arm, hidden int, seed uint64) string {
	b, _ := json.Marshal(struct {
		Block moe.Config
		Train headtrain.Config
		Side  string
	}{a.Block(hidden), a.Train(seed), a.Side}) // numbers, strings, bools; Progress is nil
	return string(b)
}

const resultFile = "result.json"

// clickStream orders SciFact's training claims for a seed: the visitors' arrival order.
const clickStream = 0xc11c

// clickOrder returns the first n claims in the seed's arrival order.
func clickOrder(clicks []headtrain.Example, n int, seed uint64) []headtrain.Example {
	perm := rand.New(rand.NewPCG(seed, clickStream)).Perm(len(clicks))
	out := make([]headtrain.Example, 0, min(n, len(clicks)))
	for _, i := range perm[:min(n, len(clicks))] {
		out = append(out, clicks[i])
	}
	return out
}

// sampleStream draws the label-free pairs a product head trains on, when there are more
// than maxPairs.
const sampleStream = 0x5a3b1e

// trainingData returns an arm's training data on a collection. A product arm trains on at
// most maxPairs label-free pairs, drawn from the seed (hard negatives and validation still
// rank against the whole corpus); the paper's recipe on all of them, as sbmoe-experiment.
func trainingData(c *collection, a arm, pairs string, clicks int, seed uint64, maxPairs int) (*headtrain.Data, error) {
	corpus := research.Rows(c.corpus)
	sample := func(ex []headtrain.Example) []headtrain.Example {
		if maxPairs <= 0 || len(ex) <= maxPairs {
			return ex
		}
		keep := rand.New(rand.NewPCG(seed, sampleStream)).Perm(len(ex))[:maxPairs]
		slices.Sort(keep)
		out := make([]headtrain.Example, len(keep))
		for i, k := range keep {
			out[i] = ex[k]
		}
		return out
	}
	switch {
	case pairs == pairsClicks:
		return &headtrain.Data{Examples: clickOrder(c.clicks, clicks, seed), Docs: corpus}, nil
	case pairs == pairsTitles:
		return &headtrain.Data{Examples: sample(c.titles), Docs: corpus}, nil
	case pairs == pairsCrops && a.Product:
		ex := make([]headtrain.Example, len(c.crops))
		for i, e := range c.crops {
			ex[i] = headtrain.Example{ID: e.ID, Query: e.Query, Positives: []int{c.cropOf[i]}}
		}
		return &headtrain.Data{Examples: sample(ex), Docs: corpus}, nil
	case pairs == pairsCrops:
		return &headtrain.Data{Examples: c.crops, Docs: c.cropDocs}, nil
	}
	return nil, fmt.Errorf("%s has no %s pairs", c.name, pairs)
}

// runDir is where one run keeps its result.
func (st *study) runDir(c *collection, a arm, pairs string, clicks int, seed uint64) string {
	what := pairs
	if pairs == pairsClicks {
		what = fmt.Sprintf("clicks%d", clicks)
	}
	return filepath.Join(st.out, c.name, a.Name, fmt.Sprintf("%s-seed%d", what, seed))
}

// trainRun trains one head (or reads its finished result) and scores it.
func (st *study) trainRun(ctx context.Context, c *collection, a arm, pairs string, clicks int, seed uint64) (*runResult, error) {
	dir := st.runDir(c, a, pairs, clicks, seed)
	recipe := recipeOf(a, c.corpus.Dim(), seed)
	if a.Product && pairs != pairsClicks {
		recipe += fmt.Sprintf(" pairs≤%d", st.maxPairs)
	}
	if raw, err := os.ReadFile(filepath.Join(dir, resultFile)); err == nil {
		var r runResult
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("%s: %w (delete the run's folder to run it again)", filepath.Join(dir, resultFile), err)
		}
		if r.Recipe == recipe {
			return &r, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	data, err := trainingData(c, a, pairs, clicks, seed, st.maxPairs)
	if err != nil {
		return nil, err
	}
	block, err := moe.New(a.Block(c.corpus.Dim()), seed)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(st.stderr, "%s: %s on %d %s pairs, seed %d\n", c.name, a.Name, len(data.Examples), pairs, seed)
	start := time.Now()
	res, err := headtrain.Train(ctx, block, data, a.Train(seed))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	r := &runResult{Set: c.name, Arm: a.Name, Pairs: pairs, Seed: seed, Examples: len(data.Examples), Train: res.Train,
		Val: res.Val, TrainSeconds: time.Since(start).Seconds(), Epochs: len(res.History), Kept: res.Epoch,
		Stopped: res.Stopped, Gain: res.Head.Gain(), History: res.History, Recipe: recipe}
	if pairs == pairsClicks {
		r.Clicks = len(data.Examples)
	}
	if res.Start != nil {
		r.StartNDCG = res.Start.ValNDCG
	}
	if r.Kept > 0 {
		r.KeptNDCG = res.History[r.Kept-1].ValNDCG
	} else if res.Start != nil {
		r.KeptNDCG = res.Start.ValNDCG
	}
	if r.Scores, err = st.scoreHead(c, res.Head, a.Side); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return r, atomicfile.WriteJSON(filepath.Join(dir, resultFile), r)
}

// scoreHead scores a head applied to side on the collection's test queries.
func (st *study) scoreHead(c *collection, head *moe.Block, side string) (research.Scores, error) {
	base, err := st.retriever()
	if err != nil {
		return research.Scores{}, err
	}
	r, err := retriever.New(base.Encoder(), nil, base.Manifest(), retriever.Options{Threads: st.threads})
	if err != nil {
		return research.Scores{}, err
	}
	if err := r.SetHead(head, side); err != nil {
		return research.Scores{}, err
	}
	return research.Score(r, c.vectors, c.test, c.dir)
}
