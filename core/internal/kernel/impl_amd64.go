//go:build goexperiment.simd && amd64 && !purego

package kernel

import "simd/archsimd"

// The widest vector unit the CPU offers, chosen once at start-up.
var (
	useAVX512 = archsimd.X86.AVX512()
	useAVX2   = archsimd.X86.AVX2() && archsimd.X86.FMA()
)

// Every kernel ends its vector code with archsimd.ClearAVXUpperBits (VZEROUPPER): the
// compiler does not emit it, and without it Intel CPUs slow down all the scalar SSE
// float code that runs afterwards (layer norm, softmax, the tails of the kernels) with
// false dependencies on the upper halves of the vector registers.

// Impl names the kernel implementation in use, for benchmarks and logs.
func Impl() string {
	switch {
	case useAVX512:
		return "avx512"
	case useAVX2:
		return "avx2+fma"
	}
	return "scalar (cpu lacks avx2/fma)"
}
