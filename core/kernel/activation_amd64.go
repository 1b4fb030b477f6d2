//go:build goexperiment.simd && amd64 && !purego

package kernel

import "simd/archsimd"

// softmaxScaled stays scalar: an archsimd version (16-lane exp, reductions in
// registers, VZEROUPPER before the scalar tail) measured 1.1-2.6× slower than the scalar
// loop on 128-float rows on this project's Intel machines; see RATIONALE.md.
func softmaxScaled(x []float32, scale float32) { SoftmaxScaledScalar(x, scale) }

// The tail of a slice (fewer floats than a vector) goes through a masked load and store.
func geluErf(x []float32) {
	switch {
	case useAVX512:
		geluAVX512(x)
		archsimd.ClearAVXUpperBits()
	case useAVX2:
		geluAVX2(x)
		archsimd.ClearAVXUpperBits()
	default:
		GeluErfScalar(x)
	}
}

func geluAVX512(x []float32) {
	half := archsimd.BroadcastFloat32x16(0.5)
	one := archsimd.BroadcastFloat32x16(1)
	c := archsimd.BroadcastFloat32x16(sqrtHalf)
	for i := 0; i < len(x); i += 16 {
		v, _ := archsimd.LoadFloat32x16Part(x[i:])
		half.Mul(v).Mul(one.Add(erf16(v.Mul(c)))).StorePart(x[i:])
	}
}

func erf16(x archsimd.Float32x16) archsimd.Float32x16 {
	x = x.Max(archsimd.BroadcastFloat32x16(-4)).Min(archsimd.BroadcastFloat32x16(4))
	x2 := x.Mul(x)
	p := archsimd.BroadcastFloat32x16(erfP0)
	p = p.MulAdd(x2, archsimd.BroadcastFloat32x16(erfP1))
	p = p.MulAdd(x2, archsimd.BroadcastFloat32x16(erfP2))
	p = p.MulAdd(x2, archsimd.BroadcastFloat32x16(erfP3))
	p = p.MulAdd(x2, archsimd.BroadcastFloat32x16(erfP4))
	p = p.MulAdd(x2, archsimd.BroadcastFloat32x16(erfP5))
	p = p.MulAdd(x2, archsimd.BroadcastFloat32x16(erfP6))
	q := archsimd.BroadcastFloat32x16(erfQ0)
	q = q.MulAdd(x2, archsimd.BroadcastFloat32x16(erfQ1))
	q = q.MulAdd(x2, archsimd.BroadcastFloat32x16(erfQ2))
	q = q.MulAdd(x2, archsimd.BroadcastFloat32x16(erfQ3))
	q = q.MulAdd(x2, archsimd.BroadcastFloat32x16(erfQ4))
	return x.Mul(p).Div(q)
}

func geluAVX2(x []float32) {
	half := archsimd.BroadcastFloat32x8(0.5)
	one := archsimd.BroadcastFloat32x8(1)
	c := archsimd.BroadcastFloat32x8(sqrtHalf)
	for i := 0; i < len(x); i += 8 {
		v, _ := archsimd.LoadFloat32x8Part(x[i:])
		half.Mul(v).Mul(one.Add(erf8(v.Mul(c)))).StorePart(x[i:])
	}
}

func erf8(x archsimd.Float32x8) archsimd.Float32x8 {
	x = x.Max(archsimd.BroadcastFloat32x8(-4)).Min(archsimd.BroadcastFloat32x8(4))
	x2 := x.Mul(x)
	p := archsimd.BroadcastFloat32x8(erfP0)
	p = p.MulAdd(x2, archsimd.BroadcastFloat32x8(erfP1))
	p = p.MulAdd(x2, archsimd.BroadcastFloat32x8(erfP2))
	p = p.MulAdd(x2, archsimd.BroadcastFloat32x8(erfP3))
	p = p.MulAdd(x2, archsimd.BroadcastFloat32x8(erfP4))
	p = p.MulAdd(x2, archsimd.BroadcastFloat32x8(erfP5))
	p = p.MulAdd(x2, archsimd.BroadcastFloat32x8(erfP6))
	q := archsimd.BroadcastFloat32x8(erfQ0)
	q = q.MulAdd(x2, archsimd.BroadcastFloat32x8(erfQ1))
	q = q.MulAdd(x2, archsimd.BroadcastFloat32x8(erfQ2))
	q = q.MulAdd(x2, archsimd.BroadcastFloat32x8(erfQ3))
	q = q.MulAdd(x2, archsimd.BroadcastFloat32x8(erfQ4))
	return x.Mul(p).Div(q)
}
