package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
	"github.com/sbmoe/sbmoe/tools/internal/research"
	"github.com/sbmoe/sbmoe/tools/internal/stats"
)

// report is results.json: the settings, each collection's runs summarised, and the
// selection of the recipe.
type report struct {
	Date    string   `json:"date"`
	Model   string   `json:"model"`
	Machine string   `json:"machine"`
	Seeds   []uint64 `json:"seeds"`
	Clicks  []int    `json:"clicks"`
	Recipe  string   `json:"product_recipe"` // headtrain.Product and moe.ProductConfig, as JSON
	// MaxPairs is the most label-free pairs a product head trained on (0: all).
	MaxPairs int          `json:"max_label_free_pairs"`
	Sets     []*setResult `json:"datasets"`
	Tuning   []summary    `json:"recipe_selection,omitempty"`
}

// setResult is one collection's runs and their summaries.
type setResult struct {
	*collection    `json:"-"`
	Name           string  `json:"name"`
	Documents      int     `json:"documents"`
	Queries        int     `json:"test_queries"`
	Unseen         int     `json:"unseen_test_queries,omitempty"`
	Clicks         int     `json:"training_claims,omitempty"`
	Crops          int     `json:"crop_pairs,omitempty"`
	Titles         int     `json:"title_pairs,omitempty"`
	EncodeSeconds  float64 `json:"encode_seconds"`  // the cache, once
	PrepareSeconds float64 `json:"prepare_seconds"` // this run: loading, and encoding what the cache lacked
	RunSeconds     float64 `json:"run_seconds"`     // this run: training and scoring what was not done
	// RunsSeconds and Runs count every run's training and scoring as recorded when it ran
	// (the recipe selection included), however many invocations it took.
	RunsSeconds float64      `json:"runs_seconds"`
	RunCount    int          `json:"runs"`
	Summaries   []summary    `json:"configurations"`
	Runs        []*runResult `json:"-"`
	Tuning      []tuneRow    `json:"-"`
	dev         *collection
}

// summary is one arm on one collection's query subset, at one click count, over seeds.
type summary struct {
	Set    string `json:"dataset"`
	Subset string `json:"queries"` // "all" or "unseen"
	Arm    string `json:"arm"`     // "zero-shot" for the encoder alone
	Label  string `json:"label"`
	Pairs  string `json:"pairs,omitempty"`
	Clicks int    `json:"clicks,omitempty"`
	Seeds  int    `json:"seeds"`
	// Mean and standard deviation over seeds of the collection's mean.
	NDCG      float64 `json:"ndcg@10"`
	NDCGStd   float64 `json:"ndcg@10_std"`
	Recall    float64 `json:"recall@100"`
	RecallStd float64 `json:"recall@100_std"`
	// Against zero-shot: differences of the means and two-sided paired tests over the
	// queries' scores averaged over seeds.
	DeltaNDCG   float64 `json:"ndcg@10_delta"`
	DeltaRecall float64 `json:"recall@100_delta"`
	NDCGP       float64 `json:"ndcg@10_p"`
	RecallP     float64 `json:"recall@100_p"`
	NDCGTP      float64 `json:"ndcg@10_t_p"`
	RecallTP    float64 `json:"recall@100_t_p"`
	// Training, over seeds: seconds per run, epochs run, runs that kept the untrained
	// head, the mean |α| of the kept heads.
	TrainSeconds  float64 `json:"train_seconds"`
	Epochs        float64 `json:"epochs"`
	KeptUntrained int     `json:"kept_untrained,omitempty"`
	Gain          float64 `json:"gain,omitempty"`
	// Shares of the test queries (and, on both sides, of the documents) whose most
	// probable expert is each expert, averaged over seeds.
	QueryLoad []float64 `json:"expert_share_queries,omitempty"`
	DocLoad   []float64 `json:"expert_share_documents,omitempty"`
	// The evenness of each run's shares (evenness), averaged over seeds: the shares
	// averaged first would look even when each seed's head sends everything to another
	// single expert.
	QueryEvenness float64 `json:"evenness_queries,omitempty"`
	DocEvenness   float64 `json:"evenness_documents,omitempty"`
	perQuery      [2][]float64
}

// summarise fills every collection's summaries.
func (r *report) summarise(st *study) {
	r.Date, r.Model, r.Machine = time.Now().UTC().Format("2006-01-02"), st.model, research.Machine()
	r.Seeds, r.Clicks, r.MaxPairs = st.seeds, st.clicks, st.maxPairs
	r.Recipe = recipeOf(armProduct, 384, st.seeds[0])
	for _, s := range r.Sets {
		c := s.collection
		s.Name, s.Documents, s.Queries, s.Unseen = c.name, c.corpus.Len(), len(c.zeroShot.NDCG), len(c.unseen)
		s.Clicks, s.Crops, s.Titles, s.EncodeSeconds = len(c.clicks), len(c.crops), len(c.titles), c.encodeSecs
		s.RunsSeconds, s.RunCount = 0, 0
		all := slices.Clone(s.Runs)
		for _, t := range s.Tuning {
			all = append(all, t.Runs...)
		}
		for _, run := range all {
			s.RunsSeconds += run.TrainSeconds + run.Scores.Seconds
			s.RunCount++
		}
		for _, sub := range research.Subsets(c.zeroShot, c.unseen) {
			subset, queries := sub.Name, sub.Queries
			zero := summarize(c.name, subset, "zero-shot", "zero-shot (no head)", "", 0,
				[]*runResult{{Scores: c.zeroShot}}, queries, nil)
			s.Summaries = append(s.Summaries, zero)
			for _, g := range groups(s.Runs) {
				s.Summaries = append(s.Summaries, summarize(c.name, subset, g[0].Arm, armLabel(g[0].Arm), g[0].Pairs, g[0].Clicks, g, queries, &zero))
			}
		}
		if s.dev != nil {
			queries := slices.Sorted(maps.Keys(s.dev.zeroShot.NDCG))
			zero := summarize(s.dev.name, "all", "zero-shot", "zero-shot (no head)", "", 0, []*runResult{{Scores: s.dev.zeroShot}}, queries, nil)
			r.Tuning = append(r.Tuning, zero)
			for _, t := range s.Tuning {
				r.Tuning = append(r.Tuning, summarize(s.dev.name, "all", t.Arm.Name, t.Arm.Label, pairsClicks, t.Runs[0].Clicks, t.Runs, queries, &zero))
			}
		}
	}
}

// groups splits runs into groups of one arm, pair source and click count, in order of
// first appearance.
func groups(runs []*runResult) [][]*runResult {
	type key struct {
		arm, pairs string
		clicks     int
	}
	var order []key
	by := map[key][]*runResult{}
	for _, r := range runs {
		k := key{r.Arm, r.Pairs, r.Clicks}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], r)
	}
	out := make([][]*runResult, len(order))
	for i, k := range order {
		out[i] = by[k]
	}
	return out
}

// armLabel is an arm's label in the report.
func armLabel(name string) string {
	for _, a := range append(append([]arm{armProduct, armBoth, armPaper, armLearned}, ablations...), variants...) {
		if a.Name == name {
			return a.Label
		}
	}
	return name
}

// summarize summarises runs over the given queries, testing against base when given.
func summarize(set, subset, arm, label, pairs string, clicks int, runs []*runResult, queries []string, base *summary) summary {
	s := summary{Set: set, Subset: subset, Arm: arm, Label: label, Pairs: pairs, Clicks: clicks, Seeds: len(runs)}
	var seedNDCG, seedRecall []float64
	s.perQuery = [2][]float64{seedMeans(runs, queries, func(sc research.Scores) map[string]float64 { return sc.NDCG }),
		seedMeans(runs, queries, func(sc research.Scores) map[string]float64 { return sc.Recall })}
	n := float64(len(runs))
	for _, r := range runs {
		sc := r.Scores
		var nd, rc float64
		for _, q := range queries {
			nd += sc.NDCG[q]
			rc += sc.Recall[q]
		}
		seedNDCG = append(seedNDCG, nd/float64(len(queries)))
		seedRecall = append(seedRecall, rc/float64(len(queries)))
		s.TrainSeconds += r.TrainSeconds / n
		s.Epochs += float64(r.Epochs) / n
		s.Gain += math.Abs(float64(r.Gain)) / n
		if r.Kept == 0 && r.Epochs > 0 {
			s.KeptUntrained++
		}
		s.QueryLoad = research.AddShares(s.QueryLoad, sc.QueryLoad, len(runs))
		s.DocLoad = research.AddShares(s.DocLoad, sc.DocLoad, len(runs))
		if sc.QueryLoad != nil {
			s.QueryEvenness += research.Evenness(research.AddShares(nil, sc.QueryLoad, 1)) / n
		}
		if sc.DocLoad != nil {
			s.DocEvenness += research.Evenness(research.AddShares(nil, sc.DocLoad, 1)) / n
		}
	}
	s.NDCG, s.NDCGStd = stats.MeanStd(seedNDCG)
	s.Recall, s.RecallStd = stats.MeanStd(seedRecall)
	if base != nil {
		s.DeltaNDCG, s.DeltaRecall = s.NDCG-base.NDCG, s.Recall-base.Recall
		for i, p := range []*float64{&s.NDCGP, &s.RecallP} {
			*p, _ = stats.PairedRandomization(s.perQuery[i], base.perQuery[i], research.RandomizationRounds, 1)
		}
		for i, p := range []*float64{&s.NDCGTP, &s.RecallTP} {
			_, *p, _ = stats.PairedT(s.perQuery[i], base.perQuery[i])
		}
	}
	return s
}

// seedMeans returns each query's score averaged over runs. A query that every run scores
// alike keeps that score exactly: a mean of equal values computed in floating point can be
// off by a rounding, and a paired test would read a rounding on every query, all of one
// sign, as a significant difference (an untrained head is the zero-shot model, p = 1).
func seedMeans(runs []*runResult, queries []string, of func(research.Scores) map[string]float64) []float64 {
	out := make([]float64, len(queries))
	for i, q := range queries {
		first := of(runs[0].Scores)[q]
		same, sum := true, 0.0
		for _, r := range runs {
			v := of(r.Scores)[q]
			same = same && v == first
			sum += v
		}
		out[i] = sum / float64(len(runs))
		if same {
			out[i] = first
		}
	}
	return out
}

// find returns a summary, nil when absent.
func (s *setResult) find(subset, arm, pairs string, clicks int) *summary {
	for i := range s.Summaries {
		c := &s.Summaries[i]
		if c.Subset == subset && c.Arm == arm && c.Pairs == pairs && c.Clicks == clicks {
			return c
		}
	}
	return nil
}

// set returns a collection's results, nil when absent.
func (r *report) set(name string) *setResult {
	for _, s := range r.Sets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// write writes results.json, curves.png and report.md to dir.
func (r *report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, "results.json"), r); err != nil {
		return err
	}
	if s := r.set("scifact"); s != nil {
		if err := plotCurves(filepath.Join(dir, "curves.png"), r, s); err != nil {
			return err
		}
	}
	path := filepath.Join(dir, "report.md")
	if err := atomicfile.Write(path, func(w io.Writer) error { return r.markdown(w) }); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func significant(delta, p float64, better bool) bool {
	return p < 0.05 && (delta > 0) == better && delta != 0
}

// cells are a summary's NDCG@10 and Recall@100 columns: mean ± std, Δ and p.
func cells(c *summary) string {
	if c.Arm == "zero-shot" {
		return fmt.Sprintf(" %.4f | – | – | %.4f | – | – |", c.NDCG, c.Recall)
	}
	return fmt.Sprintf(" %s | %+.4f | %s | %s | %+.4f | %s |", research.FmtMean(c.NDCG, c.NDCGStd, c.Seeds), c.DeltaNDCG, research.FmtP(c.NDCGP),
		research.FmtMean(c.Recall, c.RecallStd, c.Seeds), c.DeltaRecall, research.FmtP(c.RecallP))
}

const cellsHead = " NDCG@10 | Δ | p | Recall@100 | Δ | p |"
const cellsRule = "---:|---:|---:|---:|---:|---:|"

// keepsUntrained says how often the guard kept the untrained head, for a table cell.
func keepsUntrained(c *summary) string {
	if c.Seeds == 0 {
		return "–"
	}
	return fmt.Sprintf("%d/%d", c.KeptUntrained, c.Seeds)
}

// recipeLine describes the product recipe in one sentence, from its settings.
func recipeLine() string {
	b, t := armProduct.Block(384), armProduct.Train(0)
	return fmt.Sprintf("gain head (%d experts, %s router, %s, α from 0), queries only; AdamW lr %g, weight decay %g, batch %d, τ = %g; "+
		"%d hard negatives per query drawn from its top %d non-relevant documents, mined from the whole corpus before every epoch; "+
		"%.0f%% of the pairs held out, validated by NDCG@10, the best epoch kept, at most %d epochs, patience %d, each epoch at least %d steps; guard on",
		b.Experts, b.Router, strings.ToUpper(string(b.Mix)), t.LR, t.WeightDecay, t.BatchSize, t.Temperature, t.HardNegatives, t.MineDepth,
		100*t.ValFraction, t.Epochs, t.Patience, t.MinSteps)
}
