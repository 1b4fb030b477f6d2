package index

import (
	"bytes"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// FuzzRead checks every input against a memory bound and a time limit, so that `go test`
// checks the bounds over the seed corpus and the regression inputs under testdata/fuzz, and
// `make fuzz` over what the fuzzer makes.

// inputTimeLimit is how long one read may take (five times that under WebAssembly, which
// runs the same code several times slower). Go's fuzzer has no per-input limit.
const inputTimeLimit = 2 * time.Second

// readBound is what a reader may allocate for an n-byte input: perByte·n + fixed bytes.
type readBound struct{ perByte, fixed uint64 }

// indexBound: a vector costs its values (as many bytes as the file holds for them, and 4
// for an int8 vector's scale), its id and its slot in the id list and the id map. Streamed,
// with the size unknown, the lists grow as data arrives, a quarter at a time. The costliest
// index, int8 vectors of one dimension under short ids, takes 13 bytes per byte streamed
// and 7 from a file (TestReadWorstCase). The fixed part is the two 64 KiB read buffers and,
// streamed, the first block of 64 Ki vector elements (256 KiB of float32), allocated before
// the data arrives (the regression input under testdata/fuzz).
var indexBound = readBound{perByte: 24, fixed: 512 << 10}

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

// TestReadWorstCase reads the index that costs the most memory per byte: int8 vectors of one
// dimension under the shortest distinct ids, streamed (its size unknown, so storage grows as
// data arrives) and from a file of known size.
func TestReadWorstCase(t *testing.T) {
	ix := New(1, Int8)
	for i := range 1 << 16 {
		if err := ix.Add(fmt.Sprintf("%x", i), []float32{1}); err != nil {
			t.Fatal(err)
		}
	}
	data := encode(t, ix)
	for _, size := range []int64{-1, int64(len(data))} {
		var err error
		checkRead(t, len(data), indexBound, func() { _, err = readIndex(bytes.NewReader(data), size) })
		if err != nil {
			t.Fatal(err)
		}
	}
}
