package moe

// state holds the last forward pass, which Backward reads, and the buffers of both passes.
// Each xxx slice is a view of length rows·… into xxxBuf, which only grows: at a fixed batch
// size nothing is allocated after the first step.
type state struct {
	rows        int
	train, top1 bool
	ready       bool
	gain        float32 // α as the last Forward used it

	h, gateAct, logits, noise, eps, probs, weights []float32 // (rows,H), (rows,H/2), (rows,E)…
	expert, count, offset, slotRow                 []int     // (rows), (E), (E+1), (slots)
	xs, act, expOut                                []float32 // (slots,H), (slots,H/2), (slots,H)
	mix, norm, frac                                []float32 // (rows,H), (rows), (E)

	hBuf, gateActBuf, logitsBuf, noiseBuf, epsBuf, probsBuf, weightsBuf []float32
	expertBuf, countBuf, offsetBuf, slotRowBuf                          []int
	xsBuf, actBuf, expOutBuf, mixBuf, normBuf, fracBuf                  []float32
	dyhatBuf, dmixBuf, dexpOutBuf, dprobsBuf, dnoiseBuf, dgateActBuf    []float32
	dactBuf, dxsBuf, trBuf                                              []float32
}

func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

func growInts(buf *[]int, n int) []int {
	if cap(*buf) < n {
		*buf = make([]int, n)
	}
	return (*buf)[:n]
}
