package finetune

import (
	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/moe"
)

// blockRows is how many vectors Embed passes through the block at once.
const blockRows = 256

// Embed returns the retrieval vectors of texts: the encoder's pooled vectors, passed
// through the block in Eval mode when block is not nil, as search compares them.
// load counts the texts whose most probable expert is each of the block's experts
// (nil without a block).
func Embed(m *bert.Model, block *moe.Block, texts []string, opt bert.EncodeOptions) (vecs [][]float32, load []int) {
	return ApplyBlock(block, m.Encode(texts, opt))
}

// ApplyBlock passes pooled vectors through block in Eval mode, in place, and counts
// the vectors whose most probable expert is each of the block's experts. A nil block
// leaves vecs as they are and returns a nil load.
func ApplyBlock(block *moe.Block, vecs [][]float32) ([][]float32, []int) {
	if block == nil {
		return vecs, nil
	}
	h := block.Config().Hidden
	load := make([]int, block.Config().Experts)
	in, out := make([]float32, blockRows*h), make([]float32, blockRows*h)
	for lo := 0; lo < len(vecs); lo += blockRows {
		rows := min(blockRows, len(vecs)-lo)
		for i := range rows {
			copy(in[i*h:(i+1)*h], vecs[lo+i])
		}
		r := block.Forward(out, in, rows, moe.Eval, nil)
		for i := range rows {
			copy(vecs[lo+i], out[i*h:(i+1)*h])
			load[r.Expert[i]]++
		}
	}
	return vecs, load
}
