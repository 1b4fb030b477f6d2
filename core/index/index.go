package index

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"
)

// Kind says how an Index stores its vectors.
type Kind uint8

// The values are written to files; do not renumber them.
const (
	Float32 Kind = 1 // 4 bytes per element, exact
	Int8    Kind = 2 // 1 byte per element plus a float32 scale per vector
)

func (k Kind) String() string {
	switch k {
	case Float32:
		return "float32"
	case Int8:
		return "int8"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

func (k Kind) valid() bool { return k == Float32 || k == Int8 }

// maxDim and maxIDLen bound what a file may declare, so that a corrupt header
// fails fast instead of driving a huge allocation.
const (
	maxDim   = 1 << 16
	maxIDLen = 1 << 16
)

// Index holds vectors of one dimension and kind, each under a unique id.
// Vector i is the i-th one added; Hit.Index refers to it.
type Index struct {
	dim    int
	kind   Kind
	ids    []string
	pos    map[string]int // id -> index, to reject duplicates
	origin Origin         // what made the vectors

	f32    []float32 // Float32: Len()*dim elements, row-major
	i8     []int8    // Int8: Len()*dim elements, row-major
	scales []float32 // Int8: one per vector
}

// New returns an empty index. It panics if dim is not in 1..65536 or kind is
// not Float32 or Int8: both are fixed by the caller's code, not by input.
func New(dim int, kind Kind) *Index {
	if dim < 1 || dim > maxDim {
		panic(fmt.Sprintf("index: New: dim %d out of range 1..%d", dim, maxDim))
	}
	if !kind.valid() {
		panic(fmt.Sprintf("index: New: invalid kind %v", kind))
	}
	return &Index{dim: dim, kind: kind, pos: make(map[string]int)}
}

// Origin records what made an index's vectors, so that a reader can refuse to search it
// with the vectors of another model. The file keeps it; an index file of version 1 has
// none (both fields empty).
type Origin struct {
	// Fingerprint identifies the model, head and preprocessing exactly
	// (retriever.Fingerprint); at most 255 bytes.
	Fingerprint string
	// Model is how the builder named the model (a folder, say), for messages; at most
	// 4,096 bytes.
	Model string
}

// Origin is what SetOrigin recorded.
func (ix *Index) Origin() Origin { return ix.origin }

// SetOrigin records what made the vectors. It panics when a field is longer than stated on
// Origin, which the caller's code decides.
func (ix *Index) SetOrigin(o Origin) {
	if len(o.Fingerprint) > maxFingerprintLen || len(o.Model) > maxModelLen {
		panic(fmt.Sprintf("index: SetOrigin: fields of %d and %d bytes, at most %d and %d", len(o.Fingerprint), len(o.Model), maxFingerprintLen, maxModelLen))
	}
	ix.origin = o
}

// Dim is the length of every vector in the index.
func (ix *Index) Dim() int { return ix.dim }

// Len is the number of vectors in the index.
func (ix *Index) Len() int { return len(ix.ids) }

// Kind is how the index stores its vectors.
func (ix *Index) Kind() Kind { return ix.kind }

// ID returns the id of vector i, 0 <= i < Len().
func (ix *Index) ID(i int) string { return ix.ids[i] }

// Vector returns vector i of a Float32 index, 0 <= i < Len(), as a slice of the
// index's own storage: do not modify it. It panics on an Int8 index, whose vectors
// are no longer the ones added.
func (ix *Index) Vector(i int) []float32 {
	if ix.kind != Float32 {
		panic("index: Vector of a " + ix.kind.String() + " index")
	}
	return ix.f32[i*ix.dim : (i+1)*ix.dim : (i+1)*ix.dim]
}

// Add appends vec under id. The index keeps its own copy (quantised for Int8).
// It fails if vec has the wrong length or a NaN or infinite element, or if id
// is already present, empty, longer than 65536 bytes or not valid UTF-8 (what
// the file format can hold).
func (ix *Index) Add(id string, vec []float32) error {
	if err := checkID(id); err != nil {
		return fmt.Errorf("add %q: %w", id, err)
	}
	if len(vec) != ix.dim {
		return fmt.Errorf("add %q: vector has dim %d, index has dim %d", id, len(vec), ix.dim)
	}
	for i, x := range vec {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("add %q: element %d is %v", id, i, x)
		}
	}
	if prev, ok := ix.pos[id]; ok {
		return fmt.Errorf("add %q: duplicate id (already vector %d)", id, prev)
	}
	ix.pos[id] = len(ix.ids)
	ix.ids = append(ix.ids, id)
	switch ix.kind {
	case Float32:
		ix.f32 = append(ix.f32, vec...)
	case Int8:
		ix.scales = append(ix.scales, quantize(vec, ix.grow8()))
	}
	return nil
}

// checkID reports why id cannot be stored, or nil.
func checkID(id string) error {
	if len(id) == 0 || len(id) > maxIDLen {
		return fmt.Errorf("id has length %d, want 1..%d bytes", len(id), maxIDLen)
	}
	if !utf8.ValidString(id) {
		return errors.New("id is not valid UTF-8")
	}
	return nil
}

// grow8 extends the int8 storage by one vector and returns that vector.
func (ix *Index) grow8() []int8 {
	n := len(ix.i8)
	ix.i8 = slices.Grow(ix.i8, ix.dim)[:n+ix.dim]
	return ix.i8[n:]
}

// Quantized returns an Int8 copy of the index, quantising each vector as Add
// would. On an Int8 index it returns a copy of it.
func (ix *Index) Quantized() *Index {
	q := &Index{
		dim:    ix.dim,
		kind:   Int8,
		origin: ix.origin,
		ids:    append([]string(nil), ix.ids...),
		pos:    make(map[string]int, len(ix.ids)),
		scales: make([]float32, len(ix.ids)),
		i8:     make([]int8, len(ix.ids)*ix.dim),
	}
	for i, id := range ix.ids {
		q.pos[id] = i
	}
	if ix.kind == Int8 {
		copy(q.scales, ix.scales)
		copy(q.i8, ix.i8)
		return q
	}
	for i := range ix.ids {
		row := i * ix.dim
		q.scales[i] = quantize(ix.f32[row:row+ix.dim], q.i8[row:row+ix.dim])
	}
	return q
}

// quantize writes round(x/scale) clamped to [-127, 127] into q and returns
// scale = max|x|/127. The division uses the float32 scale that is stored, so
// every element is off by at most scale/2 when dequantised. A zero vector, or
// one so small that its scale underflows to 0, is stored as zeros with scale 0.
func quantize(x []float32, q []int8) float32 {
	var maxAbs float64
	for _, v := range x {
		maxAbs = max(maxAbs, math.Abs(float64(v)))
	}
	scale := float32(maxAbs / 127)
	if scale == 0 {
		clear(q)
		return 0
	}
	for i, v := range x {
		r := math.Round(float64(v) / float64(scale))
		q[i] = int8(max(-127, min(127, r)))
	}
	return scale
}
