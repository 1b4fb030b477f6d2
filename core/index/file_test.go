package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/internal/readbound"
)

func encode(t testing.TB, ix *Index) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := ix.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	return buf.Bytes()
}

// smallIndex has two vectors with ids of different lengths.
func smallIndex(t testing.TB, kind Kind) *Index {
	t.Helper()
	return build(t, kind, [][]float32{{0.5, -1, 2}, {3, 0, -0.25}}, 3)
}

func sameIndex(t *testing.T, got, want *Index) {
	t.Helper()
	if got.Kind() != want.Kind() || got.Dim() != want.Dim() || !slices.Equal(got.ids, want.ids) ||
		!slices.Equal(got.f32, want.f32) || !slices.Equal(got.i8, want.i8) ||
		!slices.Equal(got.scales, want.scales) || len(got.pos) != len(want.pos) {
		t.Fatalf("read back a different index: %v %d %v, want %v %d %v",
			got.Kind(), got.Dim(), got.ids, want.Kind(), want.Dim(), want.ids)
	}
	for id, i := range want.pos {
		if got.pos[id] != i {
			t.Fatalf("read back id map: %q -> %d, want %d", id, got.pos[id], i)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	const dim = 7
	for _, kind := range []Kind{Float32, Int8} {
		for _, n := range []int{0, 1, 5, 3000} { // 3000 spans several encode/decode chunks
			rng := rand.New(rand.NewPCG(uint64(n), 1))
			ix := build(t, kind, randomVectors(rng, n, dim, false), dim)
			data := encode(t, ix)

			got, err := Read(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%v n=%d: Read: %v", kind, n, err)
			}
			sameIndex(t, got, ix)
			if again := encode(t, got); !bytes.Equal(again, data) {
				t.Fatalf("%v n=%d: re-encoding differs", kind, n)
			}

			path := filepath.Join(t.TempDir(), "x.idx")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err = ReadFile(path)
			if err != nil {
				t.Fatalf("%v n=%d: ReadFile: %v", kind, n, err)
			}
			sameIndex(t, got, ix)
			if n > 0 {
				q := randomVectors(rng, 1, dim, false)[0]
				if a, b := got.Search(q, 3), ix.Search(q, 3); !slices.Equal(a, b) {
					t.Fatalf("%v n=%d: search after read: %v, want %v", kind, n, a, b)
				}
			}
		}
	}
}

func TestFingerprint(t *testing.T) {
	ix := smallIndex(t, Float32)
	ix.SetOrigin(Origin{Fingerprint: "sbmoe1-0123456789abcdef", Model: "models/all-MiniLM-L6-v2"})
	got, err := Read(bytes.NewReader(encode(t, ix)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Origin() != ix.Origin() || got.Quantized().Origin() != ix.Origin() {
		t.Errorf("origin %+v (quantized %+v), want %+v", got.Origin(), got.Quantized().Origin(), ix.Origin())
	}
}

// TestReadVersion1 reads a file in the format before fingerprints: no fingerprint
// field, version 1.
func TestReadVersion1(t *testing.T) {
	for _, kind := range []Kind{Float32, Int8} {
		ix := smallIndex(t, kind)
		v2 := encode(t, ix)
		v1 := slices.Concat(v2[:headerSize], v2[headerSize+3:]) // drop the empty origin's lengths
		binary.LittleEndian.PutUint32(v1[len(magic):], 1)
		got, err := Read(bytes.NewReader(reseal(v1)))
		if err != nil {
			t.Fatalf("%v: %v", kind, err)
		}
		sameIndex(t, got, ix)
		if got.Origin() != (Origin{}) {
			t.Errorf("%v: origin %+v from a version 1 file", kind, got.Origin())
		}
	}
}

// readBoth reads data as a stream and as a file of known size.
func readBoth(data []byte) (streamErr, sizedErr error) {
	_, streamErr = Read(bytes.NewReader(data))
	_, sizedErr = readIndex(bytes.NewReader(data), int64(len(data)))
	return streamErr, sizedErr
}

func TestTruncated(t *testing.T) {
	for _, kind := range []Kind{Float32, Int8} {
		data := encode(t, smallIndex(t, kind))
		for n := range len(data) {
			streamErr, sizedErr := readBoth(data[:n])
			for _, err := range []error{streamErr, sizedErr} {
				if !errors.Is(err, ErrTruncated) {
					t.Errorf("%v, first %d of %d bytes: got %v, want %v", kind, n, len(data), err, ErrTruncated)
				}
			}
		}
	}
}

func TestCorruptByte(t *testing.T) {
	for _, kind := range []Kind{Float32, Int8} {
		ix := smallIndex(t, kind)
		data := encode(t, ix)
		// Bytes the checksum alone guards: id text, scales, vectors, checksum.
		guarded := make([]bool, len(data))
		pos := headerSize + 3 // after the empty origin's lengths
		for _, id := range ix.ids {
			pos += 4
			for range id {
				guarded[pos] = true
				pos++
			}
		}
		for ; pos < len(data); pos++ {
			guarded[pos] = true
		}
		for i := range data {
			bad := slices.Clone(data)
			bad[i] ^= 0xff
			streamErr, sizedErr := readBoth(bad)
			for _, err := range []error{streamErr, sizedErr} {
				if err == nil {
					t.Errorf("%v: flipping byte %d: no error", kind, i)
				} else if guarded[i] && !errors.Is(err, ErrChecksum) {
					t.Errorf("%v: flipping byte %d: got %v, want %v", kind, i, err, ErrChecksum)
				}
			}
		}
	}
}

// reseal replaces the trailing checksum so that content checks are reached.
func reseal(data []byte) []byte {
	body := data[:len(data)-4]
	return binary.LittleEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, castagnoli))
}

func TestReadErrors(t *testing.T) {
	f32 := encode(t, smallIndex(t, Float32))
	i8 := encode(t, smallIndex(t, Int8))
	patch := func(data []byte, at int, b ...byte) []byte {
		data = slices.Clone(data)
		copy(data[at:], b)
		return reseal(data)
	}
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	idsStart := headerSize + 3 // after the empty origin's lengths
	idsAt := idsStart + 4      // first byte of the first id, "doc0"
	vecsAt := idsStart + 2*(4+4)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "field magic: truncated file"},
		{"other file", []byte("PK\x03\x04 a zip file, not an index"), "field magic: not an sbmoe index"},
		{"short other file", []byte("SBX"), "field magic: not an sbmoe index"},
		{"version", patch(f32, 8, le32(3)...), "field version: unsupported version 3 (this build reads 1 and 2)"},
		{"kind", patch(f32, 12, 7), "field kind: unknown kind 7"},
		{"dim zero", patch(f32, 13, le32(0)...), "field dim: 0 out of range 1..65536"},
		{"dim huge", patch(f32, 13, le32(1<<31)...), "field dim: 2147483648 out of range"},
		{"count", patch(f32, 17, le32(1)...), "field checksum: stored "},
		{"id length zero", patch(f32, idsStart, le32(0)...), "field ids: id 0 has length 0"},
		{"id length huge", patch(f32, idsStart, le32(1<<20)...), "field ids: id 0 has length 1048576"},
		{"fingerprint past the end", patch(f32, headerSize, 200), "truncated file"},
		{"model too long", patch(f32, headerSize+1, 0xff, 0xff), "field model: length 65535, at most 4096"},
		{"trailing data", append(slices.Clone(f32), 0), "after checksum: unexpected trailing data"},
		{"duplicate id", patch(f32, idsAt+3, '1'), `field ids: duplicate id "doc1" (vectors 0 and 1)`},
		{"invalid utf-8", patch(i8, idsAt+1, 0xc3, 0x28), "field ids: id 0: id is not valid UTF-8"},
		{"nan", patch(f32, vecsAt+4, 0, 0, 0xc0, 0x7f), `field vectors: vector 0 (id "doc0") element 1 is NaN`},
		{"scale", patch(i8, vecsAt, 0, 0, 0x80, 0xbf), `field scales: vector 0 (id "doc0") has scale -1`},
		{"int8 -128", patch(i8, vecsAt+8+5, 0x80), `field vectors: vector 1 (id "doc1") element 2 is -128`},
	}
	for _, tt := range tests {
		streamErr, sizedErr := readBoth(tt.data)
		for _, err := range []error{streamErr, sizedErr} {
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: got %v, want error containing %q", tt.name, err, tt.want)
			}
		}
	}
}

func TestReadFileErrorNamesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scifact.idx")
	if err := os.WriteFile(path, []byte("not an index at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path)
	if want := "read index " + path + ": field magic: not an sbmoe index"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	data := encode(t, smallIndex(t, Float32))
	if err := os.WriteFile(path, data[:len(data)-9], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadFile(path)
	if want := "read index " + path + ": field count: "; err == nil || !strings.HasPrefix(err.Error(), want) ||
		!errors.Is(err, ErrTruncated) {
		t.Errorf("got %v, want %q... %v", err, want, ErrTruncated)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.idx")); err == nil ||
		!strings.HasPrefix(err.Error(), "read index "+filepath.Join(dir, "missing.idx")+": ") {
		t.Errorf("missing file: got %v", err)
	}
}

// TestHugeHeaderSmallAllocation reads headers that declare the largest
// possible index over a few bytes of data: the reader must fail on the
// missing data without allocating for what the header claims.
func TestHugeHeaderSmallAllocation(t *testing.T) {
	for _, kind := range []Kind{Float32, Int8} {
		header := []byte(magic)
		header = binary.LittleEndian.AppendUint32(header, version)
		header = append(header, byte(kind))
		header = binary.LittleEndian.AppendUint32(header, maxDim)
		header = binary.LittleEndian.AppendUint32(header, 1<<32-1)
		header = append(header, 0, 0, 0) // no origin
		one := append(binary.LittleEndian.AppendUint32(nil, 1), 'a')
		data := append(header, bytes.Repeat(one, 1000)...)

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		streamErr, sizedErr := readBoth(data)
		runtime.ReadMemStats(&after)
		for _, err := range []error{streamErr, sizedErr} {
			if !errors.Is(err, ErrTruncated) {
				t.Errorf("%v: got %v, want %v", kind, err, ErrTruncated)
			}
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
			t.Errorf("%v: allocated %d bytes for a %d-byte input", kind, alloc, len(data))
		}
	}
}

func FuzzRead(f *testing.F) {
	for _, kind := range []Kind{Float32, Int8} {
		data := encode(f, smallIndex(f, kind))
		f.Add(data)
		f.Add(data[:len(data)/2])
		f.Add(encode(f, New(5, kind)))
	}
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ix *Index
		var streamErr, sizedErr error
		readbound.Check(t, len(data), indexBound, func() { ix, streamErr = Read(bytes.NewReader(data)) })
		readbound.Check(t, len(data), indexBound, func() { _, sizedErr = readIndex(bytes.NewReader(data), int64(len(data))) })
		if (streamErr == nil) != (sizedErr == nil) {
			t.Fatalf("stream and sized reads disagree: %v vs %v", streamErr, sizedErr)
		}
		if streamErr != nil {
			return
		}
		if again := encode(t, ix); !bytes.Equal(again, data) {
			t.Fatal("a valid index did not re-encode to the same bytes")
		}
	})
}
