// Package golden reads the reference files that the scripts in tools/reference write
// under testdata/: JSON documents, gzipped when their name ends in .gz, with float32
// tensors stored as base64 of little-endian bytes. It serves the tests of every
// package; a test fails, naming the file, when a reference file cannot be read.
package golden

import (
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"strings"
	"testing"
)

// ReadJSON decodes the JSON file at path, gunzipping it when path ends in .gz, into v.
func ReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = zr
	}
	if err := json.NewDecoder(r).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Float32s decodes base64 of little-endian float32 values.
func Float32s(t testing.TB, s string) []float32 {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("golden tensor: %v", err)
	}
	if len(raw)%4 != 0 {
		t.Fatalf("golden tensor: %d bytes is not a whole number of float32s", len(raw))
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}
