package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
	"github.com/sbmoe/sbmoe/tools/internal/finetune"
	"github.com/sbmoe/sbmoe/tools/internal/research"
	"github.com/sbmoe/sbmoe/tools/internal/stats"
)

// expReport is results.json: the settings and every configuration's summary.
type expReport struct {
	Date       string          `json:"date"`
	Model      string          `json:"model"`
	Machine    string          `json:"machine"`
	Seeds      []uint64        `json:"seeds"`
	Experts    []int           `json:"experts"`
	FullEpochs int             `json:"full_epochs"`
	HeadEpochs int             `json:"head_epochs"`
	Normalized bool            `json:"normalized"` // false with --no-normalize
	Sets       []setInfo       `json:"datasets"`
	Configs    []configSummary `json:"configurations"`
}

type setInfo struct {
	Name          string  `json:"name"`
	Training      string  `json:"training"` // "train qrels" or "crops"
	Pairs         int     `json:"training_pairs"`
	Queries       int     `json:"test_queries"`
	Unseen        int     `json:"unseen_test_queries,omitempty"`
	Docs          int     `json:"documents"`
	EncodeSeconds float64 `json:"encode_seconds"`
}

// configSummary is one configuration on one collection (and query subset), over seeds.
type configSummary struct {
	Set     string `json:"dataset"`
	Subset  string `json:"queries"` // "all" or "unseen"
	Mode    string `json:"mode"`    // "zero-shot", "full" or "head"
	Router  string `json:"router"`  // none, paper or learned
	Experts int    `json:"experts"`
	Mix     string `json:"pool"` // top1, all or none (the JSON name is the one of earlier results)
	Seeds   int    `json:"seeds"`
	// Mean and standard deviation over seeds of the collection's mean.
	NDCG      float64 `json:"ndcg@10"`
	NDCGStd   float64 `json:"ndcg@10_std"`
	Recall    float64 `json:"recall@100"`
	RecallStd float64 `json:"recall@100_std"`
	// Test compares the configuration with its baseline, when it has one.
	Test *pairedTest `json:"test,omitempty"`
	// Shares of the documents and queries whose most probable expert is each expert,
	// averaged over seeds (the trained block's routing under this mix).
	DocLoad      []float64 `json:"expert_share_documents,omitempty"`
	QueryLoad    []float64 `json:"expert_share_queries,omitempty"`
	Rerouted     float64   `json:"rerouted"`      // mean over seeds, trainedRun.Rerouted
	TrainSeconds float64   `json:"train_seconds"` // per run
	EvalSeconds  float64   `json:"eval_seconds"`  // per run: head, search and scoring
	// perQuery holds the seed-averaged scores, for the tests between configurations.
	perQuery [2][]float64
}

// pairedTest compares a configuration with a baseline over the same queries:
// differences of the means, and two-sided paired tests (randomization and t-test) over
// the queries' scores averaged over seeds.
type pairedTest struct {
	Baseline    string  `json:"baseline"`
	DeltaNDCG   float64 `json:"ndcg@10_delta"`
	DeltaRecall float64 `json:"recall@100_delta"`
	NDCGP       float64 `json:"ndcg@10_p"`
	RecallP     float64 `json:"recall@100_p"`
	NDCGTP      float64 `json:"ndcg@10_t_p"`
	RecallTP    float64 `json:"recall@100_t_p"`
}

// summarise turns the runs into the report's summaries.
func (x *experiment) summarise(sets []*expSet, full, heads []*trainedRun) *expReport {
	rep := &expReport{Date: time.Now().UTC().Format("2006-01-02"), Model: x.model, Machine: research.Machine(),
		Seeds: x.seeds, Experts: x.experts, FullEpochs: x.fullEpochs, HeadEpochs: x.headEpochs, Normalized: !x.raw}
	for _, s := range sets {
		info := setInfo{Name: s.Name, Training: "crops (label-free)", Pairs: len(s.Pairs.Examples), Queries: len(s.zeroShot.NDCG),
			Unseen: len(s.Unseen), Docs: s.Corpus.Len(), EncodeSeconds: s.encodeSecs}
		if s.Supervised {
			info.Training = "train qrels"
		}
		rep.Sets = append(rep.Sets, info)
		for _, sub := range research.Subsets(s.zeroShot, s.Unseen) {
			subset, queries := sub.Name, sub.Queries
			zeroRuns := []*trainedRun{{Mixes: map[string]research.Scores{finetune.RouterNone: s.zeroShot}}}
			zero := summary(s.Name, subset, "zero-shot", finetune.RouterNone, 0, finetune.RouterNone, zeroRuns, queries, nil, "")
			// Full fine-tuning: against the fine-tuned baseline (the zero-shot row too).
			var fullSet []*trainedRun
			for _, r := range full {
				if r.Set == s.Name {
					fullSet = append(fullSet, r)
				}
			}
			if len(fullSet) > 0 {
				base := summary(s.Name, subset, "full", finetune.RouterNone, 0, finetune.RouterNone,
					runsOf(fullSet, finetune.RouterNone, 0), queries, nil, "")
				rep.Configs = append(rep.Configs, summary(s.Name, subset, "zero-shot", finetune.RouterNone, 0,
					finetune.RouterNone, zeroRuns, queries, &base, "fine-tuned baseline"))
				rep.Configs = append(rep.Configs, base)
				for _, router := range experimentRouters[1:] {
					for _, mix := range experimentMixes {
						rep.Configs = append(rep.Configs, summary(s.Name, subset, "full", router, mainExperts, string(mix),
							runsOf(fullSet, router, mainExperts), queries, &base, "fine-tuned baseline"))
					}
				}
			}
			// Head only: against the zero-shot encoder, the frozen model without a block.
			rep.Configs = append(rep.Configs, zero)
			for _, experts := range x.expertsOf(s.Name) {
				var setHeads []*trainedRun
				for _, r := range heads {
					if r.Set == s.Name && r.Experts == experts {
						setHeads = append(setHeads, r)
					}
				}
				for _, router := range experimentRouters[1:] {
					for _, mix := range experimentMixes {
						rep.Configs = append(rep.Configs, summary(s.Name, subset, "head", router, experts, string(mix),
							runsOf(setHeads, router, experts), queries, &zero, "zero-shot"))
					}
				}
			}
		}
	}
	return rep
}

// runsOf picks the runs of one router (and expert count, but for the baseline).
func runsOf(runs []*trainedRun, router string, experts int) []*trainedRun {
	var out []*trainedRun
	for _, r := range runs {
		if r.Router == router && (router == finetune.RouterNone || r.Experts == experts) {
			out = append(out, r)
		}
	}
	return out
}

// summary summarises runs under one mix over the given queries, testing against base
// when it is given.
func summary(set, subset, mode, router string, experts int, mix string, runs []*trainedRun, queries []string, base *configSummary, baseName string) configSummary {
	c := configSummary{Set: set, Subset: subset, Mode: mode, Router: router, Experts: experts, Mix: mix, Seeds: len(runs)}
	if len(runs) == 0 {
		return c
	}
	var seedNDCG, seedRecall []float64
	c.perQuery = [2][]float64{make([]float64, len(queries)), make([]float64, len(queries))}
	for _, r := range runs {
		sc := r.Mixes[mix]
		var n, rc float64
		for i, q := range queries {
			n += sc.NDCG[q]
			rc += sc.Recall[q]
			c.perQuery[0][i] += sc.NDCG[q] / float64(len(runs))
			c.perQuery[1][i] += sc.Recall[q] / float64(len(runs))
		}
		seedNDCG = append(seedNDCG, n/float64(len(queries)))
		seedRecall = append(seedRecall, rc/float64(len(queries)))
		c.TrainSeconds += r.TrainSeconds / float64(len(runs))
		c.Rerouted += r.Rerouted / float64(len(runs))
		c.EvalSeconds += sc.Seconds / float64(len(runs))
		c.DocLoad = research.AddShares(c.DocLoad, sc.DocLoad, len(runs))
		c.QueryLoad = research.AddShares(c.QueryLoad, sc.QueryLoad, len(runs))
	}
	c.NDCG, c.NDCGStd = stats.MeanStd(seedNDCG)
	c.Recall, c.RecallStd = stats.MeanStd(seedRecall)
	if base != nil && base.Seeds > 0 {
		c.Test = compare(&c, base, baseName)
	}
	return c
}

// compare tests a against b over their common queries; nil when there are too few.
func compare(a, b *configSummary, baseName string) *pairedTest {
	t := &pairedTest{Baseline: baseName, DeltaNDCG: a.NDCG - b.NDCG, DeltaRecall: a.Recall - b.Recall}
	var err error
	for i, p := range []*float64{&t.NDCGP, &t.RecallP} {
		if *p, err = stats.PairedRandomization(a.perQuery[i], b.perQuery[i], research.RandomizationRounds, 1); err != nil {
			return nil
		}
	}
	for i, p := range []*float64{&t.NDCGTP, &t.RecallTP} {
		if _, *p, err = stats.PairedT(a.perQuery[i], b.perQuery[i]); err != nil {
			return nil
		}
	}
	return t
}

// find returns the summary of one configuration, nil when absent.
func (r *expReport) find(set, subset, mode, router string, experts int, mix string) *configSummary {
	for i := range r.Configs {
		c := &r.Configs[i]
		if c.Set == set && c.Subset == subset && c.Mode == mode && c.Router == router && c.Experts == experts && c.Mix == mix && c.Seeds > 0 {
			return c
		}
	}
	return nil
}

// swept says whether a collection's heads were trained with other expert counts than 6.
func (r *expReport) swept(set string) bool {
	for _, e := range r.Experts {
		if e != mainExperts && r.find(set, "all", "head", finetune.RouterPaper, e, "top1") != nil {
			return true
		}
	}
	return false
}

// writeExperimentReport writes results.json, experts.png and report.md to dir.
func writeExperimentReport(dir string, rep *expReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, "results.json"), rep); err != nil {
		return err
	}
	if err := plotExperts(filepath.Join(dir, "experts.png"), rep); err != nil {
		return err
	}
	path := filepath.Join(dir, "report.md")
	if err := atomicfile.Write(path, func(w io.Writer) error { return rep.markdown(w) }); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Labels of configurations in the report.
func configLabel(c *configSummary) string {
	switch {
	case c.Mode == "zero-shot":
		return "zero-shot (no training)"
	case c.Router == finetune.RouterNone:
		return "fine-tuned baseline (no block)"
	}
	mix := map[string]string{"top1": "TOP-1", "all": "ALL"}[c.Mix]
	return fmt.Sprintf("%s router, %s", c.Router, mix)
}

// row writes one configuration's line of a results table.
func row(w io.Writer, first string, c *configSummary) {
	fmt.Fprintf(w, "| %s | %s | %d |", first, configLabel(c), c.Seeds)
	fmt.Fprintf(w, " %s |", research.FmtMean(c.NDCG, c.NDCGStd, c.Seeds))
	if c.Test != nil {
		fmt.Fprintf(w, " %+.4f | %s |", c.Test.DeltaNDCG, research.FmtP(c.Test.NDCGP))
	} else {
		fmt.Fprint(w, " – | – |")
	}
	fmt.Fprintf(w, " %s |", research.FmtMean(c.Recall, c.RecallStd, c.Seeds))
	if c.Test != nil {
		fmt.Fprintf(w, " %+.4f | %s |", c.Test.DeltaRecall, research.FmtP(c.Test.RecallP))
	} else {
		fmt.Fprint(w, " – | – |")
	}
	if c.Mode == "zero-shot" {
		fmt.Fprintln(w, " – |")
	} else {
		fmt.Fprintf(w, " %.0f |\n", c.TrainSeconds)
	}
}

const tableHead = "| | configuration | seeds | NDCG@10 | Δ | p | Recall@100 | Δ | p | training (s/run) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"

func used(shares []float64) int {
	n := 0
	for _, s := range shares {
		if s >= 0.01 {
			n++
		}
	}
	return n
}

func (r *expReport) subsetName(set, subset string) string {
	if subset == "unseen" {
		for _, s := range r.Sets {
			if s.Name == set {
				return fmt.Sprintf("%s (%d unseen)", set, s.Unseen)
			}
		}
	}
	return set
}

// markdown writes report.md.
func (r *expReport) markdown(w io.Writer) error {
	seeds := make([]string, len(r.Seeds))
	for i, s := range r.Seeds {
		seeds[i] = fmt.Sprint(s)
	}
	title := filepath.Base(r.Model)
	if !r.Normalized {
		title += ", without its Normalize module"
	}
	fmt.Fprintf(w, "# SB-MoE experiment on %s\n\n", title)
	fmt.Fprintf(w, "Written by `sbmoe-experiment` (`make experiment`) on %s; %s. Seeds %s. "+
		"Values are means ± standard deviation over seeds of the collection's mean. Δ is the difference to the "+
		"baseline named in each section, p the two-sided paired randomization test over the queries' scores "+
		"averaged over seeds (%d random sign patterns, so the smallest p it can give is 1e-05; exact below 21 queries); **bold** when p < 0.05. "+
		"results.json also holds paired t-test p-values, per-run wall times and the routing of every configuration. "+
		"With this many tests a few p < 0.05 are expected by chance alone.\n\n",
		r.Date, r.Machine, strings.Join(seeds, ", "), research.RandomizationRounds)

	r.answers(w)

	fmt.Fprint(w, "## Collections\n\n")
	fmt.Fprintln(w, "| collection | training data | training pairs | test queries | documents | encoding once (s) |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	for _, s := range r.Sets {
		q := fmt.Sprint(s.Queries)
		if s.Unseen > 0 {
			q += fmt.Sprintf(" (%d unseen)", s.Unseen)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %d | %.0f |\n", s.Name, s.Training, s.Pairs, q, s.Docs, s.EncodeSeconds)
	}
	fmt.Fprintln(w)

	if r.find("scifact", "all", "full", finetune.RouterNone, 0, finetune.RouterNone) != nil {
		fmt.Fprintf(w, "## 1. SciFact, full fine-tuning (encoder and head, %d epoch(s), documents cut to 256 tokens)\n\n", r.FullEpochs)
		fmt.Fprint(w, "Baseline: the same recipe without the block. \"Unseen\" keeps the test queries none of whose relevant "+
			"documents is relevant to a training query.\n\n")
		fmt.Fprint(w, tableHead)
		for _, subset := range []string{"all", "unseen"} {
			for _, c := range r.Configs {
				if c.Set == "scifact" && c.Subset == subset && (c.Mode == "full" || (c.Mode == "zero-shot" && c.Test != nil)) && c.Seeds > 0 {
					row(w, r.subsetName(c.Set, subset), &c)
				}
			}
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "## 2. Frozen encoder, head only (%d experts, %d epochs)\n\n", mainExperts, r.HeadEpochs)
	fmt.Fprint(w, "Baseline: the zero-shot encoder, which is the frozen encoder without a block. SciFact trains on its "+
		"train qrels, the classic collections on two random crops of each of their documents (no labels); all are "+
		"scored on their real test queries.\n\n")
	fmt.Fprint(w, tableHead)
	for _, s := range r.Sets {
		for _, subset := range []string{"all", "unseen"} {
			for _, c := range r.Configs {
				if c.Set == s.Name && c.Subset == subset && ((c.Mode == "zero-shot" && c.Test == nil) || (c.Mode == "head" && c.Experts == mainExperts)) && c.Seeds > 0 {
					row(w, r.subsetName(c.Set, subset), &c)
				}
			}
		}
	}
	fmt.Fprintln(w)

	if len(r.Experts) > 1 {
		fmt.Fprintf(w, "## 3. Number of experts (frozen encoder, head only, TOP-1 inference)\n\n")
		fmt.Fprint(w, "Each cell: the mean over seeds and, in brackets, the difference to the zero-shot encoder, "+
			"starred when p < 0.05. ![NDCG@10 against the number of experts](experts.png)\n\n")
		for _, metric := range []string{"NDCG@10", "Recall@100"} {
			fmt.Fprintf(w, "| %s | router |", metric)
			for _, e := range r.Experts {
				fmt.Fprintf(w, " %d |", e)
			}
			fmt.Fprintf(w, "\n|---|---|%s\n", strings.Repeat("---:|", len(r.Experts)))
			for _, s := range r.Sets {
				if !r.swept(s.Name) {
					continue
				}
				for _, router := range experimentRouters[1:] {
					fmt.Fprintf(w, "| %s | %s |", s.Name, router)
					for _, e := range r.Experts {
						c := r.find(s.Name, "all", "head", router, e, "top1")
						if c == nil || c.Test == nil {
							fmt.Fprint(w, " – |")
							continue
						}
						m, d, p := c.NDCG, c.Test.DeltaNDCG, c.Test.NDCGP
						if metric == "Recall@100" {
							m, d, p = c.Recall, c.Test.DeltaRecall, c.Test.RecallP
						}
						star := ""
						if p < 0.05 {
							star = "*"
						}
						fmt.Fprintf(w, " %.4f (%+.4f%s) |", m, d, star)
					}
					fmt.Fprintln(w)
				}
			}
			fmt.Fprintln(w)
		}
	}

	fmt.Fprintf(w, "## 4. Routing (%d experts, TOP-1 inference)\n\n", mainExperts)
	fmt.Fprint(w, "Share of the documents and of the test queries whose most probable expert is each expert, in percent, "+
		"averaged over seeds; \"used\" counts experts with at least 1% of the documents; evenness is the normalised "+
		"entropy of the document shares (1 = uniform, 0 = one expert takes all); \"rerouted\" is the share of "+
		"documents whose expert differs from the one the same block chose before training, on the same vectors: "+
		"how far training moved the router.\n\n")
	fmt.Fprintln(w, "| collection | training | router | documents per expert (%) | queries per expert (%) | used | evenness | rerouted (%) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---:|---:|---:|")
	for _, c := range r.Configs {
		if c.Subset == "all" && c.Mix == "top1" && c.Experts == mainExperts && c.Seeds > 0 && len(c.DocLoad) > 0 {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d | %.2f | %.1f |\n", c.Set, c.Mode, c.Router, research.Percents(c.DocLoad),
				research.Percents(c.QueryLoad), used(c.DocLoad), research.Evenness(c.DocLoad), 100*c.Rerouted)
		}
	}
	fmt.Fprintln(w)
	r.method(w)
	return nil
}

// answers writes the report's plain answers, derived from the tables.
func (r *expReport) answers(w io.Writer) {
	fmt.Fprint(w, "## Answers\n\n")
	fmt.Fprint(w, "Derived mechanically from the tables below (p < 0.05 = significant).\n\n")
	line := func(c *configSummary, subset string) string {
		return fmt.Sprintf("%s: NDCG@10 %+.4f (p %.3g, %s), Recall@100 %+.4f (p %.3g, %s)", configLabel(c),
			c.Test.DeltaNDCG, c.Test.NDCGP, research.Verdict(c.Test.DeltaNDCG, c.Test.NDCGP),
			c.Test.DeltaRecall, c.Test.RecallP, research.Verdict(c.Test.DeltaRecall, c.Test.RecallP))
	}
	if base := r.find("scifact", "all", "full", finetune.RouterNone, 0, finetune.RouterNone); base != nil {
		fmt.Fprintf(w, "**Does SB-MoE beat the fine-tuned baseline? (SciFact, full fine-tuning, %d epoch(s), %d seeds)**\n\n", r.FullEpochs, base.Seeds)
		for _, subset := range []string{"all", "unseen"} {
			for _, router := range experimentRouters[1:] {
				for _, mix := range experimentMixes {
					if c := r.find("scifact", subset, "full", router, mainExperts, string(mix)); c != nil && c.Test != nil {
						fmt.Fprintf(w, "- %s — %s\n", r.subsetName("scifact", subset), line(c, subset))
					}
				}
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "**Does a trained head beat the same encoder without it? (frozen encoder, %d experts, TOP-1)**\n\n", mainExperts)
	for _, s := range r.Sets {
		for _, router := range experimentRouters[1:] {
			if c := r.find(s.Name, "all", "head", router, mainExperts, "top1"); c != nil && c.Test != nil {
				fmt.Fprintf(w, "- %s — %s\n", s.Name, line(c, "all"))
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, "**Does the learned router beat the paper's? (TOP-1, learned minus paper)**\n\n")
	for _, mode := range []string{"full", "head"} {
		for _, s := range r.Sets {
			for _, subset := range []string{"all", "unseen"} {
				l, p := r.find(s.Name, subset, mode, finetune.RouterLearned, mainExperts, "top1"), r.find(s.Name, subset, mode, finetune.RouterPaper, mainExperts, "top1")
				if l == nil || p == nil {
					continue
				}
				if t := compare(l, p, "paper"); t != nil {
					fmt.Fprintf(w, "- %s, %s: NDCG@10 %+.4f (p %.3g, %s), Recall@100 %+.4f (p %.3g, %s)\n", r.subsetName(s.Name, subset),
						map[string]string{"full": "full fine-tuning", "head": "head only"}[mode],
						t.DeltaNDCG, t.NDCGP, research.Verdict(t.DeltaNDCG, t.NDCGP), t.DeltaRecall, t.RecallP, research.Verdict(t.DeltaRecall, t.RecallP))
				}
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "**How evenly are experts used? (%d experts, TOP-1, documents)**\n\n", mainExperts)
	for _, mode := range []string{"full", "head"} {
		for _, router := range experimentRouters[1:] {
			var ev, us, re []float64
			for _, c := range r.Configs {
				if c.Mode == mode && c.Router == router && c.Subset == "all" && c.Mix == "top1" && c.Experts == mainExperts && len(c.DocLoad) > 0 {
					ev, us, re = append(ev, research.Evenness(c.DocLoad)), append(us, float64(used(c.DocLoad))), append(re, c.Rerouted)
				}
			}
			if len(ev) > 0 {
				e, _ := stats.MeanStd(ev)
				u, _ := stats.MeanStd(us)
				m, _ := stats.MeanStd(re)
				fmt.Fprintf(w, "- %s router, %s: evenness %.2f, %.1f of %d experts used, %.1f%% of documents rerouted by training (mean over %d collection(s))\n", router,
					map[string]string{"full": "full fine-tuning", "head": "head only"}[mode], e, u, mainExperts, 100*m, len(ev))
			}
		}
	}
	fmt.Fprintln(w)
}

// method writes the fixed description of what was run.
func (r *expReport) method(w io.Writer) {
	pooling := "mean pooling and L2 normalisation from its sentence-transformers modules"
	if !r.Normalized {
		pooling = "mean pooling, its Normalize module left out by --no-normalize: raw vectors and raw dot products, as the paper's base models have"
	}
	fmt.Fprintf(w, `## Method

- Base model: %s (%s). Texts are
  lower-cased; a document is title + " " + text, cut to 256 tokens.
- Block (moe/): experts Linear(H→H/2)·ReLU·Linear(H/2→H), gate Linear(H→H/2)·ReLU·Linear(H/2→E),
  noisy top-1 gating in training, output normalize(Σ g·E(h)) + h, shared by queries and documents.
  "paper" is the authors' router; "learned" adds a straight-through scale and a Switch load-balancing
  loss (coefficient 0.01) so that the gate gets a gradient (RATIONALE.md). TOP-1 and ALL are the two
  inference modes of the same trained block.
- Training: InfoNCE with in-batch negatives, τ = 0.05, batch 64, AdamW (encoder 1e-6, head 1e-4; weight
  decay 0.01 in full fine-tuning, 0 for the head-only runs), 5%% of the training queries held out, the
  last epoch kept, as the authors do.
  Full fine-tuning: %d epoch(s) where the recipe says 20, because one epoch of SciFact (13 steps of 64
  pairs at 256 tokens) takes minutes on this CPU. Head only: the encoder is frozen, its vectors are
  computed once, and the block trains %d epochs.
- Label-free training (classic collections): each document of two or more words gives one pair of
  random crops of 10–50%% of its words (drawn once, seed %d), as Contriever trains.
- Evaluation: exact dot-product search over the whole corpus, top 1000, NDCG@10 and Recall@100 as
  trec_eval computes them, on the judged test queries.
- Reproduce: make experiment (results are kept under runs/experiment, so an interrupted run continues).
`, r.Model, pooling, r.FullEpochs, r.HeadEpochs, research.CropSeed)
}
