// Package web holds the browser side of the retriever that is not Go: the ES module a page
// imports (sbmoe.js) and the Web Worker that runs the WebAssembly build of wasm/browser
// (sbmoe-worker.js). sbmoe bundle copies them into every bundle, beside the module and Go's
// wasm_exec.js.
package web

import "embed"

// Files are sbmoe.js and sbmoe-worker.js.
//
//go:embed sbmoe.js sbmoe-worker.js
var Files embed.FS
