package kernel

// Dot returns Σ a[i]·b[i] over i < len(a). b must be at least as long as a.
func Dot(a, b []float32) float32 {
	if len(b) < len(a) {
		panic("kernel: Dot: len(b) < len(a)")
	}
	return dot(a, b[:len(a)])
}

// DotScalar is the specification of Dot:
//
//	var s float32
//	for i, x := range a {
//		s += x * b[i]
//	}
//	return s
func DotScalar(a, b []float32) float32 {
	var s float32
	for i, x := range a {
		s += x * b[i]
	}
	return s
}
