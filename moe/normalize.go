package moe

import "math"

// normEps is the floor of the mixture's norm. The authors call F.normalize(…, eps=1e-6), not
// PyTorch's default 1e-12; it only matters for a mixture that is all but zero.
const normEps = 1e-6

// normalizeResidualForward: y and h are (rows,H); writes out = y/max(‖y‖, normEps) + h and
// the norms ‖y‖ (rows). Sums of squares are in float64.
func normalizeResidualForward(out, norm, y, h []float32, rows, hidden int) {
	for r := range rows {
		yr := y[r*hidden : (r+1)*hidden]
		var ss float64
		for _, v := range yr {
			ss += float64(v) * float64(v)
		}
		norm[r] = float32(math.Sqrt(ss))
		inv := 1 / max(norm[r], normEps)
		or, hr := out[r*hidden:(r+1)*hidden], h[r*hidden:(r+1)*hidden]
		for i, v := range yr {
			or[i] = v*inv + hr[i]
		}
	}
}

// normalizeResidualBackward writes dy = dout/n − y·(y·dout)/n³ for the normalised part, or
// dout/normEps where the norm was clamped (the clamp has no gradient). The residual's
// gradient, dout itself, is the caller's to add into dh.
func normalizeResidualBackward(dy, dout, y, norm []float32, rows, hidden int) {
	for r := range rows {
		yr, dor, dyr := y[r*hidden:(r+1)*hidden], dout[r*hidden:(r+1)*hidden], dy[r*hidden:(r+1)*hidden]
		n := norm[r]
		if n <= normEps {
			for i, v := range dor {
				dyr[i] = v / normEps
			}
			continue
		}
		var dot float64
		for i, v := range yr {
			dot += float64(v) * float64(dor[i])
		}
		inv := 1 / n
		c := float32(dot / (float64(n) * float64(n) * float64(n)))
		for i, v := range yr {
			dyr[i] = dor[i]*inv - v*c
		}
	}
}
