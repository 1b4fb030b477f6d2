package weights

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/internal/readbound"
)

// fixtureRecord returns the record of tiny_pytorch_model.bin whose name ends in /name.
func fixtureRecord(t testing.TB, name string) []byte {
	t.Helper()
	file := readFixture(t, "tiny_pytorch_model.bin")
	zr, err := zip.NewReader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/"+name) {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("fixture has no record %s", name)
	return nil
}

// TestFlippedLengthFailsFast is the attack of the issue: byte 156 of tiny_pytorch_model.bin
// is the top byte of the length of a BINUNICODE in data.pkl (byte 88 of the pickle, the
// string "storage"). Flipping it from 0x00 to 0xff declares 0xff000007 bytes, and the reader
// used to allocate 4 GB before failing with "unexpected EOF". As the file stands, the zip's
// CRC-32 catches the flip; with the CRC-32 recomputed, the unpickler refuses the length.
// Both inputs are also kept under testdata/fuzz as regression inputs of the fuzz targets.
func TestFlippedLengthFailsFast(t *testing.T) {
	flipped := readFixture(t, "tiny_pytorch_model.bin")
	if flipped[156] != 0 {
		t.Fatalf("byte 156 of the fixture is %#x, not the 0x00 of the issue", flipped[156])
	}
	flipped[156] = 0xff
	pkl := fixtureRecord(t, "data.pkl")
	pkl[92] = 0xff
	resealed := rewriteZip(t, func(name string, b []byte) []byte {
		if strings.HasSuffix(name, "/data.pkl") {
			return pkl
		}
		return b
	})
	for _, tc := range []struct {
		name    string
		file    []byte
		wantErr string
	}{
		{"as flipped", flipped, "record tiny_pytorch_model/data.pkl: zip: checksum error"},
		{"checksum recomputed", resealed, "record tiny_pytorch_model/data.pkl: pickle opcode BINUNICODE at byte 88: length 4278190087 runs past the end of the input (1168 bytes left)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			readbound.Check(t, len(tc.file), pytorchBound, func() { _, err = readPyTorch(bytes.NewReader(tc.file), int64(len(tc.file))) })
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// TestZipRecordBudget: records may not together hold more bytes than the file, so a
// deflated record cannot inflate into more memory than the file is big.
func TestZipRecordBudget(t *testing.T) {
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(bytes.Repeat([]byte("N0"), 1<<20))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	file := out.Bytes()
	var loadErr error
	readbound.Check(t, len(file), pytorchBound, func() { _, loadErr = readPyTorch(bytes.NewReader(file), int64(len(file))) })
	want := "record archive/data.pkl: record claims 2097152 bytes, more than the"
	if loadErr == nil || !strings.Contains(loadErr.Error(), want) {
		t.Errorf("got error %v, want it to contain %q", loadErr, want)
	}
}

// viewsPickle is a state dict of views of storage "0" (12 float32 values), each given as
// {offset, length} of a 1-D view with stride 1.
func viewsPickle(views ...[2]int) []byte {
	parts := []any{byte(0x80), byte(2), "}("}
	for i, v := range views {
		name := string(rune('a' + i))
		parts = append(parts, byte(0x8c), byte(len(name)), name,
			"ctorch._utils\n_rebuild_tensor_v2\n((", byte(0x8c), byte(7), "storage", "ctorch\nFloatStorage\n",
			byte(0x8c), byte(1), "0", byte(0x8c), byte(3), "cpu", "K\x0ctQ",
			"K", byte(v[0]), "K", byte(v[1]), byte(0x85), "K\x01", byte(0x85), byte(0x89), ")tR")
	}
	return pickleOf(append(parts, "u.")...)
}

// TestViewCopyBudget: views that are not their whole storage are copied out, and the copies
// may hold no more than twice the elements of the storages loaded, so a pickle repeating an
// overlapping view cannot multiply the memory a storage takes.
func TestViewCopyBudget(t *testing.T) {
	storages := map[string][]byte{"0": iota12()}
	ok := torchZip(t, viewsPickle([2]int{0, 6}, [2]int{6, 6}, [2]int{0, 12}), storages)
	s, err := readPyTorch(bytes.NewReader(ok), int64(len(ok)))
	if err != nil {
		t.Fatal(err)
	}
	if got := s["b"].Data; !slices.Equal(got, []float32{6, 7, 8, 9, 10, 11}) {
		t.Errorf("view b: %v", got)
	}

	var overlapping [][2]int
	for range 20 {
		overlapping = append(overlapping, [2]int{1, 11})
	}
	file := torchZip(t, viewsPickle(overlapping...), storages)
	readbound.Check(t, len(file), pytorchBound, func() { _, err = readPyTorch(bytes.NewReader(file), int64(len(file))) })
	want := "tensor c: views copy more elements out of their storages than the storages hold"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got error %v, want it to contain %q", err, want)
	}
}

// TestPickleWorstCases measures pickles built to make the most allocations per byte: every
// opcode that allocates, repeated, and state dicts that name one tensor many times or call
// _rebuild_tensor_v2 over and over. Each must stay within its bound.
func TestPickleWorstCases(t *testing.T) {
	const n = 64 << 10
	rep := strings.Repeat
	unpickled := []struct{ name, pickle string }{
		{"full stack", rep("N", maxStack) + "."},
		{"EMPTY_DICT", rep("}0", n/2) + "N."},
		{"EMPTY_LIST", rep("]0", n/2) + "N."},
		{"MARK", rep("(1", n/2) + "N."},
		{"TUPLE1", "N" + rep("\x85", n) + "."},
		{"TUPLE3", "N" + rep("22\x87", n/3) + "."},
		{"MEMOIZE", "N" + rep("\x94", n) + "."},
		{"DUP then LIST", rep("(N"+rep("2", 1000)+"l0", n/1004) + "N."},
		{"SETITEMS", "}" + rep("("+rep("NN", 1000)+"u", n/2002) + "."},
		{"APPENDS", "]" + rep("("+rep("N", 1000)+"e", n/1002) + "."},
		{"SHORT_BINUNICODE", rep("\x8c\x01a", n/3) + "."},
		{"BINFLOAT", rep("G\x00\x00\x00\x00\x00\x00\x00\x01", n/9) + "."},
		{"LONG1", rep("\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09", n/11) + "."},
		{"GLOBAL", rep("ccollections\nOrderedDict\n", n/25) + "."},
		{"OrderedDict calls", "ccollections\nOrderedDict\nq\x00)q\x01" + rep("h\x00h\x01R", n/5) + "."},
	}
	for _, tc := range unpickled {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			readbound.Check(t, len(tc.pickle), pickleBound, func() {
				u := unpickler{in: newPickleInput(strings.NewReader(tc.pickle), int64(len(tc.pickle))), global: torchClass}
				_, err = u.load()
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}

	// One _rebuild_tensor_v2 call, its arguments memoized as 0 and the tensor as 1, then a
	// state dict naming that tensor n/8 times, or n/40 more calls on the same arguments.
	call := string(viewsPickle([2]int{0, 12}))
	call = strings.Replace(call[:strings.Index(call, "R")+1], "}(\x8c\x01a", "", 1)
	call = strings.Replace(call, ")tR", ")tq\x00Rq\x01", 1)
	var names strings.Builder
	for i := range n / 8 {
		if i%1000 == 0 {
			names.WriteString("u(")
		}
		fmt.Fprintf(&names, "\x8c\x04%04xh\x01", i)
	}
	stateDicts := []struct{ name, pickle string }{
		{"one tensor, many names", call + "0}(" + names.String() + "u."},
		{"many calls", call + rep("ctorch._utils\n_rebuild_tensor_v2\nh\x00R0", n/40) + "}."},
	}
	for _, tc := range stateDicts {
		t.Run(tc.name, func(t *testing.T) {
			file := torchZip(t, []byte(tc.pickle), map[string][]byte{"0": iota12()})
			var err error
			readbound.Check(t, len(file), pytorchBound, func() { _, err = readPyTorch(bytes.NewReader(file), int64(len(file))) })
			if err != nil && !strings.Contains(err.Error(), "listed twice") {
				t.Fatal(err)
			}
		})
	}
}

// TestSafetensorsWorstCases measures headers built to cost the most per byte: many small
// tensors, a shape of many dimensions, metadata of many short strings, and U8 data, which
// widens fourfold.
func TestSafetensorsWorstCases(t *testing.T) {
	const n = 4096
	var many, meta strings.Builder
	many.WriteString("{")
	meta.WriteString(`{"__metadata__":{`)
	for i := range n {
		if i > 0 {
			many.WriteString(",")
			meta.WriteString(",")
		}
		fmt.Fprintf(&many, `"%x":{"dtype":"U8","shape":[1],"data_offsets":[%d,%d]}`, i, i, i+1)
		fmt.Fprintf(&meta, `"%x":""`, i)
	}
	many.WriteString("}")
	meta.WriteString("}}")
	files := map[string][]byte{
		"many tensors":    buildSafetensors(many.String(), make([]byte, n)),
		"many dimensions": buildSafetensors(`{"t":{"dtype":"U8","shape":[`+strings.Repeat("1,", 16*n)+`1],"data_offsets":[0,1]}}`, []byte{1}),
		"metadata":        buildSafetensors(meta.String(), nil),
		"U8 data":         buildSafetensors(`{"t":{"dtype":"U8","shape":[1048576],"data_offsets":[0,1048576]}}`, make([]byte, 1<<20)),
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		t.Run(name, func(t *testing.T) {
			b := files[name]
			var err error
			readbound.Check(t, len(b), safetensorsBound, func() { _, err = ReadSafetensorsBytes(name, b) })
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReadPyTorchDataBound: the tensor data of a checkpoint costs its record (1 byte per
// byte), its widening to float32 (4 bytes per element) and the copies of views (up to
// twice that). The worst case is a U8 storage viewed whole and copied twice over.
func TestReadPyTorchDataBound(t *testing.T) {
	const n = 1 << 20
	pkl := strings.NewReplacer("FloatStorage", "ByteStorage", "K\x0c", "J\x00\x00\x10\x00").Replace(
		string(viewsPickle([2]int{0, 0}, [2]int{0, 0}, [2]int{0, 0})))
	// Views: the whole storage, and two copies of all but its first element.
	pkl = strings.Replace(pkl, "K\x00K\x00\x85", "K\x00J\x00\x00\x10\x00\x85", 1)
	pkl = strings.ReplaceAll(pkl, "K\x00K\x00\x85", "K\x01J\xff\xff\x0f\x00\x85")
	file := torchZip(t, []byte(pkl), map[string][]byte{"0": make([]byte, n)})
	var s Set
	var err error
	readbound.Check(t, len(file), pytorchDataBound, func() { s, err = readPyTorch(bytes.NewReader(file), int64(len(file))) })
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 3 || len(s["a"].Data) != n || len(s["c"].Data) != n-1 {
		t.Errorf("got tensors %v", s.Names())
	}
}

// TestShardedManyShards: an index naming many shards fails at the first missing one, in time
// linear in the index (the shard list was once built with a search per name: quadratic).
func TestShardedManyShards(t *testing.T) {
	n := 100000 // a quadratic loader took seconds on these
	if runtime.GOARCH == "wasm" {
		n = 10000 // several times slower: the time limit is not the point there
	}
	var index strings.Builder
	index.WriteString(`{"weight_map": {`)
	for i := range n {
		fmt.Fprintf(&index, `%s"t%d": "s%d.safetensors"`, map[bool]string{true: "", false: ", "}[i == 0], i, i)
	}
	index.WriteString("}}")
	fsys := fstest.MapFS{"model.safetensors.index.json": {Data: []byte(index.String())}}
	var err error
	readbound.Check(t, index.Len(), shardedBound, func() { _, _, err = LoadFS(fsys) })
	if err == nil || !strings.Contains(err.Error(), "s0.safetensors") {
		t.Errorf("got error %v, want one naming the first shard", err)
	}
}
