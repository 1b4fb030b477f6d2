package metrics

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// FuzzReadTREC checks every input against a memory bound and a time limit, so that `go
// test` checks the bounds over the seed corpus and the regression inputs under
// testdata/fuzz, and `make fuzz` over what the fuzzer makes.

// inputTimeLimit is how long one read may take (five times that under WebAssembly, which
// runs the same code several times slower). Go's fuzzer has no per-input limit.
const inputTimeLimit = 2 * time.Second

// readBound is what a reader may allocate for an n-byte input: perByte·n + fixed bytes.
type readBound struct{ perByte, fixed uint64 }

// trecBound: a line costs its string, its fields and an entry in its query's map, and each
// query a map of its own; the shortest lines, "q Q0 d 1 1 t", cost about 30 bytes per byte
// (TestReadTRECWorstCase). The line reader's buffer is the fixed part.
var trecBound = readBound{perByte: 64, fixed: 16 << 10}

// checkRead runs read, which reads an n-byte input, and fails t when it allocates more than
// b allows. A read running past its time limit panics from a timer: that stops a fuzz
// worker, and the fuzzer keeps the input as a crasher.
func checkRead(t testing.TB, n int, b readBound, read func()) {
	t.Helper()
	timeLimit := inputTimeLimit
	if runtime.GOARCH == "wasm" {
		timeLimit *= 5
	}
	var done atomic.Bool
	hung := time.AfterFunc(timeLimit, func() {
		if !done.Load() {
			panic(fmt.Sprintf("reading a %d-byte input took longer than %v", n, timeLimit))
		}
	})
	defer hung.Stop()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	read()
	done.Store(true)
	runtime.ReadMemStats(&after)
	if got, limit := after.TotalAlloc-before.TotalAlloc, b.perByte*uint64(n)+b.fixed; got > limit {
		t.Errorf("allocated %d bytes reading a %d-byte input, more than the bound %d·%d + %d = %d",
			got, n, b.perByte, n, b.fixed, limit)
	}
}

// TestReadTRECWorstCase reads the runs that cost the most memory per byte: a query per line,
// and one query with many documents.
func TestReadTRECWorstCase(t *testing.T) {
	var queries, docs strings.Builder
	for i := range 1 << 15 {
		fmt.Fprintf(&queries, "%x Q0 d 1 1 t\n", i)
		fmt.Fprintf(&docs, "q Q0 %x 1 1 t\n", i)
	}
	for _, run := range []string{queries.String(), docs.String(), strings.Repeat(" \n", 1<<15)} {
		var err error
		checkRead(t, len(run), trecBound, func() { _, err = ReadTREC(strings.NewReader(run)) })
		if err != nil {
			t.Fatal(err)
		}
	}
}
