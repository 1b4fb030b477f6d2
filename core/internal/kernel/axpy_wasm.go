//go:build goexperiment.simd && wasm && !purego

package kernel

import "simd/archsimd"

func axpy(alpha float32, x, y []float32) {
	n := len(x)
	y = y[:n]
	va := archsimd.BroadcastFloat32x4(alpha)
	i := 0
	for ; i+4 <= n; i += 4 {
		archsimd.LoadFloat32x4(y[i : i+4]).Add(va.Mul(archsimd.LoadFloat32x4(x[i : i+4]))).Store(y[i : i+4])
	}
	for ; i < n; i++ {
		y[i] += alpha * x[i]
	}
}
