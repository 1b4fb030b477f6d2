package beir

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sbmoe/sbmoe/internal/readbound"
)

// FuzzLoadCorpus feeds arbitrary bytes to the corpus parser: it must never
// panic, and whatever it accepts must be valid, non-empty and duplicate-free.
func FuzzLoadCorpus(f *testing.F) {
	for _, seed := range []string{
		"{\"_id\": \"1\", \"title\": \"T\", \"text\": \"a\"}\n",
		"{\"_id\": \"1\", \"text\": \"a\"}\r\n\r\n{\"_id\": \"2\", \"title\": null, \"text\": \"\"}",
		"{\"_id\": 1, \"text\": \"a\"}",
		"{\"_id\": \"1\", \"text\": \"\\u00e9\\ud800\"}",
		"[1]\n",
		"{\"_id\": \"1\", \"text\": \"\xff\"}",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var docs []Doc
		var err error
		readbound.Check(t, len(data), corpusBound, func() { docs, err = ReadCorpus(bytes.NewReader(data), "corpus.jsonl") })
		if err != nil {
			if !strings.HasPrefix(err.Error(), "corpus.jsonl") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		if len(docs) == 0 {
			t.Fatal("accepted an empty corpus")
		}
		seen := make(map[string]bool)
		for _, d := range docs {
			if d.ID == "" || seen[d.ID] {
				t.Fatalf("accepted empty or duplicate id %q", d.ID)
			}
			seen[d.ID] = true
			if !utf8.ValidString(d.Title) || !utf8.ValidString(d.Text) {
				t.Fatalf("accepted invalid UTF-8 in doc %q", d.ID)
			}
		}
	})
}

// FuzzLoadQrels feeds arbitrary bytes to the qrels parser: it must never
// panic, and whatever it accepts must re-serialise to an equal Qrels.
func FuzzLoadQrels(f *testing.F) {
	for _, seed := range []string{
		"query-id\tcorpus-id\tscore\nq1\td1\t1\n",
		"q1\td1\t1\r\nq1\td2\t-2\n\n",
		"query-id\tcorpus-id\tscore\n",
		"q1 0 d1 1\n",
		"q1\td1\t1\nq1\td1\t2\n",
		"q1\td1\t0x10\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var qrels Qrels
		var err error
		readbound.Check(t, len(data), qrelsBound, func() { qrels, err = ReadQrels(bytes.NewReader(data), "test.tsv") })
		if err != nil {
			if !strings.HasPrefix(err.Error(), "test.tsv") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		var b strings.Builder
		for q, docs := range qrels {
			for d, rel := range docs {
				b.WriteString(q + "\t" + d + "\t" + strconv.Itoa(rel) + "\n")
			}
		}
		again, err := ReadQrels(strings.NewReader(b.String()), "again.tsv")
		if err != nil {
			t.Fatalf("re-reading accepted qrels: %v", err)
		}
		if !qrelsEqual(qrels, again) {
			t.Fatalf("round trip changed qrels: %v -> %v", qrels, again)
		}
	})
}
