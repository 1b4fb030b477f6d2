package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/internal/readbound"
)

// pythonStateDicts are the data.pkl that torch.save writes for one state dict with pickle
// protocols 1, 2, 4 and 5 (torch's default is 2): a 3×4 tensor "w" over storage "0" of 12
// floats, "tied" (the same tensor again), "wt" (its transpose), "row" (its second row), and
// the _metadata attribute that nn.Module.state_dict() sets. They were written by Python
// 3.11's pickle with stand-ins for torch's classes that carry torch's names:
//
//	class Tensor:  # what torch.Tensor.__reduce_ex__ returns for a CPU tensor
//	    def __reduce_ex__(self, proto): return (_rebuild_tensor_v2, self.args)
//	    ...       # args = (storage, offset, size, stride, False, OrderedDict())
//	class Pickler(pickle.Pickler):
//	    def persistent_id(self, obj):  # torch.save's
//	        if isinstance(obj, Storage): return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
//	sd = OrderedDict(w=w, tied=w, wt=Tensor(st, 0, (4, 3), (1, 4)), row=Tensor(st, 4, (4,), (1,)))
//	sd._metadata = OrderedDict([("", {"version": 1})])
//	Pickler(f, protocol=proto).dump(sd)
var pythonStateDicts = map[int]string{
	1: "ccollections\nOrderedDict\nq\x00)Rq\x01(X\x01\x00\x00\x00wq\x02ctorch._utils\n_rebuild_tensor_v2\nq\x03((X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x0ctq\x08QK\x00(K\x03K\x04tq\t(K\x04K\x01tq\nI00\nh\x00)Rq\x0btq\x0cRq\x0dX\x04\x00\x00\x00tiedq\x0eh\x0dX\x02\x00\x00\x00wtq\x0fh\x03((h\x04h\x05h\x06h\x07K\x0ctq\x10QK\x00(K\x04K\x03tq\x11(K\x01K\x04tq\x12I00\nh\x00)Rq\x13tq\x14Rq\x15X\x03\x00\x00\x00rowq\x16h\x03((h\x04h\x05h\x06h\x07K\x0ctq\x17QK\x04(K\x04tq\x18(K\x01tq\x19I00\nh\x00)Rq\x1atq\x1bRq\x1cu}q\x1dX\t\x00\x00\x00_metadataq\x1eh\x00)Rq\x1fX\x00\x00\x00\x00q }q!X\x07\x00\x00\x00versionq\"K\x01sssb.",
	2: "\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(X\x01\x00\x00\x00wq\x02ctorch._utils\n_rebuild_tensor_v2\nq\x03((X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x0ctq\x08QK\x00K\x03K\x04\x86q\tK\x04K\x01\x86q\n\x89h\x00)Rq\x0btq\x0cRq\x0dX\x04\x00\x00\x00tiedq\x0eh\x0dX\x02\x00\x00\x00wtq\x0fh\x03((h\x04h\x05h\x06h\x07K\x0ctq\x10QK\x00K\x04K\x03\x86q\x11K\x01K\x04\x86q\x12\x89h\x00)Rq\x13tq\x14Rq\x15X\x03\x00\x00\x00rowq\x16h\x03((h\x04h\x05h\x06h\x07K\x0ctq\x17QK\x04K\x04\x85q\x18K\x01\x85q\x19\x89h\x00)Rq\x1atq\x1bRq\x1cu}q\x1dX\t\x00\x00\x00_metadataq\x1eh\x00)Rq\x1fX\x00\x00\x00\x00q }q!X\x07\x00\x00\x00versionq\"K\x01sssb.",
	4: "\x80\x04\x95$\x01\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94(\x8c\x01w\x94\x8c\x0ctorch._utils\x94\x8c\x12_rebuild_tensor_v2\x94\x93\x94((\x8c\x07storage\x94\x8c\x05torch\x94\x8c\x0cFloatStorage\x94\x93\x94\x8c\x010\x94\x8c\x03cpu\x94K\x0ct\x94QK\x00K\x03K\x04\x86\x94K\x04K\x01\x86\x94\x89h\x02)R\x94t\x94R\x94\x8c\x04tied\x94h\x13\x8c\x02wt\x94h\x07((h\x08h\x0bh\x0ch\x0dK\x0ct\x94QK\x00K\x04K\x03\x86\x94K\x01K\x04\x86\x94\x89h\x02)R\x94t\x94R\x94\x8c\x03row\x94h\x07((h\x08h\x0bh\x0ch\x0dK\x0ct\x94QK\x04K\x04\x85\x94K\x01\x85\x94\x89h\x02)R\x94t\x94R\x94u}\x94\x8c\t_metadata\x94h\x02)R\x94\x8c\x00\x94}\x94\x8c\x07version\x94K\x01sssb.",
	5: "\x80\x05\x95$\x01\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94(\x8c\x01w\x94\x8c\x0ctorch._utils\x94\x8c\x12_rebuild_tensor_v2\x94\x93\x94((\x8c\x07storage\x94\x8c\x05torch\x94\x8c\x0cFloatStorage\x94\x93\x94\x8c\x010\x94\x8c\x03cpu\x94K\x0ct\x94QK\x00K\x03K\x04\x86\x94K\x04K\x01\x86\x94\x89h\x02)R\x94t\x94R\x94\x8c\x04tied\x94h\x13\x8c\x02wt\x94h\x07((h\x08h\x0bh\x0ch\x0dK\x0ct\x94QK\x00K\x04K\x03\x86\x94K\x01K\x04\x86\x94\x89h\x02)R\x94t\x94R\x94\x8c\x03row\x94h\x07((h\x08h\x0bh\x0ch\x0dK\x0ct\x94QK\x04K\x04\x85\x94K\x01\x85\x94\x89h\x02)R\x94t\x94R\x94u}\x94\x8c\t_metadata\x94h\x02)R\x94\x8c\x00\x94}\x94\x8c\x07version\x94K\x01sssb.",
}

// torchZip lays out a torch ≥ 1.6 checkpoint: data.pkl, byteorder and one record per storage.
func torchZip(t testing.TB, pkl []byte, storages map[string][]byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	add := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/" + name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	add("data.pkl", pkl)
	add("byteorder", []byte("little"))
	for _, key := range slices.Sorted(maps.Keys(storages)) {
		add("data/"+key, storages[key])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func iota12() []byte {
	var b []byte
	for i := range 12 {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(i)))
	}
	return b
}

func TestReadPyTorchPickleProtocols(t *testing.T) {
	want := map[string]struct {
		shape []int
		data  []float32
	}{
		"w":    {[]int{3, 4}, []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		"tied": {[]int{3, 4}, []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		"wt":   {[]int{4, 3}, []float32{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}},
		"row":  {[]int{4}, []float32{4, 5, 6, 7}},
	}
	for _, proto := range slices.Sorted(maps.Keys(pythonStateDicts)) {
		file := torchZip(t, []byte(pythonStateDicts[proto]), map[string][]byte{"0": iota12()})
		s, err := readPyTorch(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			t.Fatalf("protocol %d: %v", proto, err)
		}
		if len(s) != len(want) {
			t.Errorf("protocol %d: tensors %v, want %d", proto, s.Names(), len(want))
		}
		for name, w := range want {
			got, err := s.Get(name, w.shape...)
			if err != nil {
				t.Errorf("protocol %d: %v", proto, err)
				continue
			}
			if !slices.Equal(got.Data, w.data) {
				t.Errorf("protocol %d: tensor %s: %v, want %v", proto, name, got.Data, w.data)
			}
		}
		if &s["w"].Data[0] != &s["tied"].Data[0] {
			t.Errorf("protocol %d: tied tensors do not share their data", proto)
		}
	}
}

// pickleOf assembles a pickle from opcodes and their arguments.
func pickleOf(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case byte:
			b = append(b, p)
		case string:
			b = append(b, p...)
		case uint32:
			b = binary.LittleEndian.AppendUint32(b, p)
		case uint64:
			b = binary.LittleEndian.AppendUint64(b, p)
		default:
			panic(p)
		}
	}
	return b
}

// TestUnpicklerRefuses runs forged pickles through the unpickler: each must fail with the
// opcode and its offset named, and without allocating what the pickle declares.
func TestUnpicklerRefuses(t *testing.T) {
	const huge = 0xff000007 // the length of the one-byte-flipped BINUNICODE of the issue
	tests := []struct {
		name    string
		pickle  []byte
		wantErr string
	}{
		{"BINUNICODE length", pickleOf(byte(0x80), byte(2), "X", uint32(huge), "abc"), "pickle opcode BINUNICODE at byte 2: length 4278190087 runs past the end of the input (3 bytes left)"},
		{"BINBYTES length", pickleOf("B", uint32(huge)), "BINBYTES at byte 0: length 4278190087 runs past the end"},
		{"BINSTRING negative", pickleOf("T", uint32(0x80000000)), "BINSTRING at byte 0: negative length"},
		{"SHORT_BINUNICODE length", pickleOf(byte(0x8c), byte(200), "ab"), "SHORT_BINUNICODE at byte 0: length 200 runs past the end of the input (2 bytes left)"},
		{"BINUNICODE8 length", pickleOf(byte(0x8d), uint64(math.MaxUint64)), "BINUNICODE8 at byte 0: length 18446744073709551615 runs past the end"},
		{"BINBYTES8 length", pickleOf(byte(0x8e), uint64(1<<40)), "BINBYTES8 at byte 0: length 1099511627776 runs past the end"},
		{"BYTEARRAY8 length", pickleOf(byte(0x96), uint64(1<<40)), "BYTEARRAY8 at byte 0: length 1099511627776 runs past the end"},
		{"FRAME length", pickleOf(byte(0x80), byte(4), byte(0x95), uint64(1<<40), "N."), "FRAME at byte 2: frame of 1099511627776 bytes runs past the end of the input (2 bytes left)"},
		{"LONG4 length", pickleOf(byte(0x8b), uint32(huge)), "LONG4 at byte 0: negative length"},
		{"LONG4 too long", pickleOf(byte(0x8b), uint32(1000), strings.Repeat("\x01", 1000)), "LONG4 at byte 0: integer of 1000 bytes, at most 64 expected"},
		{"LONG text too long", pickleOf("L", strings.Repeat("9", 500), "L\n"), "LONG at byte 0: integer of 500 digits, at most 192 expected"},
		{"line too long", pickleOf("c", strings.Repeat("m", 5000), "\n"), "GLOBAL at byte 0: text argument longer than 1024 bytes"},
		{"line unterminated", pickleOf("ctorch"), "pickle opcode GLOBAL at byte 0: input ends before the pickle's STOP opcode"},
		{"no STOP", pickleOf(byte(0x80), byte(2), "N"), "pickle byte 3: input ends before the pickle's STOP opcode"},
		{"protocol", pickleOf(byte(0x80), byte(6)), "PROTO at byte 0: protocol 6 is newer than 5"},
		{"empty stack", pickleOf("."), "STOP at byte 0: stack is empty"},
		{"pop past MARK", pickleOf("N(", byte(0x85)), "TUPLE1 at byte 2: stack is empty"},
		{"no MARK", pickleOf("t"), "TUPLE at byte 0: no MARK"},
		{"memo not set", pickleOf("h", byte(3)), "BINGET at byte 0: memo index 3 is not set"},
		{"memo skips", pickleOf("N", "r", uint32(huge)), "LONG_BINPUT at byte 1: memo index 4278190087 skips ahead of the 0 entries so far"},
		{"odd SETITEMS", pickleOf("}(N", "u"), "SETITEMS at byte 3: 1 items for a dict"},
		{"SETITEMS on a list", pickleOf("](NN", "u"), "SETITEMS at byte 4: sets items of a list, not a dict"},
		{"APPENDS on a dict", pickleOf("}(N", "e"), "APPENDS at byte 3: appends to a dict, not a list"},
		{"REDUCE on data", pickleOf("N)R"), "REDUCE at byte 2: applies None to a 0-tuple"},
		{"BUILD on a list", pickleOf("]}b"), "BUILD at byte 2: sets the state of a list"},
		{"unknown class", pickleOf("cos\nsystem\n"), "GLOBAL at byte 0: unsupported pickled class os.system"},
		{"persistent id", pickleOf("NQ"), "BINPERSID at byte 1: persistent id in a pickle that may not have one"},
		{"NEWOBJ_EX", pickleOf("NNN", byte(0x92)), "NEWOBJ_EX at byte 3: not used by torch.save state dicts"},
		{"EXT4", pickleOf(byte(0x84), uint32(7)), "EXT4 at byte 0: not used by torch.save state dicts"},
		{"INST", pickleOf("(icollections\nOrderedDict\n"), "INST at byte 1: not used by torch.save state dicts"},
		{"unknown opcode", pickleOf("N", byte(0xff)), "pickle opcode 0xff at byte 1: unknown opcode"},
		{"nested _rebuild_from_type_v2", pickleOf("ctorch._tensor\n_rebuild_from_type_v2\nq\x00ctorch\nTensor\nq\x01",
			"h\x00(h\x00h\x01(h\x00h\x01)NtNtR"), "REDUCE at byte 72: _rebuild_from_type_v2: arguments are torch._tensor._rebuild_from_type_v2"},
		{"rank", pickleOf("ctorch._utils\n_rebuild_tensor_v2\n(NK\x00(", strings.Repeat("K\x01", 40), "t)tR"),
			"REDUCE at byte 121: _rebuild_tensor_v2: arguments are None, an int, a 40-tuple, a 0-tuple; want a storage, an offset and two tuples of at most 32 ints"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			readbound.Check(t, len(tc.pickle), pickleBound, func() {
				u := unpickler{in: newPickleInput(bytes.NewReader(tc.pickle), int64(len(tc.pickle))), global: torchClass}
				_, err = u.load()
			})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestUnpicklerValues(t *testing.T) {
	tests := []struct {
		name   string
		pickle []byte
		want   any
	}{
		{"LONG1 negative", pickleOf(byte(0x8a), byte(2), "\x00\xff."), -256},
		{"LONG1 zero", pickleOf(byte(0x8a), byte(0), "."), 0},
		{"LONG1 int64 min", pickleOf(byte(0x8a), byte(8), "\x00\x00\x00\x00\x00\x00\x00\x80."), math.MinInt64},
		{"BININT negative", pickleOf("J", uint32(0xfffffffe), "."), -2},
		{"BININT2", pickleOf("M\x01\x02."), 0x0201},
		{"INT bool", pickleOf("I01\n."), true},
		{"INT", pickleOf("I-12\n."), -12},
		{"LONG text", pickleOf("L123L\n."), 123},
		{"FLOAT", pickleOf("F0.5\n."), 0.5},
		{"BINFLOAT", pickleOf("G?\xe0\x00\x00\x00\x00\x00\x00."), 0.5},
		{"DUP TUPLE2", pickleOf("K\x012", byte(0x86), "."), pyTuple{1, 1}},
		{"MEMOIZE and GET", pickleOf(byte(0x8c), byte(1), "a", byte(0x94), "0g0\n."), "a"},
		{"POP a MARK", pickleOf("K\x01(0."), 1},
		{"SHORT_BINBYTES", pickleOf("C\x02hi."), []byte("hi")},
	}
	for _, tc := range tests {
		u := unpickler{in: newPickleInput(bytes.NewReader(tc.pickle), int64(len(tc.pickle))), global: torchClass}
		got, err := u.load()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.name, got, tc.want)
		}
	}
}
