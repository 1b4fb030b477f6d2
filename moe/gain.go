package moe

import "math"

// The gain output (OutputGain): out = h + α·ŷ with ŷ = y/max(‖y‖, normEps) the normalised
// mixture and α one learned scalar that starts at 0. Shapes: y, h, out, dout and dŷ are
// (rows,H), norm is (rows).

// gainResidualForward writes out = h + a·ŷ and the norms ‖y‖ (summed in float64, as the
// paper's output does). With a = 0 out is a copy of h, bit for bit: h + 0·ŷ would turn a
// −0 of h into +0.
func gainResidualForward(out, norm, y, h []float32, rows, hidden int, a float32) {
	for r := range rows {
		yr := y[r*hidden : (r+1)*hidden]
		var ss float64
		for _, v := range yr {
			ss += float64(v) * float64(v)
		}
		norm[r] = float32(math.Sqrt(ss))
		or, hr := out[r*hidden:(r+1)*hidden], h[r*hidden:(r+1)*hidden]
		if a == 0 {
			copy(or, hr)
			continue
		}
		inv := 1 / max(norm[r], normEps)
		for i, v := range yr {
			or[i] = hr[i] + a*(v*inv)
		}
	}
}

// gainResidualBackward writes dŷ = a·dout, the gradient of the normalised mixture (which
// normalizeResidualBackward carries on to y), and returns dα = Σ_r ŷ_r·dout_r. The
// residual's gradient, dout itself, is the caller's to add into dh.
func gainResidualBackward(dyhat, dout, y, norm []float32, rows, hidden int, a float32) float32 {
	var da float64
	for r := range rows {
		yr, dor, dyr := y[r*hidden:(r+1)*hidden], dout[r*hidden:(r+1)*hidden], dyhat[r*hidden:(r+1)*hidden]
		var dot float64
		for i, v := range yr {
			dot += float64(v) * float64(dor[i])
			dyr[i] = a * dor[i]
		}
		da += dot / float64(max(norm[r], normEps))
	}
	return float32(da)
}
