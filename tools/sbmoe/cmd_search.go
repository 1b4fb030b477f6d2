package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/index"
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
		"Encodes each query with the model and prints the k best documents of the index by dot\n"+
			"product, as a table or as JSON. Queries come from the arguments, or one per line from\n"+
			"standard input when there are none. --corpus adds document titles to the output.",
		"  sbmoe search --index scifact.idx --corpus ../shared/data/scifact \"vitamin d and bone density\"\n"+
			"  printf 'first query\\nsecond query\\n' | sbmoe search --index docs.idx --json --k 5", stderr)
	model := fs.String("model", defaultModelDir(), "model folder (Hugging Face layout); must be the one that built the index")
	ixPath := fs.String("index", "", "index file written by sbmoe index (required)")
	corpus := fs.String("corpus", "", "corpus the index was built from, to print titles (optional)")
	k := fs.Int("k", 10, "results per query")
	asJSON := fs.Bool("json", false, "print JSON (one object per query) instead of a table")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	if *ixPath == "" {
		fmt.Fprintln(stderr, "sbmoe search: --index is required (see sbmoe help search)")
		return 2
	}
	queries := fs.Args()
	if len(queries) == 0 {
		var err error
		if queries, err = readLines(os.Stdin); err != nil {
			return fail(stderr, "search", fmt.Errorf("read queries from standard input: %w", err))
		}
	}
	if len(queries) == 0 {
		fmt.Fprintln(stderr, "sbmoe search: no query given (pass queries as arguments or on standard input)")
		return 2
	}
	ix, err := index.ReadFile(*ixPath)
	if err != nil {
		return fail(stderr, "search", err)
	}
	m, err := loadModel(*model, 0)
	if err != nil {
		return fail(stderr, "search", err)
	}
	if m.Config.HiddenSize != ix.Dim() {
		return fail(stderr, "search", fmt.Errorf("index %s holds %d-dimensional vectors but model %s makes %d: search with the model that built the index", *ixPath, ix.Dim(), *model, m.Config.HiddenSize))
	}
	titles := map[string]string{}
	if *corpus != "" {
		docs, err := loadCorpus(*corpus)
		if err != nil {
			return fail(stderr, "search", err)
		}
		for _, d := range docs {
			titles[d.ID] = cmpTitle(d)
		}
	}
	vecs := m.Encode(queries, bert.EncodeOptions{})
	enc := json.NewEncoder(stdout)
	for qi, q := range queries {
		hits := ix.Search(vecs[qi], *k)
		res := searchResult{Query: q, Hits: make([]searchHit, len(hits))}
		for r, h := range hits {
			res.Hits[r] = searchHit{Rank: r + 1, ID: h.ID, Score: h.Score, Title: titles[h.ID]}
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

// cmpTitle is what the table shows for a document: its title, else the start of its text.
func cmpTitle(d beir.Doc) string {
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
