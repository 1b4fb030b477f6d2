package index

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"unicode/utf8"
)

const (
	magic = "SBMOEIDX"
	// version is what WriteTo writes; Read also reads version 1, which has no fingerprint.
	version = 2
	// headerSize is magic, version, kind, dim and count (the fingerprint follows in v2).
	headerSize = len(magic) + 4 + 1 + 4 + 4
	// maxFingerprintLen and maxModelLen bound the origin's fields.
	maxFingerprintLen = 255
	maxModelLen       = 4096
	// chunkSize bounds the encode and decode buffers.
	chunkSize = 64 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors a caller may want to tell apart; Read and ReadFile wrap them with the
// file and field.
var (
	ErrNotIndex  = errors.New("not an sbmoe index")
	ErrTruncated = errors.New("truncated file")
	ErrChecksum  = errors.New("checksum mismatch")
)

// WriteTo writes the index in the format described in the package comment and
// returns the number of bytes written.
func (ix *Index) WriteTo(w io.Writer) (int64, error) {
	if uint64(len(ix.ids)) > math.MaxUint32 {
		return 0, fmt.Errorf("field count: %d vectors, the format holds at most %d", len(ix.ids), uint32(math.MaxUint32))
	}

	e := encoder{w: w, crc: crc32.New(castagnoli), buf: make([]byte, 0, chunkSize+maxIDLen+8)}
	e.buf = append(e.buf, magic...)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, version)
	e.buf = append(e.buf, byte(ix.kind))
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(ix.dim))
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(ix.ids)))
	e.buf = append(e.buf, byte(len(ix.origin.Fingerprint)))
	e.buf = append(e.buf, ix.origin.Fingerprint...)
	e.buf = binary.LittleEndian.AppendUint16(e.buf, uint16(len(ix.origin.Model)))
	e.buf = append(e.buf, ix.origin.Model...)
	for _, id := range ix.ids {
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(id)))
		e.buf = append(e.buf, id...)
		e.flushFull()
	}
	for _, s := range ix.scales {
		e.buf = binary.LittleEndian.AppendUint32(e.buf, math.Float32bits(s))
		e.flushFull()
	}
	for _, x := range ix.f32 {
		e.buf = binary.LittleEndian.AppendUint32(e.buf, math.Float32bits(x))
		e.flushFull()
	}
	for _, x := range ix.i8 {
		e.buf = append(e.buf, byte(x))
		e.flushFull()
	}
	e.flush()
	e.buf = binary.LittleEndian.AppendUint32(e.buf, e.crc.Sum32())
	e.flush()
	return e.n, e.err
}

// encoder batches appends into buf and writes them out in chunks, feeding the
// checksum with exactly the bytes written.
type encoder struct {
	w   io.Writer
	crc hash.Hash32
	buf []byte
	n   int64
	err error
}

func (e *encoder) flushFull() {
	if len(e.buf) >= chunkSize {
		e.flush()
	}
}

func (e *encoder) flush() {
	if e.err == nil {
		var n int
		n, e.err = e.w.Write(e.buf)
		e.n += int64(n)
		e.crc.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

// ReadFile reads an index file written by WriteTo.
func ReadFile(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", path, err)
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	ix, err := readIndex(f, size)
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", path, err)
	}
	return ix, nil
}

// Read reads an index written by WriteTo from r, consuming r to its end. When r is a
// file at its start (an fs.File, as a bundle opens index.idx), its size lets the vectors
// be allocated once instead of grown as they arrive, which in a WebAssembly worker,
// whose memory keeps its peak, is the difference between 8 and 30 MB for SciFact.
func Read(r io.Reader) (*Index, error) {
	size := int64(-1)
	if f, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
	}
	ix, err := readIndex(r, size)
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	return ix, nil
}

// readIndex decodes an index from r. size is the total input length if known,
// or -1; it only tightens the plausibility check and lets storage be
// allocated up front.
func readIndex(r io.Reader, size int64) (*Index, error) {
	br := bufio.NewReaderSize(r, chunkSize)
	crc := crc32.New(castagnoli)
	d := decoder{r: io.TeeReader(br, crc), buf: make([]byte, chunkSize)}

	if err := d.magic(); err != nil {
		return nil, err
	}
	v := d.uint32("version")
	if d.err == nil && v != 1 && v != version {
		return nil, fmt.Errorf("field version: unsupported version %d (this build reads 1 and %d)", v, version)
	}
	kind := Kind(d.byte("kind"))
	if d.err == nil && !kind.valid() {
		return nil, fmt.Errorf("field kind: unknown kind %d", uint8(kind))
	}
	dim := int(d.uint32("dim"))
	if d.err == nil && (dim < 1 || dim > maxDim) {
		return nil, fmt.Errorf("field dim: %d out of range 1..%d", dim, maxDim)
	}
	count64 := int64(d.uint32("count"))
	if d.err != nil {
		return nil, d.err
	}
	if count64*int64(dim) > math.MaxInt {
		return nil, fmt.Errorf("field count: %d vectors of dim %d do not fit in memory on this platform", count64, dim)
	}
	count := int(count64)
	var origin Origin
	if v >= 2 {
		origin.Fingerprint = string(d.bytes("fingerprint", int(d.byte("fingerprint"))))
		n := int(d.uint16("model"))
		if d.err == nil && n > maxModelLen {
			return nil, fmt.Errorf("field model: length %d, at most %d", n, maxModelLen)
		}
		origin.Model = string(d.bytes("model", n))
		if d.err != nil {
			return nil, d.err
		}
	}

	elemSize, scaleSize := 4, 0
	if kind == Int8 {
		elemSize, scaleSize = 1, 4
	}
	// Every vector needs an id length, at least one id byte, its scale and its
	// elements; that is the least the input must hold beyond header and checksum.
	need := int64(headerSize) + int64(count)*int64(4+1+scaleSize+dim*elemSize) + 4
	if v >= 2 {
		need += int64(1 + len(origin.Fingerprint) + 2 + len(origin.Model))
	}
	// A stream starts small and grows as data arrives; a file of known size
	// that passed the check above can hold everything it declares.
	idCap, elemCap := min(count, 1024), min(count*dim, chunkSize)
	if size >= 0 {
		if need > size {
			return nil, fmt.Errorf("field count: %d vectors of dim %d need at least %d bytes, input has %d: %w",
				count, dim, need, size, ErrTruncated)
		}
		idCap, elemCap = count, count*dim
	}

	ix := &Index{dim: dim, kind: kind, origin: origin, ids: make([]string, 0, idCap)}
	for i := range count {
		n := int(d.uint32("ids"))
		if d.err == nil && (n < 1 || n > maxIDLen) {
			return nil, fmt.Errorf("field ids: id %d has length %d, want 1..%d", i, n, maxIDLen)
		}
		ix.ids = append(ix.ids, string(d.bytes("ids", n)))
		if d.err != nil {
			return nil, d.err
		}
	}
	switch kind {
	case Float32:
		ix.f32 = d.float32s("vectors", make([]float32, 0, elemCap), count*dim)
	case Int8:
		ix.scales = d.float32s("scales", make([]float32, 0, idCap), count)
		ix.i8 = d.int8s("vectors", make([]int8, 0, elemCap), count*dim)
	}
	if d.err != nil {
		return nil, d.err
	}

	sum := crc.Sum32()
	d.r = br // the checksum does not cover itself
	if stored := d.uint32("checksum"); d.err == nil && stored != sum {
		return nil, fmt.Errorf("field checksum: stored %08x, computed %08x: %w", stored, sum, ErrChecksum)
	}
	if d.err != nil {
		return nil, d.err
	}
	if _, err := br.ReadByte(); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("after checksum: %w", err)
		}
		return nil, errors.New("after checksum: unexpected trailing data")
	}

	// Content is validated only now, so that damage reads as a checksum
	// mismatch; these checks catch files that were written wrong, not damaged.
	if err := ix.validate(); err != nil {
		return nil, err
	}
	return ix, nil
}

// validate checks what the checksum cannot: unique valid ids and values that
// Add could have produced. It also builds the id map.
func (ix *Index) validate() error {
	if !utf8.ValidString(ix.origin.Fingerprint) || !utf8.ValidString(ix.origin.Model) {
		return errors.New("field fingerprint or model: not valid UTF-8")
	}
	ix.pos = make(map[string]int, len(ix.ids))
	for i, id := range ix.ids {
		if err := checkID(id); err != nil {
			return fmt.Errorf("field ids: id %d: %w", i, err)
		}
		if prev, ok := ix.pos[id]; ok {
			return fmt.Errorf("field ids: duplicate id %q (vectors %d and %d)", id, prev, i)
		}
		ix.pos[id] = i
	}
	for i, s := range ix.scales {
		if !(s >= 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("field scales: vector %d (id %q) has scale %v, want finite and >= 0", i, ix.ids[i], s)
		}
	}
	for j, x := range ix.f32 {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			i := j / ix.dim
			return fmt.Errorf("field vectors: vector %d (id %q) element %d is %v", i, ix.ids[i], j%ix.dim, x)
		}
	}
	for j, x := range ix.i8 {
		if x == math.MinInt8 {
			i := j / ix.dim
			return fmt.Errorf("field vectors: vector %d (id %q) element %d is -128, want -127..127", i, ix.ids[i], j%ix.dim)
		}
	}
	return nil
}

// decoder reads fixed-size fields and remembers the first error, so a run of
// reads can be checked once. Reads after an error return zero values.
type decoder struct {
	r   io.Reader
	buf []byte // scratch, chunkSize bytes
	err error
}

// magic reads the magic bytes, telling a short prefix of a real index
// (truncated) from something else (not an index).
func (d *decoder) magic() error {
	got := d.buf[:len(magic)]
	n, err := io.ReadFull(d.r, got)
	switch {
	case string(got[:n]) != magic[:n]:
		return fmt.Errorf("field magic: %w", ErrNotIndex)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return fmt.Errorf("field magic: %w", ErrTruncated)
	case err != nil:
		return fmt.Errorf("field magic: %w", err)
	}
	return nil
}

// bytes reads n bytes into a fresh slice (at most maxIDLen, so the
// allocation is bounded).
func (d *decoder) bytes(field string, n int) []byte {
	if d.err != nil {
		return nil
	}
	p := make([]byte, n)
	d.full(field, p)
	return p
}

func (d *decoder) full(field string, p []byte) {
	if d.err != nil {
		return
	}
	if _, err := io.ReadFull(d.r, p); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = ErrTruncated
		}
		d.err = fmt.Errorf("field %s: %w", field, err)
	}
}

func (d *decoder) byte(field string) byte {
	p := d.buf[:1]
	d.full(field, p)
	if d.err != nil {
		return 0
	}
	return p[0]
}

func (d *decoder) uint16(field string) uint16 {
	p := d.buf[:2]
	d.full(field, p)
	if d.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint16(p)
}

func (d *decoder) uint32(field string) uint32 {
	p := d.buf[:4]
	d.full(field, p)
	if d.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint32(p)
}

// float32s appends n float32 values to dst, reading a chunk at a time so that
// dst only grows as fast as data arrives.
func (d *decoder) float32s(field string, dst []float32, n int) []float32 {
	for n > 0 && d.err == nil {
		p := d.buf[:min(n*4, len(d.buf))]
		d.full(field, p)
		if d.err != nil {
			break
		}
		for i := 0; i < len(p); i += 4 {
			dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(p[i:])))
		}
		n -= len(p) / 4
	}
	return dst
}

// int8s is float32s for int8 values.
func (d *decoder) int8s(field string, dst []int8, n int) []int8 {
	for n > 0 && d.err == nil {
		p := d.buf[:min(n, len(d.buf))]
		d.full(field, p)
		if d.err != nil {
			break
		}
		for _, b := range p {
			dst = append(dst, int8(b))
		}
		n -= len(p)
	}
	return dst
}
