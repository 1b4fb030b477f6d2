// Package kernel holds the numeric inner loops of sbmoe: dot products, axpy and the
// matrix multiply that every linear layer and attention head runs through.
//
// Each kernel is defined by a plain Go loop, its scalar twin, whose doc comment states
// exactly what it computes. That loop is the specification, the fallback on every other
// platform and the whole implementation when the module is built without
// GOEXPERIMENT=simd or with the purego build tag. With the experiment on, amd64 uses
// AVX2+FMA or AVX-512 (chosen once at start-up from the CPU's features) and GOOS=js/wasip1
// builds use WebAssembly SIMD128, all written in Go with simd/archsimd.
//
// SIMD kernels sum in a different order than their scalar twins, so results agree to a
// rounding tolerance, not bit for bit; the tests state the tolerance for each kernel.
//
// Misuse (slices shorter than the stated shapes) panics with a message that starts
// with "kernel:"; these are programmer errors, never input errors.
package kernel
