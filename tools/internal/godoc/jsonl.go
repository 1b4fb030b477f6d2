package godoc

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
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

func writeAtomic(path string, docs []Doc) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		// Titles hold "<-chan" and "&&"; keep them readable in the file.
		enc.SetEscapeHTML(false)
		for i, d := range docs {
			if err := enc.Encode(d); err != nil {
				return fmt.Errorf("document %d (%s): %w", i, d.ID, err)
			}
		}
		return nil
	})
}
