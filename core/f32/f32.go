// Package f32 is the public face of sbmoe's float32 kernels: the dot product, axpy and
// matrix multiply that the SB-MoE head (package moe) and other code outside core/ run on.
// Each call dispatches to the fastest implementation this build and CPU have (AVX-512,
// AVX2, WebAssembly SIMD128, or the scalar loop), chosen once at start-up; the
// implementations, their scalar twins and their tests live in core/internal/kernel,
// which Go's internal rule keeps out of reach of packages outside core/. See
// RATIONALE.md, "What is public".
//
// Slices shorter than the stated shapes are programmer errors and panic.
package f32

import "github.com/sbmoe/sbmoe/core/internal/kernel"

// Dot returns Σ a[i]·b[i] over i < len(a); b must be at least as long as a.
func Dot(a, b []float32) float32 { return kernel.Dot(a, b) }

// Axpy adds alpha·x to y in place over i < len(x); y must be at least as long as x.
func Axpy(alpha float32, x, y []float32) { kernel.Axpy(alpha, x, y) }

// Gemm adds A·B to C for row-major matrices, C[m×n] += A[m×k]·B[k×n], with row strides
// lda ≥ k, ldb ≥ n and ldc ≥ n.
func Gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	kernel.Gemm(m, n, k, a, lda, b, ldb, c, ldc)
}

// Kernels names the kernel set in use: "avx512", "avx2", "simd128" or "scalar".
func Kernels() string { return kernel.Impl() }
