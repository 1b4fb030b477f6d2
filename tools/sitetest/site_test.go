package sitetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/tools/benchsite/render"
	"github.com/sbmoe/sbmoe/tools/internal/bundler"
	"github.com/sbmoe/sbmoe/tools/internal/site"
)

var repo = filepath.Join("..", "..")

// packages are the Go packages of the test site: 109 sections on 7 pages.
var packages = []string{"errors", "html", "path", "sort", "sync", "unicode/utf8"}

// spec is what the session in the browser does (tools/browser/test-site.mjs).
var spec = map[string]any{
	"start": "pkg/sync/",
	"first": "wait for all goroutines to finish",
	"queries": []string{"sort a slice of integers", "check that bytes are valid UTF-8", "join path elements",
		"escape special characters for HTML", "combine several errors into one"},
	"keys": "lock shared data",
	"shot": "wait for all goroutines to finish",
	"clicks": []map[string]any{
		{"query": "wait for all goroutines to finish"}, {"query": "lock shared data", "key": true},
		{"query": "run a function only once"}, {"query": "many readers and one writer"},
		{"query": "reuse temporary objects"}, {"query": "a map safe for concurrent use"},
		{"query": "wake goroutines waiting for an event"}, {"query": "release a lock"},
		{"query": "add to the counter of running goroutines"}, {"query": "try to lock without blocking"},
	},
}

// tools finds node, the npm packages and Chromium that tools/browser/install.sh installs,
// and fails with the command to run when they are missing: the browser tests never skip
// silently. SBMOE_SKIP_BROWSER=1 skips them, loudly.
func tools(t *testing.T) string {
	t.Helper()
	if os.Getenv("SBMOE_SKIP_BROWSER") == "1" {
		t.Skip("SBMOE_SKIP_BROWSER=1: the Chromium tests are skipped")
	}
	node, err := exec.LookPath("node")
	if err == nil {
		check := exec.Command(node, "-e", "import('./chromium.mjs').then(m => { m.requireTool('playwright-core'); console.log(m.findChromium()) })")
		check.Dir = filepath.Join(repo, "tools", "browser")
		var out bytes.Buffer
		check.Stdout, check.Stderr = &out, &out
		if err = check.Run(); err != nil {
			err = &exec.Error{Name: strings.TrimSpace(out.String()), Err: err}
		}
	}
	if err != nil {
		t.Fatalf("the Chromium tests need Debian chromium and npm playwright-core: run `bash tools/browser/install.sh` (as root, or it prints the sudo command), or set SBMOE_SKIP_BROWSER=1 to skip them (%v)", err)
	}
	return node
}

// runtimeDir builds the retriever's module as this test process was built (with the SIMD
// experiment or without), the widget's module, and Go's wasm_exec.js beside them.
func runtimeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, b := range []struct{ out, pkg, experiment string }{{"sbmoe.wasm", "./wasm/browser", experiment()}, {"widget.wasm", "./ui/widget", ""}} {
		build := exec.Command(gobin, "build", "-trimpath", "-o", filepath.Join(dir, b.out), b.pkg)
		build.Dir = repo
		build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOEXPERIMENT="+b.experiment)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", b.pkg, err, out)
		}
	}
	js, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "wasm_exec.js"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func experiment() string {
	if strings.HasPrefix(retriever.Kernels(), "scalar") {
		return ""
	}
	return "simd"
}

func model(t *testing.T) (*retriever.Retriever, string) {
	t.Helper()
	dir := filepath.Join(repo, "models", "all-MiniLM-L6-v2")
	r, err := retriever.OpenDir(dir, retriever.Options{})
	if err != nil {
		t.Fatalf("%v (run make model)", err)
	}
	return r, dir
}

// buildSite renders the test site and indexes it as sbmoe site does.
func buildSite(t *testing.T, rt string) (dir string, sections []site.Section) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "site")
	if _, _, err := render.Godoc(runtime.GOROOT(), dir, func(p string) bool { return slices.Contains(packages, p) }); err != nil {
		t.Fatal(err)
	}
	read, err := site.Read(dir, site.Options{Exclude: []string{filepath.Join(dir, "_sbmoe")}})
	if err != nil {
		t.Fatal(err)
	}
	r, modelDir := model(t)
	res, err := site.Write(context.Background(), r, read.Sections, site.WriteOptions{Options: bundler.Options{
		ModelDir: modelDir, Out: filepath.Join(dir, "_sbmoe"), Runtime: rt}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Encoded != len(read.Sections) {
		t.Errorf("encoded %d of %d sections", res.Encoded, len(read.Sections))
	}
	return dir, read.Sections
}

// session is what test-site.mjs reports.
type session struct {
	Errors []string `json:"errors"`
	Idle   struct {
		Phase    string   `json:"phase"`
		Requests []string `json:"requests"`
	} `json:"idle"`
	First struct {
		MS      float64 `json:"ms"`
		Phase   string  `json:"phase"` // the widget's, when the first results showed
		Mode    string  `json:"mode"`  // the ranking of Results, the whole query's
		Results []shown `json:"results"`
	} `json:"first"`
	Ready   map[string]any `json:"ready"`
	Results []struct {
		Query string  `json:"query"`
		Hits  []shown `json:"hits"`
	} `json:"results"`
	Keys []struct {
		Key      string   `json:"key"`
		Value    string   `json:"value"`
		Expanded string   `json:"expanded"`
		Active   *string  `json:"active"`
		Panel    bool     `json:"panel"`
		Focused  bool     `json:"focused"`
		Selected []string `json:"selected"`
	} `json:"keys"`
	Clicks []struct {
		Query  string `json:"query"`
		Chose  string `json:"chose"`
		Landed string `json:"landed"`
		Anchor bool   `json:"anchor"`
		Panel  bool   `json:"panel"`
	} `json:"clicks"`
	Learned struct {
		MS       float64        `json:"ms"`
		Learning map[string]any `json:"learning"`
		Head     *string        `json:"head"`
	} `json:"learned"`
	Reload struct {
		Info map[string]any `json:"info"`
		Head *string        `json:"head"`
	} `json:"reload"`
	ResetText string `json:"resetText"`
	Reset     struct {
		Info map[string]any `json:"info"`
		Head *string        `json:"head"`
	} `json:"reset"`
	Theme struct {
		Theme string `json:"theme"`
		Style string `json:"style"`
	} `json:"theme"`
}

type shown struct {
	Title, Heading, Href, Mark, Snippet string
}

// TestWidgetInChromium builds a small site of the Go documentation (seven pages, 109
// sections), indexes it as sbmoe site does, and drives the search widget in headless
// Chromium as a visitor would: the keyword step loads when the page is idle and the model
// only once the box has focus; the first query is answered (by keywords while the model
// downloads); once the model is ready the results,
// their order, links and highlighted sentences are those of the native bundle reader;
// arrows, Enter and Escape work; clicks land on the section's anchor and are recorded;
// after enough of them the head learns in the page, equal to the head the native code
// learns from the same clicks, and a reload keeps it; the reset control forgets it; the widget
// follows a dark page; and the page logs no errors.
func TestWidgetInChromium(t *testing.T) {
	node := tools(t)
	dir, sections := buildSite(t, runtimeDir(t))
	native, err := bundle.Open(os.DirFS(filepath.Join(dir, "_sbmoe")), bundle.Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	specFile := filepath.Join(t.TempDir(), "spec.json")
	raw, _ := json.Marshal(spec)
	os.WriteFile(specFile, raw, 0o644)
	shot := os.Getenv("SBMOE_SITE_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "widget.png")
	}
	cmd := exec.Command(node, "test-site.mjs", "--site", dir, "--spec", specFile, "--screenshot", shot)
	cmd.Dir = filepath.Join(repo, "tools", "browser")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var got session
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if len(got.Errors) > 0 {
		t.Errorf("the page logged errors: %q", got.Errors)
	}

	// Once the page is idle the keyword step has loaded, and nothing of the model.
	if got.Idle.Phase != "lexical" {
		t.Errorf("before focus the widget is %q", got.Idle.Phase)
	}
	for _, p := range got.Idle.Requests {
		if strings.Contains(p, "/model/") || strings.HasSuffix(p, "/index.idx") {
			t.Errorf("the page fetched %s before the box had focus", p)
		}
	}

	// The first query: keyword results while the model loads (or hybrid, if it won).
	t.Logf("first results %.0f ms after the first keystroke, %s", got.First.MS, got.First.Phase)
	if len(got.First.Results) == 0 {
		t.Fatal("the first query shows no results")
	}
	if got.First.Mode == bundle.ModeLexical {
		lex, err := bundle.OpenLexical(os.DirFS(filepath.Join(dir, "_sbmoe")), bundle.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := lex.Search(context.Background(), spec["first"].(string), 8)
		sameResults(t, "keyword results", got.First.Results, want)
	}
	if got.Ready["mode"] != bundle.ModeHybrid {
		t.Errorf("once ready the widget searches %v", got.Ready["mode"])
	}

	// Hybrid results: the native bundle's, linking to sections that exist, the best
	// sentence marked.
	ids := map[string]bool{}
	for _, s := range sections {
		ids[s.URL] = true
	}
	for i, q := range spec["queries"].([]string) {
		r := got.Results[i]
		want, err := native.Search(context.Background(), q, 8)
		if err != nil {
			t.Fatal(err)
		}
		sameResults(t, q, r.Hits, want)
		files := native.TextFiles(want)
		if err := native.LoadTexts(os.DirFS(filepath.Join(dir, "_sbmoe")), bundle.Options{Verify: true}, files); err != nil {
			t.Fatal(err)
		}
		marks := native.Highlight(q, want)
		for j, h := range r.Hits {
			if !ids[h.Href] || !strings.Contains(h.Href, "#") && !strings.HasSuffix(h.Href, "/") {
				t.Errorf("%q: result %d links to %s, not a section of the site", q, j, h.Href)
			}
			if wantMark := markOf(marks[j]); h.Mark != wantMark {
				t.Errorf("%q: result %d marks %q, natively %q", q, j, h.Mark, wantMark)
			}
		}
		if r.Hits[0].Mark == "" {
			t.Errorf("%q: the best result has no highlighted sentence: %q", q, r.Hits[0].Snippet)
		}
		t.Logf("%q → %s %s: %q", q, r.Hits[0].Title, r.Hits[0].Heading, r.Hits[0].Mark)
	}

	// Keyboard: down, down, up, up (wraps to the last), Escape closes, Escape clears.
	wantKeys := []struct {
		active   string
		expanded string
	}{{"sbmoe-option-0", "true"}, {"sbmoe-option-1", "true"}, {"sbmoe-option-0", "true"}, {"sbmoe-option-7", "true"}, {"", "false"}, {"", "false"}}
	for i, k := range got.Keys {
		active := ""
		if k.Active != nil {
			active = *k.Active
		}
		if active != wantKeys[i].active || k.Expanded != wantKeys[i].expanded || !k.Focused ||
			active != "" && !slices.Equal(k.Selected, []string{active}) {
			t.Errorf("key %d (%s): active %q, selected %q, expanded %s, focused %v; want %q, %s", i, k.Key, active, k.Selected, k.Expanded, k.Focused, wantKeys[i].active, wantKeys[i].expanded)
		}
	}
	if n := len(got.Keys); n != 6 || got.Keys[4].Value != spec["keys"] || got.Keys[4].Panel || got.Keys[5].Value != "" {
		t.Errorf("Escape: %+v", got.Keys[4:])
	}

	// Clicks land on their section and are recorded; the head learns from them.
	var feedback []bundle.Feedback
	for _, c := range got.Clicks {
		u, _ := url.Parse(c.Landed)
		if !strings.HasSuffix(c.Landed, c.Chose) || !c.Anchor || c.Panel || u.Fragment == "" {
			t.Errorf("%q: chose %s, landed on %s (anchor there %v, panel open %v)", c.Query, c.Chose, c.Landed, c.Anchor, c.Panel)
		}
		feedback = append(feedback, bundle.Feedback{Query: c.Query, DocID: c.Chose})
	}
	// The widget learns once LearnAfter (3) new clicks are recorded and the recipe has enough
	// distinct queries; the last learning may have left out the latest clicks.
	l := got.Learned.Learning
	trained, _ := l["trained"].(float64)
	if l["learned"] != true || l["feedback"] != float64(len(feedback)) || trained < 2 || trained > float64(len(feedback)) || got.Learned.Head == nil {
		t.Fatalf("after %d clicks: %v", len(feedback), l)
	}
	t.Logf("learned from the first %v of %d clicks", trained, len(feedback))
	if _, err := native.LearnHead(context.Background(), feedback[:int(trained)], bundle.LearnOptions{}); err != nil {
		t.Fatal(err)
	}
	pageHead := readHead(t, *got.Learned.Head)
	tol := 1e-4
	if experiment() == "" {
		tol = 0 // the scalar kernels: the page and the native trainer agree bit for bit
	}
	if d := maxDiff(pageHead, native.Retriever.Head()); d > tol {
		t.Errorf("the head learned in the page differs from the native one by up to %g (tolerance %g)", d, tol)
	}
	if got.Reload.Info["learned"] != true || got.Reload.Head == nil || *got.Reload.Head != *got.Learned.Head || got.Reload.Info["downloaded"] != 0.0 {
		t.Errorf("after a reload: %v (the same head: %v)", got.Reload.Info, got.Reload.Head != nil && *got.Reload.Head == *got.Learned.Head)
	}
	if !strings.Contains(got.ResetText, fmt.Sprintf("Tuned to your %v clicks", trained)) {
		t.Errorf("the results say %q of what was learned", got.ResetText)
	}
	if got.Reset.Info["learned"] != false || got.Reset.Info["feedback"] != 0.0 || got.Reset.Head != nil {
		t.Errorf("after the reset and a reload: %v, head %v", got.Reset.Info, got.Reset.Head != nil)
	}
	if got.Theme.Theme != "dark" || !strings.Contains(got.Theme.Style, "--sbmoe-bg: rgb(22, 27, 34)") {
		t.Errorf("on a dark page the widget is %+v", got.Theme)
	}
}

func markOf(segs []bundle.Segment) string {
	for _, s := range segs {
		if s.Mark {
			return s.Text
		}
	}
	return ""
}

func sameResults(t *testing.T, what string, got []shown, want []bundle.Hit) {
	t.Helper()
	var g, w []string
	for _, h := range got {
		g = append(g, h.Href)
	}
	for _, h := range want {
		w = append(w, h.URL)
	}
	if !slices.Equal(g, w) {
		t.Errorf("%s: the page shows %q, natively %q", what, g, w)
	}
	for i := range min(len(got), len(want)) {
		if got[i].Title != want[i].Title || got[i].Heading != want[i].Heading {
			t.Errorf("%s: result %d is %q › %q, natively %q › %q", what, i, got[i].Title, got[i].Heading, want[i].Title, want[i].Heading)
		}
	}
}

func readHead(t *testing.T, b64 string) *moe.Block {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	h, err := moe.Read("page head", raw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func maxDiff(a, b *moe.Block) float64 {
	var d float64
	for i, p := range a.Params() {
		for j, v := range p.Data {
			d = max(d, math.Abs(float64(v-b.Params()[i].Data[j])))
		}
	}
	return d
}
