package bert

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// Forward runs the encoder over token sequences (each starting with [CLS] and ending
// with [SEP], none longer than MaxPositions) and returns the last hidden state of every
// token, (Σ len,h), with offs[s]..offs[s+1] the rows of sequence s.
func (m *Model) Forward(seqs [][]int32) (hidden []float32, offs []int) {
	h, threads := m.Config.HiddenSize, max(m.Threads, 1)
	ids, offs := m.concat(seqs)
	rows := len(ids)
	// One set of buffers serves every layer: the residual stream x is each layer's
	// input, attention block output and output, normalised in place.
	x := make([]float32, rows*h)
	tmp := make([]float32, rows*h)
	a := layerActs{
		in: x, qkv: make([]float32, rows*3*h), ctx: make([]float32, rows*h),
		res1: tmp, mid: x, act: make([]float32, rows*m.Config.IntermediateSize), res2: tmp, out: x,
	}
	m.emb.forward(x, nil, nil, ids, offs, h, threads)
	for i := range m.layers {
		m.layers[i].forward(&a, offs, rows, threads)
	}
	return x, offs
}

// concat checks the sequences and lays them back to back, offs[s]..offs[s+1] being
// sequence s. Too long a sequence or an id outside the vocabulary is the caller's
// mistake (the tokenizer never makes one) and panics.
func (m *Model) concat(seqs [][]int32) (ids []int32, offs []int) {
	offs = make([]int, len(seqs)+1)
	for s, q := range seqs {
		if len(q) > m.Config.MaxPositions {
			panic(fmt.Sprintf("bert: sequence %d has %d tokens, more than max_position_embeddings %d", s, len(q), m.Config.MaxPositions))
		}
		offs[s+1] = offs[s] + len(q)
	}
	ids = slices.Concat(seqs...)
	for _, id := range ids {
		if id < 0 || int(id) >= m.Config.VocabSize {
			panic(fmt.Sprintf("bert: token id %d outside the vocabulary of %d", id, m.Config.VocabSize))
		}
	}
	return ids, offs
}

// layerActs are one layer's activations, (rows, width) each. Inference lets them share
// buffers (see Forward); training gives each that backward reads its own, and then
// act, the GELU output, is separate from pre.
type layerActs struct {
	in   []float32 // (m,h) the previous layer's output
	qkv  []float32 // (m,3h) the query, key and value projections
	ctx  []float32 // (m,h) attention output before its projection
	res1 []float32 // (m,h) in + attention block, before layer norm
	mid  []float32 // (m,h) the attention block's normalised output
	pre  []float32 // (m,I) the feed-forward pre-activation; nil in inference
	act  []float32 // (m,I) after the activation
	res2 []float32 // (m,h) mid + feed-forward block, before layer norm
	out  []float32 // (m,h)
	// stats1 and stats2, (m,2), are the two layer norms' row statistics; nil in inference.
	stats1, stats2 []float32
}

// forward runs one transformer block: x = LN(x + Wo·attention(Wqkv·x)); x = LN(x + W2·act(W1·x)).
func (l *layer) forward(a *layerActs, offs []int, rows, threads int) {
	inter := l.ffnIn.out
	l.qkv.forward(a.qkv, a.in, rows, threads)
	l.attn.forward(a.ctx, a.qkv, offs, threads)
	l.attnOut.forward(a.res1, a.ctx, rows, threads)
	addRows(a.res1, a.in)
	l.attnNorm.forward(a.mid, a.res1, a.stats1, rows, threads)
	if a.pre == nil {
		l.ffnIn.forward(a.act, a.mid, rows, threads)
	} else {
		l.ffnIn.forward(a.pre, a.mid, rows, threads)
		copy(a.act, a.pre)
	}
	parallelFor(rows, threads, 1, func(lo, hi int) {
		l.act.forward(a.act[lo*inter : hi*inter])
	})
	l.ffnOut.forward(a.res2, a.act, rows, threads)
	addRows(a.res2, a.mid)
	l.ffnNorm.forward(a.out, a.res2, a.stats2, rows, threads)
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
	vecs, _ := m.EncodeContext(context.Background(), texts, opt) // never cancelled
	return vecs
}

// EncodeContext is Encode that stops between batches once ctx is done, returning ctx's
// error.
func (m *Model) EncodeContext(ctx context.Context, texts []string, opt EncodeOptions) ([][]float32, error) {
	maxLen := m.Config.MaxSeqLength
	if opt.MaxLength > 0 {
		maxLen = opt.MaxLength
	}
	maxLen = min(maxLen, m.Config.MaxPositions)
	seqs := make([][]int32, len(texts))
	for i, t := range texts {
		seqs[i] = m.Tokenizer.Encode(t, maxLen)
	}
	return m.encodeIDs(ctx, seqs, cmp.Or(opt.BatchSize, 32), opt.Progress)
}

// EncodeIDs is Encode for texts that are already token sequences.
func (m *Model) EncodeIDs(seqs [][]int32, batch int, progress func(done, total int)) [][]float32 {
	vecs, _ := m.encodeIDs(context.Background(), seqs, batch, progress) // never cancelled
	return vecs
}

func (m *Model) encodeIDs(ctx context.Context, seqs [][]int32, batch int, progress func(done, total int)) ([][]float32, error) {
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
		if err := ctx.Err(); err != nil {
			return nil, err
		}
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
	return vecs, nil
}
