// Package bundle is what a web page or an edge worker loads to search: a model folder, an
// index of the site's documents made by that model, and each document's display fields,
// listed with their sizes and SHA-256 in a manifest. sbmoe bundle writes one; Open reads
// it from any fs.FS (in the browser, an in-memory file system of the fetched, verified
// files) and returns a Bundle that searches, encodes and learns a head from feedback.
//
// The layout, all paths relative to the bundle's folder:
//
//	manifest.json   Manifest: format, version, fingerprint, and every file below with its size and sha256
//	model/          a model folder as retriever.Open reads it (a Hugging Face encoder, or a trained folder)
//	index.idx       the documents' vectors (core/index file format), made by model/
//	docs.json       [{"id","title","url","snippet"}, ...], in index order
//	sbmoe.wasm, sbmoe.js, ...  the runtime for the browser (listed too, so a page verifies it)
package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"

	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe"
)

// File names inside a bundle.
const (
	ManifestFile = "manifest.json"
	ModelDir     = "model"
	IndexFile    = "index.idx"
	DocsFile     = "docs.json"
)

// Format and Version identify ManifestFile.
const (
	Format  = "sbmoe-bundle"
	Version = 1
)

// Limits on what a manifest may declare; a bundle beyond them is refused before anything
// is read.
const (
	MaxFiles    = 1024
	MaxFileSize = 1 << 30 // one file; Cloudflare's static assets stop at 25 MiB, see the edge builder
)

// Manifest is manifest.json.
type Manifest struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Fingerprint is the retriever.Fingerprint of model/, which index.idx records too.
	Fingerprint string `json:"fingerprint"`
	Dim         int    `json:"dim"`
	Documents   int    `json:"documents"`
	// Weights is "fp32" or "int8": how model/ stores the encoder.
	Weights string `json:"weights"`
	// Files lists every file of the bundle but the manifest, sorted by path.
	Files []File `json:"files"`
}

// File is one file of a bundle.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Doc is what a result shows of a document.
type Doc struct {
	ID      string `json:"id"`
	Title   string `json:"title,omitempty"`
	URL     string `json:"url,omitempty"`
	Snippet string `json:"snippet,omitempty"`
}

// Hit is one search result.
type Hit struct {
	Doc
	Score float32 `json:"score"`
}

// FileOf describes data as a manifest lists it.
func FileOf(p string, data []byte) File {
	sum := sha256.Sum256(data)
	return File{Path: p, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
}

// ParseManifest reads manifest.json and checks every field: format and version, paths
// inside the bundle, sizes, hex digests. Unknown fields are errors.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, err
	}
	if dec.More() {
		return Manifest{}, errors.New("data after the JSON object")
	}
	switch {
	case m.Format != Format:
		return Manifest{}, fmt.Errorf("field format: %q, want %q", m.Format, Format)
	case m.Version != Version:
		return Manifest{}, fmt.Errorf("field version: %d, this build reads %d", m.Version, Version)
	case m.Weights != "fp32" && m.Weights != "int8":
		return Manifest{}, fmt.Errorf("field weights: %q, want fp32 or int8", m.Weights)
	case m.Dim < 1 || m.Documents < 0:
		return Manifest{}, fmt.Errorf("fields dim and documents: %d and %d", m.Dim, m.Documents)
	case len(m.Files) > MaxFiles:
		return Manifest{}, fmt.Errorf("field files: %d files, at most %d", len(m.Files), MaxFiles)
	}
	seen := map[string]bool{}
	for i, f := range m.Files {
		switch {
		case !fs.ValidPath(f.Path) || f.Path == "." || strings.Contains(f.Path, `\`) || f.Path == ManifestFile:
			return Manifest{}, fmt.Errorf("field files[%d].path: %q is not a file inside the bundle", i, f.Path)
		case seen[f.Path]:
			return Manifest{}, fmt.Errorf("field files[%d].path: %q listed twice", i, f.Path)
		case f.Size < 0 || f.Size > MaxFileSize:
			return Manifest{}, fmt.Errorf("field files[%d].size: %d bytes for %s, want 0..%d", i, f.Size, f.Path, int64(MaxFileSize))
		case len(f.SHA256) != 64 || strings.Trim(f.SHA256, "0123456789abcdef") != "":
			return Manifest{}, fmt.Errorf("field files[%d].sha256: %q for %s is not 64 lower-case hex digits", i, f.SHA256, f.Path)
		}
		seen[f.Path] = true
	}
	for _, need := range []string{IndexFile, DocsFile} {
		if !seen[need] {
			return Manifest{}, fmt.Errorf("field files: no %s", need)
		}
	}
	return m, nil
}

// Bundle is an opened bundle: the retriever of model/, the index and the documents.
type Bundle struct {
	Manifest  Manifest
	Retriever *retriever.Retriever
	Index     *index.Index
	Docs      []Doc
	pos       map[string]int // document id → position in Docs and Index
	ownHead   *moe.Block     // the model's own head, which ResetHead restores
	ownSide   string
}

// Options tune Open.
type Options struct {
	// Verify checks every file's size and SHA-256 against the manifest. A page that
	// verified the bytes as they arrived (crypto.subtle) leaves it off; natively it costs
	// about a tenth of a second for a 25 MB model.
	Verify bool
	// Retriever tunes the model's encoding (threads, lengths).
	Retriever retriever.Options
}

// Open reads the bundle at the root of fsys. Errors name the file and, where it applies,
// the field.
func Open(fsys fs.FS, opt Options) (*Bundle, error) {
	raw, err := fs.ReadFile(fsys, ManifestFile)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %s: %w", ManifestFile, err)
	}
	if opt.Verify {
		for _, f := range m.Files {
			if err := verify(fsys, f); err != nil {
				return nil, fmt.Errorf("open bundle: %w", err)
			}
		}
	}
	model, err := fs.Sub(fsys, ModelDir)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	r, err := retriever.Open(model, opt.Retriever)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %s/: %w", ModelDir, err)
	}
	b := &Bundle{Manifest: m, Retriever: r, ownHead: r.Head(), ownSide: r.Manifest().HeadAppliesTo}
	f, err := fsys.Open(IndexFile)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	defer f.Close()
	if b.Index, err = index.Read(f); err != nil {
		return nil, fmt.Errorf("open bundle: %s: %w", IndexFile, err)
	}
	if err := r.CheckIndex(b.Index); err != nil {
		return nil, fmt.Errorf("open bundle: %s and %s/: %w", IndexFile, ModelDir, err)
	}
	if fp := r.Fingerprint(); fp != m.Fingerprint {
		return nil, fmt.Errorf("open bundle: %s: field fingerprint: %s, but %s/ has %s", ManifestFile, m.Fingerprint, ModelDir, fp)
	}
	raw, err = fs.ReadFile(fsys, DocsFile)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	if err := json.Unmarshal(raw, &b.Docs); err != nil {
		return nil, fmt.Errorf("open bundle: %s: %w", DocsFile, err)
	}
	if len(b.Docs) != b.Index.Len() || len(b.Docs) != m.Documents {
		return nil, fmt.Errorf("open bundle: %s holds %d documents, %s %d and %s says %d", DocsFile, len(b.Docs), IndexFile, b.Index.Len(), ManifestFile, m.Documents)
	}
	b.pos = make(map[string]int, len(b.Docs))
	for i, d := range b.Docs {
		if d.ID != b.Index.ID(i) {
			return nil, fmt.Errorf("open bundle: %s: document %d is %q, %s has %q there", DocsFile, i, d.ID, IndexFile, b.Index.ID(i))
		}
		b.pos[d.ID] = i
	}
	return b, nil
}

// verify checks one file against its manifest entry.
func verify(fsys fs.FS, f File) error {
	data, err := fs.ReadFile(fsys, f.Path)
	if err != nil {
		return err
	}
	if int64(len(data)) != f.Size {
		return fmt.Errorf("%s: %d bytes, the manifest says %d (truncated or replaced)", f.Path, len(data), f.Size)
	}
	if got := FileOf(f.Path, data).SHA256; got != f.SHA256 {
		return fmt.Errorf("%s: sha256 %s, the manifest says %s (corrupt or replaced)", f.Path, got, f.SHA256)
	}
	return nil
}

// MaxQueryBytes bounds a query: longer text is refused, not cut, because the encoder would
// read only its first max_seq_length tokens anyway and a megabyte query is a mistake.
const MaxQueryBytes = 4096

// MaxK bounds the results of one search.
const MaxK = 1000

// CheckQuery refuses an empty, oversized or invalid query, and a k out of 1..MaxK.
func CheckQuery(query string, k int) error {
	switch {
	case strings.TrimSpace(query) == "":
		return errors.New("query is empty")
	case len(query) > MaxQueryBytes:
		return fmt.Errorf("query is %d bytes, at most %d", len(query), MaxQueryBytes)
	case !utf8.ValidString(query):
		return errors.New("query is not valid UTF-8")
	case k < 1 || k > MaxK:
		return fmt.Errorf("k is %d, want 1..%d", k, MaxK)
	}
	return nil
}

// Search returns the k best documents for a query, with their display fields.
func (b *Bundle) Search(ctx context.Context, query string, k int) ([]Hit, error) {
	if err := CheckQuery(query, k); err != nil {
		return nil, err
	}
	hits, err := b.Retriever.Search(ctx, b.Index, []string{query}, k)
	if err != nil {
		return nil, err
	}
	out := make([]Hit, len(hits[0]))
	for i, h := range hits[0] {
		out[i] = Hit{Doc: b.Docs[h.Index], Score: h.Score}
	}
	return out, nil
}

// DocIndex returns the position of a document in the index, or -1.
func (b *Bundle) DocIndex(id string) int {
	if i, ok := b.pos[id]; ok {
		return i
	}
	return -1
}

// Paths lists the data files a page fetches (model, index, documents), those the manifest
// lists outside the runtime.
func (m Manifest) Paths() []string {
	var out []string
	for _, f := range m.Files {
		if f.Path == IndexFile || f.Path == DocsFile || strings.HasPrefix(f.Path, ModelDir+"/") {
			out = append(out, f.Path)
		}
	}
	return out
}
