//go:build goexperiment.simd && amd64 && !purego

package kernel

import "simd/archsimd"

// gemmRowBlock is how many rows of A (and C) are swept against one panel of B before
// moving to the next panel: 64 rows of a 384- or 768-wide A stay in L2 meanwhile.
const gemmRowBlock = 64

func gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmStrided(m, n, k, a, lda, 1, b, ldb, c, ldc)
}

func gemmTN(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemmStrided(m, n, k, a, 1, lda, b, ldb, c, ldc)
}

// gemmStrided is C += A·B with A's element (i,p) at a[i·ars + p·aks]: Gemm with
// (lda, 1), GemmTN with (1, lda). The tiles are the same for both; only the steps
// through A differ.
func gemmStrided(m, n, k int, a []float32, ars, aks int, b []float32, ldb int, c []float32, ldc int) {
	var nr int
	var tile, row func(k int, a []float32, ars, aks int, b []float32, ldb int, c []float32, ldc int)
	switch {
	case useAVX512:
		nr, tile, row = 32, tile4x32AVX512asm, row1x32AVX512
	case useAVX2:
		nr, tile, row = 16, tile4x16AVX2, row1x16AVX2
	default:
		gemmStridedScalar(m, n, k, a, ars, aks, b, ldb, c, ldc)
		return
	}
	for i0 := 0; i0 < m; i0 += gemmRowBlock {
		i1 := min(i0+gemmRowBlock, m)
		j := 0
		for ; j+nr <= n; j += nr {
			i := i0
			for ; i+4 <= i1; i += 4 {
				tile(k, a[i*ars:], ars, aks, b[j:], ldb, c[i*ldc+j:], ldc)
			}
			for ; i < i1; i++ {
				row(k, a[i*ars:], ars, aks, b[j:], ldb, c[i*ldc+j:], ldc)
			}
		}
		if j < n && useAVX512 {
			tailAVX512(i1-i0, n-j, k, a[i0*ars:], ars, aks, b[j:], ldb, c[i0*ldc+j:], ldc)
			j = n
		}
		archsimd.ClearAVXUpperBits()
		if j < n {
			gemmStridedScalar(i1-i0, n-j, k, a[i0*ars:], ars, aks, b[j:], ldb, c[i0*ldc+j:], ldc)
		}
	}
}

// tile4x16AVX2 computes a 4×16 block of C += A·B: eight 8-lane accumulators, two loads
// of B and four broadcasts of A per step of k.
func tile4x16AVX2(k int, a []float32, ars, aks int, b []float32, ldb int, c []float32, ldc int) {
	c0, c1, c2, c3 := c[:16], c[ldc:ldc+16], c[2*ldc:2*ldc+16], c[3*ldc:3*ldc+16]
	s00, s01 := archsimd.LoadFloat32x8(c0[:8]), archsimd.LoadFloat32x8(c0[8:])
	s10, s11 := archsimd.LoadFloat32x8(c1[:8]), archsimd.LoadFloat32x8(c1[8:])
	s20, s21 := archsimd.LoadFloat32x8(c2[:8]), archsimd.LoadFloat32x8(c2[8:])
	s30, s31 := archsimd.LoadFloat32x8(c3[:8]), archsimd.LoadFloat32x8(c3[8:])
	_ = a[3*ars+(k-1)*aks]
	for p := range k {
		bp := b[p*ldb : p*ldb+16]
		b0, b1 := archsimd.LoadFloat32x8(bp[:8]), archsimd.LoadFloat32x8(bp[8:])
		ap := p * aks
		x := archsimd.BroadcastFloat32x8(a[ap])
		s00, s01 = x.MulAdd(b0, s00), x.MulAdd(b1, s01)
		x = archsimd.BroadcastFloat32x8(a[ap+ars])
		s10, s11 = x.MulAdd(b0, s10), x.MulAdd(b1, s11)
		x = archsimd.BroadcastFloat32x8(a[ap+2*ars])
		s20, s21 = x.MulAdd(b0, s20), x.MulAdd(b1, s21)
		x = archsimd.BroadcastFloat32x8(a[ap+3*ars])
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

func row1x16AVX2(k int, a []float32, _, aks int, b []float32, ldb int, c []float32, _ int) {
	c0 := c[:16]
	s0, s1 := archsimd.LoadFloat32x8(c0[:8]), archsimd.LoadFloat32x8(c0[8:])
	for p := range k {
		bp := b[p*ldb : p*ldb+16]
		x := archsimd.BroadcastFloat32x8(a[p*aks])
		s0, s1 = x.MulAdd(archsimd.LoadFloat32x8(bp[:8]), s0), x.MulAdd(archsimd.LoadFloat32x8(bp[8:]), s1)
	}
	s0.Store(c0[:8])
	s1.Store(c0[8:])
}

// tile4x32FMA231 computes a 4×32 block of C += A·B with AVX-512, in assembly
// (gemm_amd64.s): see the comment there for why this one tile is not archsimd Go.
//
//go:noescape
func tile4x32FMA231(k int, a *float32, ars, aks int, b *float32, ldb int, c *float32, ldc int)

// tile4x32AVX512asm checks the extents Gemm promises and calls the assembly tile.
func tile4x32AVX512asm(k int, a []float32, ars, aks int, b []float32, ldb int, c []float32, ldc int) {
	_ = a[3*ars+(k-1)*aks]
	_ = b[(k-1)*ldb+31]
	_ = c[3*ldc+31]
	tile4x32FMA231(k, &a[0], ars, aks, &b[0], ldb, &c[0], ldc)
}

// row1x32AVX512 is one row of the 4×32 tile, for the rows left over.
func row1x32AVX512(k int, a []float32, _, aks int, b []float32, ldb int, c []float32, _ int) {
	c0 := c[:32]
	s0, s1 := archsimd.LoadFloat32x16(c0[:16]), archsimd.LoadFloat32x16(c0[16:])
	for p := range k {
		bp := b[p*ldb : p*ldb+32]
		x := archsimd.BroadcastFloat32x16(a[p*aks])
		s0, s1 = x.MulAdd(archsimd.LoadFloat32x16(bp[:16]), s0), x.MulAdd(archsimd.LoadFloat32x16(bp[16:]), s1)
	}
	s0.Store(c0[:16])
	s1.Store(c0[16:])
}

// tailAVX512 computes C += A·B for the fewer than 32 columns right of the 32-wide
// tiles, 16 at a time with the last ones masked, four rows at a time: attention's
// Q·Kᵀ of a short query (16 keys) is nothing but such a tail.
func tailAVX512(m, n, k int, a []float32, ars, aks int, b []float32, ldb int, c []float32, ldc int) {
	for j := 0; j < n; j += 16 {
		cols := min(16, n-j)
		i := 0
		for ; i+4 <= m; i += 4 {
			tile4xPartAVX512(k, cols, a[i*ars:], ars, aks, b[j:], ldb, c[i*ldc+j:], ldc)
		}
		for ; i < m; i++ {
			row1xPartAVX512(k, cols, a[i*ars:], aks, b[j:], ldb, c[i*ldc+j:])
		}
	}
}

// tile4xPartAVX512 computes a 4×cols block of C += A·B, cols ≤ 16, with masked loads
// and stores of B and C.
func tile4xPartAVX512(k, cols int, a []float32, ars, aks int, b []float32, ldb int, c []float32, ldc int) {
	c0, c1, c2, c3 := c[:cols], c[ldc:ldc+cols], c[2*ldc:2*ldc+cols], c[3*ldc:3*ldc+cols]
	s0, _ := archsimd.LoadFloat32x16Part(c0)
	s1, _ := archsimd.LoadFloat32x16Part(c1)
	s2, _ := archsimd.LoadFloat32x16Part(c2)
	s3, _ := archsimd.LoadFloat32x16Part(c3)
	_ = a[3*ars+(k-1)*aks]
	for p := range k {
		bp, _ := archsimd.LoadFloat32x16Part(b[p*ldb : p*ldb+cols])
		ap := p * aks
		s0 = archsimd.BroadcastFloat32x16(a[ap]).MulAdd(bp, s0)
		s1 = archsimd.BroadcastFloat32x16(a[ap+ars]).MulAdd(bp, s1)
		s2 = archsimd.BroadcastFloat32x16(a[ap+2*ars]).MulAdd(bp, s2)
		s3 = archsimd.BroadcastFloat32x16(a[ap+3*ars]).MulAdd(bp, s3)
	}
	s0.StorePart(c0)
	s1.StorePart(c1)
	s2.StorePart(c2)
	s3.StorePart(c3)
}

// row1xPartAVX512 is one row of tile4xPartAVX512.
func row1xPartAVX512(k, cols int, a []float32, aks int, b []float32, ldb int, c []float32) {
	c0 := c[:cols]
	s0, _ := archsimd.LoadFloat32x16Part(c0)
	for p := range k {
		bp, _ := archsimd.LoadFloat32x16Part(b[p*ldb : p*ldb+cols])
		s0 = archsimd.BroadcastFloat32x16(a[p*aks]).MulAdd(bp, s0)
	}
	s0.StorePart(c0)
}
