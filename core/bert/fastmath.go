package bert

import "math"

// exp32 is e^x in float32 to within 2 ulp on the range softmax uses (Cephes' expf
// polynomial after reducing x by multiples of ln 2). It is several times cheaper than
// math.Exp and exact enough that attention matches PyTorch to rounding.
func exp32(x float32) float32 {
	const (
		ln2Hi = 0.693359375
		ln2Lo = -2.12194440e-4
	)
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -103.97:
		return 0
	}
	k := float32(math.Floor(float64(x*1.44269504088896341 + 0.5)))
	r := x - k*ln2Hi - k*ln2Lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	// Scale by 2^k in two steps so that results near the subnormal range stay exact.
	if k < -125 {
		return y * math.Float32frombits(uint32(k+127+64)<<23) * 0x1p-64
	}
	return y * math.Float32frombits(uint32(k+127)<<23)
}

// erf32 is the error function in float32: x·P(x²)/Q(x²) on [-4, 4] (beyond which erf is
// ±1 in float32), a rational fit with an absolute error below 2e-7.
func erf32(x float32) float32 {
	x = max(-4, min(4, x))
	x2 := x * x
	p := float32(-2.72614225801306e-10)
	p = p*x2 + 2.77068142495902e-08
	p = p*x2 + -2.10102402082508e-06
	p = p*x2 + -5.69250639462346e-05
	p = p*x2 + -7.34990630326855e-04
	p = p*x2 + -2.95459980854025e-03
	p = p*x2 + -1.60960333262415e-02
	q := float32(-1.45660718464996e-05)
	q = q*x2 + -2.13374055278905e-04
	q = q*x2 + -1.68282697438203e-03
	q = q*x2 + -7.37332916720468e-03
	q = q*x2 + -1.42647390514189e-02
	return x * p / q
}
