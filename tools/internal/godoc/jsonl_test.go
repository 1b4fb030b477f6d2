package godoc

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readJSONL(t *testing.T, path string) []Doc {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs []Doc
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d Doc
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("line %d: %v", len(docs)+1, err)
		}
		docs = append(docs, d)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return docs
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	list, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteJSONLRoundTrip(t *testing.T) {
	docs := []Doc{
		{"builtin.close", "func close(c chan<- Type)", "The close built-in function closes a channel."},
		{"net/http", "package http (net/http)", `Quotes "and" <html> & "unicode" ü, 日本.`},
		{"empty", "", ""},
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "corpus.jsonl")
	if err := os.WriteFile(path, []byte("old contents\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSONL(path, docs); err != nil {
		t.Fatal(err)
	}
	if got := readJSONL(t, path); !slices.Equal(got, docs) {
		t.Errorf("read back %v, want %v", got, docs)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(raw), "\n"); !strings.HasPrefix(first, `{"_id":"builtin.close","title":"func close(c chan<- Type)","text":`) {
		t.Errorf("first line %s, want BEIR field names and unescaped <-", first)
	}
	if got, want := entries(t, dir), []string{"corpus.jsonl"}; !slices.Equal(got, want) {
		t.Errorf("directory holds %v, want %v", got, want)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("stat %s: %v, %v; want mode 0644", path, info.Mode(), err)
	}
}

func TestWriteJSONLFailureLeavesNoTempFile(t *testing.T) {
	docs := []Doc{{"a", "b", "c"}}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) (path string, want []string)
	}{
		{"target is a directory", func(t *testing.T, dir string) (string, []string) {
			path := filepath.Join(dir, "corpus.jsonl")
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
			return path, []string{"corpus.jsonl"}
		}},
		{"missing directory", func(t *testing.T, dir string) (string, []string) {
			return filepath.Join(dir, "no", "corpus.jsonl"), nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path, want := tt.setup(t, dir)
			err := WriteJSONL(path, docs)
			if err == nil || !strings.HasPrefix(err.Error(), "write corpus "+path+": ") {
				t.Errorf("got %v, want a write corpus error naming %s", err, path)
			}
			if got := entries(t, dir); !slices.Equal(got, want) {
				t.Errorf("directory holds %v, want %v", got, want)
			}
		})
	}
}
