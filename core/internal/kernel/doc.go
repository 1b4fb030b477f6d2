// Package kernel holds the numeric inner loops of sbmoe: dot products, axpy and the
// matrix multiply that every linear layer and attention head runs through, and the
// int8 quantisation and matrix multiply of the int8 encoder.
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
// The int8 kernels of the int8 encoder (int8.go: QuantizeRowInt8, GemmInt8,
// DequantRowInt8, with PackInt8 laying out the weights) are the exception: integer
// sums are exact and the float steps are specified operation by operation, so every
// implementation returns exactly what its scalar twin does. They come in several
// implementations per platform, listed widest first by Int8Impls: on amd64 "amx"
// (AMX tiles, assembly, Linux only), "avx512vnni" (VPDPBUSD on 512 bits, assembly),
// "avxvnni" (VPDPBUSD on 256 bits, assembly), "avx2" (VPMADDUBSW, archsimd) and
// "scalar"; on WebAssembly "simd128" and "scalar". The
// widest the CPU runs is chosen at start-up; SetInt8Impl chooses another, so the tests
// run every narrower implementation too.
//
// Misuse (slices shorter than the stated shapes) panics with a message that starts
// with "kernel:"; these are programmer errors, never input errors.
package kernel
