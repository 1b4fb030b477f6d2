package finetune

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/sbmoe/sbmoe/core/beir"
)

// Pairs are training data: queries, each with the documents that answer it.
type Pairs struct {
	Examples []Example
	Docs     []string // document texts, as the encoder reads them
}

// Example is one training query.
type Example struct {
	// ID names the query in errors and seeds its choice of positive in each epoch
	// (train.PositiveIndex), so it must be unique.
	ID        string
	Query     string
	Positives []int // indices into Pairs.Docs, in a fixed order; never empty
}

// FromQrels returns the judged queries of ds (loaded with its training split) with
// their relevant documents (relevance ≥ 1) as positives, in the order of the query
// file; positives are in corpus order. A document is its beir.DocText (title + " " +
// text); the trainer prepares texts (Config.Lowercase). Queries whose judgements are all
// non-relevant are left out.
func FromQrels(ds *beir.Dataset) (*Pairs, error) {
	pos := make(map[string]int, len(ds.Corpus))
	docs := make([]string, len(ds.Corpus))
	for i, d := range ds.Corpus {
		pos[d.ID] = i
		docs[i] = beir.DocText(d)
	}
	p := &Pairs{Docs: docs}
	for _, q := range ds.Queries {
		var positives []int
		for id, rel := range ds.Qrels[q.ID] {
			i, ok := pos[id]
			if !ok {
				return nil, fmt.Errorf("training pairs of %s: qrels name document %q, which is not in the corpus", ds.Dir, id)
			}
			if rel >= 1 {
				positives = append(positives, i)
			}
		}
		if len(positives) == 0 {
			continue
		}
		slices.Sort(positives)
		p.Examples = append(p.Examples, Example{ID: q.ID, Query: q.Text, Positives: positives})
	}
	if len(p.Examples) == 0 {
		return nil, fmt.Errorf("training pairs of %s: no query has a relevant document", ds.Dir)
	}
	return p, nil
}

// Self-supervised modes: how a corpus without queries becomes training pairs.
const (
	SelfTitle = "title" // a document's title is the query for its text
	SelfCrops = "crops" // two random spans of one document's words are a pair, as Contriever trains
)

// Crop lengths, as fractions of a document's words (Contriever's independent cropping).
const (
	minCropRatio = 0.1
	maxCropRatio = 0.5
)

// SelfSupervised makes training pairs from a corpus alone. In SelfTitle mode each document with both a title and a text gives the pair
// (title, text); others are skipped. In SelfCrops mode each document of at least two
// words gives two independent crops, each a span of 10–50% of its words (at least
// one) drawn from seed; the crops are drawn once, not per epoch. Each example's ID is
// its document's id.
func SelfSupervised(docs []beir.Doc, mode string, seed uint64) (*Pairs, error) {
	p := &Pairs{}
	add := func(id, query, doc string) {
		p.Examples = append(p.Examples, Example{ID: id, Query: query, Positives: []int{len(p.Docs)}})
		p.Docs = append(p.Docs, doc)
	}
	switch mode {
	case SelfTitle:
		for _, d := range docs {
			title, text := strings.TrimSpace(d.Title), strings.TrimSpace(d.Text)
			if title != "" && text != "" {
				add(d.ID, title, text)
			}
		}
		if len(p.Examples) == 0 {
			return nil, errors.New("self-supervised pairs: no document has both a title and a text (try crops)")
		}
	case SelfCrops:
		rng := rand.New(rand.NewPCG(seed, 0xc809))
		for _, d := range docs {
			words := strings.Fields(beir.DocText(d))
			if len(words) < 2 {
				continue
			}
			add(d.ID, crop(words, rng), crop(words, rng))
		}
		if len(p.Examples) == 0 {
			return nil, errors.New("self-supervised pairs: no document has two words to crop")
		}
	default:
		return nil, fmt.Errorf("self-supervised pairs: unknown mode %q (want %s or %s)", mode, SelfTitle, SelfCrops)
	}
	return p, nil
}

// crop returns a random span of 10–50% of words (at least one word), joined by spaces.
func crop(words []string, rng *rand.Rand) string {
	ratio := minCropRatio + (maxCropRatio-minCropRatio)*rng.Float64()
	n := max(1, int(ratio*float64(len(words))))
	start := rng.IntN(len(words) - n + 1)
	return strings.Join(words[start:start+n], " ")
}
