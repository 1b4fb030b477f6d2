//go:build goexperiment.simd && amd64 && !purego

package kernel

import "simd/archsimd"

// gemmRowBlock is how many rows of A (and C) are swept against one panel of B before
// moving to the next panel: 64 rows of a 384- or 768-wide A stay in L2 meanwhile.
const gemmRowBlock = 64

func gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	var nr int
	var tile, row func(k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int)
	switch {
	case useAVX512:
		nr, tile, row = 32, tile4x32AVX512asm, row1x32AVX512
	case useAVX2:
		nr, tile, row = 16, tile4x16AVX2, row1x16AVX2
	default:
		GemmScalar(m, n, k, a, lda, b, ldb, c, ldc)
		return
	}
	for i0 := 0; i0 < m; i0 += gemmRowBlock {
		i1 := min(i0+gemmRowBlock, m)
		j := 0
		for ; j+nr <= n; j += nr {
			i := i0
			for ; i+4 <= i1; i += 4 {
				tile(k, a[i*lda:], lda, b[j:], ldb, c[i*ldc+j:], ldc)
			}
			for ; i < i1; i++ {
				row(k, a[i*lda:], lda, b[j:], ldb, c[i*ldc+j:], ldc)
			}
		}
		archsimd.ClearAVXUpperBits()
		if j < n {
			GemmScalar(i1-i0, n-j, k, a[i0*lda:], lda, b[j:], ldb, c[i0*ldc+j:], ldc)
		}
	}
}

// tile4x16AVX2 computes a 4×16 block of C += A·B: eight 8-lane accumulators, two loads
// of B and four broadcasts of A per step of k.
func tile4x16AVX2(k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	a0, a1, a2, a3 := a[:k], a[lda:lda+k], a[2*lda:2*lda+k], a[3*lda:3*lda+k]
	c0, c1, c2, c3 := c[:16], c[ldc:ldc+16], c[2*ldc:2*ldc+16], c[3*ldc:3*ldc+16]
	s00, s01 := archsimd.LoadFloat32x8(c0[:8]), archsimd.LoadFloat32x8(c0[8:])
	s10, s11 := archsimd.LoadFloat32x8(c1[:8]), archsimd.LoadFloat32x8(c1[8:])
	s20, s21 := archsimd.LoadFloat32x8(c2[:8]), archsimd.LoadFloat32x8(c2[8:])
	s30, s31 := archsimd.LoadFloat32x8(c3[:8]), archsimd.LoadFloat32x8(c3[8:])
	for p := range a0 {
		bp := b[p*ldb : p*ldb+16]
		b0, b1 := archsimd.LoadFloat32x8(bp[:8]), archsimd.LoadFloat32x8(bp[8:])
		x := archsimd.BroadcastFloat32x8(a0[p])
		s00, s01 = x.MulAdd(b0, s00), x.MulAdd(b1, s01)
		x = archsimd.BroadcastFloat32x8(a1[p])
		s10, s11 = x.MulAdd(b0, s10), x.MulAdd(b1, s11)
		x = archsimd.BroadcastFloat32x8(a2[p])
		s20, s21 = x.MulAdd(b0, s20), x.MulAdd(b1, s21)
		x = archsimd.BroadcastFloat32x8(a3[p])
		s30, s31 = x.MulAdd(b0, s30), x.MulAdd(b1, s31)
	}
	s00.Store(c0[:8])
	s01.Store(c0[8:])
	s10.Store(c1[:8])
	s11.Store(c1[8:])
	s20.Store(c2[:8])
	s21.Store(c2[8:])
	s30.Store(c3[:8])
	s31.Store(c3[8:])
}

func row1x16AVX2(k int, a []float32, _ int, b []float32, ldb int, c []float32, _ int) {
	a0, c0 := a[:k], c[:16]
	s0, s1 := archsimd.LoadFloat32x8(c0[:8]), archsimd.LoadFloat32x8(c0[8:])
	for p, av := range a0 {
		bp := b[p*ldb : p*ldb+16]
		x := archsimd.BroadcastFloat32x8(av)
		s0, s1 = x.MulAdd(archsimd.LoadFloat32x8(bp[:8]), s0), x.MulAdd(archsimd.LoadFloat32x8(bp[8:]), s1)
	}
	s0.Store(c0[:8])
	s1.Store(c0[8:])
}

// tile4x32FMA231 computes a 4×32 block of C += A·B with AVX-512, in assembly
// (gemm_amd64.s): see the comment there for why this one tile is not archsimd Go.
//
//go:noescape
func tile4x32FMA231(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

// tile4x32AVX512asm checks the extents Gemm promises and calls the assembly tile.
func tile4x32AVX512asm(k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	_ = a[3*lda+k-1]
	_ = b[(k-1)*ldb+31]
	_ = c[3*ldc+31]
	tile4x32FMA231(k, &a[0], lda, &b[0], ldb, &c[0], ldc)
}

// row1x32AVX512 is one row of the 4×32 tile, for the rows left over.
func row1x32AVX512(k int, a []float32, _ int, b []float32, ldb int, c []float32, _ int) {
	a0, c0 := a[:k], c[:32]
	s0, s1 := archsimd.LoadFloat32x16(c0[:16]), archsimd.LoadFloat32x16(c0[16:])
	for p, av := range a0 {
		bp := b[p*ldb : p*ldb+32]
		x := archsimd.BroadcastFloat32x16(av)
		s0, s1 = x.MulAdd(archsimd.LoadFloat32x16(bp[:16]), s0), x.MulAdd(archsimd.LoadFloat32x16(bp[16:]), s1)
	}
	s0.Store(c0[:16])
	s1.Store(c0[16:])
}
