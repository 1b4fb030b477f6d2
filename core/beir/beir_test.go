package beir

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sharedData returns the shared collections directory next to the repository
// root, skipping the test when it is absent.
func sharedData(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root (go.mod) not found")
		}
		dir = parent
	}
	data := filepath.Join(dir, "..", "shared", "data")
	if _, err := os.Stat(data); err != nil {
		t.Skipf("shared collections not found at %s", data)
	}
	return data
}

// TestLoadSharedCollections checks every shared collection against the counts
// published in shared/data/README.md.
func TestLoadSharedCollections(t *testing.T) {
	data := sharedData(t)
	type split struct {
		name          string
		judged, pairs int
	}
	tests := []struct {
		name          string
		docs, queries int
		splits        []split
	}{
		{"scifact", 5183, 1109, []split{{"test", 300, 339}, {"train", 809, 919}}},
		{"cisi", 1460, 112, []split{{"test", 76, 3114}}},
		{"medline", 1033, 30, []split{{"test", 30, 696}}},
		{"cacm", 3204, 64, []split{{"test", 52, 796}}},
		{"npl", 11429, 93, []split{{"test", 93, 2083}}},
		{"lisa", 5999, 35, []split{{"test", 35, 379}}},
		{"adi", 82, 35, []split{{"test", 35, 170}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(data, tt.name)
			if _, err := os.Stat(dir); err != nil {
				t.Skipf("collection absent: %v", err)
			}
			splits, err := Splits(dir)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, s := range tt.splits {
				want = append(want, s.name)
			}
			slices.Sort(want)
			if !slices.Equal(splits, want) {
				t.Errorf("Splits = %v, want %v", splits, want)
			}
			for _, s := range tt.splits {
				ds, err := Load(dir, s.name)
				if err != nil {
					t.Fatal(err)
				}
				if ds.Name != tt.name {
					t.Errorf("Name = %q, want %q", ds.Name, tt.name)
				}
				if len(ds.Corpus) != tt.docs {
					t.Errorf("%s: %d docs, want %d", s.name, len(ds.Corpus), tt.docs)
				}
				if len(ds.Queries) != tt.queries {
					t.Errorf("%s: %d queries, want %d", s.name, len(ds.Queries), tt.queries)
				}
				judged := ds.JudgedQueries()
				if len(judged) != s.judged || len(ds.Qrels) != s.judged {
					t.Errorf("%s: %d judged queries (%d in qrels), want %d", s.name, len(judged), len(ds.Qrels), s.judged)
				}
				pairs := 0
				for _, docs := range ds.Qrels {
					pairs += len(docs)
				}
				if pairs != s.pairs {
					t.Errorf("%s: %d qrels pairs, want %d", s.name, pairs, s.pairs)
				}
			}
		})
	}
}

func TestJudgedQueriesFileOrder(t *testing.T) {
	ds := &Dataset{
		Queries: []Query{{ID: "3"}, {ID: "1"}, {ID: "2"}, {ID: "10"}},
		Qrels:   Qrels{"10": {"d": 1}, "3": {"d": 0}, "1": {"d": 2}},
	}
	var got []string
	for _, q := range ds.JudgedQueries() {
		got = append(got, q.ID)
	}
	if want := []string{"3", "1", "10"}; !slices.Equal(got, want) {
		t.Errorf("JudgedQueries = %v, want %v", got, want)
	}
}

func TestReadCorpus(t *testing.T) {
	long := strings.Repeat("word ", 100_000) // one 500 KB line, past any 64 KB scanner limit
	input := "{\"_id\": \"1\", \"title\": \"T\", \"text\": \"a\"}\r\n" +
		"\n   \n" +
		"{\"_id\": \"2\", \"text\": \"b\", \"metadata\": {\"x\": 1}}\n" +
		"{\"_id\": \"3\", \"title\": null, \"text\": \"" + long + "\"}" // no final newline
	docs, err := ReadCorpus(strings.NewReader(input), "corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := []Doc{{"1", "T", "a"}, {"2", "", "b"}, {"3", "", long}}
	if !slices.Equal(docs, want) {
		t.Errorf("ReadCorpus = %.80v, want %.80v", docs, want)
	}
}

func TestReadCorpusErrors(t *testing.T) {
	tests := []struct {
		name, input, wantErr string
	}{
		{"empty", "", "corpus.jsonl: empty corpus"},
		{"blank only", "\n \r\n", "corpus.jsonl: empty corpus"},
		{"missing id", `{"title": "t", "text": "x"}`, "corpus.jsonl:1: field _id: missing"},
		{"null id", `{"_id": null, "text": "x"}`, "corpus.jsonl:1: field _id: missing"},
		{"empty id", `{"_id": "", "text": "x"}`, "corpus.jsonl:1: field _id: empty"},
		{"numeric id", `{"_id": 7, "text": "x"}`, "corpus.jsonl:1: field _id: want a string, got a number"},
		{"missing text", "\n" + `{"_id": "1", "title": "t"}`, "corpus.jsonl:2: field text: missing"},
		{"array title", `{"_id": "1", "title": ["t"], "text": "x"}`, "corpus.jsonl:1: field title: want a string, got an array"},
		{"not an object", `["1", "t", "x"]`, "corpus.jsonl:1: want a JSON object, got array"},
		{"malformed", `{"_id": "1", "text": "x"`, "corpus.jsonl:1: malformed JSON"},
		{"trailing garbage", `{"_id": "1", "text": "x"} {}`, "corpus.jsonl:1: malformed JSON"},
		{"invalid utf8", "{\"_id\": \"1\", \"text\": \"x\"}\n{\"_id\": \"2\", \"text\": \"\xff\"}", "corpus.jsonl:2: invalid UTF-8 at byte offset 22"},
		{"duplicate", "{\"_id\": \"1\", \"text\": \"x\"}\n\n{\"_id\": \"1\", \"text\": \"y\"}", `corpus.jsonl:3: field _id: duplicate id "1" (first on line 1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadCorpus(strings.NewReader(tt.input), "corpus.jsonl")
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

func TestReadQueriesErrors(t *testing.T) {
	tests := []struct {
		name, input, wantErr string
	}{
		{"empty", "", "queries.jsonl: no queries"},
		{"missing text", `{"_id": "1"}`, "queries.jsonl:1: field text: missing"},
		{"duplicate", "{\"_id\": \"q\", \"text\": \"x\"}\n{\"_id\": \"q\", \"text\": \"y\"}", `queries.jsonl:2: field _id: duplicate id "q" (first on line 1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadQueries(strings.NewReader(tt.input), "queries.jsonl")
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

func TestReadQrels(t *testing.T) {
	tests := []struct {
		name, input string
		want        Qrels
	}{
		{"header", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t2\nq2\td1\t0\n",
			Qrels{"q1": {"d1": 1, "d2": 2}, "q2": {"d1": 0}}},
		{"no header", "q1\td1\t1\n", Qrels{"q1": {"d1": 1}}},
		{"crlf, blanks, spaces, negative", "\r\nquery-id\tcorpus-id\tscore\r\n\r\n q1 \td1\t-1 \r\nq1\td2\t3", Qrels{"q1": {"d1": -1, "d2": 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadQrels(strings.NewReader(tt.input), "test.tsv")
			if err != nil {
				t.Fatal(err)
			}
			if !qrelsEqual(got, tt.want) {
				t.Errorf("ReadQrels = %v, want %v", got, tt.want)
			}
		})
	}
}

func qrelsEqual(a, b Qrels) bool {
	if len(a) != len(b) {
		return false
	}
	for q, docs := range a {
		other, ok := b[q]
		if !ok || len(docs) != len(other) {
			return false
		}
		for d, rel := range docs {
			if r, ok := other[d]; !ok || r != rel {
				return false
			}
		}
	}
	return true
}

func TestReadQrelsErrors(t *testing.T) {
	tests := []struct {
		name, input, wantErr string
	}{
		{"empty", "", "test.tsv: no judgements"},
		{"header only", "query-id\tcorpus-id\tscore\n", "test.tsv: no judgements"},
		{"bad header", "qid\tdocid\trel\nq1\td1\t1\n", `test.tsv:1: header: want "query-id\tcorpus-id\tscore", got "qid\tdocid\trel"`},
		{"header twice", "query-id\tcorpus-id\tscore\nquery-id\tcorpus-id\tscore\n", `test.tsv:2: field score: "score" is not an integer`},
		{"float score", "q1\td1\t1\nq1\td2\t0.5\n", `test.tsv:2: field score: "0.5" is not an integer`},
		{"trec format", "q1 0 d1 1\n", "test.tsv:1: want 3 tab-separated fields (query-id, corpus-id, score), got 1"},
		{"four fields", "q1\t0\td1\t1\n", "test.tsv:1: want 3 tab-separated fields (query-id, corpus-id, score), got 4"},
		{"empty query", "\td1\t1\n", "test.tsv:1: field query-id: empty"},
		{"empty doc", "q1\t \t1\n", "test.tsv:1: field corpus-id: empty"},
		{"duplicate", "q1\td1\t1\nq1\td1\t1\n", `test.tsv:2: duplicate judgement for query "q1" doc "d1"`},
		{"invalid utf8", "q1\td\xc3\t1\n", "test.tsv:1: invalid UTF-8 at byte offset 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadQrels(strings.NewReader(tt.input), "test.tsv")
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// writeCollection writes a BEIR directory; a file whose content is nil is
// not written, and a name ending in .gz is compressed.
func writeCollection(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		data := []byte(content)
		if strings.HasSuffix(name, ".gz") {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(data)
			zw.Close()
			data = buf.Bytes()
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoad(t *testing.T) {
	const (
		corpus  = "{\"_id\": \"d1\", \"title\": \"T1\", \"text\": \"one\"}\n{\"_id\": \"d2\", \"title\": \"\", \"text\": \"two\"}\n"
		queries = "{\"_id\": \"q2\", \"text\": \"second\"}\n{\"_id\": \"q1\", \"text\": \"first\"}\n{\"_id\": \"q3\", \"text\": \"third\"}\n"
	)
	dir := writeCollection(t, map[string]string{
		"corpus.jsonl.gz":  corpus,
		"queries.jsonl":    queries,
		"qrels/test.tsv":   "query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td1\t2\n",
		"qrels/dev.tsv":    "q3\td1\t1\n",
		"qrels/README.txt": "not a split",
	})
	ds, err := Load(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	if want := []Doc{{"d1", "T1", "one"}, {"d2", "", "two"}}; !slices.Equal(ds.Corpus, want) {
		t.Errorf("Corpus = %v, want %v", ds.Corpus, want)
	}
	if want := (Qrels{"q1": {"d2": 1}, "q2": {"d1": 2}}); !qrelsEqual(ds.Qrels, want) {
		t.Errorf("Qrels = %v, want %v", ds.Qrels, want)
	}
	if got, want := ds.JudgedQueries(), []Query{{"q2", "second"}, {"q1", "first"}}; !slices.Equal(got, want) {
		t.Errorf("JudgedQueries = %v, want %v", got, want)
	}
	splits, err := Splits(dir)
	if err != nil || !slices.Equal(splits, []string{"dev", "test"}) {
		t.Errorf("Splits = %v, %v; want [dev test]", splits, err)
	}
}

func TestLoadErrors(t *testing.T) {
	const (
		corpus  = "{\"_id\": \"d1\", \"text\": \"one\"}\n"
		queries = "{\"_id\": \"q1\", \"text\": \"first\"}\n"
	)
	tests := []struct {
		name    string
		files   map[string]string
		wantErr []string // substrings
	}{
		{"no corpus", map[string]string{"queries.jsonl": queries, "qrels/test.tsv": "q1\td1\t1\n"},
			[]string{"corpus: neither corpus.jsonl nor corpus.jsonl.gz found"}},
		{"no split", map[string]string{"corpus.jsonl": corpus, "queries.jsonl": queries, "qrels/train.tsv": "q1\td1\t1\n"},
			[]string{`split "test"`, "(splits found: train)"}},
		{"unknown ids", map[string]string{"corpus.jsonl": corpus, "queries.jsonl": queries,
			"qrels/test.tsv": "q1\td1\t1\nq1\tx7\t1\nq9\tx1\t1\nq9\tx2\t1\nq9\tx3\t1\nq9\tx4\t1\nq9\tx5\t1\nq9\tx6\t1\nq8\tx1\t1\n"},
			[]string{`field query-id: 2 ids not in queries: "q8", "q9"`, `field corpus-id: 7 ids not in corpus: "x1", "x2", "x3", "x4", "x5", ...`}},
		{"bad corpus line", map[string]string{"corpus.jsonl": corpus + "{\"_id\": \"d2\"}\n", "queries.jsonl": queries, "qrels/test.tsv": "q1\td1\t1\n"},
			[]string{"corpus.jsonl:2: field text: missing"}},
		{"empty corpus", map[string]string{"corpus.jsonl": "", "queries.jsonl.gz": queries, "qrels/test.tsv": "q1\td1\t1\n"},
			[]string{"corpus.jsonl: empty corpus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeCollection(t, tt.files), "test")
			if err == nil {
				t.Fatalf("Load succeeded, want error containing %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadCorpusTruncatedGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(strings.Repeat("{\"_id\": \"d\", \"text\": \"x\"}\n", 1000)))
	zw.Close()
	path := filepath.Join(t.TempDir(), "corpus.jsonl.gz")
	if err := os.WriteFile(path, buf.Bytes()[:buf.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCorpus(path)
	if err == nil || !strings.Contains(err.Error(), "corpus.jsonl.gz:") {
		t.Errorf("err = %v, want an error located in corpus.jsonl.gz", err)
	}
}

func TestDocText(t *testing.T) {
	tests := []struct {
		doc  Doc
		want string
	}{
		{Doc{Title: "Title", Text: "Body."}, "Title Body."},
		{Doc{Title: "", Text: "Body."}, "Body."},
		{Doc{Title: "Title", Text: ""}, "Title"},
		{Doc{Title: "", Text: ""}, ""},
		{Doc{Title: " \tT ", Text: " b\n"}, "T   b"},
		// U+001F is whitespace to Python's str.strip but not to unicode.IsSpace.
		{Doc{Title: "\x1fT\u00a0", Text: "b\u3000\x1c"}, "T\u00a0 b"},
	}
	for _, tt := range tests {
		if got := DocText(tt.doc); got != tt.want {
			t.Errorf("DocText(%q) = %q, want %q", tt.doc, got, tt.want)
		}
	}
}

// TestPyIsSpace checks pyIsSpace against the full list of code points for
// which Python 3.11's str.isspace() is true.
func TestPyIsSpace(t *testing.T) {
	python := []rune{0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
		0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
		0x2028, 0x2029, 0x202f, 0x205f, 0x3000}
	var got []rune
	for r := rune(0); r <= 0x10ffff; r++ {
		if pyIsSpace(r) {
			got = append(got, r)
		}
	}
	if !slices.Equal(got, python) {
		t.Errorf("pyIsSpace holds for %U, Python for %U", got, python)
	}
}
