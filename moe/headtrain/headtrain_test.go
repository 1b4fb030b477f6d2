package headtrain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/moe"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		n        int
		fraction float64
		val      int
	}{{100, 0.05, 5}, {40, 0.05, 2}, {20, 0.05, 0}, {3, 0, 0}, {3, 0.9, 2}, {2, 0.9, 0}} {
		tr, val := split(tc.n, tc.fraction, 42)
		all := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(tr), val...))))
		if len(val) != tc.val || len(all) != tc.n || all[0] != 0 || all[tc.n-1] != tc.n-1 {
			t.Errorf("split(%d, %g): train %v, val %v", tc.n, tc.fraction, tr, val)
		}
	}
}

// toyData is a learnable set of pooled vectors: each query is its document plus noise, in
// directions the untrained head mixes up.
func toyData(n, h int, seed uint64) *Data {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := &Data{}
	for i := range n {
		doc := make([]float32, h)
		q := make([]float32, h)
		for j := range doc {
			doc[j] = 0.25 * float32(rng.NormFloat64()) // about unit norm, as normalised encoders give
			q[j] = doc[j] + 0.2*float32(rng.NormFloat64())
		}
		d.Docs = append(d.Docs, doc)
		d.Examples = append(d.Examples, Example{ID: fmt.Sprintf("q%d", i), Query: q, Positives: []int{i}})
	}
	return d
}

func newBlock(t *testing.T, router moe.Router, seed uint64) *moe.Block {
	t.Helper()
	cfg := moe.Config{Hidden: 16, Experts: 3, Router: router, Mix: moe.MixTop1}
	if router == moe.RouterLearned {
		cfg.BalanceCoef = 0.01
	}
	b, err := moe.New(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var toyConfig = Config{Epochs: 6, BatchSize: 8, LR: 3e-3, Seed: 3, ValFraction: 0.2}

func TestTrainLearnsAndIsDeterministic(t *testing.T) {
	ctx := context.Background()
	for _, router := range []moe.Router{moe.RouterPaper, moe.RouterLearned} {
		steps := 0
		cfg := toyConfig
		cfg.Progress = func(p Progress) {
			steps++
			if p.Epochs != cfg.Epochs || p.Loss < 0 || p.Step > p.Steps {
				t.Errorf("progress %+v", p)
			}
		}
		a, err := Train(ctx, newBlock(t, router, 1), toyData(40, 16, 1), cfg)
		if err != nil {
			t.Fatal(err)
		}
		first, last := a.History[0], a.History[len(a.History)-1]
		t.Logf("%s: loss %.3f → %.3f, val loss %.3f → %.3f", router, first.Loss, last.Loss, first.ValLoss, last.ValLoss)
		if !(last.Loss < first.Loss) || a.Train != 32 || a.Val != 8 || steps != a.Steps || a.Steps != 6*4 {
			t.Errorf("%s: loss %.3f → %.3f, %d/%d examples, %d steps (%d reported)", router, first.Loss, last.Loss, a.Train, a.Val, a.Steps, steps)
		}
		b, err := Train(ctx, newBlock(t, router, 1), toyData(40, 16, 1), toyConfig)
		if err != nil {
			t.Fatal(err)
		}
		if a.Head.Digest() != b.Head.Digest() {
			t.Errorf("%s: two runs with one seed trained different heads", router)
		}
		other := toyConfig
		other.Seed = 4
		c, _ := Train(ctx, newBlock(t, router, 1), toyData(40, 16, 1), other)
		if c.Head.Digest() == a.Head.Digest() {
			t.Errorf("%s: seeds 3 and 4 trained the same head", router)
		}
	}
}

// TestRestore stops a run after two epochs, saves what a checkpoint holds, and continues in
// a new trainer: it ends with the head of the uninterrupted run.
func TestRestore(t *testing.T) {
	ctx := context.Background()
	for _, keep := range []string{KeepLast, KeepBest} {
		cfg := toyConfig
		cfg.Keep, cfg.LR = keep, 0.05
		straight, err := Train(ctx, newBlock(t, moe.RouterLearned, 2), toyData(40, 16, 2), cfg)
		if err != nil {
			t.Fatal(err)
		}
		first, err := New(newBlock(t, moe.RouterLearned, 2), toyData(40, 16, 2), cfg)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := first.Epoch(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var opt bytes.Buffer
		if err := first.Optimizer().Save(&opt); err != nil {
			t.Fatal(err)
		}
		var best *moe.Block
		if first.Best() != nil {
			best = first.Best().Clone()
		}
		block := first.Result().Head
		if keep == KeepBest {
			block = first.block // the current weights, not the best ones
		}
		second, err := New(block.Clone(), toyData(40, 16, 2), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := second.Restore(first.State(), opt.Bytes(), best); err != nil {
			t.Fatal(err)
		}
		for !second.Done() {
			if err := second.Epoch(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got := second.Result()
		if got.Head.Digest() != straight.Head.Digest() || got.Epoch != straight.Epoch || got.Steps != straight.Steps {
			t.Errorf("keep %s: restored run kept epoch %d after %d steps, the straight one epoch %d after %d (or another head)",
				keep, got.Epoch, got.Steps, straight.Epoch, straight.Steps)
		}
	}
}

func TestTrainErrors(t *testing.T) {
	good := toyData(10, 16, 1)
	short := toyData(10, 16, 1)
	short.Examples[3].Query = short.Examples[3].Query[:5]
	dup := toyData(10, 16, 1)
	dup.Examples[2].ID = dup.Examples[1].ID
	noPos := toyData(10, 16, 1)
	noPos.Examples[0].Positives = nil
	outside := toyData(10, 16, 1)
	outside.Examples[0].Positives = []int{99}
	for _, tc := range []struct {
		name string
		data *Data
		cfg  Config
		want string
	}{
		{"no data", &Data{}, toyConfig, "too few"},
		{"one example", toyData(1, 16, 1), toyConfig, "too few"},
		{"short vector", short, toyConfig, `"q3": query vector has 5 dimensions, the head 16`},
		{"duplicate id", dup, toyConfig, "not unique"},
		{"no positive", noPos, toyConfig, "no positive"},
		{"positive outside", outside, toyConfig, "not one of the 10 documents"},
		{"batch", good, Config{BatchSize: 1}, "batch size 1"},
		{"lr", good, Config{LR: -1}, "learning rate"},
		{"keep", good, Config{Keep: "first"}, `keep "first"`},
		{"best without validation", good, Config{Keep: KeepBest, ValFraction: -1}, "needs validation"},
	} {
		_, err := Train(context.Background(), newBlock(t, moe.RouterPaper, 1), tc.data, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, newBlock(t, moe.RouterPaper, 1), good, toyConfig); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
}

// TestQueriesOnly: with QueriesOnly the documents' vectors never pass through the block,
// so a head that changes queries alone learns; the document side of the loss sees h.
func TestQueriesOnly(t *testing.T) {
	cfg := toyConfig
	cfg.QueriesOnly = true
	res, err := Train(context.Background(), newBlock(t, moe.RouterLearned, 1), toyData(40, 16, 1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.History[0].Loss, res.History[len(res.History)-1].Loss
	both, _ := Train(context.Background(), newBlock(t, moe.RouterLearned, 1), toyData(40, 16, 1), toyConfig)
	if !(last < first) || res.Head.Digest() == both.Head.Digest() {
		t.Errorf("queries only: loss %.3f → %.3f; same head as both sides: %v", first, last, res.Head.Digest() == both.Head.Digest())
	}
}

// shiftedData is a task the identity ranks badly and a query head can learn: each query is
// its document with its two halves swapped (plus noise), so a query looks like another
// document until the head learns to swap it back.
func shiftedData(n, h int, seed uint64) *Data {
	rng := rand.New(rand.NewPCG(seed, 7))
	d := &Data{}
	for i := range n {
		doc := make([]float32, h)
		for j := range doc {
			doc[j] = 0.25 * float32(rng.NormFloat64())
		}
		q := make([]float32, h)
		for j := range q {
			q[j] = doc[(j+h/2)%h] + 0.05*float32(rng.NormFloat64())
		}
		d.Docs = append(d.Docs, doc)
		d.Examples = append(d.Examples, Example{ID: fmt.Sprintf("q%d", i), Query: q, Positives: []int{i}})
	}
	return d
}

func productBlock(t *testing.T, seed uint64) *moe.Block {
	t.Helper()
	b, err := moe.New(moe.ProductConfig(16), seed)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// productToy is the product recipe at the toy data's scale.
func productToy() Config {
	c := Product()
	c.BatchSize, c.HardNegatives, c.MineDepth, c.LR, c.Epochs = 16, 2, 5, 1e-2, 30
	return c
}

// TestProductLearns: on data the identity ranks badly, the product recipe's head beats
// the untrained head on validation NDCG@10 and is kept; the run is deterministic.
func TestProductLearns(t *testing.T) {
	ctx := context.Background()
	a, err := Train(ctx, productBlock(t, 1), shiftedData(80, 16, 1), productToy())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("validation NDCG@10 %.3f untrained → %.3f at epoch %d of %d (stopped %v), α = %.3f",
		a.Start.ValNDCG, a.History[max(a.Epoch-1, 0)].ValNDCG, a.Epoch, len(a.History), a.Stopped, a.Head.Gain())
	if a.Epoch == 0 || !(a.History[a.Epoch-1].ValNDCG > a.Start.ValNDCG+0.1) || a.Head.Gain() == 0 || a.Val != 16 {
		t.Errorf("kept epoch %d, validation NDCG@10 %.3f from %.3f, gain %v, %d held out",
			a.Epoch, a.History[max(a.Epoch-1, 0)].ValNDCG, a.Start.ValNDCG, a.Head.Gain(), a.Val)
	}
	b, err := Train(ctx, productBlock(t, 1), shiftedData(80, 16, 1), productToy())
	if err != nil {
		t.Fatal(err)
	}
	if a.Head.Digest() != b.Head.Digest() || a.Epoch != b.Epoch {
		t.Error("two runs with one seed kept different heads")
	}
	both := productToy()
	both.QueriesOnly = false
	c, err := Train(ctx, productBlock(t, 1), shiftedData(80, 16, 1), both)
	if err != nil {
		t.Fatal(err)
	}
	if c.Head.Digest() == a.Head.Digest() {
		t.Error("a head on both sides trained as the head on queries only")
	}
}

// TestProductGuard: where the identity already ranks every held-out query's document
// first, no trained epoch can beat it, and the guard returns the untrained head, which
// is the identity; patience ends the run early.
func TestProductGuard(t *testing.T) {
	cfg := productToy()
	data := toyData(60, 16, 3)
	for i, d := range data.Docs { // unit documents, each its own query: the identity is perfect
		var ss float32
		for _, v := range d {
			ss += v * v
		}
		for j := range d {
			d[j] /= float32(math.Sqrt(float64(ss)))
		}
		data.Examples[i].Query = slices.Clone(d)
	}
	res, err := Train(context.Background(), productBlock(t, 2), data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Start.ValNDCG != 1 || res.Epoch != 0 || res.Head.Gain() != 0 || !res.Stopped || len(res.History) != cfg.Patience {
		t.Errorf("untrained validation NDCG@10 %v; kept epoch %d, gain %v, stopped %v after %d epochs",
			res.Start.ValNDCG, res.Epoch, res.Head.Gain(), res.Stopped, len(res.History))
	}
	h := toyData(60, 16, 4).Examples[0].Query
	out := make([]float32, len(h))
	res.Head.Forward(out, h, 1, moe.Eval, nil)
	if !slices.Equal(out, h) {
		t.Error("the kept head is not the identity")
	}
}

// TestMining: the mined negatives are the best-ranked documents that are not the query's
// positives; drawn from a deeper pool, each query gets as many, from that pool.
func TestMining(t *testing.T) {
	data := shiftedData(40, 16, 4)
	data.Examples[0].Positives = []int{0, 1}
	cfg := productToy()
	cfg.HardNegatives, cfg.MineDepth = 3, 3
	tr, err := New(productBlock(t, 3), data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr.mine(0)
	for i, k := range tr.trainIdx {
		ex := data.Examples[k]
		top := topK(scoresOf(ex.Query, data.Docs), 3, func(d int) bool { return slices.Contains(ex.Positives, d) }, nil)
		if !slices.Equal(tr.negatives[i], top) {
			t.Fatalf("example %s: mined %v, want %v", ex.ID, tr.negatives[i], top)
		}
	}
	cfg.MineDepth = 10
	deep, _ := New(productBlock(t, 3), data, cfg)
	deep.mine(1)
	for i, k := range deep.trainIdx {
		ex := data.Examples[k]
		pool := topK(scoresOf(ex.Query, data.Docs), 10, func(d int) bool { return slices.Contains(ex.Positives, d) }, nil)
		neg := deep.negatives[i]
		if len(neg) != 3 || slices.ContainsFunc(neg, func(d int) bool { return !slices.Contains(pool, d) }) {
			t.Errorf("example %s: drew %v, want 3 of %v", ex.ID, neg, pool)
		}
	}
}

// scoresOf is the dot product of q with every document.
func scoresOf(q []float32, docs [][]float32) []float32 {
	s := make([]float32, len(docs))
	for i, d := range docs {
		for j := range q {
			s[i] += q[j] * d[j]
		}
	}
	return s
}

// TestProductRestore: a product run stopped after two epochs and restored ends with the
// straight run's head.
func TestProductRestore(t *testing.T) {
	ctx := context.Background()
	cfg := productToy()
	straight, err := Train(ctx, productBlock(t, 5), shiftedData(60, 16, 5), cfg)
	if err != nil {
		t.Fatal(err)
	}
	first, err := New(productBlock(t, 5), shiftedData(60, 16, 5), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := first.Epoch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var opt bytes.Buffer
	if err := first.Optimizer().Save(&opt); err != nil {
		t.Fatal(err)
	}
	second, err := New(first.block.Clone(), shiftedData(60, 16, 5), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Restore(first.State(), opt.Bytes(), first.Best().Clone()); err != nil {
		t.Fatal(err)
	}
	for !second.Done() {
		if err := second.Epoch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := second.Result()
	if got.Head.Digest() != straight.Head.Digest() || got.Epoch != straight.Epoch || got.Steps != straight.Steps {
		t.Errorf("restored run kept epoch %d after %d steps, the straight one epoch %d after %d (or another head)",
			got.Epoch, got.Steps, straight.Epoch, straight.Steps)
	}
}

func TestProductErrors(t *testing.T) {
	sparse := shiftedData(20, 16, 1)
	sparse.Docs = append(sparse.Docs, nil)
	for _, tc := range []struct {
		name string
		data *Data
		cfg  Config
		want string
	}{
		{"document without a vector", sparse, productToy(), "document 20 has no vector"},
		{"guard, keep last", shiftedData(20, 16, 1), Config{Guard: true, ValFraction: 0.2}, "needs keep best"},
		{"depth below negatives", shiftedData(20, 16, 1), Config{HardNegatives: 5, MineDepth: 3}, "5 hard negatives from the top 3"},
		{"validation", shiftedData(20, 16, 1), Config{Validation: "mrr"}, `validation "mrr"`},
		{"patience without validation", shiftedData(20, 16, 1), Config{Patience: 2, ValFraction: -1}, "stopping early needs"},
	} {
		_, err := Train(context.Background(), productBlock(t, 1), tc.data, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
