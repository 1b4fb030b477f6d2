package lexical

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// equal reports whether two indexes hold the same documents and postings.
func (ix *Index) equal(o *Index) bool {
	if !slices.Equal(ix.ids, o.ids) || !slices.Equal(ix.docLen, o.docLen) || !slices.Equal(ix.terms, o.terms) {
		return false
	}
	for i := range ix.post {
		if !slices.Equal(ix.post[i].docs, o.post[i].docs) || !slices.Equal(ix.post[i].tfs, o.post[i].tfs) {
			return false
		}
	}
	return true
}

func smallIndex(t testing.TB) (*Index, []byte) {
	t.Helper()
	ix, err := Build([]string{"d1", "d2", "d3", "ü"}, []string{"Vitamin D and bone density in elderly patients",
		"fish oil omega-3 and heart disease", "vitamin vitamin vitamins", "Straße café"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := ix.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return ix, buf.Bytes()
}

func TestFileRoundTrip(t *testing.T) {
	ix, data := smallIndex(t)
	back, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if !back.equal(ix) || back.avgdl != ix.avgdl {
		t.Fatal("read back a different index")
	}
	a, b := ix.Search("vitamin density", 3), back.Search("vitamin density", 3)
	if !slices.Equal(a, b) || len(a) == 0 {
		t.Errorf("search after the round trip: %v, want %v", b, a)
	}
}

func TestReadDamaged(t *testing.T) {
	_, data := smallIndex(t)
	for n := range len(data) {
		if _, err := Read(data[:n]); err == nil {
			t.Fatalf("a file cut to %d of %d bytes was read", n, len(data))
		}
	}
	for i := range data {
		bad := slices.Clone(data)
		bad[i] ^= 0x55
		if _, err := Read(bad); err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	reseal := func(body []byte) []byte {
		return binary.LittleEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, castagnoli))
	}
	body := data[:len(data)-4]
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"not an index", []byte("PK\x03\x04 something else entirely"), "not an sbmoe BM25 index"},
		{"huge doc count", reseal(append([]byte(fileMagic), 0xff, 0xff, 0xff, 0xff, 0x0f)), "field docs"},
		{"trailing data", reseal(append(slices.Clone(body), 0)), "unexpected data"},
	} {
		if _, err := Read(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestReadBoundedMemory reads forged headers that declare the largest counts: the reader
// must refuse them having allocated little more than the input.
func TestReadBoundedMemory(t *testing.T) {
	forged := append([]byte(fileMagic), binary.AppendUvarint(nil, 1<<40)...)
	forged = append(forged, bytes.Repeat([]byte{1, 'a'}, 1000)...)
	forged = binary.LittleEndian.AppendUint32(forged, crc32.Checksum(forged, castagnoli))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Read(forged)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("forged file read")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64*uint64(len(forged))+1<<16 {
		t.Errorf("allocated %d bytes for a %d-byte input", alloc, len(forged))
	}
}

func FuzzRead(f *testing.F) {
	_, data := smallIndex(f)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := Read(b)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if _, err := ix.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := Read(buf.Bytes())
		if err != nil || !back.equal(ix) {
			t.Fatalf("an accepted file does not survive a round trip (%v)", err)
		}
		ix.Search("vitamin", 3)
	})
}
