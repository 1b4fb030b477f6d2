package retriever

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"sync"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/f32"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/moe"
)

// Document is one text to index: its ID, and a title and a text that are encoded as
// title + " " + text (BEIR's rule).
type Document = beir.Doc

// Side tells queries from documents: each has its own maximum length, and a head may
// apply to queries only.
type Side uint8

const (
	Query Side = iota
	Doc
)

func (s Side) String() string {
	if s == Query {
		return "query"
	}
	return "document"
}

// Options tune a retriever; the zero value takes every default.
type Options struct {
	// Threads is how many goroutines one forward pass uses; 0 = GOMAXPROCS.
	Threads int
	// BatchSize is how many texts go through the encoder at once; 0 = 32.
	BatchSize int
	// MaxQueryTokens and MaxDocTokens cap the token sequences of queries and documents
	// ([CLS] and [SEP] included); 0 = the model's max_seq_length. Longer texts are cut,
	// as the model itself does. The document length is part of the fingerprint.
	MaxQueryTokens, MaxDocTokens int
	// Weights chooses the encoder's weights: "" takes them as the folder stores them;
	// WeightsInt8 runs int8 weights with one scale per row (an fp32 folder is quantised
	// as it opens, bert.Model.QuantizeInt8, the same weights as its int8 folder);
	// WeightsFP32 refuses an int8 folder. They make different vectors, so the weights are
	// part of the fingerprint.
	Weights string
}

// The encoder's weights, as Options.Weights and a bundle's manifest name them.
const (
	WeightsFP32 = "fp32"
	WeightsInt8 = "int8"
)

// Retriever is an encoder with its tokenizer, an optional SB-MoE head and the text
// preparation it was trained with. It is safe for concurrent use, but for SetHead.
type Retriever struct {
	model    *bert.Model
	manifest Manifest
	opts     Options

	mu   sync.Mutex // guards head: a block keeps its buffers between calls
	head *moe.Block
}

// errNotModel is returned by Open for a folder that holds no model.
var errNotModel = errors.New("neither " + ManifestFile + " nor config.json: not a model folder (a Hugging Face encoder, or a folder written by sbmoe train)")

// Open opens the model folder at the root of fsys: a trained folder (sbmoe.json, the
// encoder in a sub-folder, the head file beside it) or a plain Hugging Face encoder folder
// (config.json, tokenizer, weights, sentence-transformers' module files), which has no head
// and encodes texts as given. A browser or a worker passes an in-memory file system of
// fetched bytes (fstest.MapFS, say). Errors name the file and, where it applies, the field.
func Open(fsys fs.FS, opts Options) (*Retriever, error) {
	m, err := readManifest(fsys)
	if err != nil {
		return nil, err
	}
	encFS := fsys
	if m.Encoder != "." {
		if encFS, err = fs.Sub(fsys, m.Encoder); err != nil {
			return nil, fmt.Errorf("open model: field encoder: %w", err)
		}
	}
	enc, err := bert.LoadFS(encFS)
	if err != nil {
		if m.Encoder != "." {
			return nil, fmt.Errorf("open model: %s/: %w", m.Encoder, err)
		}
		return nil, fmt.Errorf("open model: %w", err)
	}
	switch opts.Weights {
	case "":
	case WeightsInt8:
		if enc, err = enc.QuantizeInt8(); err != nil {
			return nil, fmt.Errorf("open model: %w", err)
		}
	case WeightsFP32:
		if enc.Int8() {
			return nil, fmt.Errorf("open model: the encoder's weights are int8 (%s), not fp32: open its fp32 folder", bert.Int8WeightsFile)
		}
	default:
		return nil, fmt.Errorf("open model: weights %q, want %s or %s", opts.Weights, WeightsInt8, WeightsFP32)
	}
	if opts.Threads > 0 {
		enc.Threads = opts.Threads
	}
	r := &Retriever{model: enc, manifest: m, opts: opts}
	if m.Head != "" {
		head, err := readHead(fsys, m.Head)
		if err != nil {
			return nil, fmt.Errorf("open model: %w", err)
		}
		if err := r.SetHead(head, m.HeadAppliesTo); err != nil {
			return nil, fmt.Errorf("open model: %s: %w", m.Head, err)
		}
	}
	return r, nil
}

// OpenDir is Open(os.DirFS(dir), opts); errors start with dir.
func OpenDir(dir string, opts Options) (*Retriever, error) {
	r, err := Open(os.DirFS(dir), opts)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	return r, nil
}

// New makes a retriever of an encoder held in memory (a model being trained, say) with an
// optional head, preparing texts as the manifest says; the manifest's paths are not used.
func New(enc *bert.Model, head *moe.Block, m Manifest, opts Options) (*Retriever, error) {
	r := &Retriever{model: enc, manifest: m, opts: opts}
	if head != nil {
		if err := r.SetHead(head, m.HeadAppliesTo); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// readManifest returns the folder's manifest, or the one a plain encoder folder or a
// trained folder of an earlier version (encoder/ and moe/, no sbmoe.json) implies.
func readManifest(fsys fs.FS) (Manifest, error) {
	b, err := fs.ReadFile(fsys, ManifestFile)
	if err == nil {
		m, err := ParseManifest(b)
		if err != nil {
			return Manifest{}, fmt.Errorf("open model: %s: %w", ManifestFile, err)
		}
		return m, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, fmt.Errorf("open model: %w", err)
	}
	if _, err := fs.Stat(fsys, "config.json"); err == nil {
		return Manifest{Format: manifestFormat, Version: manifestVersion, Encoder: "."}, nil
	}
	if _, err := fs.Stat(fsys, "encoder/config.json"); err == nil {
		m := NewManifest(false, true, "")
		if _, err := fs.Stat(fsys, "moe"); err == nil {
			m.Head, m.HeadAppliesTo = "moe", HeadBoth
		}
		return m, nil
	}
	return Manifest{}, fmt.Errorf("open model: %w", errNotModel)
}

// readHead reads a head file, or a folder holding the two files of earlier versions.
func readHead(fsys fs.FS, name string) (*moe.Block, error) {
	if st, err := fs.Stat(fsys, name); err == nil && st.IsDir() {
		sub, err := fs.Sub(fsys, name)
		if err != nil {
			return nil, err
		}
		head, err := moe.LoadFS(sub)
		if err != nil {
			return nil, fmt.Errorf("%s/: %w", name, err)
		}
		return head, nil
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("load head: %w", err)
	}
	return moe.Read(path.Base(name), b)
}

// Encoder is the retriever's encoder.
func (r *Retriever) Encoder() *bert.Model { return r.model }

// Manifest is what the retriever was opened with.
func (r *Retriever) Manifest() Manifest { return r.manifest }

// Head is the SB-MoE head, or nil.
func (r *Retriever) Head() *moe.Block {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.head
}

// SetHead replaces the head (nil removes it) and says which vectors it changes: HeadBoth
// (or "", the same) or HeadQueries. A head learned in the browser is swapped in this way,
// for queries only, so the page's index stays valid. The head must fit the encoder's width.
func (r *Retriever) SetHead(head *moe.Block, appliesTo string) error {
	switch {
	case head != nil && head.Config().Hidden != r.Dim():
		return fmt.Errorf("head of hidden_size %d does not fit an encoder of hidden_size %d", head.Config().Hidden, r.Dim())
	case appliesTo == "":
		appliesTo = HeadBoth
	case appliesTo != HeadBoth && appliesTo != HeadQueries:
		return fmt.Errorf("head applies to %q, want %q or %q", appliesTo, HeadBoth, HeadQueries)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.head = head
	switch {
	case head == nil:
		r.manifest.Head, r.manifest.HeadAppliesTo = "", ""
	case r.manifest.Head == "":
		r.manifest.Head, r.manifest.HeadAppliesTo = moe.HeadFile, appliesTo
	default:
		r.manifest.HeadAppliesTo = appliesTo
	}
	return nil
}

// Dim is the length of the vectors the retriever makes.
func (r *Retriever) Dim() int { return r.model.Config.HiddenSize }

// Fingerprint identifies the document vectors this retriever makes: a hash of the
// encoder's weights, config and tokenizer, the text preparation, the longest document,
// and the head when it applies to documents. Index stores it and Search checks it, so an
// index is never searched with the vectors of another model.
func (r *Retriever) Fingerprint() string {
	h := sha256.New()
	cfg, _ := json.Marshal(r.model.Config) // numbers, strings, bools: cannot fail
	for _, part := range [][]byte{
		[]byte("sbmoe retriever fingerprint v1"),
		[]byte(r.model.WeightsDigest()), cfg, []byte(r.model.Tokenizer.Digest()),
		[]byte("lowercase=" + strconv.FormatBool(r.manifest.Lowercase)),
		[]byte("max_doc_tokens=" + strconv.Itoa(r.maxLen(Doc))),
	} {
		h.Write(part)
		h.Write([]byte{0})
	}
	if head := r.Head(); head != nil && r.headApplies(Doc) {
		h.Write([]byte(head.Digest()))
	}
	return "sbmoe1-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// maxLen is the token limit of one side.
func (r *Retriever) maxLen(s Side) int {
	n := r.opts.MaxQueryTokens
	if s == Doc {
		n = r.opts.MaxDocTokens
	}
	if n <= 0 {
		n = r.model.Config.MaxSeqLength
	}
	return min(n, r.model.Config.MaxPositions)
}

func (r *Retriever) headApplies(s Side) bool {
	return s == Query || r.manifest.HeadAppliesTo != HeadQueries
}

// Text is what the encoder reads for a query (as given) or a document (title + " " +
// text), prepared as the model was trained.
func (r *Retriever) Text(s Side, query string, doc Document) string {
	if s == Doc {
		return r.manifest.preprocess(beir.DocText(doc))
	}
	return r.manifest.preprocess(query)
}

// Pooled returns the encoder's pooled vectors of texts that Text has prepared, before the
// head: what a head trains on. progress, when set, is told of every batch.
func (r *Retriever) Pooled(ctx context.Context, s Side, texts []string, progress func(done, total int)) ([][]float32, error) {
	return r.model.EncodeContext(ctx, texts, bert.EncodeOptions{BatchSize: r.opts.BatchSize, MaxLength: r.maxLen(s), Progress: progress})
}

// ApplyHead passes pooled vectors through the head, in place, when the head applies to
// side s, and returns the expert each vector was routed to (nil when nothing applied).
func (r *Retriever) ApplyHead(s Side, vecs [][]float32) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.head == nil || !r.headApplies(s) {
		return nil
	}
	return applyBlock(r.head, vecs)
}

// headRows is how many vectors pass through the head at once.
const headRows = 256

// applyBlock passes vecs through block in Eval mode, in place, and returns each vector's
// most probable expert.
func applyBlock(block *moe.Block, vecs [][]float32) []int {
	h := block.Config().Hidden
	experts := make([]int, 0, len(vecs))
	in, out := make([]float32, headRows*h), make([]float32, headRows*h)
	for lo := 0; lo < len(vecs); lo += headRows {
		rows := min(headRows, len(vecs)-lo)
		for i := range rows {
			copy(in[i*h:(i+1)*h], vecs[lo+i])
		}
		rt := block.Forward(out[:rows*h], in[:rows*h], rows, moe.Eval, nil)
		for i := range rows {
			copy(vecs[lo+i], out[i*h:(i+1)*h])
		}
		experts = append(experts, rt.Expert...)
	}
	return experts
}

// EncodeQueries returns the search vectors of queries: prepared, encoded and passed
// through the head.
func (r *Retriever) EncodeQueries(ctx context.Context, queries []string) ([][]float32, error) {
	texts := make([]string, len(queries))
	for i, q := range queries {
		texts[i] = r.Text(Query, q, Document{})
	}
	vecs, err := r.Pooled(ctx, Query, texts, nil)
	if err != nil {
		return nil, err
	}
	r.ApplyHead(Query, vecs)
	return vecs, nil
}

// EncodeDocuments returns the vectors of docs as Index stores them.
func (r *Retriever) EncodeDocuments(ctx context.Context, docs []Document, progress func(done, total int)) ([][]float32, error) {
	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = r.Text(Doc, "", d)
	}
	vecs, err := r.Pooled(ctx, Doc, texts, progress)
	if err != nil {
		return nil, err
	}
	r.ApplyHead(Doc, vecs)
	return vecs, nil
}

// Index encodes docs into a float32 index that records the retriever's Fingerprint (call
// Quantized on it for int8). Document IDs must be unique and non-empty.
func (r *Retriever) Index(ctx context.Context, docs []Document, progress func(done, total int)) (*index.Index, error) {
	vecs, err := r.EncodeDocuments(ctx, docs, progress)
	if err != nil {
		return nil, err
	}
	return r.NewIndex(docs, vecs)
}

// NewIndex puts document vectors this retriever made (EncodeDocuments, or Pooled and
// ApplyHead) into a float32 index that records its Fingerprint.
func (r *Retriever) NewIndex(docs []Document, vecs [][]float32) (*index.Index, error) {
	if len(docs) != len(vecs) {
		return nil, fmt.Errorf("index: %d documents, %d vectors", len(docs), len(vecs))
	}
	ix := index.New(r.Dim(), index.Float32)
	ix.SetOrigin(index.Origin{Fingerprint: r.Fingerprint()})
	for i, d := range docs {
		if err := ix.Add(d.ID, vecs[i]); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
	}
	return ix, nil
}

// ErrNoFingerprint is wrapped by CheckIndex for an index that records no fingerprint (a
// file written before sbmoe kept one); Search accepts such an index.
var ErrNoFingerprint = errors.New("the index records no fingerprint")

// CheckIndex tells whether ix holds vectors this retriever makes: nil when its fingerprint
// matches, an error wrapping ErrNoFingerprint when it has none, and an error naming both
// fingerprints (and the model that built it, when recorded) otherwise.
func (r *Retriever) CheckIndex(ix *index.Index) error {
	o := ix.Origin()
	switch fp := r.Fingerprint(); {
	case ix.Dim() != r.Dim():
		return fmt.Errorf("the index holds %d-dimensional vectors, this model makes %d: search with the model that built it", ix.Dim(), r.Dim())
	case o.Fingerprint == "":
		return fmt.Errorf("%w: it cannot be checked against this model (fingerprint %s); rebuild it to record one", ErrNoFingerprint, fp)
	case o.Fingerprint != fp:
		built := "another model"
		if o.Model != "" {
			built = "model " + o.Model
		}
		return fmt.Errorf("the index was built by %s (fingerprint %s), this model's fingerprint is %s: search with the model that built it, or rebuild the index with this one",
			built, o.Fingerprint, fp)
	}
	return nil
}

// Search returns the k best documents of ix for each query, by dot product, best first.
// It refuses an index that CheckIndex finds was built by another model.
func (r *Retriever) Search(ctx context.Context, ix *index.Index, queries []string, k int) ([][]index.Hit, error) {
	if k < 1 {
		return nil, fmt.Errorf("search: k is %d, want at least 1", k)
	}
	if err := r.CheckIndex(ix); err != nil && !errors.Is(err, ErrNoFingerprint) {
		return nil, fmt.Errorf("search: %w", err)
	}
	vecs, err := r.EncodeQueries(ctx, queries)
	if err != nil {
		return nil, err
	}
	return ix.SearchBatch(vecs, k, r.model.Threads), nil
}

// Kernels names the float32 kernel set this build and CPU use ("avx512", "simd128", ...).
func Kernels() string { return f32.Kernels() }
