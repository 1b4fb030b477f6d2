package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/index"
)

// loadCorpus reads a corpus from a BEIR folder (corpus.jsonl or corpus.jsonl.gz inside)
// or from a corpus file itself.
func loadCorpus(path string) ([]beir.Doc, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if st.IsDir() {
		for _, name := range []string{"corpus.jsonl", "corpus.jsonl.gz"} {
			p := filepath.Join(path, name)
			if _, err := os.Stat(p); err == nil {
				return beir.LoadCorpus(p)
			}
		}
		return nil, fmt.Errorf("corpus: %s has no corpus.jsonl or corpus.jsonl.gz", path)
	}
	return beir.LoadCorpus(path)
}

// loadModel loads an encoder folder, with a hint when the default model is missing.
func loadModel(dir string, threads int) (*bert.Model, error) {
	if _, err := os.Stat(dir); err != nil && dir == defaultModelDir() {
		return nil, fmt.Errorf("model folder %s is missing: run `make model` (or pass --model DIR, or fetch one with `sbmoe model fetch <repo>`)", dir)
	}
	m, err := bert.Load(dir)
	if err != nil {
		return nil, err
	}
	if threads > 0 {
		m.Threads = threads
	}
	return m, nil
}

// buildIndex encodes every document (BEIR's title + " " + text) into an index.
func buildIndex(m *bert.Model, docs []beir.Doc, opt bert.EncodeOptions, int8 bool) (*index.Index, error) {
	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = beir.DocText(d)
	}
	vecs := m.Encode(texts, opt)
	ix := index.New(m.Config.HiddenSize, index.Float32)
	for i, d := range docs {
		if err := ix.Add(d.ID, vecs[i]); err != nil {
			return nil, fmt.Errorf("corpus document %d: %w", i+1, err)
		}
	}
	if int8 {
		return ix.Quantized(), nil
	}
	return ix, nil
}

// stopwatch prints how long a step took to w, for the user watching stderr.
func stopwatch(w io.Writer, what string) func() {
	start := time.Now()
	return func() { fmt.Fprintf(w, "%s in %s\n", what, time.Since(start).Round(time.Millisecond)) }
}
