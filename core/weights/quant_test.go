package weights

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestQuantizeInt8(t *testing.T) {
	src := &Tensor{Name: "w", Shape: []int{3, 4}, Data: []float32{
		1.27, -0.635, 0, 0.01,
		0, 0, 0, 0,
		-3, 1.5, 0.75, 3,
	}}
	q, err := QuantizeInt8(src)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int8{127, -64, 0, 1, 0, 0, 0, 0, -127, 64, 32, 127}; !slices.Equal(q.Data, want) {
		t.Errorf("data %v, want %v", q.Data, want) // ±63.5 round to even
	}
	if want := []float32{float32(1.27) / 127, 0, 3.0 / 127}; !slices.Equal(q.Scale, want) {
		t.Errorf("scales %v, want %v", q.Scale, want)
	}

	r := rand.New(rand.NewPCG(1, 2))
	big := &Tensor{Name: "big", Shape: []int{50, 384}, Data: make([]float32, 50*384)}
	for i := range big.Data {
		big.Data[i] = float32(r.NormFloat64())
	}
	if q, err = QuantizeInt8(big); err != nil {
		t.Fatal(err)
	}
	back := q.Dequantize()
	for i, v := range big.Data {
		if d := math.Abs(float64(v - back.Data[i])); d > 0.5001*float64(q.Scale[i/384]) {
			t.Fatalf("entry %d: %g comes back as %g (step %g)", i, v, back.Data[i], q.Scale[i/384])
		}
	}
	if _, err := QuantizeInt8(&Tensor{Name: "s", Shape: []int{}, Data: []float32{1}}); err == nil {
		t.Error("a scalar was quantised")
	}
}

func int8Fixture(t *testing.T) []byte {
	t.Helper()
	ints := []*Int8Tensor{
		{Name: "a.weight", Shape: []int{2, 3}, Data: []int8{1, -2, 3, 127, -127, 0}, Scale: []float32{0.5, 0.25}},
		{Name: "emb", Shape: []int{3}, Data: []int8{5, 6, 7}, Scale: []float32{1, 2, 3}},
	}
	floats := []*Tensor{{Name: "a.bias", Shape: []int{2}, Data: []float32{0.1, -0.2}}, {Name: "s", Shape: []int{}, Data: []float32{4}}}
	var buf bytes.Buffer
	if err := WriteInt8Safetensors(&buf, ints, floats, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestInt8SafetensorsRoundTrip(t *testing.T) {
	file := int8Fixture(t)
	ints, floats, meta, err := ReadInt8SafetensorsBytes("m.safetensors", file)
	if err != nil {
		t.Fatal(err)
	}
	if meta["k"] != "v" || len(ints) != 2 || len(floats) != 2 {
		t.Fatalf("metadata %v, %d int8 and %d float tensors", meta, len(ints), len(floats))
	}
	a := ints["a.weight"]
	if !slices.Equal(a.Shape, []int{2, 3}) || !slices.Equal(a.Data, []int8{1, -2, 3, 127, -127, 0}) || !slices.Equal(a.Scale, []float32{0.5, 0.25}) {
		t.Errorf("a.weight: %+v", a)
	}
	if e := ints["emb"]; !slices.Equal(e.Data, []int8{5, 6, 7}) || !slices.Equal(e.Scale, []float32{1, 2, 3}) {
		t.Errorf("emb: %+v", e)
	}
	if b := floats["a.bias"]; !slices.Equal(b.Data, []float32{0.1, -0.2}) {
		t.Errorf("a.bias: %+v", b)
	}
	if s := floats["s"]; len(s.Shape) != 0 || s.Shape == nil || !slices.Equal(s.Data, []float32{4}) {
		t.Errorf("s: %+v", s)
	}
	// The int8 data is read in place, not copied.
	p, base := uintptr(unsafe.Pointer(&a.Data[0])), uintptr(unsafe.Pointer(&file[0]))
	if p < base || p >= base+uintptr(len(file)) {
		t.Error("int8 data was copied out of the file")
	}
	// The standard float reader reads the same file, I8 widened to float32.
	set, err := ReadSafetensorsBytes("m.safetensors", file)
	if err != nil {
		t.Fatal(err)
	}
	if w := set["a.weight"]; !slices.Equal(w.Data, []float32{1, -2, 3, 127, -127, 0}) || len(set["a.weight.scale"].Data) != 2 {
		t.Errorf("float reader: %+v", w)
	}
}

func TestReadInt8SafetensorsErrors(t *testing.T) {
	i8 := func(name string, shape string, begin, end int) string {
		return `"` + name + `":{"dtype":"I8","shape":` + shape + `,"data_offsets":[` + strconv.Itoa(begin) + `,` + strconv.Itoa(end) + `]}`
	}
	f32 := func(name string, shape string, begin, end int) string {
		return `"` + name + `":{"dtype":"F32","shape":` + shape + `,"data_offsets":[` + strconv.Itoa(begin) + `,` + strconv.Itoa(end) + `]}`
	}
	scale := f32Bytes(0.5, 0.25)
	tests := []struct {
		name    string
		file    []byte
		wantErr string
	}{
		{"empty", nil, "q.safetensors: file is 0 bytes"},
		{"truncated", int8Fixture(t)[:60], "runs past the end"},
		{"no scales", buildSafetensors(`{`+i8("w", "[2,2]", 0, 4)+`}`, []byte{1, 2, 3, 4}), "tensor w: I8 without its scales w.scale"},
		{"scales only", buildSafetensors(`{`+f32("w.scale", "[2]", 0, 8)+`}`, scale), "tensor w.scale: scales without an I8 tensor w"},
		{"scale shape", buildSafetensors(`{`+i8("w", "[2,2]", 0, 4)+`,`+f32("w.scale", "[1]", 4, 8)+`}`, append([]byte{1, 2, 3, 4}, f32Bytes(1)...)), "tensor w.scale: shape [1], want [2]"},
		{"negative scale", buildSafetensors(`{`+i8("w", "[2,2]", 0, 4)+`,`+f32("w.scale", "[2]", 4, 12)+`}`, append([]byte{1, 2, 3, 4}, f32Bytes(1, -1)...)), "tensor w.scale: scale -1 at index 1 is negative"},
		{"NaN scale", buildSafetensors(`{`+i8("w", "[2,2]", 0, 4)+`,`+f32("w.scale", "[2]", 4, 12)+`}`, append([]byte{1, 2, 3, 4}, f32Bytes(1, float32(math.NaN()))...)), "tensor w.scale: contains NaN"},
		{"minus 128", buildSafetensors(`{`+i8("w", "[2,2]", 0, 4)+`,`+f32("w.scale", "[2]", 4, 12)+`}`, append([]byte{1, 2, 0x80, 4}, scale...)), "tensor w: entry -128 at index 2"},
		{"scalar I8", buildSafetensors(`{`+i8("w", "[]", 0, 1)+`}`, []byte{1}), "tensor w: an I8 tensor needs at least one dimension"},
		{"I32", buildSafetensors(`{"w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}`, []byte{1, 0, 0, 0}), `tensor w: dtype "I32"`},
		{"shape too big", buildSafetensors(`{`+i8("w", "[1000000,1000000]", 0, 4)+`}`, []byte{1, 2, 3, 4}), "tensor w: shape [1000000 1000000] of I8 is larger than the file"},
		{"shape mismatch", buildSafetensors(`{`+i8("w", "[3]", 0, 4)+`}`, []byte{1, 2, 3, 4}), "tensor w: shape [3] of I8 needs 3 bytes, data_offsets give 4"},
		{"overlap", buildSafetensors(`{`+i8("w", "[2,2]", 0, 4)+`,`+f32("w.scale", "[2]", 2, 10)+`}`, append([]byte{1, 2, 3, 4}, scale...)), "tensor w.scale: data_offsets [2, 10] overlap tensor w [0, 4]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := ReadInt8SafetensorsBytes("q.safetensors", tt.file)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestWriteInt8SafetensorsErrors(t *testing.T) {
	var buf bytes.Buffer
	bad := []*Int8Tensor{{Name: "w", Shape: []int{2, 2}, Data: []int8{1, 2, 3, -128}, Scale: []float32{1, 1}}}
	if err := WriteInt8Safetensors(&buf, bad, nil, nil); err == nil || !strings.Contains(err.Error(), "tensor w: entry -128") {
		t.Errorf("-128: %v", err)
	}
	bad = []*Int8Tensor{{Name: "w", Shape: []int{2, 2}, Data: []int8{1, 2, 3, 4}, Scale: []float32{1}}}
	if err := WriteInt8Safetensors(&buf, bad, nil, nil); err == nil || !strings.Contains(err.Error(), "tensor w: shape [2 2] does not match 4 values and 1 scales") {
		t.Errorf("scales: %v", err)
	}
	dup := []*Tensor{{Name: "w.scale", Shape: []int{1}, Data: []float32{1}}}
	bad = []*Int8Tensor{{Name: "w", Shape: []int{1}, Data: []int8{1}, Scale: []float32{1}}}
	if err := WriteInt8Safetensors(&buf, bad, dup, nil); err == nil || !strings.Contains(err.Error(), "tensor w.scale: listed twice") {
		t.Errorf("duplicate: %v", err)
	}
}
