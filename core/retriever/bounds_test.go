package retriever

import (
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/internal/readbound"
)

// FuzzParseManifest checks every input against a memory bound and a time limit, so that `go
// test` checks the bounds over the seed corpus and the regression inputs under
// testdata/fuzz, and `make fuzz` over what the fuzzer makes.

// manifestBound: sbmoe.json decodes into a few strings, which the decoder copies out of its
// buffer (TestParseManifestWorstCase); the error for an unknown field quotes its name, an
// invalid UTF-8 byte as a six-byte escape (the regression input under testdata/fuzz).
var manifestBound = readbound.Bound{PerByte: 48, Fixed: 32 << 10}

// TestParseManifestWorstCase: long strings, which the decoder copies, stay within the bound.
func TestParseManifestWorstCase(t *testing.T) {
	long := strings.Repeat("a/", 1<<16)
	b := []byte(`{"format": "sbmoe-model", "version": 1, "encoder": "` + long + `e", "recipe": "` + long + `"}`)
	var err error
	readbound.Check(t, len(b), manifestBound, func() { _, err = ParseManifest(b) })
	if err != nil {
		t.Fatal(err)
	}
}
