// Package research holds what sbmoe-experiment (tools/experiment) and sbmoe-feedback
// (tools/feedbackstudy) share: their list flags, the collections they load, the zero-shot
// retriever and the cache of its vectors that both read (the same files, so that either
// command reads what the other encoded), a retriever's per-query scores, the numbers and
// words of their reports, and the pieces of their plots.
package research

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/tools/internal/evaluate"
)

// ParseList parses a comma-separated list, refusing empty and repeated items.
func ParseList[T comparable](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range strings.Split(s, ",") {
		v, err := parse(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("%v appears twice", v)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// The measures every run is scored with.
const (
	NDCGMeasure   = "ndcg@10"
	RecallMeasure = "recall@100"
)

// Scores are one retriever's per-query NDCG@10 and Recall@100 on a collection's judged
// test queries, and how its head routed the corpus and the queries.
type Scores struct {
	NDCG      map[string]float64 `json:"ndcg@10"`
	Recall    map[string]float64 `json:"recall@100"`
	DocLoad   []int              `json:"expert_load_documents,omitempty"`
	QueryLoad []int              `json:"expert_load_queries,omitempty"`
	Seconds   float64            `json:"seconds"` // head, search and scoring
}

// Score scores r (its head, if any, applied to copies of v) on pre-head vectors of a
// collection's corpus and judged queries; dir names the collection in errors.
func Score(r *retriever.Retriever, v *evaluate.Vectors, qrels beir.Qrels, dir string) (Scores, error) {
	start := time.Now()
	res, err := evaluate.Score(r, v, qrels, evaluate.Options{Measures: []string{NDCGMeasure, RecallMeasure}})
	if err != nil {
		return Scores{}, fmt.Errorf("%s: %w", dir, err)
	}
	sc := Scores{NDCG: make(map[string]float64, len(res.PerQuery)), Recall: make(map[string]float64, len(res.PerQuery)),
		DocLoad: res.DocLoad, QueryLoad: res.QueryLoad}
	for q, m := range res.PerQuery {
		sc.NDCG[q], sc.Recall[q] = m[NDCGMeasure], m[RecallMeasure]
	}
	sc.Seconds = time.Since(start).Seconds()
	return sc, nil
}

// Machine describes the CPU a study runs on: its model name, cores and the kernels the
// retriever uses.
func Machine() string {
	name := runtime.GOARCH
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				name = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, kernels %s", name, runtime.NumCPU(), retriever.Kernels())
}

// OneOf returns a parser for ParseList that accepts only names, refusing any other with
// "unknown <what> …".
func OneOf(what string, names []string) func(string) (string, error) {
	return func(s string) (string, error) {
		if !slices.Contains(names, s) {
			return "", fmt.Errorf("unknown %s %q (want some of %s)", what, s, strings.Join(names, ", "))
		}
		return s, nil
	}
}
