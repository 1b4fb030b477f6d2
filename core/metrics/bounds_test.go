package metrics

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/internal/readbound"
)

// FuzzReadTREC checks every input against a memory bound and a time limit, so that `go
// test` checks the bounds over the seed corpus and the regression inputs under
// testdata/fuzz, and `make fuzz` over what the fuzzer makes.

// trecBound: a line costs its string, its fields and an entry in its query's map, and each
// query a map of its own; the shortest lines, "q Q0 d 1 1 t", cost about 30 bytes per byte
// (TestReadTRECWorstCase). The line reader's buffer is the fixed part.
var trecBound = readbound.Bound{PerByte: 64, Fixed: 16 << 10}

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
		readbound.Check(t, len(run), trecBound, func() { _, err = ReadTREC(strings.NewReader(run)) })
		if err != nil {
			t.Fatal(err)
		}
	}
}
