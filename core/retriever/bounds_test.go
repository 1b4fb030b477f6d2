package retriever

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// FuzzParseManifest checks every input against a memory bound and a time limit, so that `go
// test` checks the bounds over the seed corpus and the regression inputs under
// testdata/fuzz, and `make fuzz` over what the fuzzer makes.

// inputTimeLimit is how long one read may take (five times that under WebAssembly, which
// runs the same code several times slower). Go's fuzzer has no per-input limit.
const inputTimeLimit = 2 * time.Second

// readBound is what a reader may allocate for an n-byte input: perByte·n + fixed bytes.
type readBound struct{ perByte, fixed uint64 }

// manifestBound: sbmoe.json decodes into a few strings, which the decoder copies out of its
// buffer (TestParseManifestWorstCase); the error for an unknown field quotes its name, an
// invalid UTF-8 byte as a six-byte escape (the regression input under testdata/fuzz).
var manifestBound = readBound{perByte: 48, fixed: 32 << 10}

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

// TestParseManifestWorstCase: long strings, which the decoder copies, stay within the bound.
func TestParseManifestWorstCase(t *testing.T) {
	long := strings.Repeat("a/", 1<<16)
	b := []byte(`{"format": "sbmoe-model", "version": 1, "encoder": "` + long + `e", "recipe": "` + long + `"}`)
	var err error
	checkRead(t, len(b), manifestBound, func() { _, err = ParseManifest(b) })
	if err != nil {
		t.Fatal(err)
	}
}
