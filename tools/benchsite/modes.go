package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/lexical"
	"github.com/sbmoe/sbmoe/core/metrics"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/tools/internal/cli"
	"github.com/sbmoe/sbmoe/tools/internal/stats"
)

// collections are the shared collections, in the order results tables list them.
var collections = []string{"scifact", "cisi", "medline", "cacm", "npl", "lisa", "adi"}

// fusionDepth is how many documents of each ranking the product fuses (core/bundle).
const fusionDepth = 100

// ranked is one query's two rankings: document positions and scores, best first.
type ranked struct {
	dense, lex           []int
	denseScore, lexScore []float32
}

// collection is what the study needs of one collection.
type collection struct {
	name    string
	ids     []string // corpus ids
	qids    []string
	qrels   beir.Qrels
	queries []ranked
}

// fusion is one way to merge the two rankings of a query into one run entry.
type fusion struct {
	name string
	fuse func(q ranked) map[int]float64
}

func rrf(k float64, wDense float64) func(q ranked) map[int]float64 {
	return func(q ranked) map[int]float64 {
		out := map[int]float64{}
		for r, d := range q.dense {
			out[d] += wDense / (k + float64(r+1))
		}
		for r, d := range q.lex {
			out[d] += (1 - wDense) / (k + float64(r+1))
		}
		return out
	}
}

// convex is α·dense + (1−α)·BM25, each min-max normalised over its own list; a document
// missing from one list scores 0 there.
func convex(alpha float64) func(q ranked) map[int]float64 {
	return func(q ranked) map[int]float64 {
		out := map[int]float64{}
		add := func(docs []int, scores []float32, w float64) {
			if len(docs) == 0 {
				return
			}
			lo, hi := scores[len(scores)-1], scores[0]
			for i, d := range docs {
				v := 1.0
				if hi > lo {
					v = float64(scores[i]-lo) / float64(hi-lo)
				}
				out[d] += w * v
			}
		}
		add(q.dense, q.denseScore, alpha)
		add(q.lex, q.lexScore, 1-alpha)
		return out
	}
}

// product is the fusion core/bundle searches with (lexical.Combine).
func product(q ranked) map[int]float64 {
	var dense, lex []lexical.Ranked
	for i, d := range q.dense {
		dense = append(dense, lexical.Ranked{Index: d, Score: q.denseScore[i]})
	}
	for i, d := range q.lex {
		lex = append(lex, lexical.Ranked{Index: d, Score: q.lexScore[i]})
	}
	out := map[int]float64{}
	for _, f := range lexical.Combine(2*fusionDepth, dense, lex) {
		out[f.Index] = f.Score
	}
	return out
}

func runModes(args []string, stdout, stderr io.Writer) error {
	fs := flags("modes")
	data := fs.String("data", "", "folder of the shared collections (required)")
	out := fs.String("out", "", "markdown file to write (stdout when empty)")
	cache := fs.String("cache", "", "the experiment's vector cache (runs/experiment/cache): pooled vectors of each corpus and its test queries, used when present")
	model := fs.String("model", cli.DefaultModelDir(), "the model, for collections the cache lacks")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("--data is required")
	}
	var r *retriever.Retriever
	var sets []*collection
	for _, name := range collections {
		ds, err := beir.Load(filepath.Join(*data, name), "test")
		if err != nil {
			return err
		}
		docs, queries, err := vectors(*cache, name, ds)
		if err != nil {
			return err
		}
		if docs == nil {
			if r == nil {
				if r, err = cli.OpenModel(*model, retriever.Options{}); err != nil {
					return err
				}
			}
			fmt.Fprintf(stderr, "%s: not in the cache, encoding\n", name)
			if docs, queries, err = encodeSet(r, ds, stderr); err != nil {
				return err
			}
		}
		sets = append(sets, rankSet(name, ds, docs, queries))
		fmt.Fprintf(stderr, "%s: %d documents, %d queries ranked\n", name, len(ds.Corpus), len(ds.JudgedQueries()))
	}
	report := modesReport(sets)
	if *out == "" {
		_, err := io.WriteString(stdout, report)
		return err
	}
	return os.WriteFile(*out, []byte(report), 0o644)
}

// vectors reads a collection's pooled vectors from the experiment's cache, or nil when it
// lacks them.
func vectors(cache, name string, ds *beir.Dataset) (*index.Index, [][]float32, error) {
	if cache == "" {
		return nil, nil, nil
	}
	docs, err := index.ReadFile(filepath.Join(cache, name, "corpus.idx"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	qs, err := index.ReadFile(filepath.Join(cache, name, "queries.idx"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	judged := ds.JudgedQueries()
	if docs.Len() != len(ds.Corpus) || qs.Len() != len(judged) {
		return nil, nil, fmt.Errorf("%s: the cache holds %d documents and %d queries, the collection %d and %d", name, docs.Len(), qs.Len(), len(ds.Corpus), len(judged))
	}
	for i, d := range ds.Corpus {
		if docs.ID(i) != d.ID {
			return nil, nil, fmt.Errorf("%s: cached document %d is %q, the corpus has %q", name, i, docs.ID(i), d.ID)
		}
	}
	out := make([][]float32, qs.Len())
	for i, q := range judged {
		if qs.ID(i) != q.ID {
			return nil, nil, fmt.Errorf("%s: cached query %d is %q, the collection has %q", name, i, qs.ID(i), q.ID)
		}
		out[i] = qs.Vector(i)
	}
	return docs, out, nil
}

func encodeSet(r *retriever.Retriever, ds *beir.Dataset, stderr io.Writer) (*index.Index, [][]float32, error) {
	ctx := context.Background()
	ix, err := r.Index(ctx, ds.Corpus, cli.NewProgress(stderr, len(ds.Corpus), "encoding", false))
	if err != nil {
		return nil, nil, err
	}
	var texts []string
	for _, q := range ds.JudgedQueries() {
		texts = append(texts, q.Text)
	}
	qs, err := r.EncodeQueries(ctx, texts)
	return ix, qs, err
}

// rankSet ranks every judged query both ways, fusionDepth deep.
func rankSet(name string, ds *beir.Dataset, docs *index.Index, queries [][]float32) *collection {
	c := &collection{name: name, qrels: ds.Qrels}
	ids, texts := make([]string, len(ds.Corpus)), make([]string, len(ds.Corpus))
	for i, d := range ds.Corpus {
		ids[i], texts[i] = d.ID, beir.DocText(d)
	}
	c.ids = ids
	lex, err := lexical.Build(ids, texts)
	if err != nil {
		panic(err) // BEIR ids are unique: beir.Load checks
	}
	dense := docs.SearchBatch(queries, fusionDepth, 0)
	for i, q := range ds.JudgedQueries() {
		c.qids = append(c.qids, q.ID)
		var rq ranked
		for _, h := range dense[i] {
			rq.dense, rq.denseScore = append(rq.dense, h.Index), append(rq.denseScore, h.Score)
		}
		for _, h := range lex.Search(q.Text, fusionDepth) {
			rq.lex, rq.lexScore = append(rq.lex, h.Index), append(rq.lexScore, h.Score)
		}
		c.queries = append(c.queries, rq)
	}
	return c
}

// perQuery is a fusion's NDCG@10 of every query of a collection, in query order.
func (c *collection) perQuery(f func(ranked) map[int]float64) []float64 {
	run := metrics.Run{}
	for i, q := range c.queries {
		docs := map[string]float64{}
		for d, s := range f(q) {
			docs[c.ids[d]] = s
		}
		run[c.qids[i]] = docs
	}
	per, _, err := metrics.Evaluate(c.qrels, run, []string{"ndcg_cut_10"})
	if err != nil {
		panic(err)
	}
	out := make([]float64, len(c.qids))
	for i, q := range c.qids {
		out[i] = per[q]["ndcg_cut_10"]
	}
	return out
}

// score is a fusion's NDCG@10 and Recall@100 on a collection.
func (c *collection) score(f func(ranked) map[int]float64) (ndcg, recall float64) {
	run := metrics.Run{}
	for i, q := range c.queries {
		docs := map[string]float64{}
		for d, s := range f(q) {
			docs[c.ids[d]] = s
		}
		run[c.qids[i]] = docs
	}
	_, mean, err := metrics.Evaluate(c.qrels, run, []string{"ndcg_cut_10", "recall_100"})
	if err != nil {
		panic(err)
	}
	return mean["ndcg_cut_10"], mean["recall_100"]
}

func only(dense bool) func(ranked) map[int]float64 {
	return func(q ranked) map[int]float64 {
		out := map[int]float64{}
		docs, scores := q.lex, q.lexScore
		if dense {
			docs, scores = q.dense, q.denseScore
		}
		for i, d := range docs {
			out[d] = float64(scores[i])
		}
		return out
	}
}

// modesReport is results/modes.md: BM25, dense and hybrid (the product's fusion) on every
// collection with paired tests, then the fusions compared, the weighted ones' weight also
// chosen by leave-one-collection-out.
func modesReport(sets []*collection) string {
	type row struct {
		name         string
		ndcg, recall []float64
	}
	eval := func(name string, f func(ranked) map[int]float64) row {
		r := row{name: name}
		for _, c := range sets {
			n, rc := c.score(f)
			r.ndcg, r.recall = append(r.ndcg, n), append(r.recall, rc)
		}
		return r
	}
	mean := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	bm25, dense := eval("BM25", only(false)), eval("dense", only(true))
	hybrid := eval("hybrid (convex, dense weight 0.5: the product)", product)
	base := eval("RRF k=60, equal weights", rrf(60, 0.5))
	var rrfK []row
	for _, k := range []float64{10, 30, 100} {
		rrfK = append(rrfK, eval(fmt.Sprintf("RRF k=%g", k), rrf(k, 0.5)))
	}
	alphas := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}
	var wrrf, cc []row
	for _, a := range alphas {
		wrrf = append(wrrf, eval(fmt.Sprintf("RRF k=60, dense weight %.1f", a), rrf(60, a)))
		cc = append(cc, eval(fmt.Sprintf("convex, dense weight %.1f", a), convex(a)))
	}
	// Leave one collection out: each collection scored with the weight that is best (mean
	// NDCG@10) on the other six.
	loo := func(grid []row, name string) (row, []string) {
		r := row{name: name}
		var chosen []string
		for i := range sets {
			best := 0
			sum := func(x row) float64 {
				s := 0.0
				for j, v := range x.ndcg {
					if j != i {
						s += v
					}
				}
				return s
			}
			for j := range grid {
				if sum(grid[j]) > sum(grid[best]) {
					best = j
				}
			}
			r.ndcg, r.recall = append(r.ndcg, grid[best].ndcg[i]), append(r.recall, grid[best].recall[i])
			chosen = append(chosen, fmt.Sprintf("%.1f", alphas[best]))
		}
		return r, chosen
	}
	looRRF, chosenRRF := loo(wrrf, "RRF k=60, dense weight chosen on the other six")
	looCC, chosenCC := loo(cc, "convex, dense weight chosen on the other six")

	var b strings.Builder
	b.WriteString(modesHeader)
	table := func(title string, rows []row, recall bool) {
		fmt.Fprintf(&b, "| %s | %s | mean |\n|---|%s---:|\n", title, strings.Join(collections, " | "), strings.Repeat("---:|", len(collections)))
		for _, r := range rows {
			v := r.ndcg
			if recall {
				v = r.recall
			}
			fmt.Fprintf(&b, "| %s |", r.name)
			for _, x := range v {
				fmt.Fprintf(&b, " %.4f |", x)
			}
			fmt.Fprintf(&b, " %.4f |\n", mean(v))
		}
	}
	b.WriteString("## The three modes\n\n")
	table("NDCG@10", []row{bm25, dense, hybrid}, false)
	b.WriteString("\n")
	table("Recall@100", []row{bm25, dense, hybrid}, true)

	// Paired randomization tests over the queries (two-sided, 100,000 sign patterns).
	fmt.Fprintf(&b, "\nHybrid against each, NDCG@10 per query, paired randomization test (two-sided p; "+
		"`+` hybrid better, `−` worse):\n\n| hybrid against | %s | all %d queries |\n|---|%s---:|\n",
		strings.Join(collections, " | "), totalQueries(sets), strings.Repeat("---:|", len(collections)))
	for _, other := range []struct {
		name string
		f    func(ranked) map[int]float64
	}{{"BM25", only(false)}, {"dense", only(true)}, {"RRF k=60", rrf(60, 0.5)}} {
		fmt.Fprintf(&b, "| %s |", other.name)
		var allA, allB []float64
		for _, c := range sets {
			a, o := c.perQuery(product), c.perQuery(other.f)
			allA, allB = append(allA, a...), append(allB, o...)
			b.WriteString(" " + versus(a, o) + " |")
		}
		b.WriteString(" " + versus(allA, allB) + " |\n")
	}

	b.WriteString("\n## Fusions compared\n\nEach ranking's 100 best fused (what core/bundle fuses), NDCG@10:\n\n")
	rows := []row{base}
	rows = append(rows, rrfK...)
	rows = append(rows, wrrf[3], looRRF, cc[4], looCC)
	table("NDCG@10", rows, false)
	b.WriteString("\n")
	table("Recall@100", rows, true)
	fmt.Fprintf(&b, "\nWeights chosen on the other six collections, in the order of the table: RRF %s; convex %s.\n",
		strings.Join(chosenRRF, ", "), strings.Join(chosenCC, ", "))
	fmt.Fprintf(&b, "\nEvery dense weight, mean NDCG@10 over the seven:\n\n| dense weight | %s |\n|---|%s\n", strings.Join(fmtAll(alphas), " | "), strings.Repeat("---:|", len(alphas)))
	for _, grid := range []struct {
		name string
		rows []row
	}{{"RRF k=60", wrrf}, {"convex", cc}} {
		fmt.Fprintf(&b, "| %s |", grid.name)
		for _, r := range grid.rows {
			fmt.Fprintf(&b, " %.4f |", mean(r.ndcg))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func totalQueries(sets []*collection) int {
	n := 0
	for _, c := range sets {
		n += len(c.qids)
	}
	return n
}

// versus is "+0.0123 (p 0.004)": the mean difference a − b and its paired randomization
// test.
func versus(a, b []float64) string {
	p, err := stats.PairedRandomization(a, b, 100000, 42)
	if err != nil {
		return "–"
	}
	d := 0.0
	for i := range a {
		d += a[i] - b[i]
	}
	d /= float64(len(a))
	sign := "+"
	if d < 0 {
		sign, d = "−", -d
	}
	return fmt.Sprintf("%s%.4f (p %s)", sign, d, pval(p))
}

func pval(p float64) string {
	if p < 0.001 {
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", p)
}

const modesHeader = `# BM25, dense and hybrid on the shared collections

all-MiniLM-L6-v2 zero-shot (fp32, exact search) and core/lexical's BM25 (Lucene's, k1 1.2,
b 0.75, Snowball English stemmer; equal to bm25s on SciFact), on the test queries of the
seven collections in ../shared/data. "Hybrid" is what a site's search box ranks with once the
model has loaded: the 100 best of each ranking fused by an even convex combination of their
min-max normalised scores (lexical.Combine, lexical.DenseWeight 0.5); the widget uses it.
It was chosen over reciprocal rank fusion (the fusions compared below): it has the best mean
NDCG@10 of the fusions tried, and 0.5 is the weight each collection gets when the weight is
chosen on the other six, so the choice does not rest on tuning to the collection scored.
Hybrid beats BM25 and dense alone on six collections of seven; on LISA it ties BM25.

Commands (each prints its table; the dense numbers equal results/zero-shot.md):

    bin/sbmoe eval --mode bm25   ../shared/data/{scifact,cisi,medline,cacm,npl,lisa,adi}
    bin/sbmoe eval --mode dense  ../shared/data/{scifact,cisi,medline,cacm,npl,lisa,adi}
    bin/sbmoe eval --mode hybrid ../shared/data/{scifact,cisi,medline,cacm,npl,lisa,adi}
    bin/sbmoe-benchsite modes --data ../shared/data --cache runs/experiment/cache --out results/modes.md

The last one wrote this page, from the vectors sbmoe-experiment keeps (runs/experiment/cache,
the same as sbmoe eval encodes: its dense column equals results/zero-shot.md to four places;
a collection the cache lacks is encoded).

`

func fmtAll(v []float64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = fmt.Sprintf("%.1f", x)
	}
	return out
}
