//go:build goexperiment.simd && amd64 && !purego

package kernel

import (
	"math"

	"simd/archsimd"
)

// softmaxScaled keeps every float of the row in vector registers: reductions end
// with all lanes holding the result (allMax16, allSum16) and the tail (fewer than 16
// floats) goes through masked loads and stores. Mixing in Go's scalar float code,
// which is legacy SSE, cost more than the vector work saved (see RATIONALE.md).
func softmaxScaled(x []float32, scale float32) {
	if !useAVX512 {
		SoftmaxScaledScalar(x, scale)
		return
	}
	n := len(x)
	whole := n &^ 15
	tail := archsimd.Mask32x16FromBits(uint16(1)<<(n-whole) - 1)
	negInf := archsimd.BroadcastFloat32x16(float32(math.Inf(-1)))
	vs := archsimd.BroadcastFloat32x16(scale)
	vmax := negInf
	for i := 0; i < whole; i += 16 {
		vmax = vmax.Max(archsimd.LoadFloat32x16(x[i : i+16]).Mul(vs))
	}
	if whole < n {
		v, _ := archsimd.LoadFloat32x16Part(x[whole:])
		vmax = vmax.Max(v.Mul(vs).Merge(negInf, tail))
	}
	vmax = allMax16(vmax)
	vsum := archsimd.BroadcastFloat32x16(0)
	for i := 0; i < whole; i += 16 {
		e := exp16(archsimd.LoadFloat32x16(x[i : i+16]).Mul(vs).Sub(vmax))
		e.Store(x[i : i+16])
		vsum = vsum.Add(e)
	}
	if whole < n {
		v, _ := archsimd.LoadFloat32x16Part(x[whole:])
		e := exp16(v.Mul(vs).Sub(vmax)).Masked(tail)
		e.StorePart(x[whole:])
		vsum = vsum.Add(e)
	}
	inv := archsimd.BroadcastFloat32x16(1).Div(allSum16(vsum))
	for i := 0; i < whole; i += 16 {
		archsimd.LoadFloat32x16(x[i : i+16]).Mul(inv).Store(x[i : i+16])
	}
	if whole < n {
		v, _ := archsimd.LoadFloat32x16Part(x[whole:])
		v.Mul(inv).StorePart(x[whole:])
	}
	archsimd.ClearAVXUpperBits()
}

// swap8, swap4, swap2 and swap1 exchange lanes i and i^k: applied in turn with an
// elementwise operation, they leave every lane holding the reduction of all 16.
var swap8, swap4, swap2, swap1 = lanesXor(8), lanesXor(4), lanesXor(2), lanesXor(1)

func lanesXor(k uint32) archsimd.Uint32x16 {
	var idx [16]uint32
	for i := range idx {
		idx[i] = uint32(i) ^ k
	}
	return archsimd.LoadUint32x16Array(&idx)
}

func allMax16(v archsimd.Float32x16) archsimd.Float32x16 {
	v = v.Max(v.Permute(swap8))
	v = v.Max(v.Permute(swap4))
	v = v.Max(v.Permute(swap2))
	return v.Max(v.Permute(swap1))
}

func allSum16(v archsimd.Float32x16) archsimd.Float32x16 {
	v = v.Add(v.Permute(swap8))
	v = v.Add(v.Permute(swap4))
	v = v.Add(v.Permute(swap2))
	return v.Add(v.Permute(swap1))
}

// exp16 is Exp32 on 16 lanes, for inputs clamped to where e^x is a normal float32.
func exp16(x archsimd.Float32x16) archsimd.Float32x16 {
	x = x.Max(archsimd.BroadcastFloat32x16(expMin)).Min(archsimd.BroadcastFloat32x16(expMax))
	k := x.Mul(archsimd.BroadcastFloat32x16(log2e)).RoundScaled(0)
	r := k.MulAdd(archsimd.BroadcastFloat32x16(-ln2Hi), x)
	r = k.MulAdd(archsimd.BroadcastFloat32x16(-ln2Lo), r)
	p := archsimd.BroadcastFloat32x16(expP0)
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(expP1))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(expP2))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(expP3))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(expP4))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(expP5))
	y := p.MulAdd(r.Mul(r), r).Add(archsimd.BroadcastFloat32x16(1))
	pow := k.ConvertToInt32().Add(archsimd.BroadcastInt32x16(127)).ShiftAllLeft(23).AsFloat32x16()
	return y.Mul(pow)
}

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

// exp8 is exp16 on 8 lanes, rounding with VROUNDPS (AVX) where exp16 uses VRNDSCALEPS.
func exp8(x archsimd.Float32x8) archsimd.Float32x8 {
	x = x.Max(archsimd.BroadcastFloat32x8(expMin)).Min(archsimd.BroadcastFloat32x8(expMax))
	k := x.Mul(archsimd.BroadcastFloat32x8(log2e)).Round()
	r := k.MulAdd(archsimd.BroadcastFloat32x8(-ln2Hi), x)
	r = k.MulAdd(archsimd.BroadcastFloat32x8(-ln2Lo), r)
	p := archsimd.BroadcastFloat32x8(expP0)
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(expP1))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(expP2))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(expP3))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(expP4))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x8(expP5))
	y := p.MulAdd(r.Mul(r), r).Add(archsimd.BroadcastFloat32x8(1))
	pow := k.ConvertToInt32().Add(archsimd.BroadcastInt32x8(127)).ShiftAllLeft(23).AsFloat32x8()
	return y.Mul(pow)
}

// geluErfBackward: whole vectors first, then the tail (fewer floats than a vector)
// through masked loads and a masked store.
func geluErfBackward(dx, dy, x []float32) {
	switch {
	case useAVX512:
		geluBackwardAVX512(dx, dy, x)
		archsimd.ClearAVXUpperBits()
	case useAVX2:
		geluBackwardAVX2(dx, dy, x)
		archsimd.ClearAVXUpperBits()
	default:
		GeluErfBackwardScalar(dx, dy, x)
	}
}

func geluBackwardAVX512(dx, dy, x []float32) {
	n := len(x)
	dx, dy = dx[:n], dy[:n]
	i := 0
	for ; i+16 <= n; i += 16 {
		d := geluGrad16(archsimd.LoadFloat32x16(x[i : i+16]))
		g := archsimd.LoadFloat32x16(dy[i : i+16])
		g.MulAdd(d, archsimd.LoadFloat32x16(dx[i:i+16])).Store(dx[i : i+16])
	}
	if i < n {
		v, _ := archsimd.LoadFloat32x16Part(x[i:])
		g, _ := archsimd.LoadFloat32x16Part(dy[i:])
		acc, _ := archsimd.LoadFloat32x16Part(dx[i:])
		g.MulAdd(geluGrad16(v), acc).StorePart(dx[i:])
	}
}

// geluGrad16 is Φ(x) + x·φ(x) on 16 lanes. ½·erf + ½ rounds as the scalar ½·(1 + erf)
// does. Where −x²/2 is below expMin, at which exp16 clamps, φ is set to 0: Exp32 gives a
// subnormal or 0 there (|x·φ| < 1e-37), while x times the clamped e^expMin would not be
// negligible for huge x.
func geluGrad16(x archsimd.Float32x16) archsimd.Float32x16 {
	half := archsimd.BroadcastFloat32x16(0.5)
	cdf := erf16(x.Mul(archsimd.BroadcastFloat32x16(sqrtHalf))).MulAdd(half, half)
	a := x.Mul(x).Mul(archsimd.BroadcastFloat32x16(-0.5))
	pdf := exp16(a).Mul(archsimd.BroadcastFloat32x16(invSqrt2Pi)).Masked(a.GreaterEqual(archsimd.BroadcastFloat32x16(expMin)))
	return x.MulAdd(pdf, cdf)
}

func geluBackwardAVX2(dx, dy, x []float32) {
	n := len(x)
	dx, dy = dx[:n], dy[:n]
	i := 0
	for ; i+8 <= n; i += 8 {
		d := geluGrad8(archsimd.LoadFloat32x8(x[i : i+8]))
		g := archsimd.LoadFloat32x8(dy[i : i+8])
		g.MulAdd(d, archsimd.LoadFloat32x8(dx[i:i+8])).Store(dx[i : i+8])
	}
	if i < n {
		v, _ := archsimd.LoadFloat32x8Part(x[i:])
		g, _ := archsimd.LoadFloat32x8Part(dy[i:])
		acc, _ := archsimd.LoadFloat32x8Part(dx[i:])
		g.MulAdd(geluGrad8(v), acc).StorePart(dx[i:])
	}
}

// geluGrad8 is geluGrad16 on 8 lanes.
func geluGrad8(x archsimd.Float32x8) archsimd.Float32x8 {
	half := archsimd.BroadcastFloat32x8(0.5)
	cdf := erf8(x.Mul(archsimd.BroadcastFloat32x8(sqrtHalf))).MulAdd(half, half)
	a := x.Mul(x).Mul(archsimd.BroadcastFloat32x8(-0.5))
	pdf := exp8(a).Mul(archsimd.BroadcastFloat32x8(invSqrt2Pi)).Masked(a.GreaterEqual(archsimd.BroadcastFloat32x8(expMin)))
	return x.MulAdd(pdf, cdf)
}
