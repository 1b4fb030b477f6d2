package bert

// embeddings turns token ids into the first hidden states: word + position + token-type
// vectors, then layer norm. Every sequence is one segment (token type 0), as in retrieval.
type embeddings struct {
	word, position, tokenType []float32 // (vocab,h), (maxPositions,h), (types,h)
	norm                      layerNorm
	q                         *embeddingsInt8 // an int8 model's tables, in place of the three above
}

// forward: ids holds the sequences back to back, offs[s]..offs[s+1] being sequence s;
// x is (len(ids),h) and is overwritten. When sum is not nil it receives the summed
// vectors, (len(ids),h), and stats the layer norm's statistics, for backward.
func (e *embeddings) forward(x, sum, stats []float32, ids []int32, offs []int, h, threads int) {
	if sum == nil {
		sum = x
	}
	for s := range len(offs) - 1 {
		for r := offs[s]; r < offs[s+1]; r++ {
			pos, id := r-offs[s], int(ids[r])
			row := sum[r*h : (r+1)*h]
			if e.q != nil {
				e.q.sum(row, id, pos)
				continue
			}
			w, p, t := e.word[id*h:(id+1)*h], e.position[pos*h:(pos+1)*h], e.tokenType[:h]
			for i := range row {
				row[i] = w[i] + t[i] + p[i]
			}
		}
	}
	e.norm.forward(x, sum, stats, len(ids), threads)
}

// backward: sum and stats are what forward saved, dx the gradient of its output
// (len(ids),h). dsum (len(ids),h) is scratch: it is overwritten with the gradient of
// the summed vectors, which is then scattered, row after row in order, into the rows
// of dg.word and dg.position that each token used and into dg.tokenType's row 0.
func (e *embeddings) backward(dg *embeddings, dsum, dx, sum, stats []float32, ids []int32, offs []int, h, threads int) {
	clear(dsum)
	e.norm.backward(dsum, dg.norm.g, dg.norm.b, dx, sum, stats, len(ids), threads)
	for s := range len(offs) - 1 {
		for r := offs[s]; r < offs[s+1]; r++ {
			pos, id := r-offs[s], int(ids[r])
			row := dsum[r*h : (r+1)*h]
			addRows(dg.word[id*h:(id+1)*h], row)
			addRows(dg.position[pos*h:(pos+1)*h], row)
			addRows(dg.tokenType[:h], row)
		}
	}
}
