//go:build js && wasm

// Command browser is the retriever as a WebAssembly module for a web page's worker
// (GOOS=js GOARCH=wasm, GOEXPERIMENT=simd for SIMD128). It is the thin syscall/js glue
// over package bundle: everything it calls is tested natively and under wazero; the page
// tests (wasm/browsertest) drive it in Chromium.
//
// On start it sets globalThis.sbmoeGo to an object of synchronous functions, which
// sbmoe-worker.js calls; each returns a JSON string ({"error": "..."} on failure) or bytes:
//
//	openLexical(files)          files: {path: Uint8Array}: manifest.json, docs.json, lexical.idx → {"documents", "mode"}
//	loadModel(files)            the model's and index.idx's verified files → {"fingerprint", "dim", "kernels", "mode"}
//	search(query, k[, mode])    → {"hits": [{"id","title","heading","url","snippet","score"}], "mode", "texts"}
//	                              (mode: "dense", "lexical" or "hybrid"; absent or "": the best loaded)
//	                              (texts: the files of texts the hits' snippets need that are not loaded)
//	loadTexts(files)            files: {path: Uint8Array} of text/ → {}
//	highlight(query, idsJSON)   → {"highlights": [[{"text","mark"}] or null, ...]} for the documents with loaded texts
//	encode(textsJSON)           → {"vectors": [[...]]} (queries, head applied)
//	encodeDocs(textsJSON, maxTokens, batch) → {"documents", "tokens": [...]}: the encoder alone
//	                              on texts cut to maxTokens, in batches (make bench-browser's docs/s)
//	learn(feedbackJSON, optionsJSON, onProgress) → {"epochs", "steps", "loss", "examples", "held_out", "kept_epoch"}
//	                              and the head swapped in (kept_epoch 0: the recipe kept the untrained head)
//	exportHead()                → Uint8Array of a head file, or null
//	importHead(bytes or null)   → {} (null: back to the model's own head)
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"syscall/js"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe/headtrain"
)

var opened *bundle.Bundle

func main() {
	api := js.Global().Get("Object").New()
	api.Set("openLexical", js.FuncOf(openLexical))
	api.Set("loadModel", js.FuncOf(loadModel))
	api.Set("search", js.FuncOf(search))
	api.Set("loadTexts", js.FuncOf(loadTexts))
	api.Set("highlight", js.FuncOf(highlight))
	api.Set("encode", js.FuncOf(encode))
	api.Set("encodeDocs", js.FuncOf(encodeDocs))
	api.Set("learn", js.FuncOf(learn))
	api.Set("exportHead", js.FuncOf(exportHead))
	api.Set("importHead", js.FuncOf(importHead))
	api.Set("kernels", retriever.Kernels())
	js.Global().Set("sbmoeGo", api)
	select {} // serve calls until the worker is terminated
}

// reply encodes v, or the error, as the JSON string a call returns.
func reply(v any, err error) any {
	if err != nil {
		v = map[string]string{"error": err.Error()}
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return string(b)
}

// guard turns a panic into an error reply, so that one bad call leaves the module usable.
func guard(f func() (any, error)) (out any) {
	defer func() {
		if p := recover(); p != nil {
			out = reply(nil, fmt.Errorf("internal error: %v", p))
		}
	}()
	v, err := f()
	return reply(v, err)
}

func bytesOf(v js.Value) []byte {
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

// mapFS copies a JS object of Uint8Arrays into an in-memory file system.
func mapFS(files js.Value) fstest.MapFS {
	fsys := fstest.MapFS{}
	names := js.Global().Get("Object").Call("keys", files)
	for i := range names.Length() {
		name := names.Index(i).String()
		fsys[name] = &fstest.MapFile{Data: bytesOf(files.Get(name))}
	}
	return fsys
}

func openLexical(_ js.Value, args []js.Value) any {
	return guard(func() (any, error) {
		b, err := bundle.OpenLexical(mapFS(args[0]), bundle.Options{})
		if err != nil {
			return nil, err
		}
		opened = b
		return map[string]any{"documents": len(b.Docs), "mode": b.Mode()}, nil
	})
}

func loadModel(_ js.Value, args []js.Value) any {
	return guard(func() (any, error) {
		if err := needOpen(); err != nil {
			return nil, err
		}
		// sbmoe-worker.js checked every file against the manifest as it arrived.
		if err := opened.LoadModel(mapFS(args[0]), bundle.Options{Verified: true}); err != nil {
			return nil, err
		}
		return map[string]any{"fingerprint": opened.Manifest.Fingerprint, "documents": len(opened.Docs),
			"dim": opened.Manifest.Dim, "kernels": retriever.Kernels(), "mode": opened.Mode()}, nil
	})
}

func needOpen() error {
	if opened == nil {
		return fmt.Errorf("no bundle is open")
	}
	return nil
}

func needModel() error {
	if err := needOpen(); err != nil {
		return err
	}
	if opened.Retriever == nil {
		return fmt.Errorf("the model is not loaded yet")
	}
	return nil
}

func search(_ js.Value, args []js.Value) any {
	return guard(func() (any, error) {
		if err := needOpen(); err != nil {
			return nil, err
		}
		mode := ""
		if len(args) > 2 && args[2].Type() == js.TypeString {
			mode = args[2].String()
		}
		hits, err := opened.SearchMode(context.Background(), args[0].String(), args[1].Int(), mode)
		return map[string]any{"hits": hits, "mode": cmp.Or(mode, opened.Mode()), "texts": opened.TextFiles(hits)}, err
	})
}

func loadTexts(_ js.Value, args []js.Value) any {
	return guard(func() (any, error) {
		if err := needOpen(); err != nil {
			return nil, err
		}
		fsys := mapFS(args[0])
		return map[string]any{}, opened.LoadTexts(fsys, bundle.Options{}, slices.Sorted(maps.Keys(fsys)))
	})
}

func highlight(_ js.Value, args []js.Value) any {
	return guard(func() (any, error) {
		if err := needOpen(); err != nil {
			return nil, err
		}
		var ids []string
		if err := json.Unmarshal([]byte(args[1].String()), &ids); err != nil {
			return nil, fmt.Errorf("highlight: ids: %w", err)
		}
		hits := make([]bundle.Hit, len(ids))
		for i, id := range ids {
			hits[i].ID = id
		}
		return map[string]any{"highlights": opened.Highlight(args[0].String(), hits)}, nil
	})
}

func encode(_ js.Value, args []js.Value) any {
	return guard(func() (any, error) {
		if err := needModel(); err != nil {
			return nil, err
		}
		var texts []string
		if err := json.Unmarshal([]byte(args[0].String()), &texts); err != nil {
			return nil, fmt.Errorf("encode: texts: %w", err)
		}
		vecs, err := opened.Retriever.EncodeQueries(context.Background(), texts)
		return map[string]any{"vectors": vecs}, err
	})
}

func encodeDocs(_ js.Value, args []js.Value) any {
	return guard(func() (any, error) {
		if err := needModel(); err != nil {
			return nil, err
		}
		var texts []string
		if err := json.Unmarshal([]byte(args[0].String()), &texts); err != nil {
			return nil, fmt.Errorf("encodeDocs: texts: %w", err)
		}
		maxTokens, batch := args[1].Int(), args[2].Int()
		if maxTokens < 2 || batch < 1 || batch > 1024 {
			return nil, fmt.Errorf("encodeDocs: maxTokens %d and batch %d, want at least 2 and 1..1024", maxTokens, batch)
		}
		m := opened.Retriever.Encoder()
		seqs := make([][]int32, len(texts))
		tokens := make([]int, len(texts))
		for i, t := range texts {
			seqs[i] = m.Tokenizer.Encode(t, min(maxTokens, m.Config.MaxPositions))
			tokens[i] = len(seqs[i])
		}
		m.EncodeIDs(seqs, batch, nil)
		return map[string]any{"documents": len(texts), "tokens": tokens}, nil
	})
}

func learn(_ js.Value, args []js.Value) any {
	return guard(func() (any, error) {
		if err := needModel(); err != nil {
			return nil, err
		}
		var feedback []bundle.Feedback
		if err := json.Unmarshal([]byte(args[0].String()), &feedback); err != nil {
			return nil, fmt.Errorf("learn: feedback: %w", err)
		}
		var opt bundle.LearnOptions
		if err := json.Unmarshal([]byte(args[1].String()), &opt); err != nil {
			return nil, fmt.Errorf("learn: options: %w", err)
		}
		if len(args) > 2 && args[2].Type() == js.TypeFunction {
			cb := args[2]
			opt.Progress = func(p headtrain.Progress) {
				cb.Invoke(p.Epoch, p.Epochs, p.Step, p.Steps, p.Loss)
			}
		}
		res, err := opened.LearnHead(context.Background(), feedback, opt)
		if err != nil {
			return nil, err
		}
		last := res.History[len(res.History)-1]
		return map[string]any{"epochs": len(res.History), "steps": res.Steps, "loss": last.Loss, "examples": res.Train,
			"held_out": res.Val, "kept_epoch": res.Epoch}, nil
	})
}

func exportHead(_ js.Value, _ []js.Value) any {
	if opened == nil {
		return js.Null()
	}
	b, err := opened.ExportHead()
	if err != nil || b == nil {
		return js.Null()
	}
	out := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(out, b)
	return out
}

func importHead(_ js.Value, args []js.Value) any {
	return guard(func() (any, error) {
		if err := needOpen(); err != nil {
			return nil, err
		}
		if len(args) == 0 || args[0].IsNull() || args[0].IsUndefined() {
			return map[string]any{}, opened.ResetHead()
		}
		return map[string]any{}, opened.ImportHead(bytesOf(args[0]))
	})
}
