package bert

import (
	"cmp"
	"fmt"
	"slices"
)

// Forward runs the encoder over token sequences (each starting with [CLS] and ending
// with [SEP], none longer than MaxPositions) and returns the last hidden state of every
// token, (Σ len,h), with offs[s]..offs[s+1] the rows of sequence s.
func (m *Model) Forward(seqs [][]int32) (hidden []float32, offs []int) {
	h, threads := m.Config.HiddenSize, max(m.Threads, 1)
	offs = make([]int, len(seqs)+1)
	for s, q := range seqs {
		if len(q) > m.Config.MaxPositions {
			panic(fmt.Sprintf("bert: sequence %d has %d tokens, more than max_position_embeddings %d", s, len(q), m.Config.MaxPositions))
		}
		offs[s+1] = offs[s] + len(q)
	}
	ids := slices.Concat(seqs...)
	for _, id := range ids {
		if id < 0 || int(id) >= m.Config.VocabSize {
			panic(fmt.Sprintf("bert: token id %d outside the vocabulary of %d", id, m.Config.VocabSize))
		}
	}
	rows := len(ids)
	x := make([]float32, rows*h)
	qkv := make([]float32, rows*3*h)
	ctx := make([]float32, rows*h)
	tmp := make([]float32, rows*h)
	inter := make([]float32, rows*m.Config.IntermediateSize)
	m.emb.forward(x, ids, offs, h, threads)
	for i := range m.layers {
		l := &m.layers[i]
		l.qkv.forward(qkv, x, rows, threads)
		l.attn.forward(ctx, qkv, offs, threads)
		l.attnOut.forward(tmp, ctx, rows, threads)
		addRows(x, tmp)
		l.attnNorm.forward(x, rows, threads)
		l.ffnIn.forward(inter, x, rows, threads)
		parallelFor(rows, threads, 1, func(lo, hi int) {
			l.act(inter[lo*m.Config.IntermediateSize : hi*m.Config.IntermediateSize])
		})
		l.ffnOut.forward(tmp, inter, rows, threads)
		addRows(x, tmp)
		l.ffnNorm.forward(x, rows, threads)
	}
	return x, offs
}

// EncodeOptions tune Encode; the zero value uses the model's defaults.
type EncodeOptions struct {
	BatchSize int // texts per forward pass; 32 when 0
	// MaxLength caps token sequences ([CLS] and [SEP] included); Config.MaxSeqLength
	// when 0, and never more than max_position_embeddings.
	MaxLength int
	// Progress, when set, is called after each batch with the texts done so far.
	Progress func(done, total int)
}

// Encode tokenizes texts and returns one pooled (and, when the model says so,
// normalised) vector per text, in the order given. Texts are batched by length so that
// a batch's sequences cost about the same.
func (m *Model) Encode(texts []string, opt EncodeOptions) [][]float32 {
	maxLen := m.Config.MaxSeqLength
	if opt.MaxLength > 0 {
		maxLen = opt.MaxLength
	}
	maxLen = min(maxLen, m.Config.MaxPositions)
	batch := cmp.Or(opt.BatchSize, 32)
	seqs := make([][]int32, len(texts))
	for i, t := range texts {
		seqs[i] = m.Tokenizer.Encode(t, maxLen)
	}
	return m.EncodeIDs(seqs, batch, opt.Progress)
}

// EncodeIDs is Encode for texts that are already token sequences.
func (m *Model) EncodeIDs(seqs [][]int32, batch int, progress func(done, total int)) [][]float32 {
	h := m.Config.HiddenSize
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(seqs[b]), len(seqs[a])) })
	vecs := make([][]float32, len(seqs))
	flat := make([]float32, len(seqs)*h)
	for i := range vecs {
		vecs[i] = flat[i*h : (i+1)*h : (i+1)*h]
	}
	for lo := 0; lo < len(order); lo += batch {
		idx := order[lo:min(lo+batch, len(order))]
		group := make([][]int32, len(idx))
		out := make([][]float32, len(idx))
		for j, i := range idx {
			group[j], out[j] = seqs[i], vecs[i]
		}
		hidden, offs := m.Forward(group)
		pool(out, hidden, offs, h, m.Config.Pooling, m.Config.Normalize)
		if progress != nil {
			progress(lo+len(idx), len(seqs))
		}
	}
	return vecs
}
