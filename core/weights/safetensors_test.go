package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// buildSafetensors assembles a file from a header and data bytes, so tests can forge any header.
func buildSafetensors(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func f32Bytes(values ...float32) []byte {
	var b []byte
	for _, v := range values {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func TestReadSafetensorsErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(fixtureDir, "tiny.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	withNaN := f32Bytes(0, 1, 2, 3, 4, 5)
	binary.LittleEndian.PutUint32(withNaN[4*5:], math.Float32bits(float32(math.NaN())))
	const w = `"encoder.layer.0.attention.self.query.weight"`

	tests := []struct {
		name    string
		file    []byte
		wantErr string
	}{
		{"empty", nil, "model.safetensors: file is 0 bytes, too short"},
		{"truncated data", good[:len(good)-10], "out of range of the"},
		{"header length past end", binary.LittleEndian.AppendUint64(nil, 1<<40), "header length 1099511627776 runs past the end of the file (8 bytes)"},
		{"header length overflows", append(binary.LittleEndian.AppendUint64(nil, math.MaxUint64), '{', '}'), "runs past the end"},
		{"flipped header", func() []byte { b := slices.Clone(good); b[8] = 'x'; return b }(), "model.safetensors: header: invalid character"},
		{"metadata not strings", buildSafetensors(`{"__metadata__":{"a":1}}`, nil), "field __metadata__"},
		{"unknown dtype", buildSafetensors(`{"t":{"dtype":"Q32","shape":[1],"data_offsets":[0,4]}}`, f32Bytes(1)), `tensor t: unknown dtype "Q32"`},
		{"offsets count", buildSafetensors(`{"t":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, f32Bytes(1)), "data_offsets has 1 values"},
		{"offsets reversed", buildSafetensors(`{"t":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, f32Bytes(1)), "data_offsets [4, 0] out of range"},
		{"offsets past data", buildSafetensors(`{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32Bytes(1)), "data_offsets [0, 8] out of range of the 4 data bytes"},
		{"overlap", buildSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32Bytes(1, 2, 3)), "tensor b: data_offsets [4, 12] overlap tensor a [0, 8]"},
		{"shape mismatch", buildSafetensors(`{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, f32Bytes(1, 2)), "tensor t: shape [3] of F32 needs 12 bytes, data_offsets give 8"},
		{"huge shape", buildSafetensors(`{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, f32Bytes(1, 2)), "is larger than the file"},
		{"negative dim", buildSafetensors(`{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, f32Bytes(1, 2)), "is larger than the file"},
		{"NaN", buildSafetensors(`{`+w+`:{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}`, withNaN), "model.safetensors: tensor encoder.layer.0.attention.self.query.weight: contains NaN at index 5"},
		{"Inf in F16", buildSafetensors(`{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, []byte{0, 0x3c, 0, 0xfc}), "tensor h: contains -Inf at index 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadSafetensorsBytes("model.safetensors", tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestWriteSafetensorsRoundTrip(t *testing.T) {
	tensors := []*Tensor{
		{Name: "encoder.layer.0.output.dense.weight", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 0, float32(math.SmallestNonzeroFloat32), math.MaxFloat32}},
		{Name: "scalar", Shape: []int{}, Data: []float32{7}},
		{Name: "empty", Shape: []int{0, 4}, Data: []float32{}},
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, tensors, map[string]string{"format": "pt", "step": "12"}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if headerLen := binary.LittleEndian.Uint64(b); headerLen%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", headerLen)
	}
	s, err := ReadSafetensorsBytes("model.safetensors", b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range tensors {
		got, err := s.Get(want.Name, want.Shape...)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Data, want.Data) {
			t.Errorf("tensor %s: got %v, want %v", want.Name, got.Data, want.Data)
		}
	}
}

func TestWriteSafetensorsErrors(t *testing.T) {
	tests := []struct {
		name    string
		tensors []*Tensor
		wantErr string
	}{
		{"shape mismatch", []*Tensor{{Name: "a", Shape: []int{3}, Data: []float32{1}}}, "tensor a: shape [3] does not match 1 values"},
		{"duplicate", []*Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{1}}}, "tensor a: listed twice"},
		{"reserved name", []*Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}, "reserved or empty"},
		{"NaN", []*Tensor{{Name: "a", Shape: []int{2}, Data: []float32{1, float32(math.NaN())}}}, "tensor a: contains NaN at index 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteSafetensors(&buf, tc.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got error %v, want it to contain %q", err, tc.wantErr)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes were written despite the error", buf.Len())
			}
		})
	}
}

// rewriteZip copies the fixture's zip records, letting edit replace or drop (nil) any of them.
func rewriteZip(t *testing.T, edit func(name string, data []byte) []byte) []byte {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join(fixtureDir, "tiny_pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if data = edit(f.Name, data); data == nil {
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestReadPyTorchErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(fixtureDir, "tiny_pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := os.ReadFile(filepath.Join(fixtureDir, "tiny_pytorch_legacy.bin"))
	if err != nil {
		t.Fatal(err)
	}
	isData0 := func(name string) bool { return strings.HasSuffix(name, "/data/0") }
	isPickle := func(name string) bool { return strings.HasSuffix(name, "/data.pkl") }
	const word = "bert.embeddings.word_embeddings.weight"

	tests := []struct {
		name    string
		file    []byte
		wantErr string
	}{
		{"empty", nil, "too short for a pytorch checkpoint"},
		{"not torch", []byte("hello world"), "not a torch.save file"},
		{"truncated zip", good[:len(good)/2], "open zip"},
		{"truncated legacy", legacy[:len(legacy)-20], "legacy format: storage"},
		{"missing storage", rewriteZip(t, func(name string, b []byte) []byte {
			if isData0(name) {
				return nil
			}
			return b
		}), "tensor " + word + ": storage 0: record tiny_pytorch_model/data/0 missing"},
		{"short storage", rewriteZip(t, func(name string, b []byte) []byte {
			if isData0(name) {
				return b[:8]
			}
			return b
		}), "storage 0: record tiny_pytorch_model/data/0 holds 8 bytes, want 320"},
		{"NaN", rewriteZip(t, func(name string, b []byte) []byte {
			if isData0(name) {
				b = slices.Clone(b)
				binary.LittleEndian.PutUint32(b[4*17:], math.Float32bits(float32(math.NaN())))
			}
			return b
		}), "tensor " + word + ": contains NaN at index 17"},
		{"unknown class", rewriteZip(t, func(name string, b []byte) []byte {
			if isPickle(name) {
				return bytes.Replace(b, []byte("torch\nFloatStorage"), []byte("torch\nFloatStoragX"), 1)
			}
			return b
		}), "unsupported pickled class torch.FloatStoragX"},
		{"truncated pickle", rewriteZip(t, func(name string, b []byte) []byte {
			if isPickle(name) {
				return b[:len(b)/2]
			}
			return b
		}), "data.pkl"},
		{"no pickle", rewriteZip(t, func(name string, b []byte) []byte {
			if isPickle(name) {
				return nil
			}
			return b
		}), "no <root>/data.pkl record"},
		{"big endian", rewriteZip(t, func(name string, b []byte) []byte {
			if strings.HasSuffix(name, "/byteorder") {
				return []byte("big")
			}
			return b
		}), `byte order "big" is not supported`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pytorch_model.bin")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadPyTorch(path)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("got error %v, want it to contain %q and the path", err, tc.wantErr)
			}
		})
	}
}

// TestTensorRefCheck covers forged views that a real torch.save never writes.
func TestTensorRefCheck(t *testing.T) {
	st := &storageRef{key: "0", dtype: dtypes["F32"], numel: 12}
	tests := []struct {
		name   string
		view   tensorRef
		wantOK bool
	}{
		{"whole", tensorRef{st, 0, []int{3, 4}, []int{4, 1}}, true},
		{"transposed", tensorRef{st, 0, []int{4, 3}, []int{1, 4}}, true},
		{"column", tensorRef{st, 1, []int{3}, []int{4}}, true},
		{"scalar at end", tensorRef{st, 11, []int{}, []int{}}, true},
		{"empty far away", tensorRef{st, 0, []int{0, 5}, []int{5, 1}}, true},
		{"offset past end", tensorRef{st, 12, []int{}, []int{}}, false},
		{"negative offset", tensorRef{st, -1, []int{1}, []int{1}}, false},
		{"too many elements", tensorRef{st, 0, []int{13}, []int{1}}, false},
		{"stride past end", tensorRef{st, 0, []int{2}, []int{12}}, false},
		{"negative stride", tensorRef{st, 11, []int{2}, []int{-1}}, false},
		{"overflowing stride", tensorRef{st, 0, []int{2, 2}, []int{math.MaxInt / 2, 1}}, false},
		{"rank mismatch", tensorRef{st, 0, []int{2, 2}, []int{1}}, false},
	}
	for _, tc := range tests {
		if err := tc.view.check(); (err == nil) != tc.wantOK {
			t.Errorf("%s: check() = %v, want ok=%v", tc.name, err, tc.wantOK)
		}
	}
}
