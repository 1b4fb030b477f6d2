package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe/headtrain"
	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
	"github.com/sbmoe/sbmoe/tools/internal/cli"
	"github.com/sbmoe/sbmoe/tools/internal/evaluate"
	"github.com/sbmoe/sbmoe/tools/internal/finetune"
)

// studySets are the collections of the study, in report order: SciFact has training
// claims (the simulated clicks); the others have only their corpus.
var studySets = []string{"scifact", "cisi", "medline", "cacm", "npl", "lisa", "adi"}

// cropSeed draws the crop pairs of the classic collections once, as sbmoe-experiment
// does (its cache holds their vectors).
const cropSeed = 42

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

	zeroShot   scores
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

// retriever returns the zero-shot retriever as sbmoe-experiment opens it: the base
// model's encoder and no head, texts lower-cased, documents cut at finetune's 256 tokens.
func (st *study) retriever() (*retriever.Retriever, error) {
	if st.base != nil {
		return st.base, nil
	}
	opts := retriever.Options{Threads: st.threads, MaxDocTokens: finetune.Defaults().MaxDocLen}
	opened, err := cli.OpenModel(st.model, opts)
	if err != nil {
		return nil, err
	}
	r, err := retriever.New(opened.Encoder(), nil, retriever.NewManifest(false, true, ""), opts)
	if err != nil {
		return nil, err
	}
	st.base = r
	return r, nil
}

// prepare loads a collection and its cached vectors, encoding what the cache lacks.
func (st *study) prepare(ctx context.Context, name string) (*collection, error) {
	dir := filepath.Join(st.data, name)
	ds, err := beir.Load(dir, "test")
	if err != nil {
		return nil, err
	}
	c := &collection{name: name, dir: dir, test: ds.Qrels}
	splits, err := beir.Splits(dir)
	if err != nil {
		return nil, err
	}
	r, err := st.retriever()
	if err != nil {
		return nil, err
	}
	c.supervised = slices.Contains(splits, "train")
	var pairs *finetune.Pairs
	if c.supervised {
		tr, err := beir.Load(dir, "train")
		if err != nil {
			return nil, err
		}
		if pairs, err = finetune.FromQrels(tr); err != nil {
			return nil, err
		}
		c.unseen = unseenQueries(ds.Qrels, tr.Qrels)
	} else if pairs, err = finetune.SelfSupervised(ds.Corpus, finetune.SelfCrops, cropSeed); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}

	// Every text as the encoder reads it, as sbmoe-experiment prepares it.
	cache := filepath.Join(st.cache, name)
	docIDs, docTexts := make([]string, len(ds.Corpus)), make([]string, len(ds.Corpus))
	docIndex := make(map[string]int, len(ds.Corpus))
	for i, d := range ds.Corpus {
		docIDs[i], docTexts[i] = d.ID, r.Text(retriever.Doc, "", d)
		docIndex[d.ID] = i
	}
	judged := ds.JudgedQueries()
	qIDs, qTexts := make([]string, len(judged)), make([]string, len(judged))
	for i, q := range judged {
		qIDs[i], qTexts[i] = q.ID, r.Text(retriever.Query, q.Text, retriever.Document{})
	}
	exIDs, exTexts := make([]string, len(pairs.Examples)), make([]string, len(pairs.Examples))
	for i, ex := range pairs.Examples {
		exIDs[i], exTexts[i] = ex.ID, r.Text(retriever.Query, ex.Query, retriever.Document{})
	}
	var secs float64
	cached := func(file string, ids, texts []string, side retriever.Side) (*index.Index, error) {
		ix, took, err := st.cachedVectors(ctx, r, filepath.Join(cache, file), name, ids, texts, side)
		secs += took
		return ix, err
	}
	if c.corpus, err = cached("corpus.idx", docIDs, docTexts, retriever.Doc); err != nil {
		return nil, err
	}
	if c.queries, err = cached("queries.idx", qIDs, qTexts, retriever.Query); err != nil {
		return nil, err
	}
	trainQ, err := cached("train-queries.idx", exIDs, exTexts, retriever.Query)
	if err != nil {
		return nil, err
	}
	if c.supervised {
		for i, ex := range pairs.Examples {
			c.clicks = append(c.clicks, headtrain.Example{ID: ex.ID, Query: trainQ.Vector(i), Positives: ex.Positives})
		}
	} else {
		cropTexts := make([]string, len(pairs.Docs))
		for i, d := range pairs.Docs {
			cropTexts[i] = r.Text(retriever.Doc, "", retriever.Document{Text: d})
		}
		docs, err := cached("train-docs.idx", exIDs, cropTexts, retriever.Doc)
		if err != nil {
			return nil, err
		}
		for i, ex := range pairs.Examples {
			c.crops = append(c.crops, headtrain.Example{ID: ex.ID, Query: trainQ.Vector(i), Positives: ex.Positives})
			c.cropDocs = append(c.cropDocs, docs.Vector(i))
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
			titles, err := cached("train-titles.idx", tIDs, tTexts, retriever.Query)
			if err != nil {
				return nil, err
			}
			for i, id := range tIDs {
				c.titles = append(c.titles, headtrain.Example{ID: id, Query: titles.Vector(i), Positives: []int{tDocs[i]}})
			}
		}
	}
	if c.encodeSecs, err = st.encodeTime(cache, secs); err != nil {
		return nil, err
	}
	c.vectors = &evaluate.Vectors{DocIDs: ids(c.corpus), QueryIDs: ids(c.queries), Docs: rows(c.corpus), Queries: rows(c.queries)}
	c.zeroShot, err = score(r, c.vectors, c.test, dir)
	return c, err
}

// minTitled is the fewest documents with a title and a text that make title pairs worth
// training on: half the collection's documents or more in every collection that has any.
const minTitled = 20

// cachedVectors reads path, or encodes texts with r before its head and writes them there,
// as sbmoe-experiment does (the same file format, origin and checks), and returns the
// seconds spent encoding.
func (st *study) cachedVectors(ctx context.Context, r *retriever.Retriever, path, set string, ids, texts []string, side retriever.Side) (*index.Index, float64, error) {
	if ix, err := index.ReadFile(path); err == nil {
		switch {
		case ix.Kind() != index.Float32 || ix.Dim() != r.Dim():
			return nil, 0, fmt.Errorf("%s holds %s vectors of %d dimensions, not the model's float32 ones of %d: delete it to encode again", path, ix.Kind(), ix.Dim(), r.Dim())
		case ix.Len() != len(ids) || (ix.Len() > 0 && ix.ID(0) != ids[0]):
			return nil, 0, fmt.Errorf("%s holds %d vectors, not the %d of %s: delete it to encode again", path, ix.Len(), len(ids), set)
		}
		return ix, 0, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w (delete it to encode again)", err)
	}
	start := time.Now()
	what := "encode " + set + " " + strings.TrimSuffix(filepath.Base(path), ".idx")
	vecs, err := r.Pooled(ctx, side, texts, cli.NewProgress(st.stderr, len(texts), what, st.quiet))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	origin := index.Origin{Fingerprint: r.Fingerprint()}
	if len(st.model) <= maxOriginModel {
		origin.Model = st.model
	}
	ix := index.New(r.Dim(), index.Float32)
	ix.SetOrigin(origin)
	for i, id := range ids {
		if err := ix.Add(id, vecs[i]); err != nil {
			return nil, 0, fmt.Errorf("%s: vector %d (%s): %w", path, i+1, id, err)
		}
	}
	took := time.Since(start).Seconds()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, 0, err
	}
	if err := atomicfile.Write(path, func(w io.Writer) error {
		_, err := ix.WriteTo(w)
		return err
	}); err != nil {
		return nil, 0, fmt.Errorf("write %s: %w", path, err)
	}
	return ix, took, nil
}

// maxOriginModel is the longest model name an index file records (index.Origin).
const maxOriginModel = 4096

// encodeTime records in cache/encode.json the seconds the cache took to fill, adding this
// call's, and returns the total (sbmoe-experiment keeps the same record).
func (st *study) encodeTime(cache string, secs float64) (float64, error) {
	path := filepath.Join(cache, "encode.json")
	var rec struct {
		Seconds float64 `json:"seconds"`
	}
	if raw, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(raw, &rec); err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	if secs == 0 {
		return rec.Seconds, nil
	}
	rec.Seconds += secs
	return rec.Seconds, atomicfile.WriteJSON(path, rec)
}

// unseenQueries returns the test queries none of whose relevant documents is relevant to
// a training query, sorted.
func unseenQueries(test, train beir.Qrels) []string {
	seen := map[string]bool{}
	for _, docs := range train {
		for d, rel := range docs {
			if rel >= 1 {
				seen[d] = true
			}
		}
	}
	var out []string
	for q, docs := range test {
		overlap, relevant := false, false
		for d, rel := range docs {
			if rel >= 1 {
				relevant = true
				overlap = overlap || seen[d]
			}
		}
		if relevant && !overlap {
			out = append(out, q)
		}
	}
	slices.Sort(out)
	return out
}

// rows returns an index's vectors (views of its storage).
func rows(ix *index.Index) [][]float32 {
	vs := make([][]float32, ix.Len())
	for i := range vs {
		vs[i] = ix.Vector(i)
	}
	return vs
}

// ids returns an index's ids in order.
func ids(ix *index.Index) []string {
	out := make([]string, ix.Len())
	for i := range out {
		out[i] = ix.ID(i)
	}
	return out
}
