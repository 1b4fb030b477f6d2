package index

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/sbmoe/sbmoe/internal/readbound"
)

// FuzzRead checks every input against a memory bound and a time limit, so that `go test`
// checks the bounds over the seed corpus and the regression inputs under testdata/fuzz, and
// `make fuzz` over what the fuzzer makes.

// indexBound: a vector costs its values (as many bytes as the file holds for them, and 4
// for an int8 vector's scale), its id and its slot in the id list and the id map. Streamed,
// with the size unknown, the lists grow as data arrives, a quarter at a time. The costliest
// index, int8 vectors of one dimension under short ids, takes 13 bytes per byte streamed
// and 7 from a file (TestReadWorstCase). The fixed part is the two 64 KiB read buffers and,
// streamed, the first block of 64 Ki vector elements (256 KiB of float32), allocated before
// the data arrives (the regression input under testdata/fuzz).
var indexBound = readbound.Bound{PerByte: 24, Fixed: 512 << 10}

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
		readbound.Check(t, len(data), indexBound, func() { _, err = readIndex(bytes.NewReader(data), size) })
		if err != nil {
			t.Fatal(err)
		}
	}
}
