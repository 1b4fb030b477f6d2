package bundle

import (
	"context"
	"fmt"
)

// SearchMode is Search ranked as mode says: ModeDense (the model's ranking alone, as the
// native sbmoe search ranks the bundle's index), ModeLexical (BM25 alone), ModeHybrid, or
// "" for what Mode reports. A mode that needs what the bundle has not loaded is an error.
func (b *Bundle) SearchMode(ctx context.Context, query string, k int, mode string) ([]Hit, error) {
	switch mode {
	case "":
		return b.Search(ctx, query, k)
	case ModeDense, ModeLexical, ModeHybrid:
	default:
		return nil, fmt.Errorf("search: mode %q, want %s, %s or %s", mode, ModeDense, ModeLexical, ModeHybrid)
	}
	if (mode != ModeLexical && b.Retriever == nil) || (mode != ModeDense && b.Lexical == nil) {
		return nil, fmt.Errorf("search: mode %s: the bundle has %s", mode, b.Mode())
	}
	// Search ranks by what a bundle holds: a view with only what the mode uses.
	view := &Bundle{Docs: b.Docs, Retriever: b.Retriever, Index: b.Index, Lexical: b.Lexical}
	switch mode {
	case ModeDense:
		view.Lexical = nil
	case ModeLexical:
		view.Retriever, view.Index = nil, nil
	}
	return view.Search(ctx, query, k)
}
