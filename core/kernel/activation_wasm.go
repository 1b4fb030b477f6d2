//go:build goexperiment.simd && wasm && !purego

package kernel

import "simd/archsimd"

// Softmax stays scalar in WebAssembly: SIMD128 has no fused multiply-add and the
// polynomial gains little over the scalar loop at four lanes.
func softmaxScaled(x []float32, scale float32) { SoftmaxScaledScalar(x, scale) }

// The tail of a slice (fewer than four floats) goes through a zero-padded array.
func geluErf(x []float32) {
	half := archsimd.BroadcastFloat32x4(0.5)
	one := archsimd.BroadcastFloat32x4(1)
	c := archsimd.BroadcastFloat32x4(sqrtHalf)
	var lanes [4]float32
	for i := 0; i < len(x); i += 4 {
		n := copy(lanes[:], x[i:])
		v := archsimd.LoadFloat32x4Array(&lanes)
		half.Mul(v).Mul(one.Add(erf4(v.Mul(c)))).StoreArray(&lanes)
		copy(x[i:], lanes[:n])
	}
}

func erf4(x archsimd.Float32x4) archsimd.Float32x4 {
	x = x.Max(archsimd.BroadcastFloat32x4(-4)).Min(archsimd.BroadcastFloat32x4(4))
	x2 := x.Mul(x)
	p := archsimd.BroadcastFloat32x4(erfP0)
	p = p.Mul(x2).Add(archsimd.BroadcastFloat32x4(erfP1))
	p = p.Mul(x2).Add(archsimd.BroadcastFloat32x4(erfP2))
	p = p.Mul(x2).Add(archsimd.BroadcastFloat32x4(erfP3))
	p = p.Mul(x2).Add(archsimd.BroadcastFloat32x4(erfP4))
	p = p.Mul(x2).Add(archsimd.BroadcastFloat32x4(erfP5))
	p = p.Mul(x2).Add(archsimd.BroadcastFloat32x4(erfP6))
	q := archsimd.BroadcastFloat32x4(erfQ0)
	q = q.Mul(x2).Add(archsimd.BroadcastFloat32x4(erfQ1))
	q = q.Mul(x2).Add(archsimd.BroadcastFloat32x4(erfQ2))
	q = q.Mul(x2).Add(archsimd.BroadcastFloat32x4(erfQ3))
	q = q.Mul(x2).Add(archsimd.BroadcastFloat32x4(erfQ4))
	return x.Mul(p).Div(q)
}
