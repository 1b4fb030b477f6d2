package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"unsafe"
)

// Int8Tensor is a matrix quantised to int8 with one float32 scale per row: the value
// at row r is about Scale[r]·Data[r·cols+c]. Shape is (rows, cols), or (rows) for a
// vector with one scale per entry. Entries lie in [-127, 127].
type Int8Tensor struct {
	Name  string
	Shape []int
	Data  []int8
	Scale []float32 // (rows)
}

// Int8Set holds the int8 tensors of an int8 checkpoint by name.
type Int8Set map[string]*Int8Tensor

// ScaleSuffix names the F32 tensor that holds an I8 tensor's row scales in an int8
// safetensors file: "<name>.scale".
const ScaleSuffix = ".scale"

// QuantizeInt8 quantises a float32 tensor row by row, symmetrically: a row's scale is
// max|w|/127 and its entries round(w/scale) (ties to even), clamped to [-127, 127]; a
// row of zeros gets scale 0. A scalar or an empty tensor is an error.
func QuantizeInt8(t *Tensor) (*Int8Tensor, error) {
	if len(t.Shape) == 0 || t.Shape[0] == 0 {
		return nil, fmt.Errorf("tensor %s: shape %v has no rows to quantise", t.Name, t.Shape)
	}
	n, ok := numElements(t.Shape, len(t.Data))
	if !ok || n != len(t.Data) {
		return nil, fmt.Errorf("tensor %s: shape %v does not match %d values", t.Name, t.Shape, len(t.Data))
	}
	rows := t.Shape[0]
	cols := n / rows
	q := &Int8Tensor{Name: t.Name, Shape: slices.Clone(t.Shape), Data: make([]int8, n), Scale: make([]float32, rows)}
	for r := range rows {
		q.Scale[r] = quantizeRow(q.Data[r*cols:(r+1)*cols], t.Data[r*cols:(r+1)*cols])
	}
	return q, nil
}

// quantizeRow writes round(w/s) into q and returns s = max|w|/127.
func quantizeRow(q []int8, w []float32) float32 {
	var amax float32
	for _, v := range w {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	if amax == 0 {
		clear(q)
		return 0
	}
	s := amax / 127
	for i, v := range w {
		q[i] = int8(max(-127, min(127, math.RoundToEven(float64(v/s)))))
	}
	return s
}

// Dequantize returns the float32 tensor the int8 tensor stands for.
func (t *Int8Tensor) Dequantize() *Tensor {
	out := &Tensor{Name: t.Name, Shape: slices.Clone(t.Shape), Data: make([]float32, len(t.Data))}
	if len(t.Scale) == 0 {
		return out
	}
	cols := len(t.Data) / len(t.Scale)
	for i, v := range t.Data {
		out.Data[i] = float32(v) * t.Scale[i/cols]
	}
	return out
}

// WriteInt8Safetensors writes an int8 checkpoint to w: every Int8Tensor as an I8
// tensor plus its row scales as the F32 tensor "<name>.scale", then the float32
// tensors as F32, with optional string metadata. Safetensors readers that know I8
// (the Python library, Hugging Face's) read it as it is.
func WriteInt8Safetensors(w io.Writer, ints []*Int8Tensor, floats []*Tensor, metadata map[string]string) error {
	type record struct {
		name  string
		dtype string
		shape []int
		size  int64
		write func(buf []byte) []byte
	}
	var recs []record
	for _, t := range ints {
		n, ok := numElements(t.Shape, math.MaxInt)
		if !ok || n != len(t.Data) || len(t.Shape) == 0 || len(t.Scale) != t.Shape[0] {
			return fmt.Errorf("write int8 safetensors: tensor %s: shape %v does not match %d values and %d scales", t.Name, t.Shape, len(t.Data), len(t.Scale))
		}
		if slices.Contains(t.Data, -128) {
			return fmt.Errorf("write int8 safetensors: tensor %s: entry -128 (int8 weights lie in [-127, 127])", t.Name)
		}
		if err := checkScales(t.Scale); err != nil {
			return fmt.Errorf("write int8 safetensors: tensor %s%s: %w", t.Name, ScaleSuffix, err)
		}
		data, scale := t.Data, t.Scale
		recs = append(recs,
			record{t.Name, "I8", t.Shape, int64(len(data)), func(buf []byte) []byte { return append(buf, int8Bytes(data)...) }},
			record{t.Name + ScaleSuffix, "F32", []int{len(scale)}, 4 * int64(len(scale)), func(buf []byte) []byte { return appendF32(buf, scale) }})
	}
	for _, t := range floats {
		if n, ok := numElements(t.Shape, math.MaxInt); !ok || n != len(t.Data) {
			return fmt.Errorf("write int8 safetensors: tensor %s: shape %v does not match %d values", t.Name, t.Shape, len(t.Data))
		}
		if err := checkFinite(t.Data); err != nil {
			return fmt.Errorf("write int8 safetensors: tensor %s: %w", t.Name, err)
		}
		data := t.Data
		recs = append(recs, record{t.Name, "F32", t.Shape, 4 * int64(len(data)), func(buf []byte) []byte { return appendF32(buf, data) }})
	}

	header := make(map[string]any, len(recs)+1)
	if len(metadata) > 0 {
		header[safetensorsMetadataKey] = metadata
	}
	var offset int64
	for _, r := range recs {
		if r.name == "" || r.name == safetensorsMetadataKey {
			return fmt.Errorf("write int8 safetensors: tensor name %q is reserved or empty", r.name)
		}
		if _, dup := header[r.name]; dup {
			return fmt.Errorf("write int8 safetensors: tensor %s: listed twice", r.name)
		}
		header[r.name] = safetensorsEntry{DType: r.dtype, Shape: shapeOrEmpty(r.shape), DataOffsets: []int64{offset, offset + r.size}}
		offset += r.size
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("write int8 safetensors: header: %w", err)
	}
	if pad := (8 - len(hb)%8) % 8; pad > 0 {
		hb = append(hb, bytes.Repeat([]byte{' '}, pad)...)
	}
	buf := binary.LittleEndian.AppendUint64(make([]byte, 0, 64<<10), uint64(len(hb)))
	buf = append(buf, hb...)
	for _, r := range recs {
		buf = r.write(buf)
		if len(buf) >= 1<<20 {
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("write int8 safetensors: %w", err)
			}
			buf = buf[:0]
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write int8 safetensors: %w", err)
	}
	return nil
}

func appendF32(buf []byte, v []float32) []byte {
	for _, x := range v {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
	}
	return buf
}

// int8Bytes and bytesInt8 view the same memory as the other type: int8 and byte have
// the same size and alignment, so neither copies.
func int8Bytes(s []int8) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s))
}

func bytesInt8(b []byte) []int8 {
	if len(b) == 0 {
		return []int8{}
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b))
}

// checkScales requires finite, non-negative scales.
func checkScales(s []float32) error {
	if err := checkFinite(s); err != nil {
		return err
	}
	for i, v := range s {
		if v < 0 {
			return fmt.Errorf("scale %g at index %d is negative", v, i)
		}
	}
	return nil
}

// ReadInt8SafetensorsBytes parses an int8 checkpoint held in memory, as
// WriteInt8Safetensors writes it: I8 tensors, each with its F32 "<name>.scale" of one
// scale per row, and float tensors (F32, F16, BF16, F64), which are widened to float32
// as ReadSafetensorsBytes does. name is used in errors only.
//
// The int8 data is not copied: every Int8Tensor's Data aliases b, so b must not change
// while the tensors are in use (a model loaded from it keeps them). Every other
// allocation is bounded by the size of b. An I8 tensor without its scales, scales
// without their tensor or of the wrong length, a -128 entry, a negative or non-finite
// scale and the integer dtypes other than I8 are errors that name the tensor.
func ReadInt8SafetensorsBytes(name string, b []byte) (Int8Set, Set, map[string]string, error) {
	ints, floats, meta, err := readInt8Safetensors(b)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return ints, floats, meta, nil
}

func readInt8Safetensors(b []byte) (Int8Set, Set, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, nil, fmt.Errorf("file is %d bytes, too short for the 8-byte header length", len(b))
	}
	headerLen := binary.LittleEndian.Uint64(b)
	if headerLen > uint64(len(b)-8) {
		return nil, nil, nil, fmt.Errorf("header length %d runs past the end of the file (%d bytes)", headerLen, len(b))
	}
	data := b[8+headerLen:]
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+headerLen], &raw); err != nil {
		return nil, nil, nil, fmt.Errorf("header: %w", err)
	}
	var metadata map[string]string
	if m, ok := raw[safetensorsMetadataKey]; ok {
		if err := json.Unmarshal(m, &metadata); err != nil {
			return nil, nil, nil, fmt.Errorf("header: field %s: %w", safetensorsMetadataKey, err)
		}
		delete(raw, safetensorsMetadataKey)
	}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	slices.Sort(names) // deterministic errors

	type span struct {
		name       string
		begin, end int
	}
	entries := make(map[string]safetensorsEntry, len(raw))
	spans := make([]span, 0, len(raw))
	for _, n := range names {
		var e safetensorsEntry
		if err := json.Unmarshal(raw[n], &e); err != nil {
			return nil, nil, nil, fmt.Errorf("tensor %s: header: %w", n, err)
		}
		size := 1
		switch e.DType {
		case "I8":
		case "F64", "F32", "F16", "BF16":
			size = dtypes[e.DType].size
		default:
			return nil, nil, nil, fmt.Errorf("tensor %s: dtype %q: an int8 checkpoint holds I8 and float tensors only", n, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, nil, nil, fmt.Errorf("tensor %s: data_offsets has %d values, want 2", n, len(e.DataOffsets))
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > int64(len(data)) {
			return nil, nil, nil, fmt.Errorf("tensor %s: data_offsets [%d, %d] out of range of the %d data bytes", n, begin, end, len(data))
		}
		count, ok := numElements(e.Shape, len(data)/size+1)
		if !ok {
			return nil, nil, nil, fmt.Errorf("tensor %s: shape %v of %s is larger than the file", n, e.Shape, e.DType)
		}
		if count*size != int(end-begin) {
			return nil, nil, nil, fmt.Errorf("tensor %s: shape %v of %s needs %d bytes, data_offsets give %d", n, e.Shape, e.DType, count*size, end-begin)
		}
		entries[n] = e
		spans = append(spans, span{n, int(begin), int(end)})
	}
	slices.SortFunc(spans, func(x, y span) int { return x.begin - y.begin })
	for i := 1; i < len(spans); i++ {
		if prev := spans[i-1]; spans[i].begin < prev.end {
			return nil, nil, nil, fmt.Errorf("tensor %s: data_offsets [%d, %d] overlap tensor %s [%d, %d]",
				spans[i].name, spans[i].begin, spans[i].end, prev.name, prev.begin, prev.end)
		}
	}

	ints, floats := Int8Set{}, Set{}
	for _, sp := range spans {
		e := entries[sp.name]
		buf := data[sp.begin:sp.end]
		if e.DType == "I8" {
			if len(e.Shape) == 0 {
				return nil, nil, nil, fmt.Errorf("tensor %s: an I8 tensor needs at least one dimension for its row scales", sp.name)
			}
			q := bytesInt8(buf)
			if i := slices.Index(q, -128); i >= 0 {
				return nil, nil, nil, fmt.Errorf("tensor %s: entry -128 at index %d (int8 weights lie in [-127, 127])", sp.name, i)
			}
			ints[sp.name] = &Int8Tensor{Name: sp.name, Shape: e.Shape, Data: q}
			continue
		}
		values := make([]float32, len(buf)/dtypes[e.DType].size)
		dtypes[e.DType].decode(values, buf)
		if err := checkFinite(values); err != nil {
			return nil, nil, nil, fmt.Errorf("tensor %s: %w", sp.name, err)
		}
		floats[sp.name] = &Tensor{Name: sp.name, Shape: shapeOrEmpty(e.Shape), Data: values}
	}
	for _, n := range slices.Sorted(maps.Keys(ints)) {
		t := ints[n]
		s, ok := floats[n+ScaleSuffix]
		if !ok {
			return nil, nil, nil, fmt.Errorf("tensor %s: I8 without its scales %s%s", n, n, ScaleSuffix)
		}
		if !slices.Equal(s.Shape, []int{t.Shape[0]}) {
			return nil, nil, nil, fmt.Errorf("tensor %s%s: shape %v, want [%d] (one scale per row of %s)", n, ScaleSuffix, s.Shape, t.Shape[0], n)
		}
		if err := checkScales(s.Data); err != nil {
			return nil, nil, nil, fmt.Errorf("tensor %s%s: %w", n, ScaleSuffix, err)
		}
		t.Scale = s.Data
		delete(floats, n+ScaleSuffix)
	}
	for n := range floats {
		if base, ok := strings.CutSuffix(n, ScaleSuffix); ok {
			if _, isFloat := floats[base]; !isFloat {
				return nil, nil, nil, fmt.Errorf("tensor %s: scales without an I8 tensor %s", n, base)
			}
		}
	}
	return ints, floats, metadata, nil
}
