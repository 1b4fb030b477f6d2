//go:build goexperiment.simd && amd64 && !purego

package kernel

import "testing"

// forEachFloatPath runs f with every float32 path this CPU has made current: AVX-512,
// AVX2 and the scalar code, so that an AVX-512 machine tests the AVX2 kernels too.
func forEachFloatPath(t *testing.T, f func(t *testing.T)) {
	avx512, avx2 := useAVX512, useAVX2
	defer func() { useAVX512, useAVX2 = avx512, avx2 }()
	paths := []struct {
		name          string
		avx512, avx2  bool
		runsOnThisCPU bool
	}{
		{"avx512", true, avx2, avx512},
		{"avx2", false, true, avx2},
		{"scalar", false, false, true},
	}
	for _, p := range paths {
		if !p.runsOnThisCPU {
			continue
		}
		useAVX512, useAVX2 = p.avx512, p.avx2
		t.Run(p.name, f)
	}
}
