// Package api is the edge endpoint's HTTP interface as plain Go: routing, request parsing
// and validation, the search itself, and the JSON answers and errors. wasm/edge serves it
// inside a Cloudflare Worker (GOOS=js, github.com/syumai/workers); tools/internal/edge
// serves the same Server natively, which is how it is tested outside workerd and what the
// worker's benchmark is compared with.
//
//	GET  /search?q=TEXT&k=N          → {"hits": [{"id","title","url","snippet","score"}], "model", "took_ms"}
//	POST /search {"query": TEXT, "k": N}        → the same
//	POST /search {"queries": [TEXT, ...], "k": N} → {"results": [{"hits": [...]}, ...], "model", "took_ms"}
//	GET  /health                     → {"status": "ok", "model", "documents", ..., "memory": {...}}
//
// k defaults to DefaultK. A bad request gets a 4xx answer {"error": MESSAGE, "code": CODE}
// that says what was wrong; a panic inside the handler answers 500 and leaves the server
// serving.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/core/retriever"
)

// Limits of one request, besides bundle.MaxQueryBytes and bundle.MaxK.
const (
	DefaultK = 10
	// MaxBatch bounds the queries of one batch: a Worker's CPU time per request is bounded.
	MaxBatch = 32
	// MaxBodyBytes bounds a POST body: MaxBatch queries of MaxQueryBytes, JSON-escaped.
	MaxBodyBytes = 1 << 20
)

// MemoryLimit is Cloudflare Workers' memory limit per isolate (128 MB), which /health
// reports the instance's memory against.
const MemoryLimit = 128_000_000

// Options tune a Server.
type Options struct {
	// Platform names where the server runs ("workerd", "native"), for /health.
	Platform string
	// LoadTime is how long opening the bundle took, for /health.
	LoadTime time.Duration
	// WasmMemory returns the size of the WebAssembly instance's memory, which never
	// shrinks and so is its peak; nil natively.
	WasmMemory func() int64
	// Debug serves GET /debug/panic, which panics inside the handler: the tests check
	// that the next request is still answered. Off in a deployed worker.
	Debug bool
	// OneAtATime runs one search at a time. WebAssembly runs one goroutine at a time
	// anyway, but a search that waits on its own goroutines lets the next request start
	// another, and their buffers add up in a memory that never shrinks; in turn, the
	// first comes back first.
	OneAtATime bool
}

// Server answers the endpoint's requests over one opened bundle. It is safe for
// concurrent use.
type Server struct {
	b        *bundle.Bundle
	loadErr  error
	opt      Options
	requests atomic.Int64
	panics   atomic.Int64
	one      sync.Mutex // held by a search when opt.OneAtATime
}

// New serves b.
func New(b *bundle.Bundle, opt Options) *Server { return &Server{b: b, opt: opt} }

// Failed is a server whose bundle did not open: /health and /search answer 503 with err,
// so the reason is visible from outside rather than in a log.
func Failed(err error, opt Options) *Server { return &Server{loadErr: err, opt: opt} }

// Error is the body of every answer that is not a success.
type Error struct {
	Error string `json:"error"`
	// Code is a stable name of the problem: missing_query, bad_query, bad_k, bad_json,
	// body_too_large, bad_batch, method_not_allowed, not_found, not_ready, internal.
	Code string `json:"code"`
}

// SearchResponse answers one query.
type SearchResponse struct {
	Hits   []bundle.Hit `json:"hits"`
	Model  string       `json:"model"`
	TookMS float64      `json:"took_ms"`
}

// BatchResponse answers a batch: one Result per query, in order.
type BatchResponse struct {
	Results []Result `json:"results"`
	Model   string   `json:"model"`
	TookMS  float64  `json:"took_ms"`
}

// Result is one query's hits in a batch.
type Result struct {
	Hits []bundle.Hit `json:"hits"`
}

// Health is /health's answer.
type Health struct {
	Status    string  `json:"status"` // "ok", or "error" with Error
	Error     string  `json:"error,omitempty"`
	Model     string  `json:"model,omitempty"`
	Documents int     `json:"documents"`
	Dim       int     `json:"dim,omitempty"`
	Weights   string  `json:"weights,omitempty"`
	Mode      string  `json:"mode,omitempty"` // how search ranks: bundle.ModeDense or ModeHybrid
	Kernels   string  `json:"kernels"`
	Platform  string  `json:"platform"`
	LoadMS    float64 `json:"load_ms"`
	Requests  int64   `json:"requests"` // answered before this one
	Panics    int64   `json:"panics"`   // recovered
	Memory    Memory  `json:"memory"`
}

// Memory is the instance's memory as /health reports it.
type Memory struct {
	// GoSys is what the Go runtime obtained from the system: on WebAssembly it never
	// gives memory back, so this is its peak.
	GoSys       uint64 `json:"go_sys_bytes"`
	GoHeapInuse uint64 `json:"go_heap_inuse_bytes"`
	GoHeapAlloc uint64 `json:"go_heap_alloc_bytes"`
	// Wasm is the WebAssembly memory's size (0 natively), its peak for the same reason.
	Wasm  int64 `json:"wasm_memory_bytes"`
	Limit int64 `json:"limit_bytes"`
}

// searchRequest is a POST /search body: query or queries, and k.
type searchRequest struct {
	Query   *string  `json:"query"`
	Queries []string `json:"queries"`
	K       *int     `json:"k"`
}

// httpError is a 4xx or 5xx answer: Error, or body when it is set (/health's 503).
type httpError struct {
	status int
	Error
	body any
}

func fail(status int, code, format string, a ...any) *httpError {
	return &httpError{status: status, Error: Error{Error: fmt.Sprintf(format, a...), Code: code}}
}

const endpoints = "GET /search?q=TEXT&k=N, POST /search with {\"query\": TEXT, \"k\": N} or {\"queries\": [TEXT, ...], \"k\": N}, GET /health"

// ServeHTTP routes a request. A panic below it answers 500 and is counted in /health.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			s.panics.Add(1)
			writeJSON(w, http.StatusInternalServerError, Error{Error: fmt.Sprintf("internal error: %v", p), Code: "internal"})
		}
	}()
	defer s.requests.Add(1)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	var methods []string
	switch r.URL.Path {
	case "/search":
		methods = []string{http.MethodGet, http.MethodPost}
	case "/health":
		methods = []string{http.MethodGet}
	case "/debug/panic":
		if s.opt.Debug {
			panic("a panic asked for by GET /debug/panic")
		}
	}
	if methods == nil {
		writeError(w, fail(http.StatusNotFound, "not_found", "no endpoint at %s: the endpoints are %s", r.URL.Path, endpoints))
		return
	}
	if !slices.Contains(methods, r.Method) {
		allow := strings.Join(methods, ", ")
		w.Header().Set("Allow", allow)
		writeError(w, fail(http.StatusMethodNotAllowed, "method_not_allowed", "%s %s: method not allowed, use %s", r.Method, r.URL.Path, allow))
		return
	}
	var v any
	var err *httpError
	switch {
	case r.URL.Path == "/health":
		v, err = s.health()
	case s.b == nil:
		err = fail(http.StatusServiceUnavailable, "not_ready", "the bundle did not open: %v", s.loadErr)
	case r.Method == http.MethodGet:
		v, err = s.searchGet(r)
	default:
		v, err = s.searchPost(r)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) searchGet(r *http.Request) (any, *httpError) {
	q := r.URL.Query()
	if !q.Has("q") {
		return nil, fail(http.StatusBadRequest, "missing_query", "missing q: GET /search?q=TEXT&k=N")
	}
	k := DefaultK
	if q.Has("k") {
		n, err := strconv.Atoi(q.Get("k"))
		if err != nil {
			return nil, fail(http.StatusBadRequest, "bad_k", "k is %q, want an integer 1..%d", q.Get("k"), bundle.MaxK)
		}
		k = n
	}
	return s.searchOne(r.Context(), q.Get("q"), k)
}

func (s *Server) searchPost(r *http.Request) (any, *httpError) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, fail(http.StatusBadRequest, "bad_json", "read the body: %v", err)
	}
	if len(raw) > MaxBodyBytes {
		return nil, fail(http.StatusRequestEntityTooLarge, "body_too_large", "the body is over %d bytes", MaxBodyBytes)
	}
	var req searchRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fail(http.StatusBadRequest, "bad_json", "malformed JSON body: %v; want {\"query\": TEXT, \"k\": N} or {\"queries\": [TEXT, ...], \"k\": N}", err)
	}
	if dec.More() {
		return nil, fail(http.StatusBadRequest, "bad_json", "malformed JSON body: data after the JSON object")
	}
	k := DefaultK
	if req.K != nil {
		k = *req.K
	}
	switch {
	case req.Query != nil && req.Queries != nil:
		return nil, fail(http.StatusBadRequest, "bad_batch", "give query or queries, not both")
	case req.Query != nil:
		return s.searchOne(r.Context(), *req.Query, k)
	case req.Queries != nil:
		return s.searchBatch(r.Context(), req.Queries, k)
	}
	return nil, fail(http.StatusBadRequest, "missing_query", "missing query: POST /search with {\"query\": TEXT, \"k\": N} or {\"queries\": [TEXT, ...], \"k\": N}")
}

// checkQuery is bundle.CheckQuery with the status and code of each failure.
func checkQuery(q string, k int) *httpError {
	err := bundle.CheckQuery(q, k)
	switch {
	case err == nil:
		return nil
	case k < 1 || k > bundle.MaxK:
		return fail(http.StatusBadRequest, "bad_k", "%v", err)
	}
	return fail(http.StatusBadRequest, "bad_query", "%v", err)
}

func (s *Server) searchOne(ctx context.Context, q string, k int) (any, *httpError) {
	if err := checkQuery(q, k); err != nil {
		return nil, err
	}
	defer s.lock()()
	start := time.Now()
	hits, err := s.b.Search(ctx, q, k)
	if err != nil {
		return nil, fail(http.StatusInternalServerError, "internal", "search: %v", err)
	}
	return SearchResponse{Hits: hits, Model: s.b.Manifest.Fingerprint, TookMS: ms(time.Since(start))}, nil
}

// searchBatch answers each query as GET /search would: bundle.Search ranks as the bundle's
// mode says (dense, or fused with BM25), which a batched encoding would bypass.
func (s *Server) searchBatch(ctx context.Context, queries []string, k int) (any, *httpError) {
	if len(queries) == 0 || len(queries) > MaxBatch {
		return nil, fail(http.StatusBadRequest, "bad_batch", "queries holds %d queries, want 1..%d", len(queries), MaxBatch)
	}
	for i, q := range queries {
		if err := checkQuery(q, k); err != nil {
			err.Error.Error = fmt.Sprintf("queries[%d]: %s", i, err.Error.Error)
			return nil, err
		}
	}
	defer s.lock()()
	start := time.Now()
	out := BatchResponse{Results: make([]Result, len(queries)), Model: s.b.Manifest.Fingerprint}
	for i, q := range queries {
		hits, err := s.b.Search(ctx, q, k)
		if err != nil {
			return nil, fail(http.StatusInternalServerError, "internal", "search: queries[%d]: %v", i, err)
		}
		out.Results[i].Hits = hits
	}
	out.TookMS = ms(time.Since(start))
	return out, nil
}

// lock takes the search lock when searches run one at a time and returns its release.
func (s *Server) lock() func() {
	if !s.opt.OneAtATime {
		return func() {}
	}
	s.one.Lock()
	return s.one.Unlock
}

// health reports the bundle and the memory; 503 with the reason when the bundle did not open.
func (s *Server) health() (any, *httpError) {
	h := Health{Status: "ok", Kernels: retriever.Kernels(), Platform: s.opt.Platform, LoadMS: ms(s.opt.LoadTime),
		Requests: s.requests.Load(), Panics: s.panics.Load(), Memory: s.Memory()}
	if s.b == nil {
		h.Status, h.Error = "error", fmt.Sprintf("the bundle did not open: %v", s.loadErr)
		return nil, &httpError{status: http.StatusServiceUnavailable, body: h}
	}
	m := s.b.Manifest
	h.Model, h.Documents, h.Dim, h.Weights, h.Mode = m.Fingerprint, m.Documents, m.Dim, m.Weights, s.b.Mode()
	return h, nil
}

// Memory reads the Go runtime's memory and the WebAssembly memory's size.
func (s *Server) Memory() Memory {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := Memory{GoSys: ms.Sys, GoHeapInuse: ms.HeapInuse, GoHeapAlloc: ms.HeapAlloc, Limit: MemoryLimit}
	if s.opt.WasmMemory != nil {
		m.Wasm = s.opt.WasmMemory()
	}
	return m
}

func writeError(w http.ResponseWriter, err *httpError) {
	if err.body != nil {
		writeJSON(w, err.status, err.body)
		return
	}
	writeJSON(w, err.status, err.Error)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = json.Marshal(Error{Error: fmt.Sprintf("encode the answer: %v", err), Code: "internal"})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// ms is d in milliseconds, rounded to microseconds.
func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }
