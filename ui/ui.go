// Package ui holds what a visitor sees: the search widget's page script (widget.js, which
// starts the vugu component of ui/widget, built to widget.wasm), the widget's search page
// that `sbmoe site` writes into its bundle as index.html (search.html), and the plain demo
// page that sbmoe bundle writes into every other bundle (demo.html: HTML and sbmoe.js, no
// framework).
package ui

import "embed"

// Files holds demo.html, search.html and widget.js.
//
//go:embed demo.html search.html widget.js
var Files embed.FS
