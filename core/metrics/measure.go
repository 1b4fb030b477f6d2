package metrics

import (
	"fmt"
	"strconv"
	"strings"
)

type measureKind int

const (
	ndcgCut measureKind = iota
	recallCut
	mapCut
	mapFull
	precisionCut
	recipRank
	mrrCut
)

// measure is a parsed canonical measure name.
type measure struct {
	name string
	kind measureKind
	k    int // cutoff; 0 for map and recip_rank
}

// canonical name prefixes of the measures with a cutoff.
var cutPrefixes = []struct {
	prefix string
	kind   measureKind
}{
	{"ndcg_cut_", ndcgCut},
	{"recall_", recallCut},
	{"map_cut_", mapCut},
	{"P_", precisionCut},
	{"mrr_cut_", mrrCut},
}

// human name prefixes (lower-cased) and the canonical prefix each maps to.
var humanPrefixes = []struct{ human, canonical string }{
	{"ndcg@", "ndcg_cut_"},
	{"recall@", "recall_"},
	{"map@", "map_cut_"},
	{"p@", "P_"},
	{"precision@", "P_"},
	{"mrr@", "mrr_cut_"},
}

// Parse returns the canonical name of a measure. It accepts canonical names
// (returned unchanged) and, in any letter case, the names papers and ranx
// use: "ndcg@10" -> "ndcg_cut_10", "recall@100" -> "recall_100",
// "map@100" -> "map_cut_100", "map" -> "map", "p@1" or "precision@1" ->
// "P_1", "mrr@10" -> "mrr_cut_10", "mrr" -> "recip_rank". Cutoffs are
// positive integers written without sign or leading zeros.
func Parse(name string) (string, error) {
	m, err := parseMeasure(name)
	if err != nil {
		return "", err
	}
	return m.name, nil
}

func parseMeasure(name string) (measure, error) {
	switch name {
	case "map":
		return measure{name: "map", kind: mapFull}, nil
	case "recip_rank":
		return measure{name: "recip_rank", kind: recipRank}, nil
	}
	for _, p := range cutPrefixes {
		if digits, ok := strings.CutPrefix(name, p.prefix); ok {
			k, err := parseCutoff(digits)
			if err != nil {
				return measure{}, fmt.Errorf("measure %q: %w", name, err)
			}
			return measure{name: name, kind: p.kind, k: k}, nil
		}
	}
	lower := strings.ToLower(name)
	switch lower {
	case "map":
		return parseMeasure("map")
	case "mrr", "recip_rank":
		return parseMeasure("recip_rank")
	}
	for _, p := range humanPrefixes {
		if digits, ok := strings.CutPrefix(lower, p.human); ok {
			if _, err := parseCutoff(digits); err != nil {
				return measure{}, fmt.Errorf("measure %q: %w", name, err)
			}
			return parseMeasure(p.canonical + digits)
		}
	}
	return measure{}, fmt.Errorf("measure %q: unknown (want ndcg@K, recall@K, map@K, map, p@K, mrr@K, mrr or a trec_eval name such as ndcg_cut_10)", name)
}

func parseCutoff(digits string) (int, error) {
	k, err := strconv.Atoi(digits)
	if err != nil || k <= 0 || strconv.Itoa(k) != digits {
		return 0, fmt.Errorf("cutoff %q: want a positive integer without sign or leading zeros", digits)
	}
	return k, nil
}
