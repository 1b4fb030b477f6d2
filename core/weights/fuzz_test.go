package weights

import (
	"bytes"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/internal/readbound"
)

// The fuzz targets below check every input against a memory bound and a time limit, so
// that `go test` checks the bounds over the seed corpus and the regression inputs under
// testdata/fuzz (inputs that once found a bug), and `make fuzz` over what the fuzzer makes.

var (
	// Tensors widen to float32, so U8 data takes 4 bytes per byte; decoding the JSON header
	// costs up to about 20 bytes per byte, for a shape of many dimensions or metadata of
	// many short strings (TestSafetensorsWorstCases).
	safetensorsBound = readbound.Bound{PerByte: 24, Fixed: 64 << 10}
	// The unpickler costs up to 64 bytes per pickle byte: a one-byte opcode can push a
	// 16-byte value that a later APPENDS keeps, and a list grows by doubling
	// (TestPickleWorstCases); 96 leaves room for how Go rounds allocations. The read buffer
	// and the first memo chunk, 4 KiB each, take the fixed part.
	pickleBound = readbound.Bound{PerByte: 96, Fixed: 32 << 10}
	// A whole checkpoint: its pickle as above, zip's directory and buffers in the fixed part.
	pytorchBound = readbound.Bound{PerByte: pickleBound.PerByte, Fixed: 192 << 10}
	// The tensor data of a checkpoint: its record is read (1 byte per byte), a U8 storage
	// widens to float32 (4) and copied views may hold twice that (8): 13 at most.
	pytorchDataBound = readbound.Bound{PerByte: 16, Fixed: 192 << 10}
	// An index and its shards: the shards as safetensors, the index as JSON.
	shardedBound = readbound.Bound{PerByte: 32, Fixed: 64 << 10}
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkSet checks what a reader returned: shapes that match the data, and no more elements
// than the file has bytes (the smallest dtype has one byte per element, and tensors sharing
// a storage share their data).
func checkSet(t *testing.T, s Set, fileSize int) {
	t.Helper()
	total := 0
	counted := make(map[*float32]bool)
	for name, tensor := range s {
		n, ok := numElements(tensor.Shape, math.MaxInt)
		if !ok || n != len(tensor.Data) || tensor.Name != name {
			t.Fatalf("tensor %s: shape %v with %d values", name, tensor.Shape, len(tensor.Data))
		}
		if n > 0 && !counted[&tensor.Data[0]] {
			counted[&tensor.Data[0]] = true
			total += n
		}
	}
	if total > fileSize {
		t.Fatalf("%d elements from a %d-byte file", total, fileSize)
	}
}

func FuzzReadSafetensors(f *testing.F) {
	f.Add(readFixture(f, "tiny.safetensors"))
	f.Add(buildSafetensors(`{"t":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"a":"b"}}`, []byte{1, 2, 3, 4}))
	f.Add(buildSafetensors(`{"t":{"dtype":"U8","shape":[2,2],"data_offsets":[0,4]},"u":{"dtype":"F64","shape":[],"data_offsets":[4,12]}}`, make([]byte, 12)))
	f.Add(buildSafetensors(`{"t":{"dtype":"F32","shape":[4294967296,1],"data_offsets":[0,4]}}`, f32Bytes(1)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Set
		var err error
		readbound.Check(t, len(b), safetensorsBound, func() { s, err = ReadSafetensorsBytes("fuzz.safetensors", b) })
		if err == nil {
			checkSet(t, s, len(b))
		}
	})
}

// FuzzReadPyTorch feeds whole files to the reader. The zip format's CRC-32 stops most
// mutations of a zip early, so FuzzReadPyTorchPickle mutates the pickle inside a valid
// zip; the legacy format has no checksum and is fuzzed here.
func FuzzReadPyTorch(f *testing.F) {
	f.Add(readFixture(f, "tiny_pytorch_model.bin"))
	f.Add(readFixture(f, "tiny_pytorch_legacy.bin"))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Set
		var err error
		readbound.Check(t, len(b), pytorchBound, func() { s, err = readPyTorch(bytes.NewReader(b), int64(len(b))) })
		if err == nil {
			checkSet(t, s, len(b))
		}
	})
}

// FuzzReadPyTorchPickle runs a fuzzed data.pkl inside a valid zip beside two storages: "0",
// 12 float32 values, and "1", 6 int64 values.
func FuzzReadPyTorchPickle(f *testing.F) {
	for _, proto := range slices.Sorted(maps.Keys(pythonStateDicts)) {
		f.Add([]byte(pythonStateDicts[proto]))
	}
	f.Add(fixtureRecord(f, "data.pkl"))
	storages := map[string][]byte{"0": iota12(), "1": make([]byte, 48)}
	f.Fuzz(func(t *testing.T, pkl []byte) {
		file := torchZip(t, pkl, storages)
		var s Set
		var err error
		readbound.Check(t, len(file), pytorchBound, func() { s, err = readPyTorch(bytes.NewReader(file), int64(len(file))) })
		if err == nil {
			checkSet(t, s, len(file))
		}
	})
}

// FuzzLoadSharded reads a fuzzed model.safetensors.index.json beside two shards.
func FuzzLoadSharded(f *testing.F) {
	f.Add([]byte(`{"metadata": {"total_size": 8}, "weight_map": {"a": "a.safetensors", "b": "b.safetensors"}}`))
	f.Add([]byte(`{"weight_map": {"a": "a.safetensors", "x": "a.safetensors"}}`))
	f.Add([]byte(`{"weight_map": {"a": "../a.safetensors"}}`))
	f.Add([]byte(`{"weight_map": {}}`))
	shards := fstest.MapFS{
		"a.safetensors": {Data: buildSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32Bytes(1))},
		"b.safetensors": {Data: buildSafetensors(`{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32Bytes(2))},
	}
	shardBytes := len(shards["a.safetensors"].Data) + len(shards["b.safetensors"].Data)
	f.Fuzz(func(t *testing.T, index []byte) {
		fsys := maps.Clone(shards)
		fsys["model.safetensors.index.json"] = &fstest.MapFile{Data: index}
		var s Set
		var err error
		readbound.Check(t, len(index)+shardBytes, shardedBound, func() { s, _, err = LoadFS(fsys) })
		if err == nil {
			checkSet(t, s, shardBytes)
		}
	})
}
