package edgetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/tools/internal/bundler"
	"github.com/sbmoe/sbmoe/tools/internal/edge"
	"github.com/sbmoe/sbmoe/tools/internal/godoc"
	"github.com/sbmoe/sbmoe/wasm/edge/api"
	"github.com/sbmoe/sbmoe/wasm/edge/api/apitest"
)

var repo = filepath.Join("..", "..")

// corpusIDs are the Go standard library documents of the test bundles.
var corpusIDs = []string{"strings.Split", "strings.Join", "strings.Fields", "strings.ToUpper", "bufio.Scanner",
	"bufio.NewScanner", "os.ReadFile", "os.WriteFile", "os.Open", "encoding/json.Unmarshal", "encoding/json.Marshal",
	"sort.Ints", "sort.Slice", "slices.Sort", "sync.WaitGroup", "sync.Mutex", "time.Sleep", "time.Now", "net/http.Get",
	"net/http.ListenAndServe", "fmt.Printf", "fmt.Sprintf", "strconv.Atoi", "strconv.Itoa", "math.Sqrt", "math/rand.Intn",
	"path/filepath.Join", "path/filepath.Walk", "io.Copy", "io.ReadAll", "regexp.MustCompile", "errors.Is",
	"context.WithTimeout", "crypto/sha256.Sum256", "compress/gzip.NewReader", "bytes.Buffer", "unicode.IsUpper",
	"container/heap", "flag.String"}

var queries = []string{"split a string around each comma", "read a file line by line", "decode JSON into a struct",
	"sort a slice of integers", "wait for all goroutines to finish", "convert a number to text",
	"stop an operation after a deadline", "hash some bytes", "join path elements", "serve HTTP requests",
	"parse an integer", "uppercase letters", "sleep for a second", "current time", "copy a reader to a writer",
	"match a regular expression", "compress data", "a priority queue", "command-line flags", "square root"}

// workerd finds the binary tools/edge/install.sh installs and fails with the command to
// run when it is missing: the edge tests never skip silently. SBMOE_SKIP_EDGE=1 skips
// them, loudly.
func workerd(t *testing.T) string {
	t.Helper()
	if os.Getenv("SBMOE_SKIP_EDGE") == "1" {
		t.Skip("SBMOE_SKIP_EDGE=1: the workerd tests are skipped")
	}
	bin, err := edge.FindWorkerd(repo)
	if err == nil {
		err = exec.Command(bin, "--version").Run()
	}
	if err != nil {
		t.Fatalf("the edge tests need workerd: run `%s` (make edge-deps) in the repository, or set SBMOE_SKIP_EDGE=1 to skip them (%v)", edge.InstallCommand, err)
	}
	return bin
}

// experiment is the GOEXPERIMENT value of this build's kernels: "simd" or none. The
// worker's module is built the same way.
func experiment() string {
	if strings.HasPrefix(retriever.Kernels(), "scalar") {
		return ""
	}
	return "simd"
}

// scratch holds what the tests share: the module and the tiny worker.
var scratch string

func TestMain(m *testing.M) {
	var err error
	if scratch, err = os.MkdirTemp("", "sbmoe-edgetest-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(scratch)
	os.Exit(code)
}

var module struct {
	once sync.Once
	err  error
}

// moduleFile builds wasm/edge once per test run, as this test process was built.
func moduleFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(scratch, edge.ModuleFile)
	module.once.Do(func() { module.err = edge.BuildModule(repo, p, experiment() == "") })
	if module.err != nil {
		t.Fatal(module.err)
	}
	return p
}

func corpus(t *testing.T) []beir.Doc {
	t.Helper()
	all, err := godoc.Corpus(runtime.GOROOT())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]godoc.Doc{}
	for _, d := range all {
		byID[d.ID] = d
	}
	var docs []beir.Doc
	for _, id := range corpusIDs {
		d, ok := byID[id]
		if !ok {
			t.Fatalf("GOROOT has no document %s", id)
		}
		docs = append(docs, beir.Doc{ID: d.ID, Title: d.Title, Text: d.Text})
	}
	return docs
}

// writeBundle writes a bundle of the model over the test corpus into parent, its encoder
// in the given weights ("fp32" or "int8"), and returns its folder. The browser runtime it
// carries is a stand-in: the worker does not use it.
func writeBundle(t *testing.T, model, parent, weights string) string {
	t.Helper()
	r, err := retriever.OpenDir(model, retriever.Options{})
	if err != nil {
		t.Fatalf("%v (run make model)", err)
	}
	rt := filepath.Join(parent, "runtime")
	os.MkdirAll(rt, 0o755)
	for _, name := range []string{"sbmoe.wasm", "wasm_exec.js"} {
		os.WriteFile(filepath.Join(rt, name), []byte("unused by the worker"), 0o644)
	}
	out := filepath.Join(parent, "bundle")
	if _, err := bundler.Write(context.Background(), r, corpus(t), bundler.Options{ModelDir: model, Out: out, Runtime: rt, Weights: weights}); err != nil {
		t.Fatal(err)
	}
	return out
}

// buildWorker writes the worker folder of a bundle into parent with the test's module.
func buildWorker(t *testing.T, bundleDir, parent string) (string, *edge.Result) {
	t.Helper()
	out := filepath.Join(parent, "worker")
	res, err := edge.Build(edge.Options{Bundle: bundleDir, Out: out, Module: moduleFile(t), Source: repo})
	if err != nil {
		t.Fatal(err)
	}
	return out, res
}

var tiny struct {
	once        sync.Once
	bundle, dir string
}

// tinyWorker is a worker folder of the tiny random model over the test corpus, made once.
func tinyWorker(t *testing.T) (bundleDir, workerDir string) {
	t.Helper()
	workerd(t)
	tiny.once.Do(func() {
		parent := filepath.Join(scratch, "tiny")
		tiny.bundle = writeBundle(t, filepath.Join(repo, "testdata", "embeddings", "tiny"), parent, retriever.WeightsFP32)
		tiny.dir, _ = buildWorker(t, tiny.bundle, parent)
	})
	if tiny.dir == "" {
		t.Fatal("the tiny worker was not built (see the first test that asked for it)")
	}
	return tiny.bundle, tiny.dir
}

// start runs a worker folder in workerd on a free port of 127.0.0.1 until the test ends;
// workerd's output is logged when the test fails.
func start(t *testing.T, dir string, debug bool) *edge.Worker {
	t.Helper()
	var out syncBuffer
	w, err := edge.Start(dir, edge.ServeOptions{Workerd: workerd(t), Addr: "127.0.0.1:0", Debug: debug, Output: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Cleanup(func() {
		w.Stop()
		if t.Failed() && out.Len() > 0 {
			t.Logf("workerd's output:\n%s", out.String())
		}
	})
	return w
}

// call makes one request and returns its status, body and headers.
func call(t *testing.T, method, u, body string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %.100s: %v", method, u, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, raw, res.Header
}

func decode[T any](t *testing.T, status int, raw []byte) T {
	t.Helper()
	var v T
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, raw)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return v
}

func health(t *testing.T, w *edge.Worker) api.Health {
	t.Helper()
	status, raw, _ := call(t, "GET", w.URL+"/health", "")
	return decode[api.Health](t, status, raw)
}

func searchURL(base, q string, k int) string {
	return fmt.Sprintf("%s/search?%s", base, url.Values{"q": {q}, "k": {fmt.Sprint(k)}}.Encode())
}

// sameHits checks ids equal and scores within tol.
func sameHits(t *testing.T, what string, got, want []bundle.Hit, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d hits, want %d", what, len(got), len(want))
		return
	}
	worst := 0.0
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Title != want[i].Title || got[i].Snippet != want[i].Snippet {
			t.Errorf("%s: hit %d is %s, natively %s", what, i, got[i].ID, want[i].ID)
			return
		}
		worst = max(worst, math.Abs(float64(got[i].Score-want[i].Score)))
	}
	if worst > tol {
		t.Errorf("%s: scores differ from the native ones by up to %g (tolerance %g)", what, worst, tol)
	}
}

// TestWorkerMatchesNative builds the worker of a bundle of the default model over forty
// documents of the Go standard library (its 90 MB fp32 weights split into parts of at
// most 25 MiB), runs it in workerd and checks that GET, POST and batch answers rank as
// the native bundle reader does: the same ids, scores within 1e-5.
func TestWorkerMatchesNative(t *testing.T) {
	workerd(t)
	parent := t.TempDir()
	bundleDir := writeBundle(t, filepath.Join(repo, "models", "all-MiniLM-L6-v2"), parent, retriever.WeightsFP32)
	dir, res := buildWorker(t, bundleDir, parent)
	if res.LargestAsset > edge.MaxAssetBytes {
		t.Errorf("the largest asset is %d bytes, over the platform's %d", res.LargestAsset, edge.MaxAssetBytes)
	}
	weights := "model/encoder/model.safetensors"
	if res.Weights == "fp32" && !slices.Contains(res.Split, weights) {
		t.Errorf("split %q, want %s among them", res.Split, weights)
	}
	native, err := bundle.Open(os.DirFS(bundleDir), bundle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]bundle.Hit, 10)
	for i, q := range queries[:10] {
		if want[i], err = native.Search(context.Background(), q, 10); err != nil {
			t.Fatal(err)
		}
	}
	// The assets put back together are the bundle: the native server reads them.
	srv, err := edge.Native(filepath.Join(dir, edge.AssetsDir))
	if err != nil {
		t.Fatal(err)
	}
	ns := httptest.NewServer(srv)
	defer ns.Close()

	w := start(t, dir, false)
	h := health(t, w)
	if h.Model != native.Manifest.Fingerprint || h.Documents != len(corpusIDs) || h.Weights != res.Weights || h.Platform != "workers" {
		t.Errorf("health: %+v", h)
	}
	t.Logf("cold start %v; kernels %s; memory after load: Go %.1f MB obtained, wasm memory %.1f MB (limit %.0f MB)",
		w.FirstAnswer.Sub(w.Started), h.Kernels, float64(h.Memory.GoSys)/1e6, float64(h.Memory.Wasm)/1e6, float64(h.Memory.Limit)/1e6)
	// Ten queries by GET, three by POST and four as a batch: the fp32 encoder takes up
	// to a second a query in the scalar WebAssembly build.
	for _, base := range []string{w.URL, ns.URL} {
		for i, q := range queries[:10] {
			status, raw, _ := call(t, "GET", searchURL(base, q, 10), "")
			got := decode[api.SearchResponse](t, status, raw)
			sameHits(t, "GET "+q, got.Hits, want[i], 1e-5)
			if got.Model != native.Manifest.Fingerprint {
				t.Errorf("GET %s: model %s, want %s", q, got.Model, native.Manifest.Fingerprint)
			}
		}
		for i, q := range queries[:3] {
			body, _ := json.Marshal(map[string]any{"query": q, "k": 10})
			status, raw, _ := call(t, "POST", base+"/search", string(body))
			sameHits(t, "POST "+q, decode[api.SearchResponse](t, status, raw).Hits, want[i], 1e-5)
		}
		body, _ := json.Marshal(map[string]any{"queries": queries[3:7], "k": 10})
		status, raw, _ := call(t, "POST", base+"/search", string(body))
		batch := decode[api.BatchResponse](t, status, raw)
		if len(batch.Results) != 4 {
			t.Fatalf("batch: %d results, want 4", len(batch.Results))
		}
		for i := range batch.Results {
			sameHits(t, "batch "+queries[3+i], batch.Results[i].Hits, want[3+i], 1e-5)
		}
	}
	if h := health(t, w); h.Requests != 1+10+3+1+1 {
		t.Errorf("health says %d requests: the instance was not kept across requests", h.Requests)
	}
}

// TestWorkerInt8 runs the worker of a bundle whose encoder is int8 (the tiny model,
// as sbmoe bundle writes it by default) and checks each answer against the native
// bundle reader: every document the worker returns has the native score, exactly when
// both run the scalar kernels (the int8 kernels are bit-exact twins, and so are the
// scalar float32 ones). With the SIMD kernels (SIMD128 in the worker, the CPU's
// natively) the float32 parts of the encoder round differently, which moves an
// activation across an int8 step now and then; the tiny model's 32-wide vectors feel
// each step, so its hybrid scores (min-max normalised) agree within 0.05 there, and the
// best document is the same. (On the default model the dense scores differ by up to
// 0.004: results/bench-edge.md.)
func TestWorkerInt8(t *testing.T) {
	workerd(t)
	parent := t.TempDir()
	bundleDir := writeBundle(t, filepath.Join(repo, "testdata", "embeddings", "tiny"), parent, retriever.WeightsInt8)
	dir, res := buildWorker(t, bundleDir, parent)
	if res.Weights != "int8" {
		t.Fatalf("the worker's bundle has %s weights, want int8", res.Weights)
	}
	native, err := bundle.Open(os.DirFS(bundleDir), bundle.Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if !native.Retriever.Encoder().Int8() {
		t.Fatal("the native reader opened the int8 bundle as fp32")
	}
	w := start(t, dir, false)
	if h := health(t, w); h.Weights != "int8" || h.Model != native.Manifest.Fingerprint {
		t.Fatalf("health: %+v", h)
	}
	tol := 0.0
	if experiment() != "" {
		tol = 0.05
	}
	worst := 0.0
	for _, q := range queries {
		status, raw, _ := call(t, "GET", searchURL(w.URL, q, 10), "")
		got := decode[api.SearchResponse](t, status, raw)
		all, err := native.Search(context.Background(), q, len(corpusIDs))
		if err != nil {
			t.Fatal(err)
		}
		score := map[string]float32{}
		for _, h := range all {
			score[h.ID] = h.Score
		}
		if len(got.Hits) != 10 || got.Hits[0].ID != all[0].ID {
			t.Errorf("%q: the worker's best of %d hits is not the native %s", q, len(got.Hits), all[0].ID)
			continue
		}
		for _, h := range got.Hits {
			worst = max(worst, math.Abs(float64(h.Score-score[h.ID])))
		}
	}
	t.Logf("%d queries: worker and native scores differ by up to %.2g (tolerance %g)", len(queries), worst, tol)
	if worst > tol {
		t.Errorf("the worker's scores differ from the native ones by up to %g (tolerance %g)", worst, tol)
	}
}

// TestBadRequests sends every bad request to the worker and to the native server: each
// gets the status, code and message it should, the same from both.
func TestBadRequests(t *testing.T) {
	bundleDir, dir := tinyWorker(t)
	w := start(t, dir, false)
	srv, err := edge.Native(bundleDir)
	if err != nil {
		t.Fatal(err)
	}
	ns := httptest.NewServer(srv)
	defer ns.Close()
	for _, c := range apitest.BadRequests {
		status, raw, hdr := call(t, c.Method, w.URL+c.Path, c.Body)
		var got api.Error
		if err := json.Unmarshal(raw, &got); err != nil || status != c.Status || got.Code != c.Code || !strings.Contains(got.Error, c.Says) {
			t.Errorf("%s: %d %s, want %d %s and a message with %q", c.Name, status, raw, c.Status, c.Code, c.Says)
			continue
		}
		if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Errorf("%s: Content-Type %q", c.Name, hdr.Get("Content-Type"))
		}
		if c.Status == http.StatusMethodNotAllowed && hdr.Get("Allow") == "" {
			t.Errorf("%s: 405 without an Allow header", c.Name)
		}
		nstatus, nraw, _ := call(t, c.Method, ns.URL+c.Path, c.Body)
		if nstatus != status || !bytes.Equal(nraw, raw) {
			t.Errorf("%s: the worker answers %d %s, the native server %d %s", c.Name, status, raw, nstatus, nraw)
		}
	}
	if h := health(t, w); h.Panics != 0 || h.Requests != int64(len(apitest.BadRequests))+1 {
		t.Errorf("after the bad requests: %+v (want every one, and the probe of Start, answered by the same instance, no panic)", h)
	}
}

// TestPanicKeepsInstance: a panic inside the handler answers 500, and the same instance
// answers the next requests.
func TestPanicKeepsInstance(t *testing.T) {
	_, dir := tinyWorker(t)
	w := start(t, dir, true)
	before := health(t, w)
	for range 3 {
		status, raw, _ := call(t, "GET", w.URL+"/debug/panic", "")
		var e api.Error
		json.Unmarshal(raw, &e)
		if status != 500 || e.Code != "internal" || !strings.Contains(e.Error, "panic") {
			t.Errorf("/debug/panic: %d %s", status, raw)
		}
		status, raw, _ = call(t, "GET", searchURL(w.URL, queries[0], 3), "")
		if got := decode[api.SearchResponse](t, status, raw); len(got.Hits) != 3 {
			t.Errorf("after a panic: %s", raw)
		}
	}
	after := health(t, w)
	if after.Panics != 3 || after.Requests != before.Requests+7 || after.LoadMS != before.LoadMS {
		t.Errorf("health before %+v, after %+v: want 3 panics recovered by the same instance", before, after)
	}
}

// TestLoad: 2,000 requests at 16 concurrent, on 127.0.0.1, all answered, each exactly
// as the same query answered alone, all by one instance.
func TestLoad(t *testing.T) {
	_, dir := tinyWorker(t)
	w := start(t, dir, false)
	ctx := context.Background()
	seq, err := edge.Load(ctx, edge.LoadOptions{URL: w.URL, Queries: queries, K: 10, Requests: len(queries), Concurrency: 1})
	if err != nil || seq.Errors > 0 {
		t.Fatalf("sequential: %v, %d errors: %+v", err, seq.Errors, seq.Answers)
	}
	want := map[int][]bundle.Hit{}
	for _, a := range seq.Answers {
		want[a.Query] = a.Body.Hits
	}
	before := health(t, w)
	res, err := edge.Load(ctx, edge.LoadOptions{URL: w.URL, Queries: queries, K: 10, Requests: 2000, Concurrency: 16})
	if err != nil {
		t.Fatal(err)
	}
	differ := 0
	for i, a := range res.Answers {
		if a.Err != "" || a.Status != 200 {
			if res.Errors <= 5 {
				t.Errorf("request %d: %d %s", i, a.Status, a.Err)
			}
			continue
		}
		if !reflect.DeepEqual(a.Body.Hits, want[a.Query]) {
			if differ++; differ <= 5 {
				t.Errorf("request %d (%q): %+v, alone %+v", i, queries[a.Query], a.Body.Hits, want[a.Query])
			}
		}
	}
	if res.Errors > 0 || differ > 0 {
		t.Errorf("%d errors, %d answers unlike the sequential ones, of %d", res.Errors, differ, len(res.Answers))
	}
	after := health(t, w)
	if after.Requests != before.Requests+2001 {
		t.Errorf("health says %d requests after %d + 2,000: the instance was not kept", after.Requests, before.Requests)
	}
	t.Logf("2,000 requests at 16 concurrent in %v (%.0f/s): p50 %v, p99 %v; wasm memory %.1f MB",
		res.Elapsed, res.PerSecond(), res.Percentile(50), res.Percentile(99), float64(after.Memory.Wasm)/1e6)
}

// TestDamagedAssets: a corrupt, truncated or missing asset stops the worker with a 503
// that names the file, and it tries again on the next request.
func TestDamagedAssets(t *testing.T) {
	_, dir := tinyWorker(t)
	for _, c := range []struct {
		name   string
		damage func(p string)
		says   string
	}{
		{"corrupt", func(p string) { b, _ := os.ReadFile(p); b[len(b)/2] ^= 0xff; os.WriteFile(p, b, 0o644) }, "index.idx: sha256"},
		{"truncated", func(p string) { b, _ := os.ReadFile(p); os.WriteFile(p, b[:len(b)-1], 0o644) }, "index.idx: "},
		{"missing", func(p string) { os.Remove(p) }, "asset index.idx: HTTP 404"},
	} {
		t.Run(c.name, func(t *testing.T) {
			damaged := filepath.Join(t.TempDir(), "worker")
			if err := os.CopyFS(damaged, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			c.damage(filepath.Join(damaged, edge.AssetsDir, bundle.IndexFile))
			w := start(t, damaged, false)
			for range 2 {
				status, raw, _ := call(t, "GET", searchURL(w.URL, "hello", 3), "")
				var e api.Error
				json.Unmarshal(raw, &e)
				if status != 503 || e.Code != "not_ready" || !strings.Contains(e.Error, c.says) {
					t.Errorf("%d %s, want 503 not_ready naming %q", status, raw, c.says)
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer that workerd's stdout and stderr may write at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
func (s *syncBuffer) Len() int       { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Len() }
