//go:build goexperiment.simd && amd64 && !purego

package kernel

import "simd/archsimd"

// avxvnniInt8 is VPDPBUSD on 256-bit registers (AVX-VNNI) for CPUs that have it
// without AVX-512 (and is tested on those with both): the VNNI panels and correction,
// tiles of 4 rows × 16 columns, and the AVX2 quantiser.
var avxvnniInt8 = &int8Impl{
	name:     "avxvnni",
	pack:     vnniInt8.pack,
	unpack:   vnniInt8.unpack,
	gemm:     gemmInt8AVXVNNI,
	quantize: quantizeRowInt8AVX2,
	dequant:  dequantRowInt8AVX2,
}

//go:noescape
func avxvnniTile4x16(kq int, a *int8, lda int, b *int8, c *int32, ldc int, corr *int32)

//go:noescape
func avxvnniTile1x16(kq int, a *int8, b *int8, c *int32, corr int32)

func gemmInt8AVXVNNI(m int, a []int8, lda int, w *Int8Weights, c []int32, ldc int) {
	n, kp := w.n, Int8Stride(w.k)
	kq := kp / 4
	var corr [int8RowBlock]int32
	var part [4 * 16]int32 // a block of the last columns when n is not a multiple of 16
	for i0 := 0; i0 < m; i0 += int8RowBlock {
		i1 := min(i0+int8RowBlock, m)
		for i := i0; i < i1; i++ {
			corr[i-i0] = 128 * rowSumInt8AVX2(a[i*lda:i*lda+kp])
		}
		for j := 0; j < n; j += 16 {
			cols := min(16, n-j)
			// Columns j..j+15 are one half of panel j/32: bytes 0-63 or 64-127 of each group.
			half := w.data[(j/panelCols)*kq*panelGroup+(j%panelCols)*4:]
			_ = half[(kq-1)*panelGroup+63]
			i := i0
			for ; i+4 <= i1; i += 4 {
				_ = a[(i+3)*lda+kp-1]
				if cols == 16 {
					_ = c[(i+3)*ldc+j+15]
					avxvnniTile4x16(kq, &a[i*lda], lda, &half[0], &c[i*ldc+j], ldc, &corr[i-i0])
					continue
				}
				avxvnniTile4x16(kq, &a[i*lda], lda, &half[0], &part[0], 16, &corr[i-i0])
				for r := range 4 {
					copy(c[(i+r)*ldc+j:(i+r)*ldc+j+cols], part[r*16:])
				}
			}
			for ; i < i1; i++ {
				_ = a[i*lda+kp-1]
				avxvnniTile1x16(kq, &a[i*lda], &half[0], &part[0], corr[i-i0])
				copy(c[i*ldc+j:i*ldc+j+cols], part[:cols])
			}
		}
	}
}

// rowSumInt8AVX2 returns Σ a[p] over a whole number of 32-byte steps.
func rowSumInt8AVX2(a []int8) int32 {
	ones8, ones16 := archsimd.BroadcastUint8x32(1), archsimd.BroadcastInt16x16(1)
	var s archsimd.Int32x8
	for p := 0; p+32 <= len(a); p += 32 {
		s = s.Add(ones8.DotProductPairsSaturated(archsimd.LoadInt8x32Array((*[32]int8)(a[p:]))).DotProductPairs(ones16))
	}
	var lanes [8]int32
	s.StoreArray(&lanes)
	archsimd.ClearAVXUpperBits()
	var t int32
	for _, v := range lanes {
		t += v
	}
	return t
}
