package moe

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/internal/readbound"
)

// The fuzz targets check every input against a memory bound and a time limit, so that `go
// test` checks the bounds over the seed corpus and the regression inputs under
// testdata/fuzz, and `make fuzz` over what the fuzzer makes.

var (
	// headBound: the file is read as safetensors (up to 24 bytes per byte), then the block
	// takes 8 bytes (value and gradient) for each value, and a value takes at least one byte
	// of file; fromTensors refuses a block with more than twice the values the file holds.
	headBound = readbound.Bound{PerByte: 48, Fixed: 64 << 10}
	// configBound: moe_config.json decodes into a few fields; what grows with the input is
	// the error for an unknown field, which quotes its name, an invalid UTF-8 byte as a
	// six-byte escape: about 36 bytes per byte (the regression input under testdata/fuzz).
	configBound = readbound.Bound{PerByte: 48, Fixed: 32 << 10}
)

// u8Head is a head file whose tensors are U8, one byte per value, with cfg in its metadata.
func u8Head(t testing.TB, cfg Config, shapes map[string][]int) []byte {
	t.Helper()
	conf, err := MarshalConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	header := map[string]any{"__metadata__": map[string]string{"format": headFormat, "moe_config": string(conf)}}
	offset := 0
	for name, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		header[name] = map[string]any{"dtype": "U8", "shape": shape, "data_offsets": []int{offset, offset + n}}
		offset += n
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(b, h...), make([]byte, offset)...)
}

// TestReadGateOfManyExperts: a head file holding the gate of 2000 experts and none of the
// experts made the reader allocate the whole block (265 MB for this 140 KB file) before
// finding the first expert missing; now it refuses the file first.
func TestReadGateOfManyExperts(t *testing.T) {
	cfg := Config{Hidden: 128, Experts: 2000, Router: RouterPaper, Mix: MixTop1}
	file := u8Head(t, cfg, map[string][]int{"cls_1.weight": {64, 128}, "cls_3.weight": {2000, 64}})
	var err error
	readbound.Check(t, len(file), headBound, func() { _, err = Read(HeadFile, file) })
	want := "a block with hidden_size 128, num_experts 2000 has more than twice the 136192 values the file holds"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got error %v, want it to contain %q", err, want)
	}
}

// TestBlockValues: blockValues counts what newBlock allocates.
func TestBlockValues(t *testing.T) {
	for _, cfg := range []Config{{Hidden: 2, Experts: 1}, {Hidden: 7, Experts: 3}, {Hidden: 384, Experts: 6}} {
		n := 0
		for _, p := range newBlock(cfg).params {
			n += len(p.Data)
		}
		if got, ok := blockValues(cfg, n); !ok || got != n {
			t.Errorf("%+v: blockValues = %d, %v; newBlock holds %d", cfg, got, ok, n)
		}
		if _, ok := blockValues(cfg, n-1); ok {
			t.Errorf("%+v: blockValues fits %d values under a limit of %d", cfg, n, n-1)
		}
	}
}

func FuzzReadHead(f *testing.F) {
	for _, cfg := range []Config{
		{Hidden: 4, Experts: 2, Router: RouterPaper, Mix: MixTop1},
		{Hidden: 6, Experts: 1, Router: RouterLearned, Mix: MixAll, BalanceCoef: 0.01},
	} {
		b, err := New(cfg, 1)
		if err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		if err := b.Save(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add(u8Head(f, Config{Hidden: 8, Experts: 9, Router: RouterPaper, Mix: MixTop1}, map[string][]int{"cls_1.weight": {4, 8}, "cls_3.weight": {9, 4}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b *Block
		var err error
		readbound.Check(t, len(data), headBound, func() { b, err = Read(HeadFile, data) })
		if err != nil {
			if !strings.HasPrefix(err.Error(), "load head: "+HeadFile) {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		if err := b.Config().Validate(); err != nil {
			t.Fatalf("read a head with an invalid config: %v", err)
		}
	})
}
