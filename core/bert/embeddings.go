package bert

// embeddings turns token ids into the first hidden states: word + position + token-type
// vectors, then layer norm. Every sequence is one segment (token type 0), as in retrieval.
type embeddings struct {
	word, position, tokenType []float32 // (vocab,h), (maxPositions,h), (types,h)
	norm                      layerNorm
}

// forward: ids holds the sequences back to back, offs[s]..offs[s+1] being sequence s;
// x is (len(ids),h) and is overwritten.
func (e *embeddings) forward(x []float32, ids []int32, offs []int, h, threads int) {
	for s := range len(offs) - 1 {
		for r := offs[s]; r < offs[s+1]; r++ {
			pos, id := r-offs[s], int(ids[r])
			row := x[r*h : (r+1)*h]
			w, p, t := e.word[id*h:(id+1)*h], e.position[pos*h:(pos+1)*h], e.tokenType[:h]
			for i := range row {
				row[i] = w[i] + t[i] + p[i]
			}
		}
	}
	e.norm.forward(x, len(ids), threads)
}
