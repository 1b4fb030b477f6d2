package research

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// RandomizationRounds is the number of sign patterns the paired tests draw.
const RandomizationRounds = 100000

// AddShares adds counts, as shares of their total divided by runs, to acc.
func AddShares(acc []float64, counts []int, runs int) []float64 {
	if counts == nil {
		return acc
	}
	if acc == nil {
		acc = make([]float64, len(counts))
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	for i, c := range counts {
		acc[i] += float64(c) / float64(max(total, 1)) / float64(runs)
	}
	return acc
}

// Evenness is the normalised entropy of shares: 1 when every expert gets the same
// share, 0 when one gets everything.
func Evenness(shares []float64) float64 {
	if len(shares) < 2 {
		return 1
	}
	var h float64
	for _, s := range shares {
		if s > 0 {
			h -= s * math.Log(s)
		}
	}
	return h / math.Log(float64(len(shares)))
}

// Percents writes shares as whole percents, "50 / 30 / 20".
func Percents(shares []float64) string {
	parts := make([]string, len(shares))
	for i, s := range shares {
		parts[i] = fmt.Sprintf("%.0f", 100*s)
	}
	return strings.Join(parts, " / ")
}

// Verdict says in words what a difference and its p-value mean.
func Verdict(delta, p float64) string {
	switch {
	case p >= 0.05:
		return "no significant difference"
	case delta > 0:
		return "significantly better"
	}
	return "significantly worse"
}

// FmtP writes a p-value for a table: three decimals, or a power of ten below 0.001, in
// bold below 0.05.
func FmtP(p float64) string {
	s := fmt.Sprintf("%.3f", p)
	if p < 0.001 {
		s = fmt.Sprintf("%.0e", p)
	}
	if p < 0.05 {
		return "**" + s + "**"
	}
	return s
}

// FmtMean writes a mean over seeds, with its standard deviation when there are two seeds
// or more.
func FmtMean(m, std float64, seeds int) string {
	if seeds < 2 {
		return fmt.Sprintf("%.4f", m)
	}
	return fmt.Sprintf("%.4f ± %.4f", m, std)
}

// Subset is a set of test queries a configuration is summarised over.
type Subset struct {
	Name    string // "all" or "unseen"
	Queries []string
}

// Subsets returns the query subsets of a collection, in report order: "all" its judged
// test queries (those zeroShot scores), sorted, then "unseen" when there are any.
func Subsets(zeroShot Scores, unseen []string) []Subset {
	out := []Subset{{"all", slices.Sorted(maps.Keys(zeroShot.NDCG))}}
	if len(unseen) > 0 {
		out = append(out, Subset{"unseen", unseen})
	}
	return out
}
