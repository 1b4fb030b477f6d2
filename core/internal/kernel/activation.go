package kernel

import "math"

// SoftmaxScaled replaces x with softmax(scale·x): exp(scale·xᵢ − max) / Σ exp(scale·xⱼ − max).
func SoftmaxScaled(x []float32, scale float32) {
	if len(x) == 0 {
		return
	}
	softmaxScaled(x, scale)
}

// SoftmaxScaledScalar is the specification of SoftmaxScaled:
//
//	m := max over i of scale·x[i]
//	for i := range x {
//		x[i] = Exp32(scale·x[i] − m)
//	}
//	divide every x[i] by Σ x[i]
func SoftmaxScaledScalar(x []float32, scale float32) {
	m := float32(math.Inf(-1))
	for i, v := range x {
		v *= scale
		x[i] = v
		m = max(m, v)
	}
	var sum float32
	for i, v := range x {
		e := Exp32(v - m)
		x[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range x {
		x[i] *= inv
	}
}

// GeluErf applies the exact GELU of BERT in place: x·½·(1 + erf(x/√2)).
func GeluErf(x []float32) { geluErf(x) }

// GeluErfScalar is the specification of GeluErf:
//
//	for i, v := range x {
//		x[i] = 0.5 * v * (1 + Erf32(v/√2))
//	}
func GeluErfScalar(x []float32) {
	for i, v := range x {
		x[i] = 0.5 * v * (1 + Erf32(v*sqrtHalf))
	}
}

// GeluErfBackward is the backward pass of GeluErf, x being its input: it adds
// dy[i]·(Φ(x[i]) + x[i]·φ(x[i])) into dx[i] over i < len(x), the derivative of x·Φ(x)
// being Φ(x) + x·φ(x) = ½(1 + erf(x/√2)) + x·e^(−x²/2)/√(2π). dx and dy must be at
// least as long as x.
func GeluErfBackward(dx, dy, x []float32) {
	if len(dx) < len(x) || len(dy) < len(x) {
		panic("kernel: GeluErfBackward: dx or dy shorter than x")
	}
	geluErfBackward(dx[:len(x)], dy[:len(x)], x)
}

// GeluErfBackwardScalar is the specification of GeluErfBackward:
//
//	for i, v := range x {
//		cdf := 0.5 * (1 + Erf32(v/√2))    // Φ(v)
//		pdf := 1/√(2π) * Exp32(-0.5*v*v)  // φ(v)
//		dx[i] += dy[i] * (cdf + v*pdf)
//	}
func GeluErfBackwardScalar(dx, dy, x []float32) {
	dy, dx = dy[:len(x)], dx[:len(x)]
	for i, v := range x {
		cdf := 0.5 * (1 + Erf32(v*sqrtHalf))
		pdf := invSqrt2Pi * Exp32(-0.5*v*v)
		dx[i] += dy[i] * (cdf + v*pdf)
	}
}

const (
	sqrtHalf   = 0.70710678118654752440
	invSqrt2Pi = 0.39894228040143267794 // 1/√(2π)
	log2e      = 1.44269504088896341
	// ln 2 split in two so that k·ln2Hi is exact for the k that float32 exp meets.
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4
	// expMin is where e^x stops being a normal float32; softmax and the vector kernels
	// clamp there (the result, 1.2e-38, is nothing next to the largest term, 1).
	expMin = -87.33654
	expMax = 88.72283
	// roundMagic is 1.5·2²³: float32 has no bits below 1 at that magnitude.
	roundMagic = 12582912
)

// Exp coefficients (Cephes expf): e^r ≈ 1 + r + r²·P(r) for |r| ≤ ln2/2.
const (
	expP0 = 1.9875691500e-4
	expP1 = 1.3981999507e-3
	expP2 = 8.3334519073e-3
	expP3 = 4.1665795894e-2
	expP4 = 1.6666665459e-1
	expP5 = 5.0000001201e-1
)

// Exp32 is e^x in float32 within 2 ulp for normal results: x is reduced by a multiple
// k of ln 2, e^r comes from a degree-7 polynomial and 2^k is built in the exponent bits.
func Exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > expMax:
		return float32(math.Inf(1))
	case x < -103.97:
		return 0
	}
	// Adding and subtracting 1.5·2²³ rounds x·log2(e) to the nearest integer in float32.
	k := (x*log2e + roundMagic) - roundMagic
	r := x - k*ln2Hi - k*ln2Lo
	p := float32(expP0)
	p = p*r + expP1
	p = p*r + expP2
	p = p*r + expP3
	p = p*r + expP4
	p = p*r + expP5
	y := p*r*r + r + 1
	if k < -125 { // subnormal result: scale in two steps
		return y * math.Float32frombits(uint32(k+127+64)<<23) * 0x1p-64
	}
	return y * math.Float32frombits(uint32(k+127)<<23)
}

// Erf coefficients: erf(x) ≈ x·P(x²)/Q(x²) on [-4, 4], absolute error below 3e-7;
// beyond ±4, erf is ±1 in float32.
const (
	erfP0 = -2.72614225801306e-10
	erfP1 = 2.77068142495902e-08
	erfP2 = -2.10102402082508e-06
	erfP3 = -5.69250639462346e-05
	erfP4 = -7.34990630326855e-04
	erfP5 = -2.95459980854025e-03
	erfP6 = -1.60960333262415e-02
	erfQ0 = -1.45660718464996e-05
	erfQ1 = -2.13374055278905e-04
	erfQ2 = -1.68282697438203e-03
	erfQ3 = -7.37332916720468e-03
	erfQ4 = -1.42647390514189e-02
)

// Erf32 is the error function in float32 (absolute error below 3e-7).
func Erf32(x float32) float32 {
	x = max(-4, min(4, x))
	x2 := x * x
	p := float32(erfP0)
	p = p*x2 + erfP1
	p = p*x2 + erfP2
	p = p*x2 + erfP3
	p = p*x2 + erfP4
	p = p*x2 + erfP5
	p = p*x2 + erfP6
	q := float32(erfQ0)
	q = q*x2 + erfQ1
	q = q*x2 + erfQ2
	q = q*x2 + erfQ3
	q = q*x2 + erfQ4
	return x * p / q
}
