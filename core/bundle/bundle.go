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
//	lexical.idx     the BM25 index of the documents (core/lexical), in the same order; optional
//	text/00000.json ...  the documents' whole texts, Manifest.TextShard to a file, for snippets; optional
//	sbmoe.wasm, sbmoe.js, ...  the runtime for the browser (listed too, so a page verifies it)
//
// A page opens it in two steps: OpenLexical (the documents and the BM25 index, a few hundred
// kilobytes) answers the first keystrokes by keywords while the model downloads, and
// LoadModel adds the model and the vector index; from then on Search fuses both rankings.
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
	"github.com/sbmoe/sbmoe/core/lexical"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe"
)

// File names inside a bundle.
const (
	ManifestFile = "manifest.json"
	ModelDir     = "model"
	IndexFile    = "index.idx"
	DocsFile     = "docs.json"
	LexicalFile  = "lexical.idx"
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
	// TextShard is how many documents' texts each file of TextDir holds; 0 when the
	// bundle has no texts (its results show docs.json's snippets).
	TextShard int `json:"text_shard,omitempty"`
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
	Heading string `json:"heading,omitempty"` // the section of the page, for a site's sections
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
	case m.TextShard < 0:
		return Manifest{}, fmt.Errorf("field text_shard: %d", m.TextShard)
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
	need := []string{IndexFile, DocsFile} // lexical.idx is optional
	if m.TextShard > 0 {
		for i := range textFiles(m.Documents, m.TextShard) {
			need = append(need, TextFile(i))
		}
	}
	for _, p := range need {
		if !seen[p] {
			return Manifest{}, fmt.Errorf("field files: no %s", p)
		}
	}
	return m, nil
}

// Bundle is an opened bundle: the documents, the BM25 index when the bundle has one, and,
// once loaded, the retriever of model/ with its vector index.
type Bundle struct {
	Manifest  Manifest
	Docs      []Doc
	Lexical   *lexical.Index       // nil when the bundle has no lexical.idx
	Retriever *retriever.Retriever // nil until LoadModel
	Index     *index.Index         // nil until LoadModel
	pos       map[string]int       // document id → position in Docs and Index
	texts     []*string            // the documents' texts loaded so far (LoadTexts), by position
	ownHead   *moe.Block           // the model's own head, which ResetHead restores
	ownSide   string
}

// Options tune Open.
type Options struct {
	// Verify checks every file's size and SHA-256 against the manifest. A page that
	// verified the bytes as they arrived (crypto.subtle) leaves it off; natively it costs
	// about a tenth of a second for a 25 MB model.
	Verify bool
	// Verified says the page checked every file's size and SHA-256 against the manifest:
	// then the model's fingerprint is the manifest's, which the index must record too,
	// and is not computed again from the weights (a SHA-256 of every weight, a second or
	// two of WebAssembly for a 90 MB model).
	Verified bool
	// Retriever tunes the model's encoding (threads, lengths).
	Retriever retriever.Options
}

// Open reads the whole bundle at the root of fsys: OpenLexical, then LoadModel. Errors
// name the file and, where it applies, the field.
func Open(fsys fs.FS, opt Options) (*Bundle, error) {
	b, err := OpenLexical(fsys, opt)
	if err != nil {
		return nil, err
	}
	if err := b.LoadModel(fsys, opt); err != nil {
		return nil, err
	}
	return b, nil
}

// OpenLexical reads the manifest, the documents and the BM25 index, enough to answer by
// keywords. fsys needs only those files.
func OpenLexical(fsys fs.FS, opt Options) (*Bundle, error) {
	raw, err := fs.ReadFile(fsys, ManifestFile)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %s: %w", ManifestFile, err)
	}
	b := &Bundle{Manifest: m}
	if err := b.verify(fsys, opt, func(p string) bool { return p == DocsFile || p == LexicalFile }); err != nil {
		return nil, err
	}
	raw, err = fs.ReadFile(fsys, DocsFile)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	if err := json.Unmarshal(raw, &b.Docs); err != nil {
		return nil, fmt.Errorf("open bundle: %s: %w", DocsFile, err)
	}
	if len(b.Docs) != m.Documents {
		return nil, fmt.Errorf("open bundle: %s holds %d documents, %s says %d", DocsFile, len(b.Docs), ManifestFile, m.Documents)
	}
	b.pos = make(map[string]int, len(b.Docs))
	for i, d := range b.Docs {
		if _, dup := b.pos[d.ID]; dup || d.ID == "" {
			return nil, fmt.Errorf("open bundle: %s: document %d: empty or repeated id %q", DocsFile, i, d.ID)
		}
		b.pos[d.ID] = i
	}
	if m.TextShard > 0 {
		b.texts = make([]*string, len(b.Docs))
	}
	if m.has(LexicalFile) {
		raw, err := fs.ReadFile(fsys, LexicalFile)
		if err != nil {
			return nil, fmt.Errorf("open bundle: %w", err)
		}
		if b.Lexical, err = lexical.Read(raw); err != nil {
			return nil, fmt.Errorf("open bundle: %s: %w", LexicalFile, err)
		}
		if b.Lexical.Len() != len(b.Docs) {
			return nil, fmt.Errorf("open bundle: %s holds %d documents, %s %d", LexicalFile, b.Lexical.Len(), DocsFile, len(b.Docs))
		}
		for i := range b.Docs {
			if b.Lexical.ID(i) != b.Docs[i].ID {
				return nil, fmt.Errorf("open bundle: %s: document %d is %q, %s has %q there", LexicalFile, i, b.Lexical.ID(i), DocsFile, b.Docs[i].ID)
			}
		}
	}
	return b, nil
}

// LoadModel reads model/ and index.idx from fsys (the same bundle's files) and checks that
// the model made the index.
func (b *Bundle) LoadModel(fsys fs.FS, opt Options) error {
	m := b.Manifest
	if err := b.verify(fsys, opt, func(p string) bool { return p == IndexFile || strings.HasPrefix(p, ModelDir+"/") }); err != nil {
		return err
	}
	model, err := fs.Sub(fsys, ModelDir)
	if err != nil {
		return fmt.Errorf("open bundle: %w", err)
	}
	r, err := retriever.Open(model, opt.Retriever)
	if err != nil {
		return fmt.Errorf("open bundle: %s/: %w", ModelDir, err)
	}
	if form := weightsOf(r); form != m.Weights {
		return fmt.Errorf("open bundle: %s: field weights: %s, but %s/ holds an %s encoder", ManifestFile, m.Weights, ModelDir, form)
	}
	f, err := fsys.Open(IndexFile)
	if err != nil {
		return fmt.Errorf("open bundle: %w", err)
	}
	defer f.Close()
	ix, err := index.Read(f)
	if err != nil {
		return fmt.Errorf("open bundle: %s: %w", IndexFile, err)
	}
	if opt.Verified {
		if fp := ix.Origin().Fingerprint; fp != m.Fingerprint {
			return fmt.Errorf("open bundle: %s: field fingerprint: %s, but %s records %s", ManifestFile, m.Fingerprint, IndexFile, fp)
		}
		if ix.Dim() != r.Dim() {
			return fmt.Errorf("open bundle: %s holds %d-dimensional vectors, %s/ makes %d", IndexFile, ix.Dim(), ModelDir, r.Dim())
		}
	} else {
		if err := r.CheckIndex(ix); err != nil {
			return fmt.Errorf("open bundle: %s and %s/: %w", IndexFile, ModelDir, err)
		}
		if fp := r.Fingerprint(); fp != m.Fingerprint {
			return fmt.Errorf("open bundle: %s: field fingerprint: %s, but %s/ has %s", ManifestFile, m.Fingerprint, ModelDir, fp)
		}
	}
	if ix.Len() != len(b.Docs) {
		return fmt.Errorf("open bundle: %s holds %d documents, %s %d", IndexFile, ix.Len(), DocsFile, len(b.Docs))
	}
	for i, d := range b.Docs {
		if d.ID != ix.ID(i) {
			return fmt.Errorf("open bundle: %s: document %d is %q, %s has %q there", DocsFile, i, d.ID, IndexFile, ix.ID(i))
		}
	}
	b.Retriever, b.Index = r, ix
	b.ownHead, b.ownSide = r.Head(), r.Manifest().HeadAppliesTo
	return nil
}

// New makes a bundle in memory from its parts, as a tool has them before it writes the
// files (sbmoe site --adapt learns a head on one): display fields, the retriever and its
// index of the same documents, in the same order.
func New(docs []Doc, r *retriever.Retriever, ix *index.Index) (*Bundle, error) {
	if ix.Len() != len(docs) {
		return nil, fmt.Errorf("bundle: %d documents, an index of %d", len(docs), ix.Len())
	}
	if err := r.CheckIndex(ix); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	b := &Bundle{Manifest: Manifest{Format: Format, Version: Version, Fingerprint: r.Fingerprint(), Dim: r.Dim(),
		Documents: len(docs), Weights: weightsOf(r)}, Docs: docs, Retriever: r, Index: ix, pos: make(map[string]int, len(docs))}
	for i, d := range docs {
		if _, dup := b.pos[d.ID]; dup || d.ID == "" || d.ID != ix.ID(i) {
			return nil, fmt.Errorf("bundle: document %d: id %q is empty, repeated or not the index's %q", i, d.ID, ix.ID(i))
		}
		b.pos[d.ID] = i
	}
	b.ownHead, b.ownSide = r.Head(), r.Manifest().HeadAppliesTo
	return b, nil
}

// weightsOf is the manifest's weights field for r's encoder: "int8" or "fp32".
func weightsOf(r *retriever.Retriever) string {
	if r.Encoder().Int8() {
		return retriever.WeightsInt8
	}
	return retriever.WeightsFP32
}

// has reports whether the manifest lists a file.
func (m Manifest) has(p string) bool {
	for _, f := range m.Files {
		if f.Path == p {
			return true
		}
	}
	return false
}

// verify checks the listed files that want selects, when opt.Verify is set.
func (b *Bundle) verify(fsys fs.FS, opt Options, want func(string) bool) error {
	if !opt.Verify {
		return nil
	}
	for _, f := range b.Manifest.Files {
		if want(f.Path) {
			if err := verify(fsys, f); err != nil {
				return fmt.Errorf("open bundle: %w", err)
			}
		}
	}
	return nil
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

// Search modes, as Mode reports them.
const (
	ModeLexical = "lexical" // BM25 alone: the model is not loaded yet
	ModeDense   = "dense"   // the model alone: the bundle has no BM25 index
	ModeHybrid  = "hybrid"  // both rankings fused (lexical.Combine)
)

// Mode says how Search ranks now.
func (b *Bundle) Mode() string {
	switch {
	case b.Retriever == nil:
		return ModeLexical
	case b.Lexical == nil:
		return ModeDense
	}
	return ModeHybrid
}

// Search returns the k best documents for a query, with their display fields, ranked as
// Mode says. Scores are dot products (dense), BM25 scores (lexical) or the convex
// combination of both, normalised (hybrid: lexical.Combine of the lexical.FusionDepth
// best of each, or k when k is more).
func (b *Bundle) Search(ctx context.Context, query string, k int) ([]Hit, error) {
	if err := CheckQuery(query, k); err != nil {
		return nil, err
	}
	if b.Retriever == nil && b.Lexical == nil {
		return nil, errors.New("search: the bundle has no BM25 index and its model is not loaded")
	}
	var lex []lexical.Ranked
	if b.Lexical != nil {
		for _, h := range b.Lexical.Search(query, max(k, lexical.FusionDepth)) {
			lex = append(lex, lexical.Ranked{Index: h.Index, Score: h.Score})
		}
		if b.Retriever == nil {
			out := []Hit{}
			for _, h := range b.Lexical.Search(query, k) {
				out = append(out, Hit{Doc: b.Docs[h.Index], Score: h.Score})
			}
			return out, nil
		}
	}
	depth := k
	if b.Lexical != nil {
		depth = max(k, lexical.FusionDepth)
	}
	// LoadModel checked that the model made the index.
	vecs, err := b.Retriever.EncodeQueries(ctx, []string{query})
	if err != nil {
		return nil, err
	}
	hits := b.Index.Search(vecs[0], min(depth, b.Index.Len()))
	if b.Lexical == nil {
		out := make([]Hit, len(hits))
		for i, h := range hits {
			out[i] = Hit{Doc: b.Docs[h.Index], Score: h.Score}
		}
		return out, nil
	}
	dense := make([]lexical.Ranked, len(hits))
	for i, h := range hits {
		dense[i] = lexical.Ranked{Index: h.Index, Score: h.Score}
	}
	fused := lexical.Combine(k, dense, lex)
	out := make([]Hit, len(fused))
	for i, f := range fused {
		out[i] = Hit{Doc: b.Docs[f.Index], Score: float32(f.Score)}
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

// Paths lists the data files a page fetches (model, vector and BM25 indexes, documents,
// texts), those the manifest lists outside the runtime.
func (m Manifest) Paths() []string {
	var out []string
	for _, f := range m.Files {
		if f.Path == IndexFile || f.Path == DocsFile || f.Path == LexicalFile || strings.HasPrefix(f.Path, ModelDir+"/") ||
			strings.HasPrefix(f.Path, TextDir+"/") {
			out = append(out, f.Path)
		}
	}
	return out
}
