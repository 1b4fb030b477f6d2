package bert_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/retriever"
)

// TestInt8FolderOpensInRetriever writes the tiny model's int8 folder into memory, as
// a browser or a worker would receive it, and indexes and searches with it through the
// retriever, under another fingerprint than the fp32 folder's.
func TestInt8FolderOpensInRetriever(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "embeddings", "tiny")
	folder := fstest.MapFS{}
	err := bert.WriteInt8Folder(os.DirFS(dir), func(name string, write func(io.Writer) error) error {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			return err
		}
		folder[name] = &fstest.MapFile{Data: buf.Bytes()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r8, err := retriever.Open(folder, retriever.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r32, err := retriever.OpenDir(dir, retriever.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r8.Encoder().Int8() || r8.Fingerprint() == r32.Fingerprint() {
		t.Fatalf("int8 encoder %v, fingerprints %s and %s", r8.Encoder().Int8(), r8.Fingerprint(), r32.Fingerprint())
	}
	docs := []retriever.Document{
		{ID: "strings.Split", Title: "func Split", Text: "Split slices s into all substrings separated by sep."},
		{ID: "os.ReadFile", Title: "func ReadFile", Text: "ReadFile reads the named file and returns the contents."},
		{ID: "sort.Ints", Title: "func Ints", Text: "Ints sorts a slice of ints in increasing order."},
	}
	ctx := context.Background()
	ix, err := r8.Index(ctx, docs, nil)
	if err != nil {
		t.Fatal(err)
	}
	queries := []string{"cut a string at every comma", "order numbers from small to large"}
	hits, err := r8.Search(ctx, ix, queries, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range queries {
		if len(hits[i]) != 3 {
			t.Errorf("query %d: %d hits, want 3", i, len(hits[i]))
		}
	}
	if _, err := r32.Search(ctx, ix, queries, 3); err == nil {
		t.Error("the fp32 retriever searched the int8 model's index")
	}
}
