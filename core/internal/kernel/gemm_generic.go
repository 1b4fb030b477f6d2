//go:build !goexperiment.simd || purego || !(amd64 || wasm)

package kernel

func gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	GemmScalar(m, n, k, a, lda, b, ldb, c, ldc)
}

func gemmTN(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	GemmTNScalar(m, n, k, a, lda, b, ldb, c, ldc)
}
