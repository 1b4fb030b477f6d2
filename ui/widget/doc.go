// Command widget is the sbmoe search box, a vugu (v0.4.0) component compiled to js/wasm
// (widget.wasm) that ui/widget.js starts in a page, in the page's own thread. It talks to
// the retriever, which runs in a Web Worker, through sbmoe.js: keyword results as soon as
// the small keyword index has arrived, hybrid ones once the model has, every click
// recorded in the browser and learned from when the page is idle.
//
// A page needs two lines:
//
//	<script type="module" src="/_sbmoe/widget.js"></script>
//	<div data-sbmoe-search></div>
//
// The element may set data-placeholder, data-k (results shown, 8), data-learn-after
// (new clicks before the head learns again, 3; 0 never learns), data-preload ("idle", the
// default: the few MB of the keyword step once the page is idle, the model on the first
// focus; "none": both on the first focus; "load", or the bare attribute: both at once) and
// data-bundle (the bundle's URL, when it is not widget.js's folder).
//
// search.vugu is the markup and style; search_gen.go is generated from it by go generate
// (vugugen, then gen_fix.go), and TestGeneratedIsCurrent fails when it is stale.
package main

//go:generate go tool vugugen -skip-go-mod -skip-main .
//go:generate go run gen_fix.go search
