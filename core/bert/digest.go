package bert

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"sync"

	"github.com/sbmoe/sbmoe/core/train"
)

// WeightsDigest is a SHA-256 over the encoder's weights: every parameter the forward pass
// reads (Params' list), by name, shape and float32 values, in name order. It does not
// depend on the file format the weights came from, so a safetensors file and a
// pytorch_model.bin of the same weights give the same digest. Training changes the digest
// (SyncWeights forgets it and it is computed again from the weights).
func (m *Model) WeightsDigest() string {
	if m.lazyDigest != nil {
		return m.lazyDigest.get()
	}
	if m.digest == "" {
		m.digest = digestParams(m.Params(nil))
	}
	return m.digest
}

// lazyDigest is a digest computed once, on first use, safely from several goroutines.
type lazyDigest struct {
	once sync.Once
	f    func() string
	v    string
}

func (d *lazyDigest) get() string {
	d.once.Do(func() { d.v, d.f = d.f(), nil })
	return d.v
}

// digestParams hashes named tensors in name order.
func digestParams(ps []*train.Param) string {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b *train.Param) int { return cmp.Compare(a.Name, b.Name) })
	h := sha256.New()
	buf := make([]byte, 0, 64<<10)
	for _, p := range ps {
		buf = binary.LittleEndian.AppendUint32(buf[:0], uint32(len(p.Name)))
		buf = append(buf, p.Name...)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(p.Shape)))
		for _, d := range p.Shape {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(d))
		}
		for _, v := range p.Data {
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}
