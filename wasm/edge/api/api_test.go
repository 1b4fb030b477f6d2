package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/wasm/edge/api"
	"github.com/sbmoe/sbmoe/wasm/edge/api/apitest"
)

var docs = []retriever.Document{
	{ID: "d1", Title: "hello world", Text: "the world says hello"},
	{ID: "d2", Text: "a quick brown fox"},
	{ID: "d3", Title: "lazy dog", Text: "the dog sleeps all day"},
}

// tinyBundle opens a bundle made in memory from the tiny random model of testdata: its
// folder as model/, an index of docs, docs.json and the manifest.
func tinyBundle(t *testing.T) *bundle.Bundle {
	t.Helper()
	model := os.DirFS("../../../testdata/embeddings/tiny")
	r, err := retriever.Open(model, retriever.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := r.Index(context.Background(), docs, nil)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	err = fs.WalkDir(model, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files[path.Join(bundle.ModelDir, p)], err = fs.ReadFile(model, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := ix.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	files[bundle.IndexFile] = buf.Bytes()
	display := make([]bundle.Doc, len(docs))
	for i, d := range docs {
		display[i] = bundle.Doc{ID: d.ID, Title: d.Title, Snippet: d.Text}
	}
	files[bundle.DocsFile], _ = json.Marshal(display)
	m := bundle.Manifest{Format: bundle.Format, Version: bundle.Version, Fingerprint: r.Fingerprint(), Dim: r.Dim(),
		Documents: len(docs), Weights: "fp32"}
	fsys := fstest.MapFS{}
	for p, data := range files {
		m.Files = append(m.Files, bundle.FileOf(p, data))
		fsys[p] = &fstest.MapFile{Data: data}
	}
	raw, _ := json.Marshal(m)
	fsys[bundle.ManifestFile] = &fstest.MapFile{Data: raw}
	b, err := bundle.Open(fsys, bundle.Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func do(t *testing.T, h http.Handler, method, target, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, strings.NewReader(body)))
	var v map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%s %.80s: the answer is not JSON: %v: %q", method, target, err, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %.80s: Content-Type %q", method, target, ct)
	}
	return w, v
}

func TestBadRequests(t *testing.T) {
	srv := api.New(tinyBundle(t), api.Options{})
	for _, c := range apitest.BadRequests {
		w, v := do(t, srv, c.Method, c.Path, c.Body)
		msg, _ := v["error"].(string)
		if w.Code != c.Status || v["code"] != c.Code || !strings.Contains(msg, c.Says) {
			t.Errorf("%s: %d %v %q, want %d %s and a message with %q", c.Name, w.Code, v["code"], msg, c.Status, c.Code, c.Says)
		}
		if c.Status == http.StatusMethodNotAllowed && w.Header().Get("Allow") == "" {
			t.Errorf("%s: 405 without an Allow header", c.Name)
		}
	}
}

func TestSearch(t *testing.T) {
	b := tinyBundle(t)
	srv := api.New(b, api.Options{})
	want, err := b.Search(context.Background(), "hello", 2)
	if err != nil {
		t.Fatal(err)
	}
	decode := func(w *httptest.ResponseRecorder, v any) {
		t.Helper()
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
			t.Fatal(err)
		}
	}
	for _, req := range []struct{ method, target, body string }{
		{"GET", "/search?q=hello&k=2", ""},
		{"POST", "/search", `{"query": "hello", "k": 2}`},
	} {
		w, _ := do(t, srv, req.method, req.target, req.body)
		var got api.SearchResponse
		decode(w, &got)
		if !reflect.DeepEqual(got.Hits, want) || got.Model != b.Manifest.Fingerprint {
			t.Errorf("%s %s: %+v, want hits %+v and model %s", req.method, req.target, got, want, b.Manifest.Fingerprint)
		}
	}
	w, _ := do(t, srv, "GET", "/search?q=dog", "")
	var all api.SearchResponse
	decode(w, &all)
	if len(all.Hits) != len(docs) { // the default k is 10, over three documents
		t.Errorf("k omitted: %d hits, want %d", len(all.Hits), len(docs))
	}

	w, _ = do(t, srv, "POST", "/search", `{"queries": ["hello", "dog", "fox"], "k": 2}`)
	var batch api.BatchResponse
	decode(w, &batch)
	if len(batch.Results) != 3 {
		t.Fatalf("batch: %d results, want 3", len(batch.Results))
	}
	for i, q := range []string{"hello", "dog", "fox"} {
		one, _ := b.Search(context.Background(), q, 2)
		for j := range one {
			got := batch.Results[i].Hits[j]
			if got.ID != one[j].ID || abs(got.Score-one[j].Score) > 1e-5 {
				t.Errorf("batch query %q hit %d: %+v, alone %+v", q, j, got, one[j])
			}
		}
	}
}

func TestHealth(t *testing.T) {
	b := tinyBundle(t)
	srv := api.New(b, api.Options{Platform: "test", WasmMemory: func() int64 { return 1 << 20 }})
	do(t, srv, "GET", "/search?q=hello", "")
	w, _ := do(t, srv, "GET", "/health", "")
	var h api.Health
	json.Unmarshal(w.Body.Bytes(), &h)
	if w.Code != 200 || h.Status != "ok" || h.Model != b.Manifest.Fingerprint || h.Documents != 3 || h.Requests != 1 ||
		h.Platform != "test" || h.Memory.Wasm != 1<<20 || h.Memory.GoSys == 0 || h.Memory.Limit != api.MemoryLimit {
		t.Errorf("health: %d %+v", w.Code, h)
	}
}

// TestPanicRecovered: a panic inside the handler answers 500 and the next request is served.
func TestPanicRecovered(t *testing.T) {
	srv := api.New(tinyBundle(t), api.Options{Debug: true})
	w, v := do(t, srv, "GET", "/debug/panic", "")
	if w.Code != 500 || v["code"] != "internal" || !strings.Contains(v["error"].(string), "panic asked for") {
		t.Errorf("panic: %d %v", w.Code, v)
	}
	if w, v := do(t, srv, "GET", "/search?q=hello", ""); w.Code != 200 {
		t.Errorf("after a panic: %d %v", w.Code, v)
	}
	w, _ = do(t, srv, "GET", "/health", "")
	var h api.Health
	json.Unmarshal(w.Body.Bytes(), &h)
	if h.Panics != 1 || h.Requests != 2 {
		t.Errorf("health after a panic: %+v", h)
	}
}

func TestFailed(t *testing.T) {
	srv := api.Failed(os.ErrNotExist, api.Options{})
	for _, target := range []string{"/health", "/search?q=hello"} {
		w, v := do(t, srv, "GET", target, "")
		if w.Code != 503 || !strings.Contains(w.Body.String(), "the bundle did not open: file does not exist") {
			t.Errorf("%s: %d %v", target, w.Code, v)
		}
	}
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
