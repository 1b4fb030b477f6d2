// Package retriever is the one thing to import to open a model and search with it: a BERT
// encoder with its tokenizer, an optional SB-MoE head (package moe) and the text
// preparation the model was trained with, opened from an fs.FS or a folder.
//
//	r, err := retriever.OpenDir("models/all-MiniLM-L6-v2", retriever.Options{})
//	ix, err := r.Index(ctx, docs, nil)               // encode documents into an exact index
//	hits, err := r.Search(ctx, ix, []string{"query"}, 10)
//
// The data flow of one query is
//
//	text → Text (lower-cased when the model was trained so) → tokenizer → encoder →
//	pooled vector h → head (when there is one) → dot product with every document vector
//
// and a document takes the same path with its title + " " + text. A folder written by
// sbmoe train records in sbmoe.json (Manifest) where its encoder and head are and how it
// prepares texts, so training and serving see the same text. A plain Hugging Face encoder
// folder opens too, without a head, its texts as given.
//
// An index remembers the Fingerprint of the retriever that built it (a hash of the
// encoder's weights, tokenizer, text preparation and, when it changes documents, the
// head), and Search refuses an index that another model built.
//
// Open takes any fs.FS, so the browser and the edge worker, which receive the model as
// fetched bytes, open it from an in-memory file system; OpenDir is Open over a folder.
// Encoding takes a context.Context and stops between batches once it is done.
package retriever
