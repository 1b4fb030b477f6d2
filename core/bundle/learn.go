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
	Epochs  int     `json:"epochs"`  // 20
	Seed    uint64  `json:"seed"`    // 42
	Experts int     `json:"experts"` // 6
	LR      float64 `json:"lr"`      // 1e-3: a head learns from few clicks
	// Router is "learned" (the default: a router that learns from the clicks) or "paper".
	Router string `json:"router"`
	// Progress, when set, is called after every step.
	Progress func(headtrain.Progress) `json:"-"`
}

// ErrNoFeedback is returned by LearnHead when fewer than two distinct queries have a
// document: in-batch negatives need two.
var ErrNoFeedback = errors.New("too little feedback to learn from")

// LearnHead trains a new head from feedback, in memory, and swaps it in for queries only:
// documents keep the vectors the index holds, so the index stays valid. Queries are
// encoded by the bundle's model; each distinct query's positives are the documents chosen
// for it. The result is deterministic for the feedback (in order) and the options. A
// bundle whose own head changes documents cannot learn this way.
func (b *Bundle) LearnHead(ctx context.Context, feedback []Feedback, opt LearnOptions) (*headtrain.Result, error) {
	r := b.Retriever
	if r == nil {
		return nil, errors.New("learn head: the model is not loaded yet")
	}
	if r.Head() != nil && r.Manifest().HeadAppliesTo != retriever.HeadQueries {
		return nil, errors.New("learn head: the model's head changes documents too; learning a query head would need a new index")
	}
	if opt.Epochs == 0 {
		opt.Epochs = 20
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
	if len(queries) < 2 {
		return nil, fmt.Errorf("learn head: %w: %d distinct queries, at least 2 are needed", ErrNoFeedback, len(queries))
	}
	texts := make([]string, len(queries))
	for i, q := range queries {
		texts[i] = r.Text(retriever.Query, q, retriever.Document{})
	}
	qv, err := r.Pooled(ctx, retriever.Query, texts, nil)
	if err != nil {
		return nil, err
	}
	data := &headtrain.Data{Docs: make([][]float32, b.Index.Len())}
	for i, q := range queries {
		for _, d := range positives[q] {
			if data.Docs[d] == nil {
				data.Docs[d] = b.Index.Vector(d)
			}
		}
		data.Examples = append(data.Examples, headtrain.Example{ID: "q" + strconv.Itoa(i), Query: qv[i], Positives: positives[q]})
	}
	cfg := moe.Config{Hidden: r.Dim(), Experts: opt.Experts, Router: router, Mix: moe.MixTop1}
	if router == moe.RouterLearned {
		cfg.BalanceCoef = 0.01
	}
	head, err := moe.New(cfg, opt.Seed)
	if err != nil {
		return nil, fmt.Errorf("learn head: %w", err)
	}
	res, err := headtrain.Train(ctx, head, data, headtrain.Config{Epochs: opt.Epochs, BatchSize: 64, LR: opt.LR,
		WeightDecay: 0.01, Seed: opt.Seed, ValFraction: -1, QueriesOnly: true, Progress: opt.Progress})
	if err != nil {
		return nil, fmt.Errorf("learn head: %w", err)
	}
	if err := r.SetHead(res.Head, retriever.HeadQueries); err != nil {
		return nil, err
	}
	return res, nil
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
