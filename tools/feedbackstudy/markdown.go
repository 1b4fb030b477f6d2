package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/sbmoe/sbmoe/tools/internal/research"
)

// markdown writes report.md.
func (r *report) markdown(w io.Writer) error {
	seeds := make([]string, len(r.Seeds))
	for i, s := range r.Seeds {
		seeds[i] = fmt.Sprint(s)
	}
	fmt.Fprintf(w, "# Learning from feedback: the product head on %s\n\n", filepath.Base(r.Model))
	fmt.Fprintf(w, "Written by `sbmoe-feedback` (`make feedback-study`) on %s; %s. Seeds %s. "+
		"Values are means ± standard deviation over seeds of the collection's mean. Δ is the difference to zero-shot "+
		"(the frozen encoder without a head), p the two-sided paired randomization test over the queries' scores "+
		"averaged over seeds (%d random sign patterns, so the smallest p it can give is 1e-05; exact below 21 queries); "+
		"**bold** when p < 0.05. results.json also holds paired t-test p-values, epochs, gains and routing of every "+
		"configuration. With this many tests a few p < 0.05 are expected by chance alone.\n\n",
		r.Date, r.Machine, strings.Join(seeds, ", "), research.RandomizationRounds)
	fmt.Fprintf(w, "The product recipe: %s.\n\n", recipeLine())

	r.answers(w)
	r.curveTables(w)
	r.ablationTable(w)
	r.classicTable(w)
	r.routingTable(w)
	r.tuningTable(w)
	r.method(w)
	return nil
}

// firstSignificant returns the smallest click count from which the product head is
// significantly better than zero-shot on NDCG@10 at that and every larger count, and the
// smallest at which it is so at all (0 when never).
func (r *report) firstSignificant(s *setResult, subset string) (from, first int) {
	for i := len(r.Clicks) - 1; i >= 0; i-- {
		c := s.find(subset, armProduct.Name, pairsClicks, clicksOf(s, r.Clicks[i]))
		if c == nil || !significant(c.DeltaNDCG, c.NDCGP, true) {
			break
		}
		from = c.Clicks
	}
	for _, n := range r.Clicks {
		if c := s.find(subset, armProduct.Name, pairsClicks, clicksOf(s, n)); c != nil && significant(c.DeltaNDCG, c.NDCGP, true) {
			return from, c.Clicks
		}
	}
	return from, 0
}

// clicksOf is the clicks a run at n has: n, or every training claim when n is more.
func clicksOf(s *setResult, n int) int { return min(n, s.Clicks) }

// answers writes the plain answers, derived from the tables.
func (r *report) answers(w io.Writer) {
	fmt.Fprint(w, "## Answers\n\nDerived mechanically from the tables below (p < 0.05 = significant).\n\n")
	type goal struct {
		text string
		met  bool
		note string
	}
	var goals []goal
	if s := r.set("scifact"); s != nil {
		most := clicksOf(s, r.Clicks[len(r.Clicks)-1])
		for _, subset := range []string{"all", "unseen"} {
			name := fmt.Sprintf("all %d test claims", s.Queries)
			if subset == "unseen" {
				name = fmt.Sprintf("the %d unseen test claims", s.Unseen)
			}
			from, first := r.firstSignificant(s, subset)
			switch {
			case first == 0:
				fmt.Fprintf(w, "- **Clicks before SciFact NDCG@10 is significantly better than zero-shot, on %s:** not reached at any count up to %d.\n", name, most)
			case from == first:
				fmt.Fprintf(w, "- **Clicks before SciFact NDCG@10 is significantly better than zero-shot, on %s:** %d (and at every larger count).\n", name, first)
			case from == 0:
				fmt.Fprintf(w, "- **Clicks before SciFact NDCG@10 is significantly better than zero-shot, on %s:** significant at %d, but not at %d clicks.\n", name, first, most)
			default:
				fmt.Fprintf(w, "- **Clicks before SciFact NDCG@10 is significantly better than zero-shot, on %s:** %d at every count from there on (first significant at %d).\n", name, from, first)
			}
		}
		if c := s.find("all", armProduct.Name, pairsClicks, most); c != nil {
			fmt.Fprintf(w, "- **Gain at %d clicks:** NDCG@10 %.4f → %.4f (%+.4f, p %s), Recall@100 %+.4f (p %s) on all %d test claims",
				most, c.NDCG-c.DeltaNDCG, c.NDCG, c.DeltaNDCG, pPlain(c.NDCGP), c.DeltaRecall, pPlain(c.RecallP), s.Queries)
			if u := s.find("unseen", armProduct.Name, pairsClicks, most); u != nil {
				fmt.Fprintf(w, "; NDCG@10 %+.4f (p %s), Recall@100 %+.4f (p %s) on the %d unseen", u.DeltaNDCG, pPlain(u.NDCGP), u.DeltaRecall, pPlain(u.RecallP), s.Unseen)
			}
			fmt.Fprintln(w, ".")
			goals = append(goals, goal{fmt.Sprintf("SciFact at %d clicks significantly better than zero-shot, ≥ +0.02 NDCG@10 on all test claims", most),
				significant(c.DeltaNDCG, c.NDCGP, true) && c.DeltaNDCG >= 0.02, fmt.Sprintf("%+.4f, p %s", c.DeltaNDCG, pPlain(c.NDCGP))})
		}
		var worse []string
		for _, c := range s.Summaries {
			if c.Arm == armProduct.Name && (significant(c.DeltaNDCG, c.NDCGP, false) || significant(c.DeltaRecall, c.RecallP, false)) {
				worse = append(worse, fmt.Sprintf("%d clicks (%s): NDCG@10 %+.4f (p %s), Recall@100 %+.4f (p %s)", c.Clicks, c.Subset,
					c.DeltaNDCG, pPlain(c.NDCGP), c.DeltaRecall, pPlain(c.RecallP)))
			}
		}
		if len(worse) == 0 {
			fmt.Fprintf(w, "- **Ever significantly worse than zero-shot on SciFact?** No: at no click count, on neither query set, on neither measure.\n")
		} else {
			fmt.Fprintf(w, "- **Ever significantly worse than zero-shot on SciFact?** Yes: %s.\n", strings.Join(worse, "; "))
		}
		goals = append(goals, goal{"never significantly worse than zero-shot at any click count (NDCG@10 or Recall@100, all or unseen)", len(worse) == 0, fmt.Sprintf("%d cases", len(worse))})
	}
	classic := 0
	for _, s := range r.Sets {
		if !s.supervised {
			classic++
		}
	}
	if classic > 0 {
		for _, pairs := range []string{pairsCrops, pairsTitles} {
			better, betterRecall, worse, have := r.labelFree(armProduct.Name, pairs)
			if have == 0 {
				continue
			}
			what := fmt.Sprintf("label-free adaptation (%s, queries only)", pairs)
			if len(worse) == 0 {
				fmt.Fprintf(w, "- **Is %s ever significantly worse than zero-shot?** No, on none of the %d collections it ran on, on neither measure.\n", what, have)
			} else {
				fmt.Fprintf(w, "- **Is %s ever significantly worse than zero-shot?** Yes, on %d of %d: %s.\n", what, len(worse), have, strings.Join(worse, "; "))
			}
			if len(better) == 0 {
				fmt.Fprintf(w, "- **Is %s significantly better on NDCG@10?** On none of %d", what, have)
			} else {
				fmt.Fprintf(w, "- **Is %s significantly better on NDCG@10?** On %d of %d: %s", what, len(better), have, strings.Join(better, "; "))
			}
			if len(betterRecall) > 0 {
				fmt.Fprintf(w, "; on Recall@100 on %d: %s", len(betterRecall), strings.Join(betterRecall, "; "))
			}
			fmt.Fprintln(w, ".")
			goals = append(goals,
				goal{fmt.Sprintf("never significantly worse than zero-shot on any classic collection (%s)", pairs), len(worse) == 0, fmt.Sprintf("%d of %d collections", len(worse), have)},
				goal{fmt.Sprintf("significantly better NDCG@10 on at least three classic collections (%s)", pairs), len(better) >= 3,
					fmt.Sprintf("%d of %d collections (%d of %d on NDCG@10 or Recall@100)", len(better), have, len(better)+len(betterRecall), have)})
		}
	}
	if len(goals) > 0 {
		fmt.Fprint(w, "\n| goal | met | measured |\n|---|---|---|\n")
		for _, g := range goals {
			met := "no"
			if g.met {
				met = "yes"
			}
			fmt.Fprintf(w, "| %s | %s | %s |\n", g.text, met, g.note)
		}
	}
	fmt.Fprintln(w)
	r.comparisons(w)
}

// labelFree lists the classic collections on which an arm trained on pairs is
// significantly better than zero-shot on NDCG@10, on Recall@100 (not NDCG@10), and
// significantly worse on either, and counts the collections it ran on.
func (r *report) labelFree(arm, pairs string) (better, betterRecall, worse []string, have int) {
	for _, s := range r.Sets {
		if s.supervised {
			continue
		}
		c := s.find("all", arm, pairs, 0)
		if c == nil {
			continue
		}
		have++
		line := fmt.Sprintf("%s (NDCG@10 %+.4f, p %s; Recall@100 %+.4f, p %s)", s.Name, c.DeltaNDCG, pPlain(c.NDCGP), c.DeltaRecall, pPlain(c.RecallP))
		switch {
		case significant(c.DeltaNDCG, c.NDCGP, true):
			better = append(better, line)
		case significant(c.DeltaRecall, c.RecallP, true):
			betterRecall = append(betterRecall, line)
		}
		if significant(c.DeltaNDCG, c.NDCGP, false) || significant(c.DeltaRecall, c.RecallP, false) {
			worse = append(worse, line)
		}
	}
	return better, betterRecall, worse, have
}

// comparisons answers how the product head compares with the head on both sides and the
// paper's recipe (paper and learned routers) on the same splits, in two small tables.
func (r *report) comparisons(w io.Writer) {
	if s := r.set("scifact"); s != nil {
		most := clicksOf(s, r.Clicks[len(r.Clicks)-1])
		fmt.Fprintf(w, "The heads side by side on SciFact at %d clicks (NDCG@10; Δ and p against zero-shot), and at how many of the "+
			"%d points of the learning curves (%d click counts × all and unseen) each is significantly worse than zero-shot on NDCG@10:\n\n"+
			"| head | all %d: NDCG@10 | Δ | p | unseen %d: NDCG@10 | Δ | p | curve points significantly worse |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
			most, 2*len(r.Clicks), len(r.Clicks), s.Queries, s.Unseen)
		for _, a := range curveArms {
			c, u := s.find("all", a.Name, pairsClicks, most), s.find("unseen", a.Name, pairsClicks, most)
			if c == nil || u == nil {
				continue
			}
			worse := 0
			for _, n := range r.Clicks {
				for _, subset := range []string{"all", "unseen"} {
					if x := s.find(subset, a.Name, pairsClicks, clicksOf(s, n)); x != nil && significant(x.DeltaNDCG, x.NDCGP, false) {
						worse++
					}
				}
			}
			fmt.Fprintf(w, "| %s | %.4f | %+.4f | %s | %.4f | %+.4f | %s | %d |\n", a.Label, c.NDCG, c.DeltaNDCG, research.FmtP(c.NDCGP),
				u.NDCG, u.DeltaNDCG, research.FmtP(u.NDCGP), worse)
		}
		fmt.Fprintln(w)
	}
	var rows []string
	for _, ca := range classicArms {
		var sum float64
		n, better, worse := 0, 0, 0
		for _, s := range r.Sets {
			if s.supervised {
				continue
			}
			if c := s.find("all", ca.arm.Name, ca.pairs, 0); c != nil {
				sum += c.DeltaNDCG
				n++
				if significant(c.DeltaNDCG, c.NDCGP, true) {
					better++
				}
				if significant(c.DeltaNDCG, c.NDCGP, false) || significant(c.DeltaRecall, c.RecallP, false) {
					worse++
				}
			}
		}
		if n > 0 {
			rows = append(rows, fmt.Sprintf("| %s | %s | %d | %+.4f | %d | %d |", ca.arm.Label, ca.pairs, n, sum/float64(n), better, worse))
		}
	}
	if len(rows) > 0 {
		fmt.Fprintf(w, "The heads side by side, label-free on the classic collections:\n\n"+
			"| head | pairs | collections | mean Δ NDCG@10 | significantly better (NDCG@10) | significantly worse (either measure) |\n"+
			"|---|---|---:|---:|---:|---:|\n%s\n\n", strings.Join(rows, "\n"))
	}
}

func pPlain(p float64) string {
	if p < 0.001 {
		return fmt.Sprintf("%.0e", p)
	}
	return fmt.Sprintf("%.3f", p)
}

// curveTables writes SciFact's learning curves.
func (r *report) curveTables(w io.Writer) {
	s := r.set("scifact")
	if s == nil {
		return
	}
	fmt.Fprintf(w, "## 1. SciFact: learning from clicks (head only, frozen encoder)\n\n"+
		"The %d training claims are the visitors and their relevant abstracts the results they clicked; a run trains on the first "+
		"n clicks in its seed's order. Scored on the %d test claims and on the %d of them none of whose relevant abstracts is "+
		"relevant to any training claim (unseen). ![NDCG@10 against clicks](curves.png)\n\n", s.Clicks, s.Queries, s.Unseen)
	for _, subset := range []string{"all", "unseen"} {
		z := s.find(subset, "zero-shot", "", 0)
		if z == nil {
			continue
		}
		title := fmt.Sprintf("All %d test claims", s.Queries)
		if subset == "unseen" {
			title = fmt.Sprintf("The %d unseen test claims", s.Unseen)
		}
		fmt.Fprintf(w, "%s:\n\n| clicks | head |%s training (s/run) | epochs | kept untrained |\n|---:|---|%s---:|---:|---:|\n", title, cellsHead, cellsRule)
		fmt.Fprintf(w, "| 0 | zero-shot (no head) |%s – | – | – |\n", cells(z))
		for _, n := range r.Clicks {
			for _, a := range curveArms {
				c := s.find(subset, a.Name, pairsClicks, clicksOf(s, n))
				if c == nil {
					continue
				}
				fmt.Fprintf(w, "| %d | %s |%s %.1f | %.1f | %s |\n", c.Clicks, c.Label, cells(c), c.TrainSeconds, c.Epochs, keepsUntrained(c))
			}
		}
		fmt.Fprintln(w)
	}
}

// ablationTable writes the product recipe with one part left out, at the most clicks.
func (r *report) ablationTable(w io.Writer) {
	s := r.set("scifact")
	if s == nil {
		return
	}
	most := clicksOf(s, r.Clicks[len(r.Clicks)-1])
	fmt.Fprintf(w, "## 2. SciFact at %d clicks: the recipe with one part left out\n\n", most)
	fmt.Fprintf(w, "| queries | head |%s training (s/run) | epochs | kept untrained |\n|---|---|%s---:|---:|---:|\n", cellsHead, cellsRule)
	for _, subset := range []string{"all", "unseen"} {
		for _, a := range append([]arm{armProduct}, ablations...) {
			if c := s.find(subset, a.Name, pairsClicks, most); c != nil {
				fmt.Fprintf(w, "| %s | %s |%s %.1f | %.1f | %s |\n", subset, c.Label, cells(c), c.TrainSeconds, c.Epochs, keepsUntrained(c))
			}
		}
	}
	fmt.Fprintln(w)
}

// classicTable writes the label-free runs.
func (r *report) classicTable(w io.Writer) {
	var sets []*setResult
	for _, s := range r.Sets {
		if !s.supervised {
			sets = append(sets, s)
		}
	}
	if len(sets) == 0 {
		return
	}
	fmt.Fprint(w, "## 3. Label-free adaptation at build time (the classic collections)\n\n"+
		"No labels: the product head trains on pairs the corpus makes itself — a random crop of 10–50% of a document's words "+
		"(the same crops sbmoe-experiment draws, once, seed 42) as the query and the document as the index holds it as its "+
		"positive (crops), or its title as the query (titles, where documents have both a title and a text); hard negatives "+
		"and validation come from the same pairs, so the guard sees no real query either. The paper's recipe trains on two "+
		"crops of each document, both through the head, as in results/experiment. All are scored on the real test queries.")
	if r.MaxPairs > 0 {
		fmt.Fprintf(w, " A product head trains on at most %d pairs, drawn per seed (the whole corpus still supplies its negatives "+
			"and validation ranking); the number in brackets is the pairs the collection has.", r.MaxPairs)
	}
	fmt.Fprint(w, "\n\n")
	fmt.Fprintf(w, "| collection | head | pairs |%s training (s/run) | epochs | kept untrained |\n|---|---|---|%s---:|---:|---:|\n", cellsHead, cellsRule)
	for _, s := range sets {
		if z := s.find("all", "zero-shot", "", 0); z != nil {
			fmt.Fprintf(w, "| %s | zero-shot (no head) | – |%s – | – | – |\n", s.Name, cells(z))
		}
		for _, ca := range classicArms {
			c := s.find("all", ca.arm.Name, ca.pairs, 0)
			if c == nil {
				continue
			}
			n := s.Crops
			if ca.pairs == pairsTitles {
				n = s.Titles
			}
			fmt.Fprintf(w, "| %s | %s | %s (%d) |%s %.1f | %.1f | %s |\n", s.Name, c.Label, ca.pairs, n, cells(c), c.TrainSeconds, c.Epochs, keepsUntrained(c))
		}
	}
	fmt.Fprintln(w)
}

// routingTable writes how the product heads route the test queries.
func (r *report) routingTable(w io.Writer) {
	fmt.Fprint(w, "## 4. Routing and reach of the product heads\n\n"+
		"Share of the test queries (and, for the head on both sides, of the documents) whose most probable expert is each expert, "+
		"in percent, averaged over seeds; evenness is the normalised entropy of one head's shares (1 = uniform, 0 = every query to "+
		"one expert), averaged over seeds, so shares spread over experts with an evenness near 0 mean that each seed's head sends "+
		"nearly everything to one expert, another for each seed; |α| is the mean gain of the kept heads, the distance every vector "+
		"moves (0 for an untrained head).\n\n")
	fmt.Fprint(w, "| collection | head | pairs | queries per expert (%) | evenness | documents per expert (%) | evenness | mean |α| |\n|---|---|---|---|---:|---|---:|---:|\n")
	for _, s := range r.Sets {
		for _, c := range s.Summaries {
			if c.Subset != "all" || (c.Arm != armProduct.Name && c.Arm != armBoth.Name) {
				continue
			}
			if s.supervised && c.Clicks != clicksOf(s, r.Clicks[len(r.Clicks)-1]) {
				continue
			}
			pairs := c.Pairs
			if c.Clicks > 0 {
				pairs = fmt.Sprintf("%d clicks", c.Clicks)
			}
			docs, docEven := "–", "–"
			if c.DocLoad != nil {
				docs, docEven = research.Percents(c.DocLoad), fmt.Sprintf("%.2f", c.DocEvenness)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %.2f | %s | %s | %.3f |\n", s.Name, c.Label, pairs, research.Percents(c.QueryLoad), c.QueryEvenness, docs, docEven, c.Gain)
		}
	}
	fmt.Fprintln(w)
}

// tuningTable writes the selection of the recipe on SciFact's training claims.
func (r *report) tuningTable(w io.Writer) {
	if len(r.Tuning) == 0 {
		return
	}
	fmt.Fprintf(w, "## 5. How the recipe was chosen (SciFact training claims only)\n\n"+
		"%d of SciFact's training claims, fixed, are held out and ranked against the whole corpus; heads train on clicks from "+
		"the others (50, and all of them), with one setting of the recipe changed at a time. No test claim was used to choose "+
		"anything. Δ and p are against zero-shot on the held-out claims.\n\n", devTest)
	fmt.Fprintf(w, "| clicks | variant |%s training (s/run) | epochs | kept untrained |\n|---:|---|%s---:|---:|---:|\n", cellsHead, cellsRule)
	for _, c := range r.Tuning {
		clicks := "–"
		if c.Arm != "zero-shot" {
			clicks = fmt.Sprint(c.Clicks)
		}
		label := c.Label
		if c.Arm == armProduct.Name {
			label = "the recipe"
		}
		if c.Arm == "zero-shot" {
			fmt.Fprintf(w, "| %s | %s |%s – | – | – |\n", clicks, label, cells(&c))
			continue
		}
		fmt.Fprintf(w, "| %s | %s |%s %.1f | %.1f | %s |\n", clicks, label, cells(&c), c.TrainSeconds, c.Epochs, keepsUntrained(&c))
	}
	fmt.Fprintln(w)
}

// method writes how the study was run.
func (r *report) method(w io.Writer) {
	fmt.Fprint(w, "## Method and cost\n\n")
	fmt.Fprintf(w, "- Base model: %s (mean pooling and L2 normalisation), frozen. Texts lower-cased; a document is title + \" \" + text, "+
		"cut to 256 tokens, as sbmoe-experiment encodes them; its vector cache (runs/experiment/cache) is shared.\n", r.Model)
	fmt.Fprint(w, "- Product head (moe.ProductConfig): the paper's experts Linear(H→H/2)·ReLU·Linear(H/2→H) and gate, the learned router, "+
		"and out = h + α·normalize(Σ g·E(h)) with one learned scalar α that starts at 0, so the untrained head returns h bit for bit. "+
		"Queries only: documents keep the encoder's vectors and the index never changes; \"both sides\" passes documents through the "+
		"head too (the index is rebuilt).\n")
	fmt.Fprint(w, "- Product trainer (headtrain.Product): InfoNCE over the batch's positives and each query's mined hard negatives, "+
		"a row that is one of the query's own positives masked out; hard negatives mined from the whole corpus under the current "+
		"head before every epoch; validation NDCG@10 of the held-out pairs ranked against the whole corpus after every epoch, "+
		"the best epoch kept, early stopping, and the guard: the untrained head is kept unless a trained epoch beats it on "+
		"validation. Deterministic for a seed.\n")
	fmt.Fprint(w, "- Paper recipe (as results/experiment's head-only runs): 6 experts, TOP-1, InfoNCE with in-batch negatives, "+
		"τ = 0.05, batch 64, AdamW lr 1e-4, weight decay 0, 5% held out, 20 epochs, the last kept, the head on both sides.\n")
	fmt.Fprint(w, "- Evaluation: exact dot-product search over the whole corpus, top 1000, NDCG@10 and Recall@100 as trec_eval computes "+
		"them.\n")
	fmt.Fprint(w, "\n| collection | documents | test queries | training pairs | encoding once (s) | runs | training and scoring, all runs (s) |\n|---|---:|---:|---|---:|---:|---:|\n")
	total, runs, this := 0.0, 0, 0.0
	for _, s := range r.Sets {
		pairs := fmt.Sprintf("%d crops, %d titles", s.Crops, s.Titles)
		if s.supervised {
			pairs = fmt.Sprintf("%d claims", s.Clicks)
		}
		q := fmt.Sprint(s.Queries)
		if s.Unseen > 0 {
			q += fmt.Sprintf(" (%d unseen)", s.Unseen)
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %.0f | %d | %.0f |\n", s.Name, s.Documents, q, pairs, s.EncodeSeconds, s.RunCount, s.RunsSeconds)
		total += s.RunsSeconds + s.EncodeSeconds
		runs += s.RunCount
		this += s.PrepareSeconds + s.RunSeconds
	}
	fmt.Fprintf(w, "\nIn all: %d runs and the encoding, %.1f hours of wall time as each was measured (on a machine shared with other work; "+
		"the seconds per run in the tables are as measured too). The invocation that wrote this report took %.0f s. "+
		"Reproduce: `make feedback-study`, which builds the command and runs `bin/sbmoe-feedback --data ../shared/data "+
		"--cache runs/experiment/cache --out runs/feedback --report results/feedback` (runs are kept under runs/feedback, so an "+
		"interrupted study continues; a run whose recipe changed is trained again; `--parts`, `--datasets`, `--seeds` and "+
		"`--clicks` run a part of it).\n", runs, total/3600, this)
}
