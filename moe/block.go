package moe

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/sbmoe/sbmoe/core/f32"
	"github.com/sbmoe/sbmoe/core/train"
)

// Mode says whether a forward pass trains (noisy top-1 gating) or evaluates (no noise,
// experts mixed as Config.Mix says).
type Mode uint8

const (
	Eval Mode = iota
	Train
)

// Block is one SB-MoE head. It is not safe for concurrent use: it keeps the last forward
// pass for Backward, and its buffers, between calls.
type Block struct {
	cfg     Config
	gate1   linear // cls_1: H → H/2
	gate2   linear // cls_3: H/2 → E
	noise   linear // noise_linear: H → E, frozen
	experts []expert
	gain    *train.Param // α of OutputGain, shape (1); nil for the paper's output
	params  []*train.Param
	st      state
}

// expert is Linear(H→H/2) → ReLU → Linear(H/2→H), the authors' Specializer.
type expert struct {
	up, down linear // query_embedding_changer_1, query_embedding_changer_4
}

// Routing describes a forward pass row by row. Its slices belong to the block and are
// overwritten by the next Forward.
type Routing struct {
	Expert []int     // (rows) the most probable expert, the one kept in top-1 gating
	Probs  []float32 // (rows,E) gate probabilities; in training, of the noisy logits
	// AuxLoss is the load-balancing loss of this batch, already weighed by BalanceCoef; it is
	// non-zero only for the learned router in training. Add it to the training loss.
	AuxLoss float32
}

// New builds a block with weights drawn as torch.nn.Linear draws them, in the authors'
// construction order (cls_1, cls_3, noise_linear, then each expert's two layers), from a
// PCG generator seeded with seed. The values are not PyTorch's (the generators differ); the
// distributions are. A gain block's α starts at 0 and takes no draw, so its gate and
// experts are those of the paper's block of the same seed.
func New(cfg Config, seed uint64) (*Block, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new moe block: %w", err)
	}
	b := newBlock(cfg)
	rng := rand.New(rand.NewPCG(seed, 0x5b_30e))
	b.gate1.init(rng)
	b.gate2.init(rng)
	b.noise.init(rng)
	for i := range b.experts {
		b.experts[i].up.init(rng)
		b.experts[i].down.init(rng)
	}
	return b, nil
}

// newBlock allocates a block of zero weights for a valid config.
func newBlock(cfg Config) *Block {
	h, half, e := cfg.Hidden, cfg.Hidden/2, cfg.Experts
	b := &Block{
		cfg:   cfg,
		gate1: newLinear("cls_1", half, h, false),
		gate2: newLinear("cls_3", e, half, false),
		noise: newLinear("noise_linear", e, h, true),
	}
	b.params = []*train.Param{b.gate1.w, b.gate1.b, b.gate2.w, b.gate2.b, b.noise.w, b.noise.b}
	b.experts = make([]expert, e)
	for m := range b.experts {
		prefix := "specializer." + strconv.Itoa(m) + "."
		b.experts[m] = expert{
			up:   newLinear(prefix+"query_embedding_changer_1", half, h, false),
			down: newLinear(prefix+"query_embedding_changer_4", h, half, false),
		}
		b.params = append(b.params, b.experts[m].up.w, b.experts[m].up.b, b.experts[m].down.w, b.experts[m].down.b)
	}
	if cfg.gained() {
		b.gain = newParam(gainName, false, 1)
		b.params = append(b.params, b.gain)
	}
	return b
}

// gainName is α's tensor in a head file: the one tensor the authors' state dict lacks.
const gainName = "gain"

// Gain is α of a gain block (OutputGain): how far the head moves every vector. It is 0
// for an untrained block, which returns its input unchanged, and for a paper block, which
// has no gain.
func (b *Block) Gain() float32 {
	if b.gain == nil {
		return 0
	}
	return b.gain.Data[0]
}

// Clone returns a copy of the block's config and weights, with zero gradients and its own
// buffers.
func (b *Block) Clone() *Block {
	c := newBlock(b.cfg)
	for i, p := range b.params {
		copy(c.params[i].Data, p.Data)
	}
	return c
}

// Config returns the block's configuration.
func (b *Block) Config() Config { return b.cfg }

// SetMix chooses how Eval mode mixes the experts, so that one trained head is evaluated
// both ways.
func (b *Block) SetMix(m Mix) error {
	c := b.cfg
	c.Mix = m
	if err := c.Validate(); err != nil {
		return fmt.Errorf("moe: set mix: %w", err)
	}
	b.cfg = c
	return nil
}

// Params lists every tensor in state-dict order: cls_1, cls_3, noise_linear (Frozen, Grad
// always zero), then specializer.0 … specializer.E-1, and last the gain of a gain block,
// ready for train.AdamW. The slice and the
// tensors are the block's own: the optimizer updates the block in place.
func (b *Block) Params() []*train.Param { return b.params }

// ZeroGrad sets every gradient to zero; Backward only adds.
func (b *Block) ZeroGrad() { train.ZeroGrad(b.params) }

// Forward runs the block on rows pooled vectors h (rows,H) and writes out (rows,H). In Train
// mode the gate's noise is drawn from rng (rows·E standard normals, row by row); Eval
// ignores rng. The pass is kept for Backward.
func (b *Block) Forward(out, h []float32, rows int, mode Mode, rng *rand.Rand) Routing {
	b.checkRows("Forward", rows, len(out), len(h))
	var eps []float32
	if mode == Train {
		if rng == nil {
			panic("moe: Forward: Train mode needs a random source")
		}
		eps = grow(&b.st.epsBuf, rows*b.cfg.Experts)
		for i := range eps {
			eps[i] = float32(rng.NormFloat64())
		}
	}
	return b.forward(out, h, rows, mode, eps)
}

// forward is Forward with the training noise given (nil in Eval mode), so tests can fix it.
func (b *Block) forward(out, h []float32, rows int, mode Mode, eps []float32) Routing {
	hidden, half, e := b.cfg.Hidden, b.cfg.Hidden/2, b.cfg.Experts
	s := &b.st
	s.rows, s.train = rows, mode == Train
	s.top1 = s.train || b.cfg.Mix == MixTop1
	s.eps = eps
	s.h = grow(&s.hBuf, rows*hidden)
	copy(s.h, h[:rows*hidden])

	// Gate: probabilities of (noisy) logits, then which experts each row keeps.
	s.gateAct = grow(&s.gateActBuf, rows*half)
	b.gate1.forward(s.gateAct, s.h, rows)
	reluForward(s.gateAct)
	s.logits = grow(&s.logitsBuf, rows*e)
	b.gate2.forward(s.logits, s.gateAct, rows)
	s.probs = grow(&s.probsBuf, rows*e)
	if s.train {
		s.noise = grow(&s.noiseBuf, rows*e)
		b.noise.forward(s.noise, s.h, rows)
		noisyLogitsForward(s.probs, s.logits, s.noise, s.eps)
	} else {
		copy(s.probs, s.logits)
	}
	softmaxForward(s.probs, rows, e)
	b.route()

	// Experts, each on the rows that keep it, gathered into contiguous slots.
	s.act = grow(&s.actBuf, len(s.slotRow)*half)
	s.expOut = grow(&s.expOutBuf, len(s.slotRow)*hidden)
	s.xs = grow(&s.xsBuf, len(s.slotRow)*hidden)
	for j, r := range s.slotRow {
		copy(s.xs[j*hidden:(j+1)*hidden], s.h[r*hidden:(r+1)*hidden])
	}
	for m := range b.experts {
		lo, hi := s.offset[m], s.offset[m+1]
		act := s.act[lo*half : hi*half]
		b.experts[m].up.forward(act, s.xs[lo*hidden:hi*hidden], hi-lo)
		reluForward(act)
		b.experts[m].down.forward(s.expOut[lo*hidden:hi*hidden], act, hi-lo)
	}

	// Mixture y = Σ_m g_m·E_m(h), normalised, plus the residual (scaled by α first in a
	// gain block).
	s.mix = grow(&s.mixBuf, rows*hidden)
	clear(s.mix)
	for m := range b.experts {
		for j := s.offset[m]; j < s.offset[m+1]; j++ {
			r := s.slotRow[j]
			f32.Axpy(s.weights[r*e+m], s.expOut[j*hidden:(j+1)*hidden], s.mix[r*hidden:(r+1)*hidden])
		}
	}
	s.norm = grow(&s.normBuf, rows)
	if b.gain != nil {
		s.gain = b.gain.Data[0]
		gainResidualForward(out, s.norm, s.mix, s.h, rows, hidden, s.gain)
	} else {
		normalizeResidualForward(out, s.norm, s.mix, s.h, rows, hidden)
	}

	s.frac = grow(&s.fracBuf, e)
	var aux float32
	if b.balanced() {
		aux = balanceForward(s.frac, s.count, s.probs, rows, e, b.cfg.BalanceCoef)
	}
	s.ready = true
	return Routing{Expert: s.expert, Probs: s.probs, AuxLoss: aux}
}

// route picks each row's expert and mixture weights and lays out the expert slots: in top-1
// one slot per row, grouped by expert; in ALL every row in every expert.
func (b *Block) route() {
	s, e, rows := &b.st, b.cfg.Experts, b.st.rows
	s.expert = growInts(&s.expertBuf, rows)
	s.count = growInts(&s.countBuf, e)
	s.offset = growInts(&s.offsetBuf, e+1)
	s.weights = grow(&s.weightsBuf, rows*e)
	clear(s.count)
	clear(s.weights)
	for r := range rows {
		pr := s.probs[r*e : (r+1)*e]
		k := argmax(pr)
		s.expert[r] = k
		s.count[k]++
		switch {
		case !s.top1:
			copy(s.weights[r*e:(r+1)*e], pr)
		case b.cfg.Router == RouterLearned:
			s.weights[r*e+k] = 1 // the straight-through scale 1 + p_k − stopgrad(p_k)
		default:
			s.weights[r*e+k] = pr[k]
		}
	}
	if !s.top1 {
		s.slotRow = growInts(&s.slotRowBuf, e*rows)
		for m := range e {
			s.offset[m] = m * rows
			for r := range rows {
				s.slotRow[m*rows+r] = r
			}
		}
		s.offset[e] = e * rows
		return
	}
	s.slotRow = growInts(&s.slotRowBuf, rows)
	s.offset[0] = 0
	for m := range e {
		s.offset[m+1] = s.offset[m] + s.count[m]
	}
	next := s.offset[:e] // reused as fill cursors, then restored
	for r, k := range s.expert {
		s.slotRow[next[k]] = r
		next[k]++
	}
	for m := e; m > 0; m-- {
		s.offset[m] = s.offset[m-1]
	}
	s.offset[0] = 0
}

// Backward takes dout (rows,H), the gradient of the loss with respect to the last Forward's
// output, and dAux, that of the loss with respect to Routing.AuxLoss (1 when it was simply
// added). It adds into every trainable parameter's Grad and into dh (rows,H), the gradient
// of the pooled vectors.
func (b *Block) Backward(dh, dout []float32, dAux float32) {
	s := &b.st
	if !s.ready {
		panic("moe: Backward called before Forward")
	}
	rows, hidden, half, e := s.rows, b.cfg.Hidden, b.cfg.Hidden/2, b.cfg.Experts
	b.checkRows("Backward", rows, len(dh), len(dout))
	slots := len(s.slotRow)
	tr := grow(&s.trBuf, max(slots, rows)*hidden)

	f32.Axpy(1, dout[:rows*hidden], dh[:rows*hidden]) // the residual

	// dyhat is the gradient of the normalised mixture: dout, or α·dout in a gain block.
	dyhat := dout
	if b.gain != nil {
		dyhat = grow(&s.dyhatBuf, rows*hidden)
		b.gain.Grad[0] += gainResidualBackward(dyhat, dout, s.mix, s.norm, rows, hidden, s.gain)
	}
	dmix := grow(&s.dmixBuf, rows*hidden)
	normalizeResidualBackward(dmix, dyhat, s.mix, s.norm, rows, hidden)

	// Mixture → expert outputs and gate probabilities.
	dexpOut := grow(&s.dexpOutBuf, slots*hidden)
	dprobs := grow(&s.dprobsBuf, rows*e)
	clear(dprobs)
	straightThrough := s.top1 && b.cfg.Router == RouterLearned
	for m := range b.experts {
		for j := s.offset[m]; j < s.offset[m+1]; j++ {
			r := s.slotRow[j]
			eo, dm := s.expOut[j*hidden:(j+1)*hidden], dmix[r*hidden:(r+1)*hidden]
			de := dexpOut[j*hidden : (j+1)*hidden]
			w := s.weights[r*e+m]
			for i, v := range dm {
				de[i] = w * v
			}
			if straightThrough {
				// out = c·ŷ + h with c = 1 + p_k − stopgrad(p_k): ∂out/∂p_k = ŷ (α·ŷ in a gain block).
				dprobs[r*e+m] += f32.Dot(s.mix[r*hidden:(r+1)*hidden], dyhat[r*hidden:(r+1)*hidden]) / max(s.norm[r], normEps)
			} else {
				dprobs[r*e+m] += f32.Dot(eo, dm)
			}
		}
	}
	if b.balanced() {
		balanceBackward(dprobs, s.frac, rows, e, b.cfg.BalanceCoef, dAux)
	}
	softmaxBackward(dprobs, s.probs, rows, e) // now the gradient of the (noisy) logits
	dlogits := dprobs

	// Gate, and in training the noise layer, which passes gradient to h but learns nothing.
	if s.train {
		dnoise := grow(&s.dnoiseBuf, rows*e)
		noisyLogitsBackward(dnoise, dlogits, s.noise, s.eps)
		b.noise.backward(dh, dnoise, s.h, rows, tr)
	}
	dgateAct := grow(&s.dgateActBuf, rows*half)
	clear(dgateAct)
	b.gate2.backward(dgateAct, dlogits, s.gateAct, rows, tr)
	reluBackward(dgateAct, s.gateAct)
	b.gate1.backward(dh, dgateAct, s.h, rows, tr)

	// Experts, slot by slot, scattered back onto their rows.
	dact := grow(&s.dactBuf, slots*half)
	dxs := grow(&s.dxsBuf, slots*hidden)
	clear(dact)
	clear(dxs)
	for m := range b.experts {
		lo, hi := s.offset[m], s.offset[m+1]
		if lo == hi {
			continue
		}
		act, da := s.act[lo*half:hi*half], dact[lo*half:hi*half]
		b.experts[m].down.backward(da, dexpOut[lo*hidden:hi*hidden], act, hi-lo, tr)
		reluBackward(da, act)
		b.experts[m].up.backward(dxs[lo*hidden:hi*hidden], da, s.xs[lo*hidden:hi*hidden], hi-lo, tr)
	}
	for j, r := range s.slotRow {
		f32.Axpy(1, dxs[j*hidden:(j+1)*hidden], dh[r*hidden:(r+1)*hidden])
	}
}

// balanced reports whether the last pass carries the load-balancing loss.
func (b *Block) balanced() bool {
	return b.st.train && b.cfg.Router == RouterLearned && b.cfg.BalanceCoef > 0
}

func (b *Block) checkRows(op string, rows, lenA, lenB int) {
	n := rows * b.cfg.Hidden
	if rows < 1 || lenA < n || lenB < n {
		panic(fmt.Sprintf("moe: %s: %d rows of width %d need %d floats, got %d and %d", op, rows, b.cfg.Hidden, n, lenA, lenB))
	}
}
