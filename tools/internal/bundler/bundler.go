// Package bundler writes a bundle (package core/bundle): the model, the index of a corpus
// made by that model, the documents' display fields, the browser runtime (the WebAssembly
// module, Go's wasm_exec.js, sbmoe.js and its worker) and a demo page, with a manifest of
// every file's size and SHA-256, and .br and .gz copies for servers that send them as they
// are. The bundle is written into a fresh folder beside the output and swapped in at the
// end, so a reader never sees half of one.
package bundler

import (
	"bytes"
	"compress/gzip"
	"context"
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
	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/core/lexical"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/core/tokenizer"
	"github.com/sbmoe/sbmoe/core/weights"
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
}

// SnippetRunes is how much of a document's text docs.json keeps.
const SnippetRunes = 240

// Result says what was written.
type Result struct {
	Manifest bundle.Manifest
	// Bytes is the raw size of the files a page downloads (model, index, documents,
	// module); Brotli their size as .br (raw for those without a .br copy).
	Bytes, Brotli int64
}

// Write encodes docs with r and writes the bundle.
func Write(ctx context.Context, r *retriever.Retriever, docs []beir.Doc, opt Options) (*Result, error) {
	if opt.Out == "" {
		return nil, errors.New("bundle: no output folder")
	}
	if err := checkOut(opt.Out); err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	if err := addModel(files, r, opt.ModelDir, docs, opt.Prune); err != nil {
		return nil, err
	}
	// The index is made by the model as the bundle holds it, read back from the files just
	// written: what a page opens is what made the vectors, and the fingerprints agree.
	model := fstest.MapFS{}
	for p, data := range files {
		if rel, ok := strings.CutPrefix(p, bundle.ModelDir+"/"); ok {
			model[rel] = &fstest.MapFile{Data: data}
		}
	}
	r, err := retriever.Open(model, retriever.Options{Threads: r.Encoder().Threads})
	if err != nil {
		return nil, fmt.Errorf("bundle: the model written does not open: %w", err)
	}
	ix, err := r.Index(ctx, docs, opt.Progress)
	if err != nil {
		return nil, fmt.Errorf("bundle: encode the documents: %w", err)
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
	display := make([]bundle.Doc, len(docs))
	for i, d := range docs {
		display[i] = bundle.Doc{ID: d.ID, Title: d.Title, Snippet: Snippet(d.Text, SnippetRunes)}
	}
	if files[bundle.DocsFile], err = json.Marshal(display); err != nil {
		return nil, err
	}
	if err := addRuntime(files, opt.Runtime, opt.Demo); err != nil {
		return nil, err
	}

	m := bundle.Manifest{Format: bundle.Format, Version: bundle.Version, Fingerprint: r.Fingerprint(), Dim: r.Dim(),
		Documents: len(docs), Weights: "fp32"}
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

	res := &Result{Manifest: m}
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
		if !opt.Compress || p == bundle.ManifestFile || len(data) < 1024 {
			if downloaded(p) {
				res.Brotli += int64(len(data))
			}
			continue
		}
		br, gz, err := compress(data, strings.HasSuffix(p, ".wasm") || strings.HasSuffix(p, ".js"))
		if err != nil {
			return nil, fmt.Errorf("bundle: compress %s: %w", p, err)
		}
		if err := writeFile(filepath.Join(tmp, p+".br"), br); err != nil {
			return nil, err
		}
		if err := writeFile(filepath.Join(tmp, p+".gz"), gz); err != nil {
			return nil, err
		}
		if downloaded(p) {
			res.Brotli += int64(len(br))
		}
	}
	for _, f := range m.Files {
		if downloaded(f.Path) {
			res.Bytes += f.Size
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

// downloaded reports whether a page fetches the file before its first result.
func downloaded(p string) bool {
	return p == bundle.IndexFile || p == bundle.DocsFile || p == bundle.LexicalFile || strings.HasPrefix(p, bundle.ModelDir+"/") ||
		p == "sbmoe.wasm" || p == "wasm_exec.js" || p == "sbmoe.js" || p == "sbmoe-worker.js"
}

// addModel writes the model in the trained-folder layout: model/sbmoe.json, the encoder in
// model/encoder/ (config and sentence-transformers files copied, tokenizer.json and
// model.safetensors written from the loaded model, both pruned to the corpus's vocabulary
// when asked), and the head.
func addModel(files map[string][]byte, r *retriever.Retriever, srcDir string, docs []beir.Doc, prune tokenizer.Pruning) error {
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
	if err := weights.WriteSafetensors(&buf, tensors, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	files[path.Join(enc, "model.safetensors")] = slices.Clone(buf.Bytes())

	out := retriever.NewManifest(false, man.Lowercase, man.Recipe)
	if head := r.Head(); head != nil {
		buf.Reset()
		if err := head.Save(&buf); err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
		out.Head, out.HeadAppliesTo = "head.safetensors", man.HeadAppliesTo
		files[path.Join(bundle.ModelDir, out.Head)] = slices.Clone(buf.Bytes())
	}
	raw, err := out.Marshal()
	if err != nil {
		return err
	}
	files[path.Join(bundle.ModelDir, retriever.ManifestFile)] = raw
	return nil
}

// addRuntime adds the module, Go's loader, the JS module and worker, and the demo page.
func addRuntime(files map[string][]byte, dir string, demo bool) error {
	for _, name := range []string{"sbmoe.wasm", "wasm_exec.js"} {
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
	if demo {
		b, err := ui.Files.ReadFile("demo.html")
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
