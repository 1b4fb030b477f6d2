package godoc

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// WriteJSONL writes docs to path, one JSON object per line in the BEIR
// corpus layout. The file is written to a temporary file in the same
// directory and renamed into place once synced, so a reader never sees a
// partial corpus and a failed write leaves any earlier file untouched.
func WriteJSONL(path string, docs []Doc) error {
	if err := writeAtomic(path, docs); err != nil {
		return fmt.Errorf("write corpus %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path string, docs []Doc) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()           // best effort: the first error is the one to report
			os.Remove(f.Name()) // and the temporary file must not be left behind
		}
	}()
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	// Titles hold "<-chan" and "&&"; keep them readable in the file.
	enc.SetEscapeHTML(false)
	for i, d := range docs {
		if err := enc.Encode(d); err != nil {
			return fmt.Errorf("document %d (%s): %w", i, d.ID, err)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	// CreateTemp makes the file private; the corpus is an ordinary output.
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
