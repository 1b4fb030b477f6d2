package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/tools/internal/cli"
)

// searchResult is one query's answer in --json output.
type searchResult struct {
	Query string      `json:"query"`
	Hits  []searchHit `json:"hits"`
}

type searchHit struct {
	Rank  int     `json:"rank"`
	ID    string  `json:"id"`
	Score float32 `json:"score"`
	Title string  `json:"title,omitempty"`
}

func runSearch(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("search", "--index FILE [flags] [query ...]",
		"Encodes each query with the model (its head applied when the model folder has one) and\n"+
			"prints the k best documents of the index by dot product, as a table or as JSON. Queries\n"+
			"come from the arguments, or one per line from standard input when there are none.\n"+
			"--corpus adds document titles to the output. The index must have been built by the same\n"+
			"model with the same --weights: search compares the fingerprint it records with the model's.",
		"sbmoe search --index scifact.idx --corpus ../shared/data/scifact \"vitamin d and bone density\"\n"+
			"printf 'first query\\nsecond query\\n' | sbmoe search --index docs.idx --json --k 5\n"+
			"sbmoe search --model runs/head --index scifact-head.idx \"statins and heart disease\"\n"+
			"sbmoe search --index scifact-int8.idx --weights int8 \"vitamin d and bone density\"", stderr)
	model := fs.String("model", defaultModelDir(), "model folder that built the index (a Hugging Face encoder, or one written by sbmoe train)")
	ixPath := fs.String("index", "", "index file written by sbmoe index (required)")
	corpus := fs.String("corpus", "", "corpus the index was built from, to print titles (optional)")
	k := fs.Int("k", 10, "results per query")
	asJSON := fs.Bool("json", false, "print JSON (one object per query) instead of a table")
	threads := fs.Int("threads", 0, "encoder threads; 0 = all cores")
	weights := weightsFlag(fs)
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	usageErr := usageError(stderr, "search")
	if *ixPath == "" {
		return usageErr("--index is required")
	}
	if err := cli.PositiveK(*k, maxK); err != nil {
		return usageErr("%v", err)
	}
	if err := checkWeights(*weights); err != nil {
		return usageErr("%v", err)
	}
	queries := fs.Args()
	if len(queries) == 0 {
		var err error
		if queries, err = readLines(os.Stdin); err != nil {
			return fail(stderr, "search", fmt.Errorf("read queries from standard input: %w", err))
		}
	}
	if len(queries) == 0 {
		return usageErr("no query given (pass queries as arguments or on standard input)")
	}
	ix, err := index.ReadFile(*ixPath)
	if err != nil {
		return fail(stderr, "search", err)
	}
	r, err := openModelWeights(*model, *threads, 0, 0, *weights)
	if err != nil {
		return fail(stderr, "search", err)
	}
	if err := checkIndex(r, ix, *ixPath, modelName(*model, *weights), stderr); err != nil {
		return fail(stderr, "search", err)
	}
	titles := map[string]string{}
	if *corpus != "" {
		docs, err := cli.LoadCorpus(*corpus)
		if err != nil {
			return fail(stderr, "search", err)
		}
		for _, d := range docs {
			titles[d.ID] = displayTitle(d)
		}
	}
	results, err := r.Search(context.Background(), ix, queries, *k)
	if err != nil {
		return fail(stderr, "search", err)
	}
	enc := json.NewEncoder(stdout)
	for qi, q := range queries {
		res := searchResult{Query: q, Hits: make([]searchHit, len(results[qi]))}
		for rank, h := range results[qi] {
			res.Hits[rank] = searchHit{Rank: rank + 1, ID: h.ID, Score: h.Score, Title: titles[h.ID]}
		}
		if *asJSON {
			if err := enc.Encode(res); err != nil {
				return fail(stderr, "search", err)
			}
			continue
		}
		printHits(stdout, res)
	}
	return 0
}

// checkIndex refuses an index another model built, naming both, and warns about one
// that records no model (written before sbmoe kept fingerprints).
func checkIndex(r *retriever.Retriever, ix *index.Index, path, model string, stderr io.Writer) error {
	err := r.CheckIndex(ix)
	switch {
	case errors.Is(err, retriever.ErrNoFingerprint):
		fmt.Fprintf(stderr, "warning: index %s records no model fingerprint (written by an older sbmoe); make sure %s built it, or rebuild it with sbmoe index\n", path, model)
		return nil
	case err != nil:
		return fmt.Errorf("index %s and model %s: %w", path, model, err)
	}
	return nil
}

// displayTitle is what the table shows for a document: its title, else the start of its
// text, cut at 90 characters.
func displayTitle(d beir.Doc) string {
	t := d.Title
	if t == "" {
		t = d.Text
	}
	if r := []rune(t); len(r) > 90 {
		t = string(r[:87]) + "..."
	}
	return t
}

func printHits(w io.Writer, res searchResult) {
	fmt.Fprintf(w, "query: %s\n", res.Query)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  rank\tscore\tid\ttitle")
	for _, h := range res.Hits {
		fmt.Fprintf(tw, "  %d\t%.4f\t%s\t%s\n", h.Rank, h.Score, h.ID, h.Title)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func readLines(r io.Reader) ([]string, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			lines = append(lines, s)
		}
	}
	return lines, sc.Err()
}
