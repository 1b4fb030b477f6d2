package kernel

// Axpy adds alpha·x to y in place, element by element, over i < len(x). y must be at
// least as long as x.
func Axpy(alpha float32, x, y []float32) {
	if len(y) < len(x) {
		panic("kernel: Axpy: len(y) < len(x)")
	}
	axpy(alpha, x, y[:len(x)])
}

// AxpyScalar is the specification of Axpy:
//
//	for i, v := range x {
//		y[i] += alpha * v
//	}
func AxpyScalar(alpha float32, x, y []float32) {
	for i, v := range x {
		y[i] += alpha * v
	}
}
