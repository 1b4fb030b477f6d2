package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe/headtrain"
	"github.com/sbmoe/sbmoe/tools/internal/evaluate"
	"github.com/sbmoe/sbmoe/tools/internal/research"
)

// studySets are the collections of the study, in report order: SciFact has training
// claims (the simulated clicks); the others have only their corpus.
var studySets = []string{"scifact", "cisi", "medline", "cacm", "npl", "lisa", "adi"}

// collection is one collection: its test judgements and the encoder's vectors of its
// corpus, its judged test queries and its training (or pseudo-)queries.
type collection struct {
	name       string
	dir        string
	supervised bool // SciFact: trained from qrels/train.tsv
	test       beir.Qrels
	unseen     []string // SciFact: test queries none of whose relevant documents a training query has
	corpus     *index.Index
	queries    *index.Index
	vectors    *evaluate.Vectors // corpus and test queries, as evaluate scores them

	// clicks are SciFact's training claims, each with its relevant abstracts (corpus
	// indices), in the order of the query file.
	clicks []headtrain.Example
	// crops are the label-free pairs of sbmoe-experiment: each document's first crop (a
	// query vector) with its second crop (a document vector) in cropDocs, and the document
	// it came from (corpus index) in cropOf.
	crops    []headtrain.Example
	cropDocs [][]float32
	cropOf   []int
	// titles are the documents with a title and a text: the title (a query vector) with
	// the document as the index holds it.
	titles []headtrain.Example

	zeroShot   research.Scores
	encodeSecs float64
}

// study is one invocation's settings and the zero-shot retriever, opened when first
// needed.
type study struct {
	data, model, cache, out, report string
	seeds                           []uint64
	clicks                          []int
	sets, parts                     []string
	threads, maxPairs               int
	quiet                           bool
	stdout, stderr                  io.Writer
	base                            *retriever.Retriever
}

// retriever returns the zero-shot retriever as sbmoe-experiment opens it
// (research.OpenZeroShot), opened when first needed.
func (st *study) retriever() (*retriever.Retriever, error) {
	if st.base != nil {
		return st.base, nil
	}
	r, err := research.OpenZeroShot(st.model, st.threads, false)
	if err != nil {
		return nil, err
	}
	st.base = r
	return r, nil
}

// prepare loads a collection and its cached vectors, encoding what the cache lacks: the
// vectors sbmoe-experiment reads and the study's own, of the titles.
func (st *study) prepare(ctx context.Context, name string) (*collection, error) {
	loaded, err := research.Load(st.data, name)
	if err != nil {
		return nil, err
	}
	r, err := st.retriever()
	if err != nil {
		return nil, err
	}
	cache := &research.Cache{Dir: filepath.Join(st.cache, name), Set: name, Model: st.model, Retriever: r,
		Progress: st.stderr, Quiet: st.quiet}
	if err := loaded.Encode(ctx, cache); err != nil {
		return nil, err
	}
	c := &collection{name: name, dir: loaded.Dir, supervised: loaded.Supervised, test: loaded.Test.Qrels, unseen: loaded.Unseen,
		corpus: loaded.Corpus, queries: loaded.Queries}
	ds, pairs, trainQ := loaded.Test, loaded.Pairs, loaded.TrainQueries
	if c.supervised {
		for i, ex := range pairs.Examples {
			c.clicks = append(c.clicks, headtrain.Example{ID: ex.ID, Query: trainQ.Vector(i), Positives: ex.Positives})
		}
	} else {
		docIndex := make(map[string]int, len(ds.Corpus))
		for i, d := range ds.Corpus {
			docIndex[d.ID] = i
		}
		for i, ex := range pairs.Examples {
			c.crops = append(c.crops, headtrain.Example{ID: ex.ID, Query: trainQ.Vector(i), Positives: ex.Positives})
			c.cropDocs = append(c.cropDocs, loaded.TrainDocs.Vector(i))
			c.cropOf = append(c.cropOf, docIndex[ex.ID])
		}
		// Titles, where the collection has them: the study's own addition to the cache.
		var tIDs, tTexts []string
		var tDocs []int
		for i, d := range ds.Corpus {
			if title, text := strings.TrimSpace(d.Title), strings.TrimSpace(d.Text); title != "" && text != "" {
				tIDs, tTexts, tDocs = append(tIDs, d.ID), append(tTexts, r.Text(retriever.Query, title, retriever.Document{})), append(tDocs, i)
			}
		}
		if len(tIDs) >= minTitled {
			titles, err := cache.Vectors(ctx, "train-titles.idx", tIDs, tTexts, retriever.Query)
			if err != nil {
				return nil, err
			}
			for i, id := range tIDs {
				c.titles = append(c.titles, headtrain.Example{ID: id, Query: titles.Vector(i), Positives: []int{tDocs[i]}})
			}
		}
	}
	if c.encodeSecs, err = cache.EncodeSeconds(); err != nil {
		return nil, err
	}
	c.vectors = research.VectorsOf(c.corpus, c.queries)
	c.zeroShot, err = research.Score(r, c.vectors, c.test, c.dir)
	return c, err
}

// minTitled is the fewest documents with a title and a text that make title pairs worth
// training on: half the collection's documents or more in every collection that has any.
const minTitled = 20
