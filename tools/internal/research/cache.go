package research

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
	"github.com/sbmoe/sbmoe/tools/internal/cli"
)

// Cache is one collection's folder of the encoder's vectors before its head, one index
// file per kind of text, and encode.json, the seconds the folder took to fill.
type Cache struct {
	Dir       string               // the collection's folder
	Set       string               // the collection's name, in progress bars and errors
	Model     string               // the model folder, recorded as the vectors' origin
	Retriever *retriever.Retriever // encodes what the folder lacks
	Progress  io.Writer            // where progress bars go
	Quiet     bool                 // no progress bars
	seconds   float64              // spent encoding through this Cache
}

// Vectors reads file in the cache, or encodes texts with the retriever before its head
// (documents at its document cap, queries at the model's length) and writes them there,
// with the retriever's fingerprint and the model folder as their origin. As before the
// cache recorded an origin, a cached file is taken for the model's if it holds as many
// vectors, under the same first id: the fingerprint's definition may change while the
// vectors stay the same.
func (c *Cache) Vectors(ctx context.Context, file string, ids, texts []string, side retriever.Side) (*index.Index, error) {
	path, r := filepath.Join(c.Dir, file), c.Retriever
	if ix, err := index.ReadFile(path); err == nil {
		switch {
		case ix.Kind() != index.Float32 || ix.Dim() != r.Dim():
			return nil, fmt.Errorf("%s holds %s vectors of %d dimensions, not the model's float32 ones of %d: delete it to encode again", path, ix.Kind(), ix.Dim(), r.Dim())
		case ix.Len() != len(ids) || (ix.Len() > 0 && ix.ID(0) != ids[0]):
			return nil, fmt.Errorf("%s holds %d vectors, not the %d of %s: delete it to encode again", path, ix.Len(), len(ids), c.Set)
		}
		return ix, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w (delete it to encode again)", err)
	}
	start := time.Now()
	what := "encode " + c.Set + " " + strings.TrimSuffix(file, ".idx")
	vecs, err := r.Pooled(ctx, side, texts, cli.NewProgress(c.Progress, len(texts), what, c.Quiet))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	origin := index.Origin{Fingerprint: r.Fingerprint()}
	if len(c.Model) <= maxOriginModel {
		origin.Model = c.Model
	}
	ix, err := VectorIndex(r.Dim(), ids, vecs, origin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.seconds += time.Since(start).Seconds()
	return ix, WriteIndex(path, ix)
}

// maxOriginModel is the longest model name an index file records (index.Origin).
const maxOriginModel = 4096

// EncodeSeconds records in encode.json the seconds the cache took to fill, adding what
// Vectors spent encoding, and returns the total.
func (c *Cache) EncodeSeconds() (float64, error) {
	path := filepath.Join(c.Dir, "encode.json")
	var rec struct {
		Seconds float64 `json:"seconds"`
	}
	if raw, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(raw, &rec); err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	if c.seconds == 0 {
		return rec.Seconds, nil
	}
	rec.Seconds += c.seconds
	c.seconds = 0
	return rec.Seconds, atomicfile.WriteJSON(path, rec)
}

// VectorIndex puts vecs under ids into a float32 index that records origin.
func VectorIndex(dim int, ids []string, vecs [][]float32, origin index.Origin) (*index.Index, error) {
	if len(ids) != len(vecs) {
		return nil, fmt.Errorf("%d ids, %d vectors", len(ids), len(vecs))
	}
	ix := index.New(dim, index.Float32)
	ix.SetOrigin(origin)
	for i, id := range ids {
		if err := ix.Add(id, vecs[i]); err != nil {
			return nil, fmt.Errorf("vector %d (%s): %w", i+1, id, err)
		}
	}
	return ix, nil
}

// WriteIndex writes ix to path in the index file format, atomically, making its folder.
func WriteIndex(path string, ix *index.Index) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(path, func(w io.Writer) error {
		_, err := ix.WriteTo(w)
		return err
	}); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Rows returns an index's vectors (views of its storage).
func Rows(ix *index.Index) [][]float32 {
	vs := make([][]float32, ix.Len())
	for i := range vs {
		vs[i] = ix.Vector(i)
	}
	return vs
}

// IDs returns an index's ids in order.
func IDs(ix *index.Index) []string {
	out := make([]string, ix.Len())
	for i := range out {
		out[i] = ix.ID(i)
	}
	return out
}
