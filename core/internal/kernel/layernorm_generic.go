//go:build !goexperiment.simd || purego || !amd64

package kernel

func layerNorm(y, x, g, b []float32, eps float64) (mean, rstd float32) {
	return LayerNormScalar(y, x, g, b, eps)
}
