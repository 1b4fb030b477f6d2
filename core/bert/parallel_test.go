package bert

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestParallelFor checks that every index is visited exactly once, in chunks that are
// multiples of align, for callers one at a time (the helper team), several at once
// and nested (the spawned goroutines).
func TestParallelFor(t *testing.T) {
	check := func(t *testing.T, n, workers, align int) {
		visits := make([]atomic.Int32, n)
		parallelFor(n, workers, align, func(lo, hi int) {
			if lo%align != 0 || (hi%align != 0 && hi != n) {
				t.Errorf("n=%d workers=%d align=%d: chunk [%d,%d) not aligned", n, workers, align, lo, hi)
			}
			for i := lo; i < hi; i++ {
				visits[i].Add(1)
			}
		})
		for i := range visits {
			if v := visits[i].Load(); v != 1 {
				t.Fatalf("n=%d workers=%d align=%d: index %d visited %d times", n, workers, align, i, v)
			}
		}
	}
	for n := 0; n < 70; n++ {
		for _, workers := range []int{0, 1, 2, 3, 8} {
			for _, align := range []int{1, 4, 16} {
				check(t, n, workers, align)
			}
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 200 {
				check(t, n+g, 2, 1)
			}
		})
	}
	wg.Wait()
	var total atomic.Int64
	parallelFor(10, 2, 1, func(lo, hi int) {
		for range hi - lo {
			parallelFor(10, 2, 1, func(lo, hi int) { total.Add(int64(hi - lo)) })
		}
	})
	if total.Load() != 100 {
		t.Fatalf("nested calls visited %d indices, want 100", total.Load())
	}
}

// TestTransposeCols checks the transpose attention takes of K, for row counts with and
// without a remainder of four.
func TestTransposeCols(t *testing.T) {
	for _, rows := range []int{0, 1, 3, 4, 5, 16, 18} {
		for _, cols := range []int{1, 7, 32} {
			ld := cols + 3
			a := make([]float32, rows*ld)
			for i := range a {
				a[i] = float32(i)
			}
			got := make([]float32, rows*cols+1)
			got[rows*cols] = -1
			transposeCols(got, a, rows, cols, ld)
			for r := range rows {
				for c := range cols {
					if got[c*rows+r] != a[r*ld+c] {
						t.Fatalf("rows=%d cols=%d: t[%d][%d] = %g, want %g", rows, cols, c, r, got[c*rows+r], a[r*ld+c])
					}
				}
			}
			if got[rows*cols] != -1 {
				t.Fatalf("rows=%d cols=%d: wrote past the transpose", rows, cols)
			}
		}
	}
}
