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

// geluErfBackward: whole vectors first, then the tail (fewer than four floats) through
// zero-padded arrays.
func geluErfBackward(dx, dy, x []float32) {
	n := len(x)
	dx, dy = dx[:n], dy[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		d := geluGrad4(archsimd.LoadFloat32x4(x[i : i+4]))
		archsimd.LoadFloat32x4(dy[i : i+4]).Mul(d).Add(archsimd.LoadFloat32x4(dx[i : i+4])).Store(dx[i : i+4])
	}
	if i < n {
		var xs, gs, acc [4]float32
		copy(xs[:], x[i:])
		copy(gs[:], dy[i:])
		copy(acc[:], dx[i:])
		d := geluGrad4(archsimd.LoadFloat32x4Array(&xs))
		archsimd.LoadFloat32x4Array(&gs).Mul(d).Add(archsimd.LoadFloat32x4Array(&acc)).StoreArray(&acc)
		copy(dx[i:], acc[:])
	}
}

// geluGrad4 is Φ(x) + x·φ(x) on four lanes, in the scalar twin's order of operations.
// Where −x²/2 is below expMin, at which exp4 clamps, φ is set to 0: Exp32 gives a
// subnormal or 0 there (|x·φ| < 1e-37), while x times the clamped e^expMin would not be
// negligible for huge x.
func geluGrad4(x archsimd.Float32x4) archsimd.Float32x4 {
	half := archsimd.BroadcastFloat32x4(0.5)
	cdf := half.Mul(archsimd.BroadcastFloat32x4(1).Add(erf4(x.Mul(archsimd.BroadcastFloat32x4(sqrtHalf)))))
	a := x.Mul(x).Mul(archsimd.BroadcastFloat32x4(-0.5))
	pdf := exp4(a).Mul(archsimd.BroadcastFloat32x4(invSqrt2Pi)).Masked(a.GreaterEqual(archsimd.BroadcastFloat32x4(expMin)))
	return x.Mul(pdf).Add(cdf)
}

// exp4 is Exp32 on four lanes, for inputs clamped to where e^x is a normal float32.
func exp4(x archsimd.Float32x4) archsimd.Float32x4 {
	x = x.Max(archsimd.BroadcastFloat32x4(expMin)).Min(archsimd.BroadcastFloat32x4(expMax))
	k := x.Mul(archsimd.BroadcastFloat32x4(log2e)).Round()
	r := x.Sub(k.Mul(archsimd.BroadcastFloat32x4(ln2Hi)))
	r = r.Sub(k.Mul(archsimd.BroadcastFloat32x4(ln2Lo)))
	p := archsimd.BroadcastFloat32x4(expP0)
	p = p.Mul(r).Add(archsimd.BroadcastFloat32x4(expP1))
	p = p.Mul(r).Add(archsimd.BroadcastFloat32x4(expP2))
	p = p.Mul(r).Add(archsimd.BroadcastFloat32x4(expP3))
	p = p.Mul(r).Add(archsimd.BroadcastFloat32x4(expP4))
	p = p.Mul(r).Add(archsimd.BroadcastFloat32x4(expP5))
	y := p.Mul(r).Mul(r).Add(r).Add(archsimd.BroadcastFloat32x4(1))
	pow := k.ConvertToInt32().Add(archsimd.BroadcastInt32x4(127)).ShiftAllLeft(23).ToBits().BitsToFloat32()
	return y.Mul(pow)
}
