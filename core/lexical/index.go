package lexical

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Index is a BM25 index: for every term, the documents holding it and how often.
type Index struct {
	ids    []string  // document ids, in the order given
	docLen []uint32  // terms per document
	avgdl  float64   // mean of docLen
	terms  []string  // sorted
	post   []posting // post[i] are the documents of terms[i], by document
	pos    map[string]int
}

// posting lists the documents of one term and the term's frequency in each.
type posting struct {
	docs []uint32 // ascending
	tfs  []uint32
}

// Hit is one document of a ranking.
type Hit struct {
	ID    string
	Index int // the document's position in the index
	Score float32
}

// Build indexes texts under ids; ids must be unique.
func Build(ids, texts []string) (*Index, error) {
	if len(ids) != len(texts) {
		return nil, fmt.Errorf("lexical: %d ids for %d texts", len(ids), len(texts))
	}
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		if seen[id] {
			return nil, fmt.Errorf("lexical: document %d: id %q is not unique", i+1, id)
		}
		seen[id] = true
	}
	ix := &Index{ids: slices.Clone(ids), docLen: make([]uint32, len(ids)), pos: map[string]int{}}
	counts := map[string]map[uint32]uint32{}
	var total float64
	for d, text := range texts {
		terms := Analyze(text)
		ix.docLen[d] = uint32(len(terms))
		total += float64(len(terms))
		for _, t := range terms {
			m := counts[t]
			if m == nil {
				m = map[uint32]uint32{}
				counts[t] = m
			}
			m[uint32(d)]++
		}
	}
	if len(ids) > 0 {
		ix.avgdl = total / float64(len(ids))
	}
	ix.terms = make([]string, 0, len(counts))
	for t := range counts {
		ix.terms = append(ix.terms, t)
	}
	slices.Sort(ix.terms)
	ix.post = make([]posting, len(ix.terms))
	for i, t := range ix.terms {
		ix.pos[t] = i
		docs := make([]uint32, 0, len(counts[t]))
		for d := range counts[t] {
			docs = append(docs, d)
		}
		slices.Sort(docs)
		p := posting{docs: docs, tfs: make([]uint32, len(docs))}
		for j, d := range docs {
			p.tfs[j] = counts[t][d]
		}
		ix.post[i] = p
	}
	return ix, nil
}

// Len is the number of documents.
func (ix *Index) Len() int { return len(ix.ids) }

// ID is the id of document i.
func (ix *Index) ID(i int) string { return ix.ids[i] }

// Terms is the number of distinct terms.
func (ix *Index) Terms() int { return len(ix.terms) }

// idf is Lucene's BM25 idf of a term held by df of the index's documents.
func (ix *Index) idf(df int) float64 {
	n := float64(len(ix.ids))
	return math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
}

// IDF is the BM25 idf of an analysed term (one of Analyze's), 0 for a term no document
// holds.
func (ix *Index) IDF(term string) float64 {
	i, ok := ix.pos[term]
	if !ok {
		return 0
	}
	return ix.idf(len(ix.post[i].docs))
}

// Scores returns the BM25 score of every document for a query, and whether any query term
// is in the index (a query of stop words or unseen words scores every document 0).
func (ix *Index) Scores(query string) ([]float64, bool) {
	scores := make([]float64, len(ix.ids))
	matched := false
	for _, t := range Analyze(query) {
		i, ok := ix.pos[t]
		if !ok {
			continue
		}
		matched = true
		p := &ix.post[i]
		idf := ix.idf(len(p.docs))
		for j, d := range p.docs {
			tf := float64(p.tfs[j])
			norm := K1 * (1 - B + B*float64(ix.docLen[d])/ix.avgdl)
			scores[d] += idf * tf / (tf + norm)
		}
	}
	return scores, matched
}

// Search returns the k documents with the highest scores that hold at least one query term,
// best first; equal scores keep index order.
func (ix *Index) Search(query string, k int) []Hit {
	if k < 1 {
		panic("lexical: Search: k < 1")
	}
	scores, matched := ix.Scores(query)
	if !matched {
		return nil
	}
	var hits []Hit
	for d, s := range scores {
		if s > 0 {
			hits = append(hits, Hit{ID: ix.ids[d], Index: d, Score: float32(s)})
		}
	}
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].Score > hits[b].Score })
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits
}

// RRFK is the constant of reciprocal rank fusion (Cormack et al. use 60).
const RRFK = 60

// Fuse merges rankings of the same documents (by index position) by reciprocal rank
// fusion: a document's score is Σ 1/(RRFK + rank), rank counted from 1 in each ranking
// that holds it. It returns the k best, ties broken by the first ranking's order.
func Fuse(k int, rankings ...[]int) []FusedHit {
	score := map[int]float64{}
	first := map[int]int{}
	order := 0
	for _, r := range rankings {
		for rank, d := range r {
			score[d] += 1 / float64(RRFK+rank+1)
			if _, ok := first[d]; !ok {
				first[d] = order
				order++
			}
		}
	}
	hits := make([]FusedHit, 0, len(score))
	for d, s := range score {
		hits = append(hits, FusedHit{Index: d, Score: s})
	}
	slices.SortFunc(hits, func(a, b FusedHit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(first[a.Index], first[b.Index])
	})
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits
}

// FusedHit is a document of a fused ranking.
type FusedHit struct {
	Index int
	Score float64
}

var errFormat = errors.New("not an sbmoe BM25 index")
