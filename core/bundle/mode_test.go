package bundle

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
)

// TestSearchMode ranks as asked: dense as the retriever ranks the index, lexical as BM25,
// hybrid as Search; a mode the bundle cannot serve yet is an error.
func TestSearchMode(t *testing.T) {
	ctx := context.Background()
	files := build(t)
	lexOnly := fstest.MapFS{ManifestFile: files[ManifestFile], DocsFile: files[DocsFile], LexicalFile: files[LexicalFile]}
	early, err := OpenLexical(lexOnly, Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := early.SearchMode(ctx, "with", 3, ModeDense); err == nil || !strings.Contains(err.Error(), "has lexical") {
		t.Errorf("dense before the model: %v", err)
	}
	b, err := Open(files, Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	dense, _ := b.Retriever.Search(ctx, b.Index, []string{"with that"}, 3)
	hits, err := b.SearchMode(ctx, "with that", 3, ModeDense)
	if err != nil || len(hits) != 3 {
		t.Fatal(hits, err)
	}
	for i, h := range hits {
		if h.ID != dense[0][i].ID || h.Score != dense[0][i].Score || h.Title != b.Docs[dense[0][i].Index].Title {
			t.Errorf("dense hit %d: %+v, want %s %v", i, h, dense[0][i].ID, dense[0][i].Score)
		}
	}
	lex := b.Lexical.Search("from were", 3)
	hits, err = b.SearchMode(ctx, "from were", 3, ModeLexical)
	if err != nil || len(hits) != len(lex) || len(lex) == 0 || hits[0].ID != b.Docs[lex[0].Index].ID || hits[0].Score != lex[0].Score {
		t.Fatalf("lexical mode: %v, %v; BM25 %v", hits, err, lex)
	}
	want, _ := b.Search(ctx, "with that", 3)
	for _, mode := range []string{ModeHybrid, ""} {
		got, err := b.SearchMode(ctx, "with that", 3, mode)
		if err != nil || len(got) != len(want) || got[0] != want[0] {
			t.Errorf("mode %q: %v, %v, want %v", mode, got, err, want)
		}
	}
	if b.Mode() != ModeHybrid {
		t.Errorf("mode %s after SearchMode", b.Mode())
	}
	if _, err := b.SearchMode(ctx, "with that", 3, "bm25"); err == nil || !strings.Contains(err.Error(), "want dense") {
		t.Errorf("unknown mode: %v", err)
	}
	if _, err := b.SearchMode(ctx, "", 3, ModeDense); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty query: %v", err)
	}
}
