package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/retriever"
)

// DefaultModelDir is the model commands use without --model: $SBMOE_MODEL, else the
// default model that make model fetches.
func DefaultModelDir() string {
	if d := os.Getenv("SBMOE_MODEL"); d != "" {
		return d
	}
	return "models/all-MiniLM-L6-v2"
}

// OpenModel opens a model folder (a Hugging Face encoder or a folder sbmoe train wrote),
// with a hint when the default model has not been fetched.
func OpenModel(dir string, opts retriever.Options) (*retriever.Retriever, error) {
	if _, err := os.Stat(dir); err != nil && dir == DefaultModelDir() {
		return nil, fmt.Errorf("model folder %s is missing: run `make model` (or pass --model DIR, or fetch one with `sbmoe model fetch <repo>`)", dir)
	}
	return retriever.OpenDir(dir, opts)
}

// LoadCorpus reads a corpus from a BEIR folder (corpus.jsonl or corpus.jsonl.gz inside)
// or from a corpus file itself.
func LoadCorpus(path string) ([]beir.Doc, error) {
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

// MakeParent creates the folder an output file goes into, so that --out a/b/c.idx works in
// a fresh checkout.
func MakeParent(path string) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create the folder of %s: %w", path, err)
		}
	}
	return nil
}
