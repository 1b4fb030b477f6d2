//go:build js && wasm

// Command edge is the edge endpoint as a Cloudflare Worker (GOOS=js GOARCH=wasm,
// GOEXPERIMENT=simd for SIMD128), served through github.com/syumai/workers. It is the thin
// glue over package api, which holds the endpoint and is tested natively.
//
// tools/edge/worker.mjs starts this module once per isolate, not once per request as the
// library's own worker.mjs does: it fetches the bundle's files from the ASSETS binding,
// checks them against the bundle's manifest, and sets globalThis.context (which the library
// reads once, when its packages initialise) to
//
//	{env, binding, files: {path: Uint8Array}, wasmMemoryBytes: () => number}
//
// main copies the files into Go, deleting each from files as it goes, opens the bundle,
// registers the handler (binding.handleRequest) and signals that it is ready; worker.mjs
// then calls binding.handleRequest for every request the isolate receives.
//
// A response is handed to the library as one Uint8Array (rawBody), never as a stream: the
// library's streamed body closes a package-level channel when it ends (appCloser.Close),
// so a second response on the same instance would close it again and the panic would end
// the Go program. See RATIONALE.md, "At the edge".
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall/js"
	"testing/fstest"
	"time"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"

	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/wasm/edge/api"
)

// memoryLimit is the Go runtime's soft memory limit inside the worker, which leaves the
// rest of the isolate's 128 MB to V8 and to the bundle's bytes while they are handed over.
const memoryLimit = 80 << 20

func main() {
	rc := js.Global().Get("context")
	opt := api.Options{
		Platform:   "workers",
		WasmMemory: func() int64 { return int64(rc.Call("wasmMemoryBytes").Int()) },
		Debug:      cloudflare.Getenv("SBMOE_EDGE_DEBUG") == "1",
		OneAtATime: true,
	}
	// The isolate has 128 MB for everything; past this the collector works harder rather
	// than let the memory grow (a soft limit: the live heap of a bundle may still pass it).
	debug.SetMemoryLimit(memoryLimit)
	start := time.Now()
	gc := debug.SetGCPercent(10)
	b, err := open(rc.Get("files"))
	debug.SetGCPercent(gc)
	opt.LoadTime = time.Since(start) // 0 on Cloudflare, whose clock stands still while code runs
	var srv *api.Server
	if err != nil {
		fmt.Fprintf(os.Stderr, "sbmoe edge: %v\n", err)
		srv = api.Failed(err, opt)
	} else {
		srv = api.New(b, opt)
	}
	runtime.GC() // the files' bytes are garbage now; reuse their memory before it grows
	workers.ServeNonBlock(rawBody{srv})
	workers.Ready()
	select {} // serve until the isolate goes away; Go returns to the event loop between requests
}

// open reads the bundle from the files worker.mjs fetched and verified.
func open(files js.Value) (*bundle.Bundle, error) {
	if files.Type() != js.TypeObject {
		return nil, errors.New("worker.mjs handed over no bundle files (context.files)")
	}
	fsys := noCopyFS{}
	names := js.Global().Get("Object").Call("keys", files)
	for i := range names.Length() {
		name := names.Index(i).String()
		v := files.Get(name)
		data := make([]byte, v.Get("length").Int())
		js.CopyBytesToGo(data, v)
		files.Delete(name) // JS's copy may go now: the isolate's memory counts both
		fsys[name] = &fstest.MapFile{Data: data}
	}
	// worker.mjs checked every file's size and SHA-256 against the manifest: the model's
	// fingerprint is the manifest's, not a second SHA-256 of every weight at cold start.
	return bundle.Open(fsys, bundle.Options{Verified: true})
}

// noCopyFS is a MapFS whose ReadFile returns a file's bytes themselves, not a copy (as
// MapFS's does): the int8 weights alias the bytes read (core/bert), so the model costs its
// file's size once, not twice, in a memory that never shrinks. It has no Sub method, so
// that fs.Sub(fsys, "model") keeps reading through this ReadFile.
type noCopyFS fstest.MapFS

func (f noCopyFS) Open(name string) (fs.File, error) { return fstest.MapFS(f).Open(name) }

func (f noCopyFS) ReadFile(name string) ([]byte, error) {
	if file, ok := f[name]; ok && file.Mode.IsRegular() {
		return file.Data, nil
	}
	return fstest.MapFS(f).ReadFile(name)
}

// rawBodyWriter is what the library's ResponseWriter implements to take a body that is
// already a JS value; the response then never goes through its pipe and appCloser.
type rawBodyWriter interface{ WriteRawJSBody(body js.Value) }

// rawBody buffers the answer of h and hands it over as one Uint8Array.
type rawBody struct{ h http.Handler }

var warnStream sync.Once

func (rb rawBody) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, ok := w.(rawBodyWriter)
	if !ok {
		warnStream.Do(func() {
			fmt.Fprintln(os.Stderr, "sbmoe edge: the ResponseWriter takes no raw JS body (a syumai/workers change?): streaming, which ends the instance after one request")
		})
		rb.h.ServeHTTP(w, r)
		return
	}
	buf := &bufferedWriter{header: w.Header(), status: http.StatusOK}
	rb.h.ServeHTTP(buf, r)
	w.WriteHeader(buf.status)
	body := js.Global().Get("Uint8Array").New(buf.body.Len())
	js.CopyBytesToJS(body, buf.body.Bytes())
	raw.WriteRawJSBody(body)
}

// bufferedWriter is an http.ResponseWriter that keeps the body in memory.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) WriteHeader(status int)      { b.status = status }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
