// Package atomicfile writes files so that a reader sees either the old content or the
// whole new content, never a part: every file sbmoe writes (indexes, checkpoints,
// corpora, reports) goes through Write.
package atomicfile

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// Write creates or replaces path with what write produces. It writes through a buffer
// to a temporary file in the same folder, syncs it and renames it over path. On any
// error, write's included, the temporary file is removed and path is left as it was.
// The file gets os.Create's permissions (0666 less the umask).
func Write(path string, write func(w io.Writer) error) error {
	f, err := createTemp(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name()) // best effort: the first error is the one to report
		return err
	}
	return nil
}

// createTemp is os.CreateTemp with os.Create's permissions: outputs are ordinary
// files, and chmod after the fact is not available on every GOOS sbmoe builds for.
func createTemp(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		name := filepath.Join(dir, "."+base+".tmp-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, os.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("create a temporary file for %s: too many name collisions", path)
}

// WriteJSON writes v to path as indented JSON, atomically as Write does; errors name
// the path.
func WriteJSON(path string, v any) error {
	err := Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
