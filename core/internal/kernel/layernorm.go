package kernel

import "math"

// LayerNorm normalises the row x into y (len(y) ≥ len(x); y may be x): zero mean and
// unit (biased) variance, then scaled by g and shifted by b, both at least as long as
// x. It returns the row's mean and reciprocal standard deviation, which the backward
// pass reads. The statistics are summed in float64.
func LayerNorm(y, x, g, b []float32, eps float64) (mean, rstd float32) {
	n := len(x)
	if len(y) < n || len(g) < n || len(b) < n {
		panic("kernel: LayerNorm: y, g or b shorter than x")
	}
	if n == 0 {
		return 0, 0 // as LayerNormScalar
	}
	return layerNorm(y[:n], x, g[:n], b[:n], eps)
}

// LayerNormScalar is the specification of LayerNorm:
//
//	mean := Σ float64(x[i]) / n
//	inv := 1 / √(Σ (float64(x[i]) − mean)² / n + eps)
//	y[i] = float32((float64(x[i]) − mean)·inv)·g[i] + b[i]   (the last two in float32)
//
// A vector implementation sums in several float64 lanes, so its statistics may differ
// from these in the last bits of a float64, which float32 rounding almost always hides.
// An empty row returns 0, 0.
func LayerNormScalar(y, x, g, b []float32, eps float64) (mean, rstd float32) {
	n := len(x)
	if n == 0 {
		return 0, 0
	}
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mu := sum / float64(n)
	var ss float64
	for _, v := range x {
		d := float64(v) - mu
		ss += d * d
	}
	inv := 1 / math.Sqrt(ss/float64(n)+eps)
	y, g, b = y[:n], g[:n], b[:n]
	for i, v := range x {
		y[i] = float32((float64(v)-mu)*inv)*g[i] + b[i]
	}
	return float32(mu), float32(inv)
}
