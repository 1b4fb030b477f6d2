package metrics

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/sbmoe/sbmoe/core/beir"
)

// Run maps query id -> doc id -> score; higher scores rank first.
type Run map[string]map[string]float64

// Evaluate scores run against qrels on each measure (canonical or human
// names, see Parse). It returns the value of every measure for every
// evaluated query and the mean over those queries, both keyed by canonical
// measure name. Which queries are evaluated, and how, is described in the
// package comment. It is an error if no query is evaluated (usually
// mismatched ids) or a score is NaN (trec_eval's ordering is undefined then).
func Evaluate(qrels beir.Qrels, run Run, measures []string) (perQuery map[string]map[string]float64, mean map[string]float64, err error) {
	parsed := make([]measure, 0, len(measures))
	seen := make(map[string]bool)
	for _, name := range measures {
		m, err := parseMeasure(name)
		if err != nil {
			return nil, nil, fmt.Errorf("evaluate: %w", err)
		}
		if !seen[m.name] {
			seen[m.name] = true
			parsed = append(parsed, m)
		}
	}
	if len(parsed) == 0 {
		return nil, nil, fmt.Errorf("evaluate: no measures")
	}

	perQuery = make(map[string]map[string]float64)
	for qid, docs := range run {
		judged, ok := qrels[qid]
		if !ok {
			continue
		}
		ranking, err := rank(docs)
		if err != nil {
			return nil, nil, fmt.Errorf("evaluate: query %q: %w", qid, err)
		}
		perQuery[qid] = evaluateQuery(judged, ranking, parsed)
	}
	if len(perQuery) == 0 {
		return nil, nil, fmt.Errorf("evaluate: none of the %d run queries is in the qrels (%d queries)", len(run), len(qrels))
	}

	// Sum in sorted query order so the mean does not depend on map order.
	qids := make([]string, 0, len(perQuery))
	for qid := range perQuery {
		qids = append(qids, qid)
	}
	slices.Sort(qids)
	mean = make(map[string]float64, len(parsed))
	for _, m := range parsed {
		sum := 0.0
		for _, qid := range qids {
			sum += perQuery[qid][m.name]
		}
		mean[m.name] = sum / float64(len(qids))
	}
	return perQuery, mean, nil
}

// scoredDoc is one retrieved document.
type scoredDoc struct {
	id    string
	score float64
}

// rank orders docs as trec_eval does: by score descending, compared at
// float32 precision as pytrec_eval stores them, then by doc id descending.
func rank(docs map[string]float64) ([]scoredDoc, error) {
	ranking := make([]scoredDoc, 0, len(docs))
	for id, score := range docs {
		if math.IsNaN(score) {
			return nil, fmt.Errorf("doc %q: score is NaN", id)
		}
		ranking = append(ranking, scoredDoc{id, score})
	}
	slices.SortFunc(ranking, compareRanked)
	return ranking, nil
}

func compareRanked(a, b scoredDoc) int {
	if c := cmp.Compare(float32(b.score), float32(a.score)); c != 0 {
		return c
	}
	return cmp.Compare(b.id, a.id)
}

// evaluateQuery computes every measure for one query. judged holds the
// query's qrels; ranking is sorted by rank.
func evaluateQuery(judged map[string]int, ranking []scoredDoc, measures []measure) map[string]float64 {
	// rels[i] is the relevance of the document at rank i+1 (0 if unjudged).
	rels := make([]int, len(ranking))
	for i, d := range ranking {
		rels[i] = judged[d.id]
	}
	numRel := 0
	var idealGains []int
	for _, rel := range judged {
		if rel >= 1 {
			numRel++
			idealGains = append(idealGains, rel)
		}
	}
	slices.Sort(idealGains)
	slices.Reverse(idealGains)

	firstRelevant := slices.IndexFunc(rels, func(rel int) bool { return rel >= 1 }) // -1 if none

	values := make(map[string]float64, len(measures))
	for _, m := range measures {
		var v float64
		switch m.kind {
		case ndcgCut:
			v = ndcgAt(rels, idealGains, m.k)
		case recallCut:
			if numRel > 0 {
				v = float64(relevantInTop(rels, m.k)) / float64(numRel)
			}
		case precisionCut:
			v = float64(relevantInTop(rels, m.k)) / float64(m.k)
		case mapCut:
			v = averagePrecision(rels, numRel, m.k)
		case mapFull:
			v = averagePrecision(rels, numRel, len(rels))
		case recipRank:
			if firstRelevant >= 0 {
				v = 1 / float64(firstRelevant+1)
			}
		case mrrCut:
			if firstRelevant >= 0 && firstRelevant < m.k {
				v = 1 / float64(firstRelevant+1)
			}
		}
		values[m.name] = v
	}
	return values
}

func relevantInTop(rels []int, k int) int {
	n := 0
	for _, rel := range rels[:min(k, len(rels))] {
		if rel >= 1 {
			n++
		}
	}
	return n
}

// averagePrecision is the sum of the precisions at the ranks <= k of the
// relevant documents, over all relevant documents (trec_eval's map_cut).
func averagePrecision(rels []int, numRel, k int) float64 {
	if numRel == 0 {
		return 0
	}
	sum := 0.0
	found := 0
	for i, rel := range rels[:min(k, len(rels))] {
		if rel >= 1 {
			found++
			sum += float64(found) / float64(i+1)
		}
	}
	return sum / float64(numRel)
}

// ndcgAt is DCG@k over ideal DCG@k, each summed in rank order as trec_eval
// does so the rounding matches.
func ndcgAt(rels, idealGains []int, k int) float64 {
	dcg := 0.0
	for i, rel := range rels[:min(k, len(rels))] {
		if rel > 0 {
			dcg += float64(rel) / math.Log2(float64(i+2))
		}
	}
	ideal := 0.0
	for i, gain := range idealGains[:min(k, len(idealGains))] {
		ideal += float64(gain) / math.Log2(float64(i+2))
	}
	if ideal == 0 {
		return 0
	}
	return dcg / ideal
}
