package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// safetensorsEntry is one tensor's record in the JSON header.
type safetensorsEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

const safetensorsMetadataKey = "__metadata__"

// ReadSafetensors reads a .safetensors file; errors name path and, where it applies, the tensor.
func ReadSafetensors(path string) (Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read safetensors: %w", err)
	}
	return ReadSafetensorsBytes(path, b)
}

// ReadSafetensorsBytes parses safetensors data held in memory; name is used in errors only.
func ReadSafetensorsBytes(name string, b []byte) (Set, error) {
	s, _, err := ReadSafetensorsMetadata(name, b)
	return s, err
}

// ReadSafetensorsMetadata is ReadSafetensorsBytes that also returns the header's string
// metadata (nil when there is none).
func ReadSafetensorsMetadata(name string, b []byte) (Set, map[string]string, error) {
	s, meta, err := readSafetensors(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, meta, nil
}

func readSafetensors(b []byte) (Set, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("file is %d bytes, too short for the 8-byte header length", len(b))
	}
	headerLen := binary.LittleEndian.Uint64(b)
	if headerLen > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("header length %d runs past the end of the file (%d bytes)", headerLen, len(b))
	}
	data := b[8+headerLen:]

	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+headerLen], &raw); err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	var metadata map[string]string
	if meta, ok := raw[safetensorsMetadataKey]; ok {
		if err := json.Unmarshal(meta, &metadata); err != nil {
			return nil, nil, fmt.Errorf("header: field %s: %w", safetensorsMetadataKey, err)
		}
		delete(raw, safetensorsMetadataKey)
	}

	type span struct {
		name       string
		begin, end int
	}
	spans := make([]span, 0, len(raw))
	entries := make(map[string]safetensorsEntry, len(raw))
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	slices.Sort(names) // deterministic error messages

	for _, name := range names {
		var e safetensorsEntry
		if err := json.Unmarshal(raw[name], &e); err != nil {
			return nil, nil, fmt.Errorf("tensor %s: header: %w", name, err)
		}
		dt, ok := dtypes[e.DType]
		if !ok {
			return nil, nil, fmt.Errorf("tensor %s: unknown dtype %q", name, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("tensor %s: data_offsets has %d values, want 2", name, len(e.DataOffsets))
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > int64(len(data)) {
			return nil, nil, fmt.Errorf("tensor %s: data_offsets [%d, %d] out of range of the %d data bytes",
				name, begin, end, len(data))
		}
		nbytes := int(end - begin)
		// Limiting the count by the data size keeps n*dt.size from overflowing; the exact
		// comparison below then bounds the allocation by the file size.
		n, ok := numElements(e.Shape, len(data)/dt.size+1)
		if !ok {
			return nil, nil, fmt.Errorf("tensor %s: shape %v of %s is larger than the file", name, e.Shape, e.DType)
		}
		if n*dt.size != nbytes {
			return nil, nil, fmt.Errorf("tensor %s: shape %v of %s needs %d bytes, data_offsets give %d",
				name, e.Shape, e.DType, n*dt.size, nbytes)
		}
		entries[name] = e
		spans = append(spans, span{name, int(begin), int(end)})
	}

	slices.SortFunc(spans, func(a, b span) int { return a.begin - b.begin })
	for i := 1; i < len(spans); i++ {
		if prev := spans[i-1]; spans[i].begin < prev.end {
			return nil, nil, fmt.Errorf("tensor %s: data_offsets [%d, %d] overlap tensor %s [%d, %d]",
				spans[i].name, spans[i].begin, spans[i].end, prev.name, prev.begin, prev.end)
		}
	}

	s := make(Set, len(spans))
	for _, sp := range spans {
		e := entries[sp.name]
		dt := dtypes[e.DType]
		values := make([]float32, (sp.end-sp.begin)/dt.size)
		dt.decode(values, data[sp.begin:sp.end])
		if err := checkFinite(values); err != nil {
			return nil, nil, fmt.Errorf("tensor %s: %w", sp.name, err)
		}
		s[sp.name] = &Tensor{Name: sp.name, Shape: shapeOrEmpty(e.Shape), Data: values}
	}
	return s, metadata, nil
}

// shapeOrEmpty keeps a scalar's shape non-nil, so that Get(name) with no dimensions and
// slices.Equal comparisons treat it the same whichever reader produced it.
func shapeOrEmpty(shape []int) []int {
	if shape == nil {
		return []int{}
	}
	return shape
}

// WriteSafetensors writes tensors as F32 in the given order, with optional string metadata,
// to w. The library writes to writers only; a caller that wants a file writes it
// atomically (the sbmoe tool does), so a crash never leaves half a checkpoint.
func WriteSafetensors(w io.Writer, tensors []*Tensor, metadata map[string]string) error {
	header, err := safetensorsHeader(tensors, metadata)
	if err != nil {
		return fmt.Errorf("write safetensors: %w", err)
	}
	buf := make([]byte, 8, 64<<10)
	binary.LittleEndian.PutUint64(buf, uint64(len(header)))
	buf = append(buf, header...)
	for _, t := range tensors {
		for _, v := range t.Data {
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return fmt.Errorf("write safetensors: %w", err)
				}
				buf = buf[:0]
			}
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write safetensors: %w", err)
	}
	return nil
}

// safetensorsHeader builds the JSON header, padded with spaces to a multiple of 8 bytes so the
// data that follows is aligned, as the safetensors writers do.
func safetensorsHeader(tensors []*Tensor, metadata map[string]string) ([]byte, error) {
	header := make(map[string]any, len(tensors)+1)
	if len(metadata) > 0 {
		header[safetensorsMetadataKey] = metadata
	}
	var offset int64
	for _, t := range tensors {
		if t.Name == "" || t.Name == safetensorsMetadataKey {
			return nil, fmt.Errorf("tensor name %q is reserved or empty", t.Name)
		}
		if _, dup := header[t.Name]; dup {
			return nil, fmt.Errorf("tensor %s: listed twice", t.Name)
		}
		if n, ok := numElements(t.Shape, math.MaxInt); !ok || n != len(t.Data) {
			return nil, fmt.Errorf("tensor %s: shape %v does not match %d values", t.Name, t.Shape, len(t.Data))
		}
		if err := checkFinite(t.Data); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
		}
		end := offset + 4*int64(len(t.Data))
		header[t.Name] = safetensorsEntry{DType: "F32", Shape: shapeOrEmpty(t.Shape), DataOffsets: []int64{offset, end}}
		offset = end
	}
	b, err := json.Marshal(header)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if pad := (8 - len(b)%8) % 8; pad > 0 {
		b = append(b, bytes.Repeat([]byte{' '}, pad)...)
	}
	return b, nil
}
