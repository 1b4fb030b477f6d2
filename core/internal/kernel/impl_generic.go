//go:build !goexperiment.simd || purego || !(amd64 || wasm)

package kernel

// Impl names the kernel implementation in use, for benchmarks and logs.
func Impl() string { return "scalar" }
