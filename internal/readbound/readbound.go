// Package readbound is what the readers' tests and fuzz targets share: a check that
// reading an n-byte input stays within a memory bound proportional to n and within a
// time limit. `go test` runs it over the seed corpora and the regression inputs under
// each package's testdata/fuzz, and `make fuzz` over what the fuzzer makes.
package readbound

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TimeLimit is how long one read may take (five times that under WebAssembly, which
// runs the same code several times slower). Go's fuzzer has no per-input limit.
const TimeLimit = 2 * time.Second

// Bound is what a reader may allocate for an n-byte input: PerByte·n + Fixed bytes.
type Bound struct{ PerByte, Fixed uint64 }

// Check runs read, which reads an n-byte input, and fails t when it allocates more than
// b allows. A read running past its time limit panics from a timer: that stops a fuzz
// worker, and the fuzzer keeps the input as a crasher.
func Check(t testing.TB, n int, b Bound, read func()) {
	t.Helper()
	limit := TimeLimit
	if runtime.GOARCH == "wasm" {
		limit *= 5
	}
	var done atomic.Bool
	hung := time.AfterFunc(limit, func() {
		if !done.Load() {
			panic(fmt.Sprintf("reading a %d-byte input took longer than %v", n, limit))
		}
	})
	defer hung.Stop()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	read()
	done.Store(true)
	runtime.ReadMemStats(&after)
	if got, max := after.TotalAlloc-before.TotalAlloc, b.PerByte*uint64(n)+b.Fixed; got > max {
		t.Errorf("allocated %d bytes reading a %d-byte input, more than the bound %d·%d + %d = %d",
			got, n, b.PerByte, n, b.Fixed, max)
	}
}
