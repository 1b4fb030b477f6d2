//go:build js && wasm

package main

import (
	"strconv"
	"strings"
	"syscall/js"
)

// pageTheme looks at the page around el: the colour of the first element above it with an
// opaque background, and whether that colour is dark. With none (a page that leaves the
// canvas to the browser), the page's color-scheme and the visitor's preference decide.
func pageTheme(el js.Value) (dark bool, bg string) {
	win := js.Global()
	for n := el.Get("parentElement"); n.Truthy(); n = n.Get("parentElement") {
		c := win.Call("getComputedStyle", n).Get("backgroundColor").String()
		if r, g, b, a, ok := parseRGB(c); ok && a > 0.5 {
			lum := 0.2126*r + 0.7152*g + 0.0722*b
			return lum < 0.45, c
		}
	}
	scheme := win.Call("getComputedStyle", win.Get("document").Get("documentElement")).Get("colorScheme").String()
	prefersDark := win.Call("matchMedia", "(prefers-color-scheme: dark)").Get("matches").Bool()
	switch {
	case strings.Contains(scheme, "dark") && !strings.Contains(scheme, "light"):
		return true, ""
	case strings.Contains(scheme, "dark") && prefersDark:
		return true, ""
	}
	return false, ""
}

// parseRGB reads a computed colour "rgb(r, g, b)" or "rgba(r, g, b, a)" as fractions.
func parseRGB(s string) (r, g, b, a float64, ok bool) {
	inner, found := strings.CutPrefix(s, "rgba(")
	if !found {
		if inner, found = strings.CutPrefix(s, "rgb("); !found {
			return 0, 0, 0, 0, false
		}
	}
	parts := strings.FieldsFunc(strings.TrimSuffix(inner, ")"), func(c rune) bool { return c == ',' || c == ' ' || c == '/' })
	if len(parts) < 3 {
		return 0, 0, 0, 0, false
	}
	v := make([]float64, 4)
	v[3] = 1
	for i := range min(len(parts), 4) {
		f, err := strconv.ParseFloat(strings.TrimSuffix(parts[i], "%"), 64)
		if err != nil {
			return 0, 0, 0, 0, false
		}
		v[i] = f
	}
	return v[0] / 255, v[1] / 255, v[2] / 255, v[3], true
}

// watchTheme calls changed when the visitor's colour preference changes, or the page
// changes its root's or body's class, style or theme attributes (a theme switch).
func watchTheme(el js.Value, changed func(dark bool, bg string)) {
	update := js.FuncOf(func(js.Value, []js.Value) any {
		go func() { changed(pageTheme(el)) }()
		return nil
	})
	win := js.Global()
	win.Call("matchMedia", "(prefers-color-scheme: dark)").Call("addEventListener", "change", update)
	obs := win.Get("MutationObserver").New(update)
	opts := win.Get("Object").New()
	opts.Set("attributes", true)
	opts.Set("attributeFilter", js.ValueOf([]any{"class", "style", "data-theme", "data-color-scheme"}))
	doc := win.Get("document")
	obs.Call("observe", doc.Get("documentElement"), opts)
	if body := doc.Get("body"); body.Truthy() {
		obs.Call("observe", body, opts)
	}
}
