//go:build goexperiment.simd && amd64 && !purego

package kernel

import "simd/archsimd"

func dot(a, b []float32) float32 {
	switch {
	case useAVX512:
		return dotAVX512(a, b)
	case useAVX2:
		return dotAVX2(a, b)
	}
	return DotScalar(a, b)
}

// dotAVX2 keeps two independent accumulators so that consecutive FMAs do not wait on
// each other.
func dotAVX2(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var acc0, acc1 archsimd.Float32x8
	i := 0
	for ; i+16 <= n; i += 16 {
		acc0 = archsimd.LoadFloat32x8(a[i:i+8]).MulAdd(archsimd.LoadFloat32x8(b[i:i+8]), acc0)
		acc1 = archsimd.LoadFloat32x8(a[i+8:i+16]).MulAdd(archsimd.LoadFloat32x8(b[i+8:i+16]), acc1)
	}
	for ; i+8 <= n; i += 8 {
		acc0 = archsimd.LoadFloat32x8(a[i:i+8]).MulAdd(archsimd.LoadFloat32x8(b[i:i+8]), acc0)
	}
	var lanes [8]float32
	acc0.Add(acc1).StoreArray(&lanes)
	archsimd.ClearAVXUpperBits()
	s := (lanes[0] + lanes[4]) + (lanes[1] + lanes[5]) + (lanes[2] + lanes[6]) + (lanes[3] + lanes[7])
	for ; i < n; i++ {
		s += a[i] * b[i]
	}
	return s
}

func dotAVX512(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var acc0, acc1 archsimd.Float32x16
	i := 0
	for ; i+32 <= n; i += 32 {
		acc0 = archsimd.LoadFloat32x16(a[i:i+16]).MulAdd(archsimd.LoadFloat32x16(b[i:i+16]), acc0)
		acc1 = archsimd.LoadFloat32x16(a[i+16:i+32]).MulAdd(archsimd.LoadFloat32x16(b[i+16:i+32]), acc1)
	}
	for ; i+16 <= n; i += 16 {
		acc0 = archsimd.LoadFloat32x16(a[i:i+16]).MulAdd(archsimd.LoadFloat32x16(b[i:i+16]), acc0)
	}
	var lanes [16]float32
	acc0.Add(acc1).StoreArray(&lanes)
	archsimd.ClearAVXUpperBits()
	var s float32
	for _, v := range lanes {
		s += v
	}
	for ; i < n; i++ {
		s += a[i] * b[i]
	}
	return s
}
