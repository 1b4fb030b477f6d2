package sitetest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/tools/benchsite/render"
	"github.com/sbmoe/sbmoe/tools/internal/bundler"
	"github.com/sbmoe/sbmoe/tools/internal/site"
)

// fakeRuntime stands in for the WebAssembly modules, which this test does not run.
func fakeRuntime(t *testing.T) string {
	dir := t.TempDir()
	for _, name := range []string{"sbmoe.wasm", "widget.wasm", "wasm_exec.js"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Repeat(name, 100)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRerun indexes a site, then again unchanged (nothing is written), then with one
// section's text changed (only that section is encoded, and the compressed copies of the
// unchanged files are reused).
func TestRerun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if _, _, err := render.Godoc(runtime.GOROOT(), dir, func(p string) bool { return slices.Contains([]string{"errors", "html", "path"}, p) }); err != nil {
		t.Fatal(err)
	}
	r, modelDir := model(t)
	out := filepath.Join(dir, "_sbmoe")
	opt := site.WriteOptions{Options: bundler.Options{ModelDir: modelDir, Out: out, Runtime: fakeRuntime(t), Compress: true}}
	index := func() (*bundler.Result, []site.Section, time.Duration) {
		t.Helper()
		start := time.Now()
		read, err := site.Read(dir, site.Options{Exclude: []string{out}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := site.Write(context.Background(), r, read.Sections, opt)
		if err != nil {
			t.Fatal(err)
		}
		return res, read.Sections, time.Since(start)
	}
	first, sections, took := index()
	if first.Unchanged || first.Encoded != len(sections) || first.FirstBrotli >= first.First {
		t.Fatalf("first run: %+v", first)
	}
	t.Logf("first run: %d sections in %s", len(sections), took)
	model, _ := os.Stat(filepath.Join(out, "model", "encoder", "model.safetensors.br"))

	again, _, took := index()
	if !again.Unchanged || again.Encoded != 0 || again.Brotli != first.Brotli {
		t.Errorf("unchanged site: %+v", again)
	}
	t.Logf("unchanged site: %s", took)
	if st, _ := os.Stat(filepath.Join(out, "model", "encoder", "model.safetensors.br")); !st.ModTime().Equal(model.ModTime()) {
		t.Error("an unchanged site's bundle was written again")
	}

	page := filepath.Join(dir, "pkg", "path", "index.html")
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(html), "Clean returns the shortest path name", "Clean returns the shortest zebra path name", 1)
	if changed == string(html) {
		t.Fatal("the page has no text to change")
	}
	os.WriteFile(page, []byte(changed), 0o644)
	third, _, took := index()
	if third.Unchanged || third.Encoded != 1 {
		t.Errorf("one section changed: %+v", third)
	}
	t.Logf("one section changed: %s", took)
	b, err := bundle.Open(os.DirFS(out), bundle.Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	hits, err := b.Search(context.Background(), "zebra", 1)
	if err != nil || len(hits) == 0 || hits[0].URL != "/pkg/path/#Clean" {
		t.Errorf("the changed section is not found: %v %v", hits, err)
	}
}
