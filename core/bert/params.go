package bert

import (
	"fmt"

	"github.com/sbmoe/sbmoe/core/train"
)

// Grads holds the gradient of every parameter, in the model's own types and layout
// (llm.c's trick): a linear's w (out,in) and b, a layer norm's g and b, the embedding
// tables. The fields that are not parameters (panels, eps, heads, the activation)
// stay empty.
type Grads struct {
	emb    embeddings
	layers []layer
	flat   []float32 // every gradient above, back to back
}

// NewGrads returns zeroed gradients for m's parameters.
func (m *Model) NewGrads() *Grads {
	m.unpackWeights()
	g := &Grads{layers: make([]layer, len(m.layers))}
	have, want := paramSlices(&g.emb, g.layers), paramSlices(&m.emb, m.layers)
	n := 0
	for _, p := range want {
		n += len(*p)
	}
	g.flat = make([]float32, n)
	off := 0
	for i, p := range want {
		*have[i] = g.flat[off : off+len(*p) : off+len(*p)]
		off += len(*p)
	}
	return g
}

// Zero sets every gradient to zero: the explicit step between optimizer updates.
func (g *Grads) Zero() { clear(g.flat) }

// paramSlices lists every parameter slice of a model layout, in a fixed order.
func paramSlices(emb *embeddings, layers []layer) []*[]float32 {
	s := []*[]float32{&emb.word, &emb.position, &emb.tokenType, &emb.norm.g, &emb.norm.b}
	for i := range layers {
		l := &layers[i]
		s = append(s, &l.qkv.w, &l.qkv.b, &l.attnOut.w, &l.attnOut.b, &l.attnNorm.g, &l.attnNorm.b,
			&l.ffnIn.w, &l.ffnIn.b, &l.ffnOut.w, &l.ffnOut.b, &l.ffnNorm.g, &l.ffnNorm.b)
	}
	return s
}

// Params lists the encoder's parameters in the order of PyTorch's
// BertModel.named_parameters (the pooler, which the encoder does not use, left out),
// each paired with its gradient in g; g may be nil. The query, key and value
// projections, which the model keeps stacked as one (3h,h) product, come out as
// three tensors that share its storage. Data slices alias the model: an optimizer
// updates them in place and SyncWeights makes the forward pass see the change. Grad is
// nil when g is nil.
func (m *Model) Params(g *Grads) []*train.Param {
	m.unpackWeights()
	ps := paramList(m.Config, &m.emb, m.layers)
	if g != nil {
		for i, gp := range paramList(m.Config, &g.emb, g.layers) {
			ps[i].Grad = gp.Data
		}
	}
	return ps
}

// paramList names the parameter slices of a model layout (the model's or its
// gradients'), with their shapes.
func paramList(cfg Config, emb *embeddings, layers []layer) []*train.Param {
	h, inter := cfg.HiddenSize, cfg.IntermediateSize
	var ps []*train.Param
	add := func(name string, data []float32, shape ...int) {
		ps = append(ps, &train.Param{Name: name, Shape: shape, Data: data})
	}
	add("embeddings.word_embeddings.weight", emb.word, cfg.VocabSize, h)
	add("embeddings.position_embeddings.weight", emb.position, cfg.MaxPositions, h)
	add("embeddings.token_type_embeddings.weight", emb.tokenType, cfg.TypeVocabSize, h)
	add("embeddings.LayerNorm.weight", emb.norm.g, h)
	add("embeddings.LayerNorm.bias", emb.norm.b, h)
	for i := range layers {
		l := &layers[i]
		p := fmt.Sprintf("encoder.layer.%d.", i)
		for j, name := range []string{"query", "key", "value"} {
			w, b := l.qkv.w[j*h*h:(j+1)*h*h:(j+1)*h*h], l.qkv.b[j*h:(j+1)*h:(j+1)*h]
			add(p+"attention.self."+name+".weight", w, h, h)
			add(p+"attention.self."+name+".bias", b, h)
		}
		add(p+"attention.output.dense.weight", l.attnOut.w, h, h)
		add(p+"attention.output.dense.bias", l.attnOut.b, h)
		add(p+"attention.output.LayerNorm.weight", l.attnNorm.g, h)
		add(p+"attention.output.LayerNorm.bias", l.attnNorm.b, h)
		add(p+"intermediate.dense.weight", l.ffnIn.w, inter, h)
		add(p+"intermediate.dense.bias", l.ffnIn.b, inter)
		add(p+"output.dense.weight", l.ffnOut.w, h, inter)
		add(p+"output.dense.bias", l.ffnOut.b, h)
		add(p+"output.LayerNorm.weight", l.ffnNorm.g, h)
		add(p+"output.LayerNorm.bias", l.ffnNorm.b, h)
	}
	return ps
}

// SyncWeights copies the linear weights that Params exposes into the packed layout
// that the forward pass reads: call it after every optimizer step.
func (m *Model) SyncWeights() {
	m.digest, m.lazyDigest = "", nil
	for i := range m.layers {
		l := &m.layers[i]
		for _, lin := range []*linear{&l.qkv, &l.attnOut, &l.ffnIn, &l.ffnOut} {
			if lin.w != nil {
				lin.packFrom(lin.w)
			}
		}
	}
}

// unpackWeights materialises every linear weight in PyTorch's layout for training.
func (m *Model) unpackWeights() {
	for i := range m.layers {
		l := &m.layers[i]
		for _, lin := range []*linear{&l.qkv, &l.attnOut, &l.ffnIn, &l.ffnOut} {
			lin.unpack()
		}
	}
}
