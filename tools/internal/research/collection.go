package research

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/tools/internal/cli"
	"github.com/sbmoe/sbmoe/tools/internal/evaluate"
	"github.com/sbmoe/sbmoe/tools/internal/finetune"
)

// CropSeed draws the crop pairs of the collections without a train split once, the same
// for every training seed (the cache holds their vectors).
const CropSeed = 42

// Collection is one BEIR collection: its test split, its training pairs and, once
// encoded, the encoder's vectors of its texts before any head.
type Collection struct {
	Name       string
	Dir        string
	Test       *beir.Dataset   // the test split
	Supervised bool            // trained from qrels/train.tsv, else from crops of the corpus
	Unseen     []string        // with a train split: test queries none of whose relevant documents a train query has
	Pairs      *finetune.Pairs // the training texts

	Corpus       *index.Index // the corpus, in order
	Queries      *index.Index // the judged test queries
	TrainQueries *index.Index // each training example's query
	TrainDocs    *index.Index // without a train split: each example's second crop; nil with one
}

// Load reads the collection name under data: its test split, and its training pairs from
// qrels/train.tsv where it has a train split, else two crops of each document.
func Load(data, name string) (*Collection, error) {
	dir := filepath.Join(data, name)
	ds, err := beir.Load(dir, "test")
	if err != nil {
		return nil, err
	}
	c := &Collection{Name: name, Dir: dir, Test: ds}
	splits, err := beir.Splits(dir)
	if err != nil {
		return nil, err
	}
	if c.Supervised = slices.Contains(splits, "train"); c.Supervised {
		tr, err := beir.Load(dir, "train")
		if err != nil {
			return nil, err
		}
		if c.Pairs, err = finetune.FromQrels(tr); err != nil {
			return nil, err
		}
		c.Unseen = UnseenQueries(ds.Qrels, tr.Qrels)
	} else if c.Pairs, err = finetune.SelfSupervised(ds.Corpus, finetune.SelfCrops, CropSeed); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return c, nil
}

// Encode reads the collection's vectors from cache, encoding what it lacks with the
// cache's retriever. Every text is as the encoder reads it: prepared by the retriever
// (lower-cased), a document as its title + " " + text, a crop as a document's text.
func (c *Collection) Encode(ctx context.Context, cache *Cache) error {
	r, ds := cache.Retriever, c.Test
	docIDs, docTexts := make([]string, len(ds.Corpus)), make([]string, len(ds.Corpus))
	for i, d := range ds.Corpus {
		docIDs[i], docTexts[i] = d.ID, r.Text(retriever.Doc, "", d)
	}
	judged := ds.JudgedQueries()
	qIDs, qTexts := make([]string, len(judged)), make([]string, len(judged))
	for i, q := range judged {
		qIDs[i], qTexts[i] = q.ID, r.Text(retriever.Query, q.Text, retriever.Document{})
	}
	exIDs, exTexts := make([]string, len(c.Pairs.Examples)), make([]string, len(c.Pairs.Examples))
	for i, ex := range c.Pairs.Examples {
		exIDs[i], exTexts[i] = ex.ID, r.Text(retriever.Query, ex.Query, retriever.Document{})
	}
	var err error
	if c.Corpus, err = cache.Vectors(ctx, "corpus.idx", docIDs, docTexts, retriever.Doc); err != nil {
		return err
	}
	if c.Queries, err = cache.Vectors(ctx, "queries.idx", qIDs, qTexts, retriever.Query); err != nil {
		return err
	}
	if c.TrainQueries, err = cache.Vectors(ctx, "train-queries.idx", exIDs, exTexts, retriever.Query); err != nil {
		return err
	}
	if c.Supervised {
		return nil
	}
	cropTexts := make([]string, len(c.Pairs.Docs))
	for i, d := range c.Pairs.Docs {
		cropTexts[i] = r.Text(retriever.Doc, "", retriever.Document{Text: d})
	}
	c.TrainDocs, err = cache.Vectors(ctx, "train-docs.idx", exIDs, cropTexts, retriever.Doc)
	return err
}

// UnseenQueries returns the test queries none of whose relevant documents is relevant
// to a training query, sorted.
func UnseenQueries(test, train beir.Qrels) []string {
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

// VectorsOf returns pre-head vectors of a corpus and of queries, as evaluate scores them
// (views of the indexes' storage: evaluate.Score passes copies through the head).
func VectorsOf(corpus, queries *index.Index) *evaluate.Vectors {
	return &evaluate.Vectors{DocIDs: IDs(corpus), QueryIDs: IDs(queries), Docs: Rows(corpus), Queries: Rows(queries)}
}

// OpenZeroShot opens the zero-shot retriever both studies encode with, so that their
// cached vectors agree: the base model's encoder (without its Normalize module when raw)
// and no head, lower-casing texts as the SB-MoE authors do, with documents cut at
// finetune's 256 tokens and queries at the model's length.
func OpenZeroShot(model string, threads int, raw bool) (*retriever.Retriever, error) {
	opts := retriever.Options{Threads: threads, MaxDocTokens: finetune.Defaults().MaxDocLen}
	opened, err := cli.OpenModel(model, opts)
	if err != nil {
		return nil, err
	}
	enc := opened.Encoder()
	if raw {
		enc.Config.Normalize = false
	}
	return retriever.New(enc, nil, retriever.NewManifest(false, true, ""), opts)
}
