// Package bundler writes a bundle (package core/bundle): the model, the index of a corpus
// made by that model, the documents' display fields (and, on request, their whole texts
// for snippets), the browser runtime (the WebAssembly module, Go's wasm_exec.js, sbmoe.js
// and its worker; the search widget on request) and a demo page, with a manifest of every
// file's size and SHA-256, and .br and .gz copies for servers that send them as they are.
// The bundle is written into a fresh folder beside the output and swapped in at the end, so
// a reader never sees half of one.
//
// Writing again over a bundle reuses what it can of it: the vector of every document whose
// encoded text is unchanged (by SHA-256, recorded in the bundle's EncodingsFile, when the
// model's fingerprint is the same and the index float32), and the .br and .gz copies of
// every unchanged file. When nothing changed at all, nothing is written.
package bundler

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing/fstest"
	"unicode"

	"github.com/andybalholm/brotli"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/lexical"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/core/tokenizer"
	"github.com/sbmoe/sbmoe/core/weights"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/ui"
	"github.com/sbmoe/sbmoe/wasm/web"
)

// Options describe a bundle to write.
type Options struct {
	// ModelDir is the folder the retriever was opened from; its sentence-transformers
	// files (modules.json, 1_Pooling/, sentence_bert_config.json) are copied from it.
	ModelDir string
	Out      string // the bundle's folder
	// Runtime holds sbmoe.wasm and wasm_exec.js (make build writes bin/web).
	Runtime string
	// Weights is how model/ stores the encoder: retriever.WeightsInt8 (int8 with one
	// scale per row, as bert.WriteInt8Folder writes it; the head stays float32) or
	// retriever.WeightsFP32 ("" is fp32). The index is made by the model in that form.
	Weights string
	// Int8Index stores the document vectors as int8 with one scale each (4× smaller).
	Int8Index bool
	// Demo writes index.html, a search page over the bundle.
	Demo bool
	// Compress writes .br and .gz copies of every file over 1 KB.
	Compress bool
	// Prune keeps only the vocabulary the corpus needs (tokenizer.PruneCorpus or
	// PruneReachable), which shrinks the embedding table.
	Prune tokenizer.Pruning
	// Progress follows the encoding of the documents.
	Progress func(done, total int)
	// Display, when set, holds the documents' display fields (in docs' order) instead of
	// their ids, titles and snippets of their texts.
	Display []bundle.Doc
	// Texts, when set, holds the documents' whole texts (in docs' order), which the bundle
	// then carries in its text/ files for snippets around the best-matching sentence.
	Texts []string
	// Widget adds the search widget (widget.js, widget.wasm from Runtime) and makes the
	// demo page the widget's search page.
	Widget bool
	// Head, when set, is trained after the documents are encoded (from their vectors, with
	// the model as the bundle holds it) and returns the head the bundle's model carries
	// for queries: sbmoe site --adapt. Documents keep their vectors.
	Head func(ctx context.Context, r *retriever.Retriever, ix *index.Index) (*moe.Block, error)
}

// TextBytes is about how many bytes of text each file of text/ holds.
const TextBytes = 16 << 10

// EncodingsFile records, for a bundle's index.idx, the model's fingerprint and the SHA-256
// of each document's encoded text, so that writing the bundle again encodes only what
// changed. Pages never fetch it, and the manifest does not list it.
const EncodingsFile = ".encodings"

// SnippetRunes is how much of a document's text docs.json keeps.
const SnippetRunes = 240

// Result says what was written.
type Result struct {
	Manifest bundle.Manifest
	// Bytes is the raw size of the files a page downloads (model, index, documents,
	// module); Brotli their size as .br (raw for those without a .br copy).
	Bytes, Brotli int64
	// First and FirstBrotli count the files a page needs for its first results, by
	// keywords, while the model downloads (module, documents, BM25 index, widget).
	First, FirstBrotli int64
	// Encoded is how many documents were encoded; the others' vectors were reused.
	Encoded int
	// Unchanged is set when the bundle in Out already was this one: nothing was written.
	Unchanged bool
}

// Write encodes docs with r and writes the bundle.
func Write(ctx context.Context, r *retriever.Retriever, docs []beir.Doc, opt Options) (*Result, error) {
	if opt.Out == "" {
		return nil, errors.New("bundle: no output folder")
	}
	if err := checkOut(opt.Out); err != nil {
		return nil, err
	}
	if opt.Display != nil && len(opt.Display) != len(docs) || opt.Texts != nil && len(opt.Texts) != len(docs) {
		return nil, fmt.Errorf("bundle: %d documents, %d display fields, %d texts", len(docs), len(opt.Display), len(opt.Texts))
	}
	form := opt.Weights
	switch {
	case form == "":
		form = retriever.WeightsFP32
	case form != retriever.WeightsFP32 && form != retriever.WeightsInt8:
		return nil, fmt.Errorf("bundle: weights %q, want %s or %s", opt.Weights, retriever.WeightsInt8, retriever.WeightsFP32)
	}
	if form == retriever.WeightsFP32 && r.Encoder().Int8() {
		return nil, fmt.Errorf("bundle: the model's encoder is int8, an fp32 bundle needs its fp32 weights (or bundle it as int8)")
	}
	files := map[string][]byte{}
	if err := addModel(files, r, opt.ModelDir, docs, opt.Prune, form); err != nil {
		return nil, err
	}
	// The index is made by the model as the bundle holds it, read back from the files just
	// written: what a page opens is what made the vectors, and the fingerprints agree. When
	// those files are the previous bundle's, so is the fingerprint, and the model is opened
	// only if a document needs encoding.
	prev := previous(opt.Out)
	var bundled *retriever.Retriever
	openBundled := func() (*retriever.Retriever, error) {
		if bundled != nil {
			return bundled, nil
		}
		model := fstest.MapFS{}
		for p, data := range files {
			if rel, ok := strings.CutPrefix(p, bundle.ModelDir+"/"); ok {
				model[rel] = &fstest.MapFile{Data: data}
			}
		}
		var err error
		if bundled, err = retriever.Open(model, retriever.Options{Threads: r.Encoder().Threads}); err != nil {
			return nil, fmt.Errorf("bundle: the model written does not open: %w", err)
		}
		if bundled.Encoder().Int8() != (form == retriever.WeightsInt8) {
			return nil, fmt.Errorf("bundle: the model written opens as int8 %v, want %s", bundled.Encoder().Int8(), form)
		}
		return bundled, nil
	}
	fingerprint, ok := prev.sameModel(files)
	if !ok {
		rb, err := openBundled()
		if err != nil {
			return nil, err
		}
		fingerprint = rb.Fingerprint()
	}
	prev.loadVectors(fingerprint)
	ix, sums, encoded, err := encode(ctx, r, openBundled, fingerprint, docs, prev, opt.Progress)
	if err != nil {
		return nil, err
	}
	if opt.Head != nil {
		rb, err := openBundled()
		if err != nil {
			return nil, err
		}
		head, err := opt.Head(ctx, rb, ix)
		if err != nil {
			return nil, fmt.Errorf("bundle: adapt the head: %w", err)
		}
		if head != nil {
			if err := rb.SetHead(head, retriever.HeadQueries); err != nil {
				return nil, fmt.Errorf("bundle: %w", err)
			}
			if err := addHead(files, rb); err != nil {
				return nil, err
			}
		}
	}
	if opt.Int8Index {
		ix = ix.Quantized()
	}
	var buf bytes.Buffer
	if _, err := ix.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", bundle.IndexFile, err)
	}
	files[bundle.IndexFile] = slices.Clone(buf.Bytes())
	ids, texts := make([]string, len(docs)), make([]string, len(docs))
	for i, d := range docs {
		ids[i], texts[i] = d.ID, beir.DocText(d)
	}
	lex, err := lexical.Build(ids, texts)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	buf.Reset()
	if _, err := lex.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", bundle.LexicalFile, err)
	}
	files[bundle.LexicalFile] = slices.Clone(buf.Bytes())
	display := opt.Display
	if display == nil {
		display = make([]bundle.Doc, len(docs))
		for i, d := range docs {
			display[i] = bundle.Doc{ID: d.ID, Title: d.Title}
			if opt.Texts == nil {
				display[i].Snippet = Snippet(d.Text, SnippetRunes)
			}
		}
	}
	for i, d := range display {
		if d.ID != docs[i].ID {
			return nil, fmt.Errorf("bundle: display fields %d are for %q, document %d is %q", i+1, d.ID, i+1, docs[i].ID)
		}
	}
	if files[bundle.DocsFile], err = json.Marshal(display); err != nil {
		return nil, err
	}
	shard := addTexts(files, opt.Texts)
	if err := addRuntime(files, opt.Runtime, opt.Demo, opt.Widget); err != nil {
		return nil, err
	}

	m := bundle.Manifest{Format: bundle.Format, Version: bundle.Version, Fingerprint: fingerprint, Dim: r.Dim(),
		Documents: len(docs), Weights: form, TextShard: shard}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		m.Files = append(m.Files, bundle.FileOf(p, files[p]))
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if _, err := bundle.ParseManifest(raw); err != nil {
		return nil, fmt.Errorf("bundle: the manifest written would not read back: %w", err)
	}
	files[bundle.ManifestFile] = append(raw, '\n')
	if !opt.Int8Index {
		files[EncodingsFile] = encodingsFile(fingerprint, sums)
	}

	res := &Result{Manifest: m, Encoded: encoded}
	for _, f := range m.Files {
		if downloaded(f.Path) {
			res.Bytes += f.Size
		}
		if first(f.Path) {
			res.First += f.Size
		}
	}
	if prev != nil && bytes.Equal(prev.manifest, files[bundle.ManifestFile]) && prev.complete(opt.Compress) {
		res.Unchanged = true
		res.Brotli, res.FirstBrotli = prev.brotli(m)
		return res, nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(opt.Out)), "."+filepath.Base(opt.Out)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, p := range slices.Sorted(maps.Keys(files)) {
		data := files[p]
		if err := writeFile(filepath.Join(tmp, p), data); err != nil {
			return nil, err
		}
		small := !opt.Compress || p == bundle.ManifestFile || p == EncodingsFile || len(data) < 1024
		var brSize int64 = int64(len(data))
		if !small {
			br, gz, ok := prev.compressed(p, data)
			if !ok {
				if br, gz, err = compress(data, strings.HasSuffix(p, ".wasm") || strings.HasSuffix(p, ".js")); err != nil {
					return nil, fmt.Errorf("bundle: compress %s: %w", p, err)
				}
			}
			if err := writeFile(filepath.Join(tmp, p+".br"), br); err != nil {
				return nil, err
			}
			if err := writeFile(filepath.Join(tmp, p+".gz"), gz); err != nil {
				return nil, err
			}
			brSize = int64(len(br))
		}
		if downloaded(p) {
			res.Brotli += brSize
		}
		if first(p) {
			res.FirstBrotli += brSize
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it private; a web server must read it
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if err := swap(tmp, opt.Out); err != nil {
		return nil, err
	}
	return res, nil
}

// encode returns the index of docs as the bundle's model makes it, the SHA-256 of every
// document's encoded text, and how many documents it encoded: the others' vectors come
// from the previous bundle. r prepares the texts (as the bundle's model does: it is the
// same model, maybe with a smaller vocabulary); bundled opens the bundle's model, which
// encodes, only when a document needs it.
func encode(ctx context.Context, r *retriever.Retriever, bundled func() (*retriever.Retriever, error), fingerprint string,
	docs []beir.Doc, prev *prior, progress func(done, total int)) (*index.Index, [][sha256.Size]byte, int, error) {
	sums := make([][sha256.Size]byte, len(docs))
	vecs := make([][]float32, len(docs))
	var todo []int
	for i, d := range docs {
		sums[i] = sha256.Sum256([]byte(r.Text(retriever.Doc, "", d)))
		if v := prev.vector(sums[i]); v != nil {
			vecs[i] = v
		} else {
			todo = append(todo, i)
		}
	}
	if len(todo) > 0 {
		rb, err := bundled()
		if err != nil {
			return nil, nil, 0, err
		}
		missing := make([]beir.Doc, len(todo))
		for j, i := range todo {
			missing[j] = docs[i]
		}
		got, err := rb.EncodeDocuments(ctx, missing, progress)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("bundle: encode the documents: %w", err)
		}
		for j, i := range todo {
			vecs[i] = got[j]
		}
	} else if progress != nil {
		progress(len(docs), len(docs))
	}
	ix := index.New(r.Dim(), index.Float32)
	ix.SetOrigin(index.Origin{Fingerprint: fingerprint})
	for i, d := range docs {
		if err := ix.Add(d.ID, vecs[i]); err != nil {
			return nil, nil, 0, fmt.Errorf("bundle: document %d: %w", i+1, err)
		}
	}
	return ix, sums, len(todo), nil
}

// addTexts writes the documents' texts into text/, about TextBytes to a file, and returns
// how many documents each file holds (0 without texts).
func addTexts(files map[string][]byte, texts []string) int {
	if texts == nil || len(texts) == 0 {
		return 0
	}
	total := 0
	for _, t := range texts {
		total += len(t)
	}
	shard := max(1, TextBytes*len(texts)/max(1, total))
	for i := 0; i*shard < len(texts); i++ {
		part := texts[i*shard : min(len(texts), (i+1)*shard)]
		raw, _ := json.Marshal(part) // strings always marshal
		files[bundle.TextFile(i)] = raw
	}
	return shard
}

// downloaded reports whether a page fetches the file to search with the model.
func downloaded(p string) bool {
	return p == bundle.IndexFile || strings.HasPrefix(p, bundle.ModelDir+"/") || first(p)
}

// first reports whether a page fetches the file for its first results, by keywords.
func first(p string) bool {
	switch p {
	case bundle.DocsFile, bundle.LexicalFile, "sbmoe.wasm", "wasm_exec.js", "sbmoe.js", "sbmoe-worker.js", "widget.js", "widget.wasm":
		return true
	}
	return false
}

// addModel writes the model in the trained-folder layout: model/sbmoe.json, the encoder in
// model/encoder/ (config and sentence-transformers files copied, tokenizer.json and the
// weights written from the loaded model, both pruned to the corpus's vocabulary when
// asked), and the head. The weights are model.safetensors for fp32, or
// bert.Int8WeightsFile for int8: the whole model is quantised first, so its calibration
// sees the full vocabulary, and pruning then keeps the kept tokens' int8 rows and
// their scales, which do not depend on the others.
func addModel(files map[string][]byte, r *retriever.Retriever, srcDir string, docs []beir.Doc, prune tokenizer.Pruning, form string) error {
	man := r.Manifest()
	src := srcDir
	if man.Encoder != "." {
		src = filepath.Join(srcDir, man.Encoder)
	}
	enc := path.Join(bundle.ModelDir, "encoder")
	side := []string{"config.json", "modules.json", "sentence_bert_config.json"}
	if raw, err := os.ReadFile(filepath.Join(src, "modules.json")); err == nil {
		var modules []struct {
			Path string `json:"path"`
		}
		if err := json.Unmarshal(raw, &modules); err != nil {
			return fmt.Errorf("bundle: %s: %w", filepath.Join(src, "modules.json"), err)
		}
		for _, m := range modules {
			if m.Path != "" && fs.ValidPath(m.Path) {
				side = append(side, path.Join(m.Path, "config.json"))
			}
		}
	}
	for _, name := range side {
		b, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(name)))
		if errors.Is(err, fs.ErrNotExist) && name != "config.json" {
			continue
		} else if err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
		files[path.Join(enc, name)] = b
	}
	tok := r.Encoder().Tokenizer
	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = r.Text(retriever.Doc, "", d)
	}
	tok, old, err := tok.Prune(tok.Used(texts), prune)
	if err != nil {
		return fmt.Errorf("bundle: prune the vocabulary: %w", err)
	}
	var buf bytes.Buffer
	if err := tok.WriteJSON(&buf); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	files[path.Join(enc, "tokenizer.json")] = slices.Clone(buf.Bytes())
	buf.Reset()
	if len(old) != r.Encoder().Config.VocabSize {
		cfg := path.Join(enc, "config.json")
		var doc map[string]any
		if err := json.Unmarshal(files[cfg], &doc); err != nil {
			return fmt.Errorf("bundle: %s: %w", cfg, err)
		}
		doc["vocab_size"] = len(old)
		if files[cfg], err = json.MarshalIndent(doc, "", "  "); err != nil {
			return err
		}
	}
	if form == retriever.WeightsInt8 {
		b, err := int8Weights(r.Encoder(), old)
		if err != nil {
			return err
		}
		files[path.Join(enc, bert.Int8WeightsFile)] = b
		return addHead(files, r)
	}
	params := r.Encoder().Params(nil)
	tensors := make([]*weights.Tensor, len(params))
	h := r.Dim()
	for i, p := range params {
		tensors[i] = &weights.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Data}
		if p.Name == "embeddings.word_embeddings.weight" && len(old) != p.Shape[0] {
			rows := make([]float32, 0, len(old)*h)
			for _, id := range old {
				rows = append(rows, p.Data[id*h:(id+1)*h]...)
			}
			tensors[i] = &weights.Tensor{Name: p.Name, Shape: []int{len(old), h}, Data: rows}
		}
	}
	if err := weights.WriteSafetensors(&buf, tensors, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	files[path.Join(enc, "model.safetensors")] = slices.Clone(buf.Bytes())

	return addHead(files, r)
}

// int8Weights returns the int8 weights file of enc (quantised when it is fp32) with the
// word embedding rows of the tokens old lists, in that order.
func int8Weights(enc *bert.Model, old []int) ([]byte, error) {
	var buf bytes.Buffer
	if err := enc.SaveInt8(&buf); err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", bert.Int8WeightsFile, err)
	}
	if len(old) == enc.Config.VocabSize {
		return buf.Bytes(), nil
	}
	ints, floats, meta, err := weights.ReadInt8SafetensorsBytes(bert.Int8WeightsFile, buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	const words = "embeddings.word_embeddings.weight"
	w := ints[words]
	if w == nil || len(w.Shape) != 2 {
		return nil, fmt.Errorf("bundle: %s: no word embedding table to prune", bert.Int8WeightsFile)
	}
	h := w.Shape[1]
	kept := &weights.Int8Tensor{Name: words, Shape: []int{len(old), h}, Data: make([]int8, 0, len(old)*h), Scale: make([]float32, 0, len(old))}
	for _, id := range old {
		kept.Data = append(kept.Data, w.Data[id*h:(id+1)*h]...)
		kept.Scale = append(kept.Scale, w.Scale[id])
	}
	ints[words] = kept
	floatList := make([]*weights.Tensor, 0, len(floats))
	for _, name := range slices.Sorted(maps.Keys(floats)) {
		floatList = append(floatList, floats[name])
	}
	intList := make([]*weights.Int8Tensor, 0, len(ints))
	for _, name := range slices.Sorted(maps.Keys(ints)) {
		intList = append(intList, ints[name])
	}
	var out bytes.Buffer
	if err := weights.WriteInt8Safetensors(&out, intList, floatList, meta); err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", bert.Int8WeightsFile, err)
	}
	return out.Bytes(), nil
}

// addHead writes model/sbmoe.json and, when r has a head, model/head.safetensors.
func addHead(files map[string][]byte, r *retriever.Retriever) error {
	man := r.Manifest()
	out := retriever.NewManifest(false, man.Lowercase, man.Recipe)
	if head := r.Head(); head != nil {
		var buf bytes.Buffer
		if err := head.Save(&buf); err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
		out.Head, out.HeadAppliesTo = "head.safetensors", man.HeadAppliesTo
		files[path.Join(bundle.ModelDir, out.Head)] = buf.Bytes()
	}
	raw, err := out.Marshal()
	if err != nil {
		return err
	}
	files[path.Join(bundle.ModelDir, retriever.ManifestFile)] = raw
	return nil
}

// addRuntime adds the module, Go's loader, the JS module and worker, the widget when asked,
// and the demo page (the widget's search page with the widget).
func addRuntime(files map[string][]byte, dir string, demo, widget bool) error {
	built := []string{"sbmoe.wasm", "wasm_exec.js"}
	if widget {
		built = append(built, "widget.wasm")
	}
	for _, name := range built {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("bundle: the browser runtime: %w (make build writes it to bin/web; or pass --runtime DIR)", err)
		}
		files[name] = b
	}
	for _, name := range []string{"sbmoe.js", "sbmoe-worker.js"} {
		b, err := web.Files.ReadFile(name)
		if err != nil {
			return err
		}
		files[name] = b
	}
	page := "demo.html"
	if widget {
		b, err := ui.Files.ReadFile("widget.js")
		if err != nil {
			return err
		}
		files["widget.js"] = b
		page = "search.html"
	}
	if demo {
		b, err := ui.Files.ReadFile(page)
		if err != nil {
			return err
		}
		files["index.html"] = b
	}
	return nil
}

// Snippet returns the first n runes of text, its whitespace collapsed, cut at a word
// boundary with "…" when it is longer.
func Snippet(text string, n int) string {
	text = strings.Join(strings.FieldsFunc(text, unicode.IsSpace), " ")
	r := []rune(text)
	if len(r) <= n {
		return text
	}
	cut := n
	for cut > n/2 && !unicode.IsSpace(r[cut]) {
		cut--
	}
	return strings.TrimRightFunc(string(r[:cut]), unicode.IsSpace) + "…"
}

// compress returns the Brotli and gzip encodings of data, the strongest for the module and
// scripts, a faster setting for the larger data files.
func compress(data []byte, best bool) (br, gz []byte, err error) {
	quality, level := 6, gzip.DefaultCompression
	if best {
		quality, level = brotli.BestCompression, gzip.BestCompression
	}
	var b bytes.Buffer
	w := brotli.NewWriterLevel(&b, quality)
	if _, err := w.Write(data); err != nil {
		return nil, nil, err
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	var g bytes.Buffer
	zw, err := gzip.NewWriterLevel(&g, level)
	if err != nil {
		return nil, nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	return b.Bytes(), g.Bytes(), nil
}

func writeFile(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	f, err := os.Create(p)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	_, err = io.Copy(f, bytes.NewReader(data))
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("bundle: write %s: %w", p, err)
	}
	return nil
}

// checkOut refuses to replace a folder that is neither empty nor a bundle.
func checkOut(out string) error {
	entries, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if _, err := os.Stat(filepath.Join(out, bundle.ManifestFile)); err != nil {
		return fmt.Errorf("bundle: %s exists and is not a bundle (no %s): choose an empty or new folder", out, bundle.ManifestFile)
	}
	return nil
}

// swap puts the finished folder tmp in place of out, removing the bundle out held.
func swap(tmp, out string) error {
	old := ""
	if _, err := os.Stat(out); err == nil {
		old = tmp + ".old"
		if err := os.Rename(out, old); err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		if old != "" {
			os.Rename(old, out) // best effort: put the previous bundle back
		}
		return fmt.Errorf("bundle: %w", err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}
