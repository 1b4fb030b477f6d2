//go:build goexperiment.simd && amd64 && !purego

package kernel

import "simd/archsimd"

func axpy(alpha float32, x, y []float32) {
	if !useAVX2 && !useAVX512 {
		AxpyScalar(alpha, x, y)
		return
	}
	n := len(x)
	y = y[:n]
	va := archsimd.BroadcastFloat32x8(alpha)
	i := 0
	for ; i+8 <= n; i += 8 {
		va.MulAdd(archsimd.LoadFloat32x8(x[i:i+8]), archsimd.LoadFloat32x8(y[i:i+8])).Store(y[i : i+8])
	}
	archsimd.ClearAVXUpperBits()
	for ; i < n; i++ {
		y[i] += alpha * x[i]
	}
}
