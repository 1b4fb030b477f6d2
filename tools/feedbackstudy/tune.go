package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/moe/headtrain"
	"github.com/sbmoe/sbmoe/tools/internal/evaluate"
	"github.com/sbmoe/sbmoe/tools/internal/research"
)

// The product recipe's settings were chosen on SciFact's training claims alone, never on
// a test query: a fixed fifth of the claims (devTest) is held out and ranked against the
// whole corpus, heads train on clicks from the others, and each variant of the recipe is
// compared with the recipe and with zero-shot there. The variants change one setting at a
// time.

// devTest is how many training claims the selection holds out; devStream draws them.
const (
	devTest   = 160
	devStream = 0xde5
)

// devClicks are the click counts the selection trains at: few and all the others.
var devClicks = []int{50, 100000}

// variants are the recipe's alternatives the selection compares, the recipe first.
var variants = []arm{
	armProduct,
	productArm("lr-3e-4", "learning rate 3e-4", func(_ *moe.Config, t *headtrain.Config) {
		if t != nil {
			t.LR = 3e-4
		}
	}),
	productArm("lr-3e-3", "learning rate 3e-3", func(_ *moe.Config, t *headtrain.Config) {
		if t != nil {
			t.LR = 3e-3
		}
	}),
	productArm("hard-top4", "4 hard negatives, the top 4", func(_ *moe.Config, t *headtrain.Config) {
		if t != nil {
			t.HardNegatives, t.MineDepth = 4, 4
		}
	}),
	productArm("hard-16of50", "16 hard negatives from the top 50", func(_ *moe.Config, t *headtrain.Config) {
		if t != nil {
			t.HardNegatives, t.MineDepth = 16, 50
		}
	}),
	productArm("val-10", "a tenth held out", func(_ *moe.Config, t *headtrain.Config) {
		if t != nil {
			t.ValFraction = 0.1
		}
	}),
	productArm("mix-all", "every expert mixed at search (ALL)", func(b *moe.Config, _ *headtrain.Config) {
		if b != nil {
			b.Mix = moe.MixAll
		}
	}),
	productArm("one-pass", "an epoch one pass, however few steps", func(_ *moe.Config, t *headtrain.Config) {
		if t != nil {
			t.MinSteps = 0
		}
	}),
	productArm("patience-5", "patience 5", func(_ *moe.Config, t *headtrain.Config) {
		if t != nil {
			t.Patience = 5
		}
	}),
	productArm("paper-router", "the paper's router", func(b *moe.Config, _ *headtrain.Config) {
		if b != nil {
			b.Router, b.BalanceCoef = moe.RouterPaper, 0
		}
	}),
}

// devCollection is SciFact with its training claims split: the held-out claims are the
// test queries, the others the clicks.
func devCollection(c *collection) *collection {
	perm := rand.New(rand.NewPCG(7, devStream)).Perm(len(c.clicks))
	held := perm[:devTest]
	slices.Sort(held)
	d := &collection{name: c.name + "-dev", dir: c.dir, supervised: true, corpus: c.corpus, test: beir.Qrels{}}
	d.vectors = &evaluate.Vectors{DocIDs: c.vectors.DocIDs, Docs: c.vectors.Docs}
	isHeld := map[int]bool{}
	for _, i := range held {
		isHeld[i] = true
		ex := c.clicks[i]
		d.vectors.QueryIDs = append(d.vectors.QueryIDs, ex.ID)
		d.vectors.Queries = append(d.vectors.Queries, ex.Query)
		rel := map[string]int{}
		for _, p := range ex.Positives {
			rel[c.corpus.ID(p)] = 1
		}
		d.test[ex.ID] = rel
	}
	for i, ex := range c.clicks {
		if !isHeld[i] {
			d.clicks = append(d.clicks, ex)
		}
	}
	return d
}

// tuneRow is one variant at one click count: the seeds' runs.
type tuneRow struct {
	Arm    arm
	Clicks int
	Runs   []*runResult
}

// tune trains every variant on the development split of SciFact.
func (st *study) tune(ctx context.Context, c *collection) (*collection, []tuneRow, error) {
	if !c.supervised {
		return nil, nil, fmt.Errorf("%s has no training claims to select the recipe on", c.name)
	}
	dev := devCollection(c)
	r, err := st.retriever()
	if err != nil {
		return nil, nil, err
	}
	if dev.zeroShot, err = research.Score(r, dev.vectors, dev.test, dev.dir); err != nil {
		return nil, nil, err
	}
	var out []tuneRow
	for _, n := range devClicks {
		for _, a := range variants {
			row := tuneRow{Arm: a, Clicks: min(n, len(dev.clicks))}
			for _, seed := range st.seeds {
				run, err := st.trainRun(ctx, dev, a, pairsClicks, n, seed)
				if err != nil {
					return nil, nil, err
				}
				row.Runs = append(row.Runs, run)
			}
			out = append(out, row)
		}
	}
	return dev, out, nil
}
