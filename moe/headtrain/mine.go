package headtrain

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/sbmoe/sbmoe/core/train"
	"github.com/sbmoe/sbmoe/moe"
)

// What the trainer ranks against the whole collection: the hard negatives it mines before
// every epoch and the held-out queries it scores by NDCG@10 after one.

// mineStream separates the draw of hard negatives from the seed's other streams.
const mineStream = 0x6d696e65

// applyRows is how many vectors pass through the block at once outside training.
const applyRows = 256

// headed passes vecs (each of the block's width) through the block in Eval mode and
// writes the results, flat, into dst (len(vecs)·H), returned.
func (t *Trainer) headed(dst []float32, vecs [][]float32) []float32 {
	h := t.block.Config().Hidden
	dst = grow(dst, len(vecs)*h)
	in := make([]float32, min(applyRows, len(vecs))*h)
	for lo := 0; lo < len(vecs); lo += applyRows {
		rows := min(applyRows, len(vecs)-lo)
		for i := range rows {
			copy(in[i*h:(i+1)*h], vecs[lo+i])
		}
		t.block.Forward(dst[lo*h:(lo+rows)*h], in[:rows*h], rows, moe.Eval, nil)
	}
	return dst
}

// queries returns the vectors of the examples idx names as the block makes them, flat.
func (t *Trainer) queries(idx []int) []float32 {
	qs := make([][]float32, len(idx))
	for i, k := range idx {
		qs[i] = t.data.Examples[k].Query
	}
	return t.headed(nil, qs)
}

// refreshDocs makes the ranker's documents those the current block makes: the encoder's
// vectors with QueriesOnly (once), else every document through the block (once per step
// count, so mining and validation between two steps share them).
func (t *Trainer) refreshDocs() {
	h := t.block.Config().Hidden
	switch {
	case t.cfg.QueriesOnly && t.docsStep >= 0:
		return
	case t.cfg.QueriesOnly:
		t.docs.setDocs(t.data.Docs, h)
	case t.docsStep == t.st.Step:
		return
	default:
		flat := t.headed(nil, t.data.Docs)
		rows := make([][]float32, len(t.data.Docs))
		for i := range rows {
			rows[i] = flat[i*h : (i+1)*h]
		}
		t.docs.setDocs(rows, h)
	}
	t.docsStep = t.st.Step
}

// rank returns the k best documents of each example idx names, under the current block,
// leaving out each example's positives when skipPositives is set.
func (t *Trainer) rank(idx []int, k int, skipPositives bool) [][]int {
	t.refreshDocs()
	if cap(t.ranked) < len(idx) {
		t.ranked = make([][]int, len(idx))
	}
	out := t.ranked[:len(idx)]
	var skip func(i, doc int) bool
	if skipPositives {
		skip = func(i, doc int) bool { return slices.Contains(t.data.Examples[idx[i]].Positives, doc) }
	}
	t.docs.top(t.queries(idx), len(idx), k, skip, out)
	return out
}

// mine draws the epoch's hard negatives of every training example: HardNegatives of its
// MineDepth best-ranked documents that are not its positives, chosen from (seed, epoch,
// example id) alone, in rank order.
func (t *Trainer) mine(epoch int) {
	k := t.cfg.HardNegatives
	depth := max(t.cfg.MineDepth, k)
	ranked := t.rank(t.trainIdx, depth, true)
	if len(t.negatives) != len(t.trainIdx) {
		t.negatives = make([][]int, len(t.trainIdx))
	}
	for i, top := range ranked {
		neg := t.negatives[i][:0]
		if len(top) <= k {
			neg = append(neg, top...)
		} else {
			id := fnv.New64a()
			id.Write([]byte(t.data.Examples[t.trainIdx[i]].ID))
			rng := rand.New(rand.NewPCG(t.cfg.Seed^mineStream^id.Sum64(), uint64(epoch)))
			picks := rng.Perm(len(top))[:k]
			slices.Sort(picks)
			for _, p := range picks {
				neg = append(neg, top[p])
			}
		}
		t.negatives[i] = neg
	}
}

// minedStep is step with the epoch's hard negatives: the block's input rows are the
// batch's queries, their positives, then every query's mined negatives.
func (t *Trainer) minedStep(batch []int, epoch int) (float64, int, error) {
	h, b := t.block.Config().Hidden, len(batch)
	t.cols = t.cols[:0]
	for _, k := range batch {
		ex := &t.data.Examples[t.trainIdx[k]]
		t.cols = append(t.cols, ex.Positives[train.PositiveIndex(t.cfg.Seed, epoch, ex.ID, len(ex.Positives))])
	}
	for _, k := range batch {
		t.cols = append(t.cols, t.negatives[k]...)
	}
	n := len(t.cols) // document rows
	t.h, t.out = grow(t.h, (b+n)*h), grow(t.out, (b+n)*h)
	t.dout, t.dh = grow(t.dout, (b+n)*h), grow(t.dh, (b+n)*h)
	for i, k := range batch {
		copy(t.h[i*h:(i+1)*h], t.data.Examples[t.trainIdx[k]].Query)
	}
	for j, d := range t.cols {
		copy(t.h[(b+j)*h:(b+j+1)*h], t.data.Docs[d])
	}
	rows := b + n
	if t.cfg.QueriesOnly {
		rows = b
	}
	rng := rand.New(rand.NewPCG(t.cfg.Seed^noiseStream, uint64(t.st.Step)))
	aux := t.block.Forward(t.out[:rows*h], t.h[:rows*h], rows, moe.Train, rng).AuxLoss
	copy(t.out[rows*h:], t.h[rows*h:])
	masked := func(i, j int) bool {
		return slices.Contains(t.data.Examples[t.trainIdx[batch[i]]].Positives, t.cols[j])
	}
	loss, correct, err := t.mined.forward(t.out[:b*h], t.out[b*h:(b+n)*h], b, n, h, masked)
	if err != nil {
		return 0, 0, err
	}
	if math.IsNaN(float64(aux)) || math.IsInf(float64(aux), 0) {
		return 0, 0, fmt.Errorf("load-balancing loss %g: %w", aux, train.ErrNonFinite)
	}
	clear(t.dout)
	var dd []float32
	if !t.cfg.QueriesOnly {
		dd = t.dout[b*h : (b+n)*h]
	}
	t.mined.backward(t.dout[:b*h], dd)
	clear(t.dh)
	t.block.Backward(t.dh[:rows*h], t.dout[:rows*h], 1)
	t.opt.Step()
	t.block.ZeroGrad()
	return loss + float64(aux), correct, nil
}

// validateNDCG is the mean NDCG@10 of the held-out examples, each ranked against every
// document under the current block, its positives the relevant documents.
func (t *Trainer) validateNDCG() float64 {
	ranked := t.rank(t.valIdx, 10, false)
	var sum float64
	for i, top := range ranked {
		sum += ndcgAt10(top, t.data.Examples[t.valIdx[i]].Positives)
	}
	return sum / float64(len(t.valIdx))
}
