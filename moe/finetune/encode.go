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
	vecs, experts := ApplyBlock(block, m.Encode(texts, opt))
	return vecs, Load(block, experts)
}

// ApplyBlock passes pooled vectors through block in Eval mode, in place, and returns
// each vector's most probable expert. A nil block leaves vecs as they are and returns
// no experts.
func ApplyBlock(block *moe.Block, vecs [][]float32) ([][]float32, []int) {
	if block == nil {
		return vecs, nil
	}
	h := block.Config().Hidden
	experts := make([]int, 0, len(vecs))
	in, out := make([]float32, blockRows*h), make([]float32, blockRows*h)
	for lo := 0; lo < len(vecs); lo += blockRows {
		rows := min(blockRows, len(vecs)-lo)
		for i := range rows {
			copy(in[i*h:(i+1)*h], vecs[lo+i])
		}
		r := block.Forward(out[:rows*h], in[:rows*h], rows, moe.Eval, nil)
		for i := range rows {
			copy(vecs[lo+i], out[i*h:(i+1)*h])
		}
		experts = append(experts, r.Expert...)
	}
	return vecs, experts
}

// Load counts how many of experts name each of block's experts (nil without a block).
func Load(block *moe.Block, experts []int) []int {
	if block == nil {
		return nil
	}
	load := make([]int, block.Config().Experts)
	for _, e := range experts {
		load[e]++
	}
	return load
}
