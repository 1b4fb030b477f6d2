//go:build goexperiment.simd && wasm && !purego

package kernel

// Impl names the kernel implementation in use, for benchmarks and logs.
func Impl() string { return "simd128" }
