//go:build goexperiment.simd && amd64 && !purego

package kernel

import (
	"math"

	"simd/archsimd"
)

func layerNorm(y, x, g, b []float32, eps float64) (mean, rstd float32) {
	if !useAVX512 {
		return LayerNormScalar(y, x, g, b, eps)
	}
	return layerNormAVX512(y, x, g, b, eps)
}

// layerNormAVX512 widens eight floats at a time to float64 (VCVTPS2PD) for the two
// sums, as the specification sums in float64, and narrows the normalised values back
// before g and b. Squares are multiplied and added apart, not fused, like the
// specification's.
func layerNormAVX512(y, x, g, b []float32, eps float64) (mean, rstd float32) {
	n := len(x)
	whole := n &^ 7
	var vs archsimd.Float64x8
	for i := 0; i < whole; i += 8 {
		vs = vs.Add(archsimd.LoadFloat32x8Array((*[8]float32)(x[i:])).ConvertToFloat64())
	}
	sum := sum8Float64(vs)
	for _, v := range x[whole:] {
		sum += float64(v)
	}
	mu := sum / float64(n)
	vmu := archsimd.BroadcastFloat64x8(mu)
	var vq archsimd.Float64x8
	for i := 0; i < whole; i += 8 {
		d := archsimd.LoadFloat32x8Array((*[8]float32)(x[i:])).ConvertToFloat64().Sub(vmu)
		vq = vq.Add(d.Mul(d))
	}
	ss := sum8Float64(vq)
	for _, v := range x[whole:] {
		d := float64(v) - mu
		ss += d * d
	}
	inv := 1 / math.Sqrt(ss/float64(n)+eps)
	vinv := archsimd.BroadcastFloat64x8(inv)
	for i := 0; i < whole; i += 8 {
		v := archsimd.LoadFloat32x8Array((*[8]float32)(x[i:])).ConvertToFloat64().Sub(vmu).Mul(vinv).ConvertToFloat32()
		v = v.Mul(archsimd.LoadFloat32x8Array((*[8]float32)(g[i:]))).Add(archsimd.LoadFloat32x8Array((*[8]float32)(b[i:])))
		v.StoreArray((*[8]float32)(y[i:]))
	}
	archsimd.ClearAVXUpperBits()
	for i := whole; i < n; i++ {
		y[i] = float32((float64(x[i])-mu)*inv)*g[i] + b[i]
	}
	return float32(mu), float32(inv)
}

// sum8Float64 adds the eight lanes of v, lane 0 first, in scalar code after
// VZEROUPPER.
func sum8Float64(v archsimd.Float64x8) float64 {
	var lanes [8]float64
	v.StoreArray(&lanes)
	archsimd.ClearAVXUpperBits()
	var s float64
	for _, l := range lanes {
		s += l
	}
	return s
}
