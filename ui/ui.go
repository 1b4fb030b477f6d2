// Package ui holds what a visitor sees: for now the demo search page that sbmoe bundle
// writes into every bundle as index.html (plain HTML and sbmoe.js, no framework).
package ui

import "embed"

// Files holds demo.html.
//
//go:embed demo.html
var Files embed.FS
