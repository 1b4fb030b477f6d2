//go:build goexperiment.simd && wasm && !purego

package kernel

import "simd/archsimd"

// dot uses two independent 4-lane accumulators (WebAssembly SIMD128 has no fused
// multiply-add, so each step is a multiply and an add).
func dot(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var acc0, acc1 archsimd.Float32x4
	i := 0
	for ; i+8 <= n; i += 8 {
		acc0 = acc0.Add(archsimd.LoadFloat32x4(a[i : i+4]).Mul(archsimd.LoadFloat32x4(b[i : i+4])))
		acc1 = acc1.Add(archsimd.LoadFloat32x4(a[i+4 : i+8]).Mul(archsimd.LoadFloat32x4(b[i+4 : i+8])))
	}
	var lanes [4]float32
	acc0.Add(acc1).StoreArray(&lanes)
	s := (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])
	for ; i < n; i++ {
		s += a[i] * b[i]
	}
	return s
}
