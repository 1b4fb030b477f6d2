package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sbmoe/sbmoe/wasm/edge/api"
)

// LoadOptions describe a load run: Requests GET /search requests, the queries in turn,
// Concurrency at a time.
type LoadOptions struct {
	URL         string // the server's base URL, http://127.0.0.1:PORT
	Queries     []string
	K           int
	Requests    int
	Concurrency int
}

// Answer is one request's outcome.
type Answer struct {
	Query   int // index into LoadOptions.Queries
	Status  int // 0 when the request failed before an answer
	Err     string
	Body    api.SearchResponse
	Latency time.Duration
}

// LoadResult is what a load run saw.
type LoadResult struct {
	Answers []Answer      // in the order the requests were made
	Elapsed time.Duration // from the first request to the last answer
	Errors  int           // requests without a 200 answer that parsed
}

// Load runs the requests and returns every answer.
func Load(ctx context.Context, opt LoadOptions) (*LoadResult, error) {
	if len(opt.Queries) == 0 || opt.Requests < 1 || opt.Concurrency < 1 {
		return nil, fmt.Errorf("load: %d queries, %d requests, concurrency %d", len(opt.Queries), opt.Requests, opt.Concurrency)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opt.Concurrency}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	res := &LoadResult{Answers: make([]Answer, opt.Requests)}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range opt.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= opt.Requests || ctx.Err() != nil {
					return
				}
				q := i % len(opt.Queries)
				res.Answers[i] = get(ctx, client, opt.URL, q, opt.Queries[q], opt.K)
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	for _, a := range res.Answers {
		if a.Status != http.StatusOK || a.Err != "" {
			res.Errors++
		}
	}
	return res, ctx.Err()
}

// get makes one GET /search and parses its answer.
func get(ctx context.Context, client *http.Client, base string, qi int, q string, k int) Answer {
	a := Answer{Query: qi}
	u := base + "/search?" + url.Values{"q": {q}, "k": {strconv.Itoa(k)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		a.Err = err.Error()
		return a
	}
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		a.Err = err.Error()
		return a
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	a.Latency, a.Status = time.Since(start), res.StatusCode
	switch {
	case err != nil:
		a.Err = err.Error()
	case res.StatusCode != http.StatusOK:
		a.Err = string(bytes.TrimSpace(body))
	default:
		if err := json.Unmarshal(body, &a.Body); err != nil {
			a.Err = fmt.Sprintf("answer %q: %v", body, err)
		}
	}
	return a
}

// Percentile returns the p-th percentile (0..100) of the answers' latencies, by the
// nearest-rank method.
func (r *LoadResult) Percentile(p float64) time.Duration {
	lat := make([]time.Duration, len(r.Answers))
	for i, a := range r.Answers {
		lat[i] = a.Latency
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(lat))+0.999999) - 1
	return lat[min(max(rank, 0), len(lat)-1)]
}

// PerSecond is the answers per second of wall time.
func (r *LoadResult) PerSecond() float64 { return float64(len(r.Answers)) / r.Elapsed.Seconds() }
