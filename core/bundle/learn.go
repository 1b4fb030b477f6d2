package bundle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/moe/headtrain"
)

// Feedback is one recorded choice of a visitor: the query they typed and the document they
// picked.
type Feedback struct {
	Query string `json:"query"`
	DocID string `json:"doc_id"`
}

// LearnOptions tune LearnHead; zero fields take the defaults.
type LearnOptions struct {
	// Epochs is the most epochs the product recipe trains (it stops earlier once the
	// held-out queries stop improving), or the epochs of the paper recipe (20).
	Epochs  int     `json:"epochs"`
	Seed    uint64  `json:"seed"`    // 42
	Experts int     `json:"experts"` // 6
	LR      float64 `json:"lr"`      // 1e-3: a head learns from few clicks
	// Router is "learned" (the default: a router that learns from the clicks) or "paper".
	Router string `json:"router"`
	// Recipe is "product" (the default: headtrain.Product on a gain head, which starts as
	// the identity, checks itself on held-out feedback and is kept only if it ranks the
	// held-out choices better than no head) or "paper" (the SB-MoE head and in-batch
	// training of earlier versions, kept whatever it does).
	Recipe string `json:"recipe"`
	// Progress, when set, is called after every step.
	Progress func(headtrain.Progress) `json:"-"`
}

// Recipes of LearnOptions.Recipe.
const (
	RecipeProduct = headtrain.RecipeProduct
	RecipePaper   = "paper"
)

// ErrNoFeedback is returned by LearnHead when too few distinct queries have a document:
// in-batch negatives need two, and the product recipe holds out a fifth of them (at least
// two) to check the head it learns.
var ErrNoFeedback = errors.New("too little feedback to learn from")

// LearnHead trains a new head from feedback, in memory, and swaps it in for queries only:
// documents keep the vectors the index holds, so the index stays valid. Queries are
// encoded by the bundle's model; each distinct query's positives are the documents chosen
// for it. With the product recipe every document of the index is a candidate hard negative
// and a validation target, and the head swapped in may be the untrained one, which returns
// every query vector unchanged: the feedback did not show that learning helps. The result
// is deterministic for the feedback (in order) and the options. A bundle whose own head
// changes documents cannot learn this way.
func (b *Bundle) LearnHead(ctx context.Context, feedback []Feedback, opt LearnOptions) (*headtrain.Result, error) {
	r := b.Retriever
	if r == nil {
		return nil, errors.New("learn head: the model is not loaded yet")
	}
	if r.Head() != nil && r.Manifest().HeadAppliesTo != retriever.HeadQueries {
		return nil, errors.New("learn head: the model's head changes documents too; learning a query head would need a new index")
	}
	if opt.Seed == 0 {
		opt.Seed = 42
	}
	if opt.Experts == 0 {
		opt.Experts = 6
	}
	if opt.LR == 0 {
		opt.LR = 1e-3
	}
	router := moe.RouterLearned
	switch opt.Router {
	case "", string(moe.RouterLearned):
	case string(moe.RouterPaper):
		router = moe.RouterPaper
	default:
		return nil, fmt.Errorf("learn head: router %q, want learned or paper", opt.Router)
	}
	product := true
	switch opt.Recipe {
	case "", RecipeProduct:
	case RecipePaper:
		product = false
	default:
		return nil, fmt.Errorf("learn head: recipe %q, want %s or %s", opt.Recipe, RecipeProduct, RecipePaper)
	}

	// One example per distinct query, its positives in the order they were chosen.
	var queries []string
	positives := map[string][]int{}
	for i, f := range feedback {
		d := b.DocIndex(f.DocID)
		if d < 0 {
			return nil, fmt.Errorf("learn head: feedback %d: no document %q in the index", i+1, f.DocID)
		}
		if err := CheckQuery(f.Query, 1); err != nil {
			return nil, fmt.Errorf("learn head: feedback %d: %w", i+1, err)
		}
		if _, ok := positives[f.Query]; !ok {
			queries = append(queries, f.Query)
		}
		if !slices.Contains(positives[f.Query], d) {
			positives[f.Query] = append(positives[f.Query], d)
		}
	}
	cfg := headtrain.Config{Epochs: 20, BatchSize: 64, LR: opt.LR, WeightDecay: 0.01, Seed: opt.Seed, ValFraction: -1, QueriesOnly: true}
	if product {
		cfg = headtrain.Product()
		cfg.LR, cfg.Seed = opt.LR, opt.Seed
	}
	if opt.Epochs != 0 {
		cfg.Epochs = opt.Epochs
	}
	cfg.Progress = opt.Progress
	if need := minQueries(cfg); len(queries) < need {
		return nil, fmt.Errorf("learn head: %w: %d distinct queries, at least %d are needed", ErrNoFeedback, len(queries), need)
	}
	texts := make([]string, len(queries))
	for i, q := range queries {
		texts[i] = r.Text(retriever.Query, q, retriever.Document{})
	}
	qv, err := r.Pooled(ctx, retriever.Query, texts, nil)
	if err != nil {
		return nil, err
	}
	// The product recipe ranks against the whole index; the paper's reads positives only.
	data := &headtrain.Data{Docs: make([][]float32, b.Index.Len())}
	for i, q := range queries {
		for _, d := range positives[q] {
			data.Docs[d] = b.Index.Vector(d)
		}
		data.Examples = append(data.Examples, headtrain.Example{ID: "q" + strconv.Itoa(i), Query: qv[i], Positives: positives[q]})
	}
	block := moe.Config{Hidden: r.Dim(), Experts: opt.Experts, Router: router, Mix: moe.MixTop1}
	if router == moe.RouterLearned {
		block.BalanceCoef = 0.01
	}
	if product {
		block.Output = moe.OutputGain
		for d := range data.Docs {
			data.Docs[d] = b.Index.Vector(d)
		}
	}
	head, err := moe.New(block, opt.Seed)
	if err != nil {
		return nil, fmt.Errorf("learn head: %w", err)
	}
	res, err := headtrain.Train(ctx, head, data, cfg)
	if err != nil {
		return nil, fmt.Errorf("learn head: %w", err)
	}
	if err := r.SetHead(res.Head, retriever.HeadQueries); err != nil {
		return nil, err
	}
	return res, nil
}

// minQueries is the fewest distinct queries a recipe trains on: two for in-batch
// negatives, and with validation enough that at least two are held out.
func minQueries(cfg headtrain.Config) int {
	if cfg.ValFraction <= 0 {
		return 2
	}
	n := 2
	for {
		if tr, val := headtrain.Split(n, cfg.ValFraction, 0); len(val) >= 2 && len(tr) >= 2 {
			return n
		}
		n++
	}
}

// ExportHead returns the current head as a head file (moe.HeadFile) that sbmoe reads, or
// nil when there is none.
func (b *Bundle) ExportHead() ([]byte, error) {
	if b.Retriever == nil {
		return nil, nil
	}
	head := b.Retriever.Head()
	if head == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := head.Save(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ImportHead swaps in a head file (from ExportHead, kept by the page between visits) for
// queries only; nil data is ResetHead.
func (b *Bundle) ImportHead(data []byte) error {
	if b.Retriever == nil {
		return errors.New("import head: the model is not loaded yet")
	}
	if data == nil {
		return b.ResetHead()
	}
	head, err := moe.Read(moe.HeadFile, data)
	if err != nil {
		return err
	}
	return b.Retriever.SetHead(head, retriever.HeadQueries)
}

// ResetHead forgets what was learned: the model's own head (or none) is back.
func (b *Bundle) ResetHead() error {
	if b.Retriever == nil {
		return nil
	}
	return b.Retriever.SetHead(b.ownHead, b.ownSide)
}
