package bert

import "fmt"

// Activations is what ForwardTrain saves for Backward: every layer's inputs and
// intermediate results, plus scratch that Backward reuses. Passing it back to
// ForwardTrain reuses its buffers.
type Activations struct {
	ids  []int32
	offs []int
	// sum is the embeddings before their layer norm, embStats that norm's statistics.
	sum, embStats []float32
	layers        []layerActs
	// act is the GELU output of whichever layer ran last: Backward recomputes it per
	// layer rather than keeping (m,I) floats for each.
	act []float32
	// raw are the pooled vectors before normalisation, pooled after; (h) each.
	raw, pooled [][]float32

	// Backward's scratch: the gradient of the pooled vectors before normalisation, of
	// the residual stream (dx, dy, dz), of the feed-forward activations (dpre, dact),
	// and of qkv.
	draw                         [][]float32
	dx, dy, dz, dpre, dact, dqkv []float32
}

// Hidden returns the last hidden states, (Σ len,h), and the offsets of each
// sequence's rows, as Forward does.
func (a *Activations) Hidden() (hidden []float32, offs []int) {
	return a.layers[len(a.layers)-1].out, a.offs
}

// Pooled returns one vector per sequence, pooled and normalised as the model's config
// says (what Encode returns).
func (a *Activations) Pooled() [][]float32 { return a.pooled }

// ForwardTrain is Forward for training: it saves the activations that Backward needs
// and pools the hidden states. reuse, when not nil, is an earlier result whose
// buffers are reused; it must not be used afterwards.
//
// ForwardTrain reads the weights that SyncWeights last packed (Load packs them):
// after an optimizer changes Params' data, call SyncWeights before the next forward.
// The first call (or Params) materialises the linear weights in PyTorch's (out,in)
// layout, which doubles their memory; training methods must not run concurrently
// with each other or with Forward.
func (m *Model) ForwardTrain(seqs [][]int32, reuse *Activations) *Activations {
	m.unpackWeights()
	cfg, threads := m.Config, max(m.Threads, 1)
	h, inter := cfg.HiddenSize, cfg.IntermediateSize
	a := reuse
	if a == nil {
		a = &Activations{}
	}
	a.ids, a.offs = m.concat(seqs)
	rows := len(a.ids)
	a.sum, a.embStats = grow(a.sum, rows*h), grow(a.embStats, 2*rows)
	a.act = grow(a.act, rows*inter)
	if len(a.layers) != len(m.layers) {
		a.layers = make([]layerActs, len(m.layers))
	}
	in := grow(a.layers[0].in, rows*h) // the embeddings' output
	for i := range a.layers {
		l := &a.layers[i]
		l.in = in
		l.qkv, l.ctx = grow(l.qkv, rows*3*h), grow(l.ctx, rows*h)
		l.res1, l.mid = grow(l.res1, rows*h), grow(l.mid, rows*h)
		l.pre, l.act = grow(l.pre, rows*inter), a.act
		l.res2, l.out = grow(l.res2, rows*h), grow(l.out, rows*h)
		l.stats1, l.stats2 = grow(l.stats1, 2*rows), grow(l.stats2, 2*rows)
		in = l.out
	}
	m.emb.forward(a.layers[0].in, a.sum, a.embStats, a.ids, a.offs, h, threads)
	for i := range m.layers {
		m.layers[i].forward(&a.layers[i], a.offs, rows, threads)
	}

	n := len(seqs)
	a.raw, a.pooled = growVecs(a.raw, n, h), growVecs(a.pooled, n, h)
	hidden, _ := a.Hidden()
	pool(a.raw, hidden, a.offs, h, cfg.Pooling, false)
	for s := range a.raw {
		copy(a.pooled[s], a.raw[s])
		if cfg.Normalize {
			l2Normalize(a.pooled[s])
		}
	}
	return a
}

// Backward adds into g the gradient of a loss given its gradient dpooled with respect
// to the pooled vectors a.Pooled() (one h-vector per sequence), back through
// normalisation, pooling and every layer. g is not zeroed first: gradients of several
// batches accumulate until Grads.Zero.
func (m *Model) Backward(a *Activations, dpooled [][]float32, g *Grads) {
	h := m.Config.HiddenSize
	if len(dpooled) != len(a.pooled) {
		panic(fmt.Sprintf("bert: Backward: %d pooled gradients for %d sequences", len(dpooled), len(a.pooled)))
	}
	draw := dpooled
	if m.Config.Normalize {
		a.draw = growVecs(a.draw, len(dpooled), h)
		draw = a.draw
		for s, dv := range dpooled {
			clear(draw[s])
			l2NormalizeBackward(draw[s], dv, a.raw[s])
		}
	}
	a.dx = grow(a.dx, len(a.ids)*h)
	clear(a.dx)
	poolBackward(a.dx, draw, a.offs, h, m.Config.Pooling)
	m.backward(a, g)
}

// BackwardHidden is Backward for a loss given its gradient with respect to the last
// hidden states, (Σ len,h) as Activations.Hidden.
func (m *Model) BackwardHidden(a *Activations, dhidden []float32, g *Grads) {
	n := len(a.ids) * m.Config.HiddenSize
	if len(dhidden) != n {
		panic(fmt.Sprintf("bert: BackwardHidden: %d gradient values for %d hidden values", len(dhidden), n))
	}
	a.dx = grow(a.dx, n)
	copy(a.dx, dhidden)
	m.backward(a, g)
}

// backward runs the layers in reverse from the gradient of the last hidden states in
// a.dx.
func (m *Model) backward(a *Activations, g *Grads) {
	h, inter, rows, threads := m.Config.HiddenSize, m.Config.IntermediateSize, len(a.ids), max(m.Threads, 1)
	a.dy, a.dz = grow(a.dy, rows*h), grow(a.dz, rows*h)
	a.dpre, a.dact = grow(a.dpre, rows*inter), grow(a.dact, rows*inter)
	a.dqkv = grow(a.dqkv, rows*3*h)
	for i := len(m.layers) - 1; i >= 0; i-- {
		m.layers[i].backward(&g.layers[i], &a.layers[i], a, rows, threads)
	}
	m.emb.backward(&g.emb, a.dy, a.dx, a.sum, a.embStats, a.ids, a.offs, h, threads)
}

// backward takes the gradient of the layer's output in s.dx and leaves there the
// gradient of its input, adding the parameters' gradients into dl. s.dy, s.dz, s.dpre,
// s.dact and s.dqkv are scratch, as is s.act, where the activation's output is
// recomputed.
func (l *layer) backward(dl *layer, a *layerActs, s *Activations, rows, threads int) {
	inter := l.ffnIn.out
	dout, dres2, dmid := s.dx, s.dy, s.dz
	clear(dres2)
	l.ffnNorm.backward(dres2, dl.ffnNorm.g, dl.ffnNorm.b, dout, a.res2, a.stats2, rows, threads)
	copy(dmid, dres2)
	copy(s.act, a.pre)
	parallelFor(rows, threads, 1, func(lo, hi int) {
		l.act.forward(s.act[lo*inter : hi*inter])
	})
	clear(s.dact)
	l.ffnOut.backward(s.dact, dl.ffnOut.w, dl.ffnOut.b, dres2, s.act, rows, threads)
	clear(s.dpre)
	parallelFor(rows, threads, 1, func(lo, hi int) {
		l.act.backward(s.dpre[lo*inter:hi*inter], s.dact[lo*inter:hi*inter], a.pre[lo*inter:hi*inter])
	})
	l.ffnIn.backward(dmid, dl.ffnIn.w, dl.ffnIn.b, s.dpre, a.mid, rows, threads)

	dres1, dctx := dout, dres2
	clear(dres1)
	l.attnNorm.backward(dres1, dl.attnNorm.g, dl.attnNorm.b, dmid, a.res1, a.stats1, rows, threads)
	clear(dctx)
	l.attnOut.backward(dctx, dl.attnOut.w, dl.attnOut.b, dres1, a.ctx, rows, threads)
	clear(s.dqkv)
	l.attn.backward(s.dqkv, dctx, a.qkv, s.offs, threads)
	// dres1 is also the residual's share of the input's gradient; qkv adds the rest.
	l.qkv.backward(dres1, dl.qkv.w, dl.qkv.b, s.dqkv, a.in, rows, threads)
}

// grow returns buf resliced to n floats when it has the room, else a new slice.
func grow(buf []float32, n int) []float32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]float32, n)
}

// growVecs returns n vectors of h floats, reusing vecs' storage when it suffices.
func growVecs(vecs [][]float32, n, h int) [][]float32 {
	if len(vecs) == n && (n == 0 || len(vecs[0]) == h) {
		return vecs
	}
	flat := make([]float32, n*h)
	vecs = make([][]float32, n)
	for s := range vecs {
		vecs[s] = flat[s*h : (s+1)*h : (s+1)*h]
	}
	return vecs
}
