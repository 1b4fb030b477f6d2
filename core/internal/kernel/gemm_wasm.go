//go:build goexperiment.simd && wasm && !purego

package kernel

import "simd/archsimd"

// gemmRowBlock: see gemm_amd64.go.
const gemmRowBlock = 64

// gemmTN is the scalar specification: only native training reads it.
func gemmTN(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	GemmTNScalar(m, n, k, a, lda, b, ldb, c, ldc)
}

func gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	for i0 := 0; i0 < m; i0 += gemmRowBlock {
		i1 := min(i0+gemmRowBlock, m)
		j := 0
		for ; j+8 <= n; j += 8 {
			i := i0
			for ; i+4 <= i1; i += 4 {
				tile4x8SIMD128(k, a[i*lda:], lda, b[j:], ldb, c[i*ldc+j:], ldc)
			}
			for ; i < i1; i++ {
				row1x8SIMD128(k, a[i*lda:], b[j:], ldb, c[i*ldc+j:])
			}
		}
		if j < n {
			GemmScalar(i1-i0, n-j, k, a[i0*lda:], lda, b[j:], ldb, c[i0*ldc+j:], ldc)
		}
	}
}

// tile4x8SIMD128 computes a 4×8 block of C += A·B in eight 4-lane accumulators.
func tile4x8SIMD128(k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	a0, a1, a2, a3 := a[:k], a[lda:lda+k], a[2*lda:2*lda+k], a[3*lda:3*lda+k]
	c0, c1, c2, c3 := c[:8], c[ldc:ldc+8], c[2*ldc:2*ldc+8], c[3*ldc:3*ldc+8]
	s00, s01 := archsimd.LoadFloat32x4(c0[:4]), archsimd.LoadFloat32x4(c0[4:])
	s10, s11 := archsimd.LoadFloat32x4(c1[:4]), archsimd.LoadFloat32x4(c1[4:])
	s20, s21 := archsimd.LoadFloat32x4(c2[:4]), archsimd.LoadFloat32x4(c2[4:])
	s30, s31 := archsimd.LoadFloat32x4(c3[:4]), archsimd.LoadFloat32x4(c3[4:])
	for p := range a0 {
		bp := b[p*ldb : p*ldb+8]
		b0, b1 := archsimd.LoadFloat32x4(bp[:4]), archsimd.LoadFloat32x4(bp[4:])
		x := archsimd.BroadcastFloat32x4(a0[p])
		s00, s01 = s00.Add(x.Mul(b0)), s01.Add(x.Mul(b1))
		x = archsimd.BroadcastFloat32x4(a1[p])
		s10, s11 = s10.Add(x.Mul(b0)), s11.Add(x.Mul(b1))
		x = archsimd.BroadcastFloat32x4(a2[p])
		s20, s21 = s20.Add(x.Mul(b0)), s21.Add(x.Mul(b1))
		x = archsimd.BroadcastFloat32x4(a3[p])
		s30, s31 = s30.Add(x.Mul(b0)), s31.Add(x.Mul(b1))
	}
	s00.Store(c0[:4])
	s01.Store(c0[4:])
	s10.Store(c1[:4])
	s11.Store(c1[4:])
	s20.Store(c2[:4])
	s21.Store(c2[4:])
	s30.Store(c3[:4])
	s31.Store(c3[4:])
}

// row1x8SIMD128 is one row of tile4x8SIMD128, for the rows a tile does not cover (a
// 10-word query is 18 tokens: two rows of every product). Each element is the same sum in
// the same order as GemmScalar's, so the result is the same to the bit.
func row1x8SIMD128(k int, a []float32, b []float32, ldb int, c []float32) {
	a0, c0 := a[:k], c[:8]
	s0, s1 := archsimd.LoadFloat32x4(c0[:4]), archsimd.LoadFloat32x4(c0[4:])
	for p := range a0 {
		bp := b[p*ldb : p*ldb+8]
		x := archsimd.BroadcastFloat32x4(a0[p])
		s0, s1 = s0.Add(x.Mul(archsimd.LoadFloat32x4(bp[:4]))), s1.Add(x.Mul(archsimd.LoadFloat32x4(bp[4:])))
	}
	s0.Store(c0[:4])
	s1.Store(c0[4:])
}
