package kernel

// Gemm adds the product of two row-major matrices to a third:
//
//	C[m×n] += A[m×k] · B[k×n]
//
// with leading dimensions (row strides) lda ≥ k, ldb ≥ n and ldc ≥ n, so that
// sub-matrices (one attention head's columns, say) are multiplied in place. It adds
// into C; zeroing or seeding C with a bias is the caller's explicit step.
func Gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	if lda < k || ldb < n || ldc < n {
		panic("kernel: Gemm: leading dimension smaller than row length")
	}
	if len(a) < (m-1)*lda+k || len(b) < (k-1)*ldb+n || len(c) < (m-1)*ldc+n {
		panic("kernel: Gemm: slice shorter than its matrix")
	}
	gemm(m, n, k, a, lda, b, ldb, c, ldc)
}

// GemmScalar is the specification of Gemm:
//
//	for i := 0; i < m; i++ {
//		for p := 0; p < k; p++ {
//			aip := a[i*lda+p]
//			for j := 0; j < n; j++ {
//				c[i*ldc+j] += aip * b[p*ldb+j]
//			}
//		}
//	}
func GemmScalar(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		for p := 0; p < k; p++ {
			aip := a[i*lda+p]
			bp := b[p*ldb : p*ldb+n]
			for j, bv := range bp {
				ci[j] += aip * bv
			}
		}
	}
}
