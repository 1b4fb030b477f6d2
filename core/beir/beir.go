package beir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// Dataset is a collection loaded with the judgements of one split.
type Dataset struct {
	Name    string // base name of Dir, e.g. "scifact"
	Dir     string
	Corpus  []Doc   // in file order
	Queries []Query // every query in queries.jsonl, in file order
	Qrels   Qrels   // judgements of the requested split
}

// Load reads the collection in dir with the qrels of split
// (qrels/<split>.tsv). The corpus is corpus.jsonl, or corpus.jsonl.gz when
// the plain file is absent; likewise queries.jsonl. Every query and doc id
// in the qrels must exist in queries and corpus.
func Load(dir, split string) (*Dataset, error) {
	corpusPath, err := findJSONL(dir, "corpus")
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	queriesPath, err := findJSONL(dir, "queries")
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	qrelsPath := filepath.Join(dir, "qrels", split+".tsv")
	if _, err := os.Stat(qrelsPath); err != nil {
		splits, _ := Splits(dir)
		return nil, fmt.Errorf("load %s: split %q: %w (splits found: %s)", dir, split, err, strings.Join(splits, ", "))
	}
	corpus, err := LoadCorpus(corpusPath)
	if err != nil {
		return nil, err
	}
	queries, err := LoadQueries(queriesPath)
	if err != nil {
		return nil, err
	}
	qrels, err := LoadQrels(qrelsPath)
	if err != nil {
		return nil, err
	}
	if err := checkQrelsIDs(qrels, queries, corpus); err != nil {
		return nil, fmt.Errorf("load %s: %w", qrelsPath, err)
	}
	return &Dataset{
		Name:    filepath.Base(filepath.Clean(dir)),
		Dir:     dir,
		Corpus:  corpus,
		Queries: queries,
		Qrels:   qrels,
	}, nil
}

// findJSONL returns dir/<base>.jsonl, or dir/<base>.jsonl.gz if only that
// exists. The plain file wins, as it is what BEIR's own loader reads.
func findJSONL(dir, base string) (string, error) {
	plain := filepath.Join(dir, base+".jsonl")
	for _, p := range []string{plain, plain + ".gz"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("%s: neither %s.jsonl nor %s.jsonl.gz found", base, base, base)
}

// maxListedIDs bounds how many unknown ids an error message spells out.
const maxListedIDs = 5

func checkQrelsIDs(qrels Qrels, queries []Query, corpus []Doc) error {
	queryIDs := make(map[string]bool, len(queries))
	for _, q := range queries {
		queryIDs[q.ID] = true
	}
	docIDs := make(map[string]bool, len(corpus))
	for _, d := range corpus {
		docIDs[d.ID] = true
	}
	var unknownQueries, unknownDocs []string
	seenDoc := make(map[string]bool)
	for qid, docs := range qrels {
		if !queryIDs[qid] {
			unknownQueries = append(unknownQueries, qid)
		}
		for did := range docs {
			if !docIDs[did] && !seenDoc[did] {
				seenDoc[did] = true
				unknownDocs = append(unknownDocs, did)
			}
		}
	}
	return errors.Join(
		unknownIDsError("query-id", "queries", unknownQueries),
		unknownIDsError("corpus-id", "corpus", unknownDocs))
}

func unknownIDsError(field, file string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	listed := ids[:min(len(ids), maxListedIDs)]
	more := ""
	if len(ids) > len(listed) {
		more = ", ..."
	}
	return fmt.Errorf("field %s: %d ids not in %s: %s%s", field, len(ids), file, strings.Join(quoteAll(listed), ", "), more)
}

func quoteAll(ss []string) []string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return q
}

// JudgedQueries returns the queries that appear in the qrels, in file order.
// These are the ones pytrec_eval and BEIR evaluate.
func (d *Dataset) JudgedQueries() []Query {
	var judged []Query
	for _, q := range d.Queries {
		if _, ok := d.Qrels[q.ID]; ok {
			judged = append(judged, q)
		}
	}
	return judged
}

// Splits returns the names of the qrels/*.tsv files in dir, sorted.
func Splits(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "qrels"))
	if err != nil {
		return nil, fmt.Errorf("list splits of %s: %w", dir, err)
	}
	var splits []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".tsv"); ok && !e.IsDir() {
			splits = append(splits, name)
		}
	}
	slices.Sort(splits)
	return splits, nil
}

// DocText is the string a document is encoded from. It is exactly what BEIR
// feeds a sentence-transformers model (beir 2.2.0,
// beir/retrieval/models/util.py extract_corpus_sentences, used by
// DenseRetrievalExactSearch through SentenceBERT.encode_corpus):
//
//	(doc["title"] + " " + doc["text"]).strip()
//
// BEIR's loader always sets the "title" key, so this form applies to every
// document, an empty title included (the result is then the stripped text).
// strip() removes Python's whitespace, which also counts U+001C..U+001F that
// Go's unicode.IsSpace does not; pyIsSpace follows Python.
func DocText(d Doc) string {
	return strings.TrimFunc(d.Title+" "+d.Text, pyIsSpace)
}

// pyIsSpace reports whether Python's str.isspace holds for r.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}
