package moe

import "math"

// The gate's forward and backward past its two linear layers: noise, softmax, routing and
// the load-balancing loss. Shapes: logits, noise, eps and probs are (rows,E).

// softplusThreshold is torch.nn.functional.softplus's default: above it softplus(x) = x.
const softplusThreshold = 20

// noisyLogitsForward writes z = l + ε ⊙ softplus(n) into z.
func noisyLogitsForward(z, logits, noise, eps []float32) {
	for i, n := range noise {
		z[i] = logits[i] + eps[i]*softplus(n)
	}
}

// noisyLogitsBackward: dz is the gradient of z; writes dn = dz ⊙ ε ⊙ softplus'(n). The
// gradient of l is dz itself.
func noisyLogitsBackward(dn, dz, noise, eps []float32) {
	for i, n := range noise {
		dn[i] = dz[i] * eps[i] * softplusGrad(n)
	}
}

func softplus(x float32) float32 {
	if x > softplusThreshold {
		return x
	}
	return float32(math.Log1p(math.Exp(float64(x))))
}

// softplusGrad is the logistic sigmoid, and 1 above the threshold as in PyTorch.
func softplusGrad(x float32) float32 {
	if x > softplusThreshold {
		return 1
	}
	return float32(1 / (1 + math.Exp(-float64(x))))
}

// softmaxForward turns each row of z (rows,e) into probabilities in place, in float64.
func softmaxForward(z []float32, rows, e int) {
	for r := range rows {
		zr := z[r*e : (r+1)*e]
		m := zr[0]
		for _, v := range zr[1:] {
			m = max(m, v)
		}
		var sum float64
		for i, v := range zr {
			x := math.Exp(float64(v - m))
			zr[i] = float32(x)
			sum += x
		}
		for i := range zr {
			zr[i] = float32(float64(zr[i]) / sum)
		}
	}
}

// softmaxBackward turns dp into dz = p ⊙ (dp − p·dp) in place, row by row, without the
// e×e Jacobian.
func softmaxBackward(dp, p []float32, rows, e int) {
	for r := range rows {
		pr, dr := p[r*e:(r+1)*e], dp[r*e:(r+1)*e]
		var dot float64
		for i := range pr {
			dot += float64(pr[i]) * float64(dr[i])
		}
		for i := range pr {
			dr[i] = pr[i] * (dr[i] - float32(dot))
		}
	}
}

// argmax returns the first index of the largest value: ties, which float probabilities
// almost never produce, go to the lower-numbered expert.
func argmax(x []float32) int {
	k := 0
	for i, v := range x {
		if v > x[k] {
			k = i
		}
	}
	return k
}

// balanceForward returns the Switch Transformer load-balancing loss coef·E·Σ_m f_m·P_m for
// one batch, with f_m the fraction of rows routed to expert m (a count, not differentiable)
// and P_m the mean probability the gate gives m. frac receives f.
func balanceForward(frac []float32, counts []int, probs []float32, rows, e int, coef float32) float32 {
	var loss float64
	for m := range e {
		frac[m] = float32(counts[m]) / float32(rows)
		var pm float64
		for r := range rows {
			pm += float64(probs[r*e+m])
		}
		loss += float64(frac[m]) * pm / float64(rows)
	}
	return float32(float64(coef) * float64(e) * loss)
}

// balanceBackward adds dLoss·∂loss/∂p = dLoss·coef·E·f_m/rows into every row of dp.
func balanceBackward(dp, frac []float32, rows, e int, coef, dLoss float32) {
	for m := range e {
		g := dLoss * coef * float32(e) * frac[m] / float32(rows)
		for r := range rows {
			dp[r*e+m] += g
		}
	}
}
