//go:build !goexperiment.simd || purego || !(amd64 || wasm)

package kernel

func dot(a, b []float32) float32 { return DotScalar(a, b) }
