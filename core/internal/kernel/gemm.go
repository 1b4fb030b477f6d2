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
	gemmStridedScalar(m, n, k, a, lda, 1, b, ldb, c, ldc)
}

// GemmTN adds the product of Aᵀ and B to C, A being stored as its transpose:
//
//	C[m×n] += Aᵀ[m×k] · B[k×n],  A row-major (k×m) with row stride lda ≥ m
//
// ldb ≥ n and ldc ≥ n. It is what a weight gradient dW = dYᵀ·X needs, without
// transposing dY first.
func GemmTN(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	if lda < m || ldb < n || ldc < n {
		panic("kernel: GemmTN: leading dimension smaller than row length")
	}
	if len(a) < (k-1)*lda+m || len(b) < (k-1)*ldb+n || len(c) < (m-1)*ldc+n {
		panic("kernel: GemmTN: slice shorter than its matrix")
	}
	gemmTN(m, n, k, a, lda, b, ldb, c, ldc)
}

// GemmTNScalar is the specification of GemmTN, each element summed over p in order as
// GemmScalar sums it:
//
//	for i := 0; i < m; i++ {
//		for p := 0; p < k; p++ {
//			aip := a[p*lda+i]
//			for j := 0; j < n; j++ {
//				c[i*ldc+j] += aip * b[p*ldb+j]
//			}
//		}
//	}
func GemmTNScalar(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmStridedScalar(m, n, k, a, 1, lda, b, ldb, c, ldc)
}

// gemmStridedScalar is both specifications, A's element (i,p) being a[i·ars + p·aks]:
// GemmScalar with (lda, 1), GemmTNScalar with (1, lda).
func gemmStridedScalar(m, n, k int, a []float32, ars, aks int, b []float32, ldb int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		for p := 0; p < k; p++ {
			aip := a[i*ars+p*aks]
			bp := b[p*ldb : p*ldb+n]
			for j, bv := range bp {
				ci[j] += aip * bv
			}
		}
	}
}
