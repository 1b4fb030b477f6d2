package lexical

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"unicode/utf8"
)

// The BM25 index file, little-endian throughout:
//
//	magic     [8]byte  "SBMOEBM1"
//	docs      uvarint  number of documents
//	ids       docs × (uvarint length, UTF-8 bytes)
//	lengths   docs × uvarint, terms per document
//	terms     uvarint  number of terms
//	postings  terms × (uvarint length, UTF-8 term, in ascending order; uvarint n;
//	          n × (uvarint document gap, uvarint tf ≥ 1)), gaps from -1 so the first is the document
//	checksum  uint32   CRC-32C of every byte before it
//
// Read bounds every count by the bytes that remain, so a forged header cannot drive a large
// allocation, and checks that terms ascend, documents ascend within a term and tf is
// positive.
const fileMagic = "SBMOEBM1"

// Limits of the file format.
const (
	maxIDBytes   = 1 << 16
	maxTermBytes = 1 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WriteTo writes the index in the file format above.
func (ix *Index) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(bw, crc)
	var n int64
	var buf []byte
	put := func(v uint64) { buf = binary.AppendUvarint(buf, v) }
	flush := func() error {
		m, err := out.Write(buf)
		n += int64(m)
		buf = buf[:0]
		return err
	}
	buf = append(buf, fileMagic...)
	put(uint64(len(ix.ids)))
	for _, id := range ix.ids {
		put(uint64(len(id)))
		buf = append(buf, id...)
	}
	for _, l := range ix.docLen {
		put(uint64(l))
	}
	put(uint64(len(ix.terms)))
	if err := flush(); err != nil {
		return n, err
	}
	for i, t := range ix.terms {
		put(uint64(len(t)))
		buf = append(buf, t...)
		p := ix.post[i]
		put(uint64(len(p.docs)))
		prev := int64(-1)
		for j, d := range p.docs {
			put(uint64(int64(d) - prev))
			put(uint64(p.tfs[j]))
			prev = int64(d)
		}
		if len(buf) > 32<<10 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := flush(); err != nil {
		return n, err
	}
	buf = binary.LittleEndian.AppendUint32(buf, crc.Sum32())
	m, err := bw.Write(buf)
	n += int64(m)
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// reader walks a file held in memory and remembers the first error.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(field string, format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("field %s: %s", field, fmt.Sprintf(format, a...))
	}
}

func (r *reader) uvarint(field string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail(field, "truncated or malformed number at byte %d", r.off)
		return 0
	}
	r.off += n
	return v
}

// count reads a count of items of at least min bytes each, bounded by what remains.
func (r *reader) count(field string, min int) int {
	v := r.uvarint(field)
	if r.err == nil && v > uint64((len(r.b)-r.off)/min) {
		r.fail(field, "%d entries cannot fit in the %d bytes that remain", v, len(r.b)-r.off)
		return 0
	}
	return int(v)
}

func (r *reader) str(field string, max int) string {
	n := r.uvarint(field)
	switch {
	case r.err != nil:
		return ""
	case n > uint64(max) || n > uint64(len(r.b)-r.off):
		r.fail(field, "length %d at byte %d (at most %d, and %d bytes remain)", n, r.off, max, len(r.b)-r.off)
		return ""
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	if !utf8.ValidString(s) {
		r.fail(field, "not valid UTF-8 at byte %d", r.off-int(n))
	}
	return s
}

// Read parses an index file held in data.
func Read(data []byte) (*Index, error) {
	ix, err := read(data)
	if err != nil {
		return nil, fmt.Errorf("read BM25 index: %w", err)
	}
	return ix, nil
}

func read(data []byte) (*Index, error) {
	if len(data) < len(fileMagic)+4 || string(data[:len(fileMagic)]) != fileMagic {
		return nil, errFormat
	}
	body := data[:len(data)-4]
	if got, want := crc32.Checksum(body, castagnoli), binary.LittleEndian.Uint32(data[len(data)-4:]); got != want {
		return nil, fmt.Errorf("field checksum: stored %08x, computed %08x", want, got)
	}
	r := &reader{b: body, off: len(fileMagic)}
	docs := r.count("docs", 2) // an id of one byte and its length, at least
	ix := &Index{ids: make([]string, 0, docs), docLen: make([]uint32, 0, docs), pos: map[string]int{}}
	seen := make(map[string]bool, docs)
	for range docs {
		id := r.str("ids", maxIDBytes)
		if r.err == nil && (id == "" || seen[id]) {
			r.fail("ids", "empty or repeated id %q", id)
		}
		seen[id] = true
		ix.ids = append(ix.ids, id)
	}
	var total float64
	for range docs {
		l := r.uvarint("lengths")
		if r.err == nil && l > math.MaxUint32 {
			r.fail("lengths", "%d terms in one document", l)
		}
		ix.docLen = append(ix.docLen, uint32(l))
		total += float64(l)
	}
	if docs > 0 {
		ix.avgdl = total / float64(docs)
	}
	terms := r.count("terms", 3) // a term of one byte, its length and an empty posting list
	ix.terms = make([]string, 0, terms)
	ix.post = make([]posting, 0, terms)
	for i := range terms {
		t := r.str("terms", maxTermBytes)
		if r.err == nil && i > 0 && t <= ix.terms[i-1] {
			r.fail("terms", "term %q does not follow %q", t, ix.terms[i-1])
		}
		n := r.count("postings", 2)
		p := posting{docs: make([]uint32, 0, n), tfs: make([]uint32, 0, n)}
		d := int64(-1)
		for range n {
			gap, tf := r.uvarint("postings"), r.uvarint("postings")
			d += int64(gap)
			if r.err == nil && (gap == 0 || d >= int64(docs) || tf == 0 || tf > math.MaxUint32) {
				r.fail("postings", "term %q: document gap %d, tf %d (documents ascend below %d, tf ≥ 1)", t, gap, tf, docs)
			}
			p.docs, p.tfs = append(p.docs, uint32(d)), append(p.tfs, uint32(tf))
		}
		if r.err != nil {
			return nil, r.err
		}
		ix.pos[t] = len(ix.terms)
		ix.terms = append(ix.terms, t)
		ix.post = append(ix.post, p)
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.off != len(body) {
		return nil, fmt.Errorf("after the postings: %d bytes of unexpected data", len(body)-r.off)
	}
	return ix, nil
}
