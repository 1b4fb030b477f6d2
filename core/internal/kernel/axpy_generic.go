//go:build !goexperiment.simd || purego || !(amd64 || wasm)

package kernel

func axpy(alpha float32, x, y []float32) { AxpyScalar(alpha, x, y) }
