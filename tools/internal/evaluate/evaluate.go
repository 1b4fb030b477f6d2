// Package evaluate scores a retriever on a BEIR dataset the one way every sbmoe command
// does: the corpus and the judged queries prepared and encoded by the retriever, passed
// through its head, the whole corpus ranked by exact dot product, and the ranking scored
// with trec_eval's definitions (core/metrics, equal to pytrec_eval).
//
// Encoding is split from scoring: Pooled keeps the encoder's vectors before any head, so
// that a caller that tries many heads on one encoder (sbmoe-experiment) encodes once.
package evaluate

import (
	"context"
	"fmt"
	"slices"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/lexical"
	"github.com/sbmoe/sbmoe/core/metrics"
	"github.com/sbmoe/sbmoe/core/retriever"
)

// Measures are the paper's metrics, in the order tables show them.
var Measures = []string{"ndcg@10", "recall@100", "mrr@10", "map@100", "p@1", "ndcg@3"}

// Depth is how many documents a query retrieves for scoring, as BEIR does.
const Depth = 1000

// Vectors are a dataset's pooled vectors before any head: every document of the corpus
// and every judged query, in order.
type Vectors struct {
	DocIDs, QueryIDs []string
	Docs, Queries    [][]float32
}

// Pooled encodes ds's corpus and judged queries with r, prepared as r's model was trained,
// and returns them before the head. progress, when set, follows the corpus.
func Pooled(ctx context.Context, r *retriever.Retriever, ds *beir.Dataset, progress func(done, total int)) (*Vectors, error) {
	v := &Vectors{}
	docs := make([]string, len(ds.Corpus))
	for i, d := range ds.Corpus {
		v.DocIDs = append(v.DocIDs, d.ID)
		docs[i] = r.Text(retriever.Doc, "", d)
	}
	var queries []string
	for _, q := range ds.JudgedQueries() {
		v.QueryIDs = append(v.QueryIDs, q.ID)
		queries = append(queries, r.Text(retriever.Query, q.Text, retriever.Document{}))
	}
	var err error
	if v.Docs, err = r.Pooled(ctx, retriever.Doc, docs, progress); err != nil {
		return nil, err
	}
	if v.Queries, err = r.Pooled(ctx, retriever.Query, queries, nil); err != nil {
		return nil, err
	}
	return v, nil
}

// Ranking modes.
const (
	Dense  = "dense"  // the retriever's vectors, exact dot product
	BM25   = "bm25"   // core/lexical's BM25 alone
	Hybrid = "hybrid" // both, fused as a site's search box fuses them (lexical.Combine)
)

// Options tune Score; the zero value scores Measures on a float32 index, dense.
type Options struct {
	Int8     bool     // search an int8 index (per-vector scale) instead of float32
	Measures []string // Measures when nil
	Mode     string   // Dense (when empty), BM25 or Hybrid
	// Lexical is the BM25 index of the corpus, in v's document order, for BM25 and Hybrid;
	// QueryTexts are the judged queries' texts, in v's query order.
	Lexical    *lexical.Index
	QueryTexts []string
}

// Result is a retriever's ranking of a dataset and its scores.
type Result struct {
	Run metrics.Run
	// PerQuery and Mean are keyed by the measure names of Options.Measures, as given.
	PerQuery map[string]map[string]float64
	Mean     map[string]float64
	// DocLoad and QueryLoad count the documents and queries routed to each expert of the
	// head (nil without one, or when the head leaves that side alone).
	DocLoad, QueryLoad []int
	Index              *index.Index // the searched index of the corpus, head applied
}

// Score passes copies of v through r's head, ranks the top Depth documents of every query
// by exact dot product (or BM25, or both fused, as opt.Mode says), and scores the ranking
// against qrels.
func Score(r *retriever.Retriever, v *Vectors, qrels beir.Qrels, opt Options) (*Result, error) {
	measures := opt.Measures
	if measures == nil {
		measures = Measures
	}
	switch opt.Mode {
	case "", Dense:
	case BM25, Hybrid:
		if opt.Lexical == nil || len(opt.QueryTexts) != len(v.QueryIDs) {
			return nil, fmt.Errorf("evaluate: mode %s needs the BM25 index and the query texts", opt.Mode)
		}
	default:
		return nil, fmt.Errorf("evaluate: mode %q, want %s, %s or %s", opt.Mode, Dense, BM25, Hybrid)
	}
	res := &Result{}
	if opt.Mode == BM25 {
		res.Run = make(metrics.Run, len(v.QueryIDs))
		for i, q := range opt.QueryTexts {
			ranked := map[string]float64{}
			for _, h := range opt.Lexical.Search(q, Depth) {
				ranked[h.ID] = float64(h.Score)
			}
			res.Run[v.QueryIDs[i]] = ranked
		}
		return res, res.score(qrels, measures)
	}
	docs, queries := clone(v.Docs), clone(v.Queries)
	res.DocLoad = counts(r, r.ApplyHead(retriever.Doc, docs))
	res.QueryLoad = counts(r, r.ApplyHead(retriever.Query, queries))
	ix := index.New(r.Dim(), index.Float32)
	ix.SetOrigin(index.Origin{Fingerprint: r.Fingerprint()})
	for i, id := range v.DocIDs {
		if err := ix.Add(id, docs[i]); err != nil {
			return nil, fmt.Errorf("corpus document %d: %w", i+1, err)
		}
	}
	if opt.Int8 {
		ix = ix.Quantized()
	}
	res.Index = ix
	hits := ix.SearchBatch(queries, Depth, 0)
	res.Run = make(metrics.Run, len(hits))
	for i, hs := range hits {
		ranked := make(map[string]float64, len(hs))
		if opt.Mode == Hybrid {
			// The lexical.FusionDepth best of each ranking, as core/bundle fuses them.
			var dense, lex []lexical.Ranked
			for _, h := range hs[:min(len(hs), lexical.FusionDepth)] {
				dense = append(dense, lexical.Ranked{Index: h.Index, Score: h.Score})
			}
			for _, h := range opt.Lexical.Search(opt.QueryTexts[i], lexical.FusionDepth) {
				lex = append(lex, lexical.Ranked{Index: h.Index, Score: h.Score})
			}
			for _, f := range lexical.Combine(Depth, dense, lex) {
				ranked[v.DocIDs[f.Index]] = f.Score
			}
		} else {
			for _, h := range hs {
				ranked[h.ID] = float64(h.Score)
			}
		}
		res.Run[v.QueryIDs[i]] = ranked
	}
	return res, res.score(qrels, measures)
}

// score fills PerQuery and Mean from the run.
func (res *Result) score(qrels beir.Qrels, measures []string) error {
	canonical := make([]string, len(measures))
	for i, name := range measures {
		var err error
		if canonical[i], err = metrics.Parse(name); err != nil {
			return err
		}
	}
	perQuery, mean, err := metrics.Evaluate(qrels, res.Run, canonical)
	if err != nil {
		return err
	}
	res.Mean = make(map[string]float64, len(measures))
	for i, name := range measures {
		res.Mean[name] = mean[canonical[i]]
	}
	res.PerQuery = make(map[string]map[string]float64, len(perQuery))
	for q, m := range perQuery {
		named := make(map[string]float64, len(measures))
		for i, name := range measures {
			named[name] = m[canonical[i]]
		}
		res.PerQuery[q] = named
	}
	return nil
}

// Dataset is Pooled then Score: r's metrics on ds. For BM25 and Hybrid it builds the BM25
// index of the corpus itself (documents as title + " " + text, queries as given); BM25
// alone encodes nothing.
func Dataset(ctx context.Context, r *retriever.Retriever, ds *beir.Dataset, opt Options, progress func(done, total int)) (*Result, error) {
	var v *Vectors
	if opt.Mode == BM25 || opt.Mode == Hybrid {
		ids, texts := make([]string, len(ds.Corpus)), make([]string, len(ds.Corpus))
		for i, d := range ds.Corpus {
			ids[i], texts[i] = d.ID, beir.DocText(d)
		}
		var err error
		if opt.Lexical, err = lexical.Build(ids, texts); err != nil {
			return nil, err
		}
		opt.QueryTexts = nil
		for _, q := range ds.JudgedQueries() {
			opt.QueryTexts = append(opt.QueryTexts, q.Text)
		}
	}
	if opt.Mode == BM25 {
		v = &Vectors{}
		for _, d := range ds.Corpus {
			v.DocIDs = append(v.DocIDs, d.ID)
		}
		for _, q := range ds.JudgedQueries() {
			v.QueryIDs = append(v.QueryIDs, q.ID)
		}
	} else {
		var err error
		if v, err = Pooled(ctx, r, ds, progress); err != nil {
			return nil, err
		}
	}
	return Score(r, v, ds.Qrels, opt)
}

func clone(vs [][]float32) [][]float32 {
	out := make([][]float32, len(vs))
	for i, v := range vs {
		out[i] = slices.Clone(v)
	}
	return out
}

// counts tallies experts per expert of r's head (nil when experts is nil).
func counts(r *retriever.Retriever, experts []int) []int {
	if experts == nil {
		return nil
	}
	load := make([]int, r.Head().Config().Experts)
	for _, e := range experts {
		load[e]++
	}
	return load
}
