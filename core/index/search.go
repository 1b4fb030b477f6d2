package index

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sbmoe/sbmoe/core/internal/kernel"
)

// Hit is one search result: vector Index of the index, stored under ID, with
// its dot product Score against the query.
type Hit struct {
	ID    string
	Index int
	Score float32
}

// Search returns the k vectors with the highest dot product with query,
// best first, ties broken by lower Index. It returns min(k, Len()) hits, and
// nil if k <= 0, the index is empty, or query holds a NaN or infinity (no
// ordering of such scores would mean anything).
//
// It panics if len(query) != Dim(): callers check Dim against their encoder
// once, when they load the index.
func (ix *Index) Search(query []float32, k int) []Hit {
	ix.checkQuery(query)
	return ix.search(query, k)
}

// SearchBatch runs Search for every query on up to threads goroutines
// (GOMAXPROCS if threads <= 0); result i belongs to queries[i].
func (ix *Index) SearchBatch(queries [][]float32, k int, threads int) [][]Hit {
	for _, q := range queries {
		ix.checkQuery(q) // panic here, in the caller's goroutine, not in a worker
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	threads = min(threads, len(queries))
	results := make([][]Hit, len(queries))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range threads {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(queries) {
					return
				}
				results[i] = ix.search(queries[i], k)
			}
		})
	}
	wg.Wait()
	return results
}

func (ix *Index) checkQuery(query []float32) {
	if len(query) != ix.dim {
		panic(fmt.Sprintf("index: query has dim %d, index has dim %d", len(query), ix.dim))
	}
}

func (ix *Index) search(query []float32, k int) []Hit {
	n := ix.Len()
	if k <= 0 || n == 0 {
		return nil
	}
	for _, x := range query {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil
		}
	}
	top := topK{hits: make([]Hit, 0, min(k, n)), k: min(k, n)}
	switch ix.kind {
	case Float32:
		for i := range n {
			top.offer(i, kernel.Dot(query, ix.f32[i*ix.dim:]))
		}
	case Int8:
		for i := range n {
			top.offer(i, dotInt8(query, ix.i8[i*ix.dim:])*ix.scales[i])
		}
	}
	hits := top.hits
	slices.SortFunc(hits, func(a, b Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	for i := range hits {
		hits[i].ID = ix.ids[hits[i].Index]
	}
	return hits
}

// topK keeps the k best hits seen so far in a min-heap whose root is the
// worst of them, so each candidate costs one comparison unless it gets in.
// Candidates arrive in increasing Index order, so a candidate that only ties
// the root loses to it: that is the lower-Index-first tie rule.
type topK struct {
	hits []Hit
	k    int
}

// worse reports whether a ranks below b. It orders scores as cmp.Compare
// does, NaN lowest, so that a score that overflowed to NaN cannot break the
// heap.
func worse(a, b Hit) bool {
	if c := cmp.Compare(a.Score, b.Score); c != 0 {
		return c < 0
	}
	return a.Index > b.Index
}

func (t *topK) offer(index int, score float32) {
	if len(t.hits) < t.k {
		t.hits = append(t.hits, Hit{Index: index, Score: score})
		t.up(len(t.hits) - 1)
		return
	}
	if cmp.Compare(score, t.hits[0].Score) <= 0 {
		return
	}
	t.hits[0] = Hit{Index: index, Score: score}
	t.down(0)
}

func (t *topK) up(i int) {
	h := t.hits
	for i > 0 {
		parent := (i - 1) / 2
		if !worse(h[i], h[parent]) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (t *topK) down(i int) {
	h := t.hits
	for {
		child := 2*i + 1
		if child >= len(h) {
			return
		}
		if right := child + 1; right < len(h) && worse(h[right], h[child]) {
			child = right
		}
		if !worse(h[child], h[i]) {
			return
		}
		h[i], h[child] = h[child], h[i]
		i = child
	}
}
