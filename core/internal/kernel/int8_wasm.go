//go:build goexperiment.simd && wasm && !purego

package kernel

import (
	"math"

	"simd/archsimd"
)

func supportedInt8Impls() []*int8Impl { return []*int8Impl{simd128Int8, scalarInt8} }

// simd128Int8 keeps B row by row (as the scalar implementation does) and takes dot
// products 16 bytes at a time. SIMD128 has i32x4.dot_i16x8_s and
// i32x4.extadd_pairwise_i16x8_s, but archsimd does not offer them on wasm; what it
// offers is i16x8.extmul_{low,high}_i8x16_s (MulWidenLo/Hi), i16x8.add and
// i32x4.extend_{low,high}_i16x8_s (ExtendLo4ToInt32/ExtendHi4ToInt32). The two int16
// products of a lane are added in int16 before widening: exact, since
// 2·127² < 2¹⁵.
var simd128Int8 = &int8Impl{
	name:     "simd128",
	pack:     packRows,
	unpack:   unpackRows,
	gemm:     gemmInt8SIMD128,
	quantize: quantizeRowInt8SIMD128,
	dequant:  dequantRowInt8SIMD128,
}

// int8BlockBytes is how much of B one sweep over A's rows meets: 24 KB, 64 rows of a
// 384-wide B, stays in a 32 KB L1 cache beside the two rows of A.
const int8BlockBytes = 24 << 10

func gemmInt8SIMD128(m int, a []int8, lda int, w *Int8Weights, c []int32, ldc int) {
	n, kp, b := w.n, Int8Stride(w.k), w.data
	colBlock := max(4, int8BlockBytes/kp&^3)
	for j0 := 0; j0 < n; j0 += colBlock {
		j1 := min(j0+colBlock, n)
		i := 0
		for ; i+2 <= m; i += 2 {
			a0, a1 := a[i*lda:i*lda+kp], a[(i+1)*lda:(i+1)*lda+kp]
			c0, c1 := c[i*ldc:i*ldc+n], c[(i+1)*ldc:(i+1)*ldc+n]
			j := j0
			for ; j+4 <= j1; j += 4 {
				s := tile2x4Int8SIMD128(a0, a1, b[j*kp:(j+4)*kp], kp)
				copy(c0[j:j+4], s[:4])
				copy(c1[j:j+4], s[4:])
			}
			for ; j < j1; j++ {
				bj := b[j*kp : (j+1)*kp]
				c0[j], c1[j] = dotInt8SIMD128(a0, bj), dotInt8SIMD128(a1, bj)
			}
		}
		if i < m {
			a0, c0 := a[i*lda:i*lda+kp], c[i*ldc:i*ldc+n]
			for j := j0; j < j1; j++ {
				c0[j] = dotInt8SIMD128(a0, b[j*kp:(j+1)*kp])
			}
		}
	}
}

// madd adds the 16 products x[i]·y[i] into the four lanes of s.
func madd(s archsimd.Int32x4, x, y archsimd.Int8x16) archsimd.Int32x4 {
	t := x.MulWidenLo(y).Add(x.MulWidenHi(y))
	return s.Add(t.ExtendLo4ToInt32()).Add(t.ExtendHi4ToInt32())
}

func sum4(s archsimd.Int32x4) int32 {
	return s.GetElem(0) + s.GetElem(1) + s.GetElem(2) + s.GetElem(3)
}

// tile2x4Int8SIMD128 returns the 2×4 block of dot products of rows a0, a1 with the
// four rows of b (stride kp, a multiple of 64), row by row. Each step takes 64 bytes
// of every row as an array, so that its 16-byte loads need no bounds checks.
func tile2x4Int8SIMD128(a0, a1, b []int8, kp int) (r [8]int32) {
	b0, b1, b2, b3 := b[:kp], b[kp:2*kp], b[2*kp:3*kp], b[3*kp:4*kp]
	a1 = a1[:len(a0)]
	var s00, s01, s02, s03, s10, s11, s12, s13 archsimd.Int32x4
	var x0, x1, y archsimd.Int8x16
	for p := 0; p+64 <= len(a0); p += 64 {
		pa0, pa1 := (*[64]int8)(a0[p:]), (*[64]int8)(a1[p:])
		pb0, pb1, pb2, pb3 := (*[64]int8)(b0[p:]), (*[64]int8)(b1[p:]), (*[64]int8)(b2[p:]), (*[64]int8)(b3[p:])
		x0, x1 = archsimd.LoadInt8x16Array((*[16]int8)(pa0[0:16])), archsimd.LoadInt8x16Array((*[16]int8)(pa1[0:16]))
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb0[0:16]))
		s00, s10 = madd(s00, x0, y), madd(s10, x1, y)
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb1[0:16]))
		s01, s11 = madd(s01, x0, y), madd(s11, x1, y)
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb2[0:16]))
		s02, s12 = madd(s02, x0, y), madd(s12, x1, y)
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb3[0:16]))
		s03, s13 = madd(s03, x0, y), madd(s13, x1, y)
		x0, x1 = archsimd.LoadInt8x16Array((*[16]int8)(pa0[16:32])), archsimd.LoadInt8x16Array((*[16]int8)(pa1[16:32]))
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb0[16:32]))
		s00, s10 = madd(s00, x0, y), madd(s10, x1, y)
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb1[16:32]))
		s01, s11 = madd(s01, x0, y), madd(s11, x1, y)
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb2[16:32]))
		s02, s12 = madd(s02, x0, y), madd(s12, x1, y)
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb3[16:32]))
		s03, s13 = madd(s03, x0, y), madd(s13, x1, y)
		x0, x1 = archsimd.LoadInt8x16Array((*[16]int8)(pa0[32:48])), archsimd.LoadInt8x16Array((*[16]int8)(pa1[32:48]))
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb0[32:48]))
		s00, s10 = madd(s00, x0, y), madd(s10, x1, y)
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb1[32:48]))
		s01, s11 = madd(s01, x0, y), madd(s11, x1, y)
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb2[32:48]))
		s02, s12 = madd(s02, x0, y), madd(s12, x1, y)
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb3[32:48]))
		s03, s13 = madd(s03, x0, y), madd(s13, x1, y)
		x0, x1 = archsimd.LoadInt8x16Array((*[16]int8)(pa0[48:64])), archsimd.LoadInt8x16Array((*[16]int8)(pa1[48:64]))
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb0[48:64]))
		s00, s10 = madd(s00, x0, y), madd(s10, x1, y)
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb1[48:64]))
		s01, s11 = madd(s01, x0, y), madd(s11, x1, y)
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb2[48:64]))
		s02, s12 = madd(s02, x0, y), madd(s12, x1, y)
		y = archsimd.LoadInt8x16Array((*[16]int8)(pb3[48:64]))
		s03, s13 = madd(s03, x0, y), madd(s13, x1, y)
	}
	return [8]int32{sum4(s00), sum4(s01), sum4(s02), sum4(s03), sum4(s10), sum4(s11), sum4(s12), sum4(s13)}
}

// dotInt8SIMD128 is one dot product of two rows of equal length, a multiple of 16.
func dotInt8SIMD128(a, b []int8) int32 {
	b = b[:len(a)]
	var s0, s1 archsimd.Int32x4
	p := 0
	for ; p+32 <= len(a); p += 32 {
		s0 = madd(s0, archsimd.LoadInt8x16Array((*[16]int8)(a[p:])), archsimd.LoadInt8x16Array((*[16]int8)(b[p:])))
		s1 = madd(s1, archsimd.LoadInt8x16Array((*[16]int8)(a[p+16:])), archsimd.LoadInt8x16Array((*[16]int8)(b[p+16:])))
	}
	if p < len(a) {
		s0 = madd(s0, archsimd.LoadInt8x16Array((*[16]int8)(a[p:])), archsimd.LoadInt8x16Array((*[16]int8)(b[p:])))
	}
	return sum4(s0.Add(s1))
}

func quantizeRowInt8SIMD128(q []int8, x []float32) float32 {
	n := len(x)
	whole := n &^ 3
	vmax := archsimd.BroadcastFloat32x4(0)
	for i := 0; i < whole; i += 4 {
		vmax = vmax.Max(archsimd.LoadFloat32x4Array((*[4]float32)(x[i:])).Abs())
	}
	amax := max(max(vmax.GetElem(0), vmax.GetElem(1)), max(vmax.GetElem(2), vmax.GetElem(3)))
	for _, v := range x[whole:] {
		amax = max(amax, math.Float32frombits(math.Float32bits(v)&0x7fffffff))
	}
	q = q[:n]
	if amax == 0 {
		clear(q)
		return 0
	}
	inv := 127 / amax
	vinv := archsimd.BroadcastFloat32x4(inv)
	round := func(i int) archsimd.Uint32x4 {
		return archsimd.LoadFloat32x4Array((*[4]float32)(x[i:])).Mul(vinv).Round().ConvertToInt32().ToBits()
	}
	// SIMD128 narrows int32 to int8 with i16x8/i8x16.narrow, which archsimd does not
	// offer on wasm: the low bytes of four vectors are merged into one with shifts and
	// ors, then put in order with one swizzle.
	lowByte, order := archsimd.BroadcastUint32x4(0xff), archsimd.LoadInt8x16Array(&quantizeOrder)
	i := 0
	for ; i+16 <= n; i += 16 {
		v := round(i).And(lowByte).Or(round(i + 4).And(lowByte).ShiftAllLeft(8))
		v = v.Or(round(i + 8).And(lowByte).ShiftAllLeft(16)).Or(round(i + 12).ShiftAllLeft(24))
		v.ReshapeToUint8s().BitsToInt8().LookupOrZero(order).StoreArray((*[16]int8)(q[i:]))
	}
	for ; i < n; i++ {
		q[i] = int8(math.RoundToEven(float64(x[i] * inv)))
	}
	return amax / 127
}

// quantizeOrder puts byte 4i+k, which holds q[4k+i] after the merge, at 4k+i.
var quantizeOrder = [16]int8{0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15}

func dequantRowInt8SIMD128(y []float32, c []int32, rowScale float32, colScale, bias []float32) {
	n := len(y)
	whole := n &^ 3
	rs := archsimd.BroadcastFloat32x4(rowScale)
	for j := 0; j < whole; j += 4 {
		v := archsimd.LoadInt32x4Array((*[4]int32)(c[j:])).ConvertToFloat32()
		v = v.Mul(archsimd.LoadFloat32x4Array((*[4]float32)(colScale[j:]))).Mul(rs)
		v.Add(archsimd.LoadFloat32x4Array((*[4]float32)(bias[j:]))).StoreArray((*[4]float32)(y[j:]))
	}
	DequantRowInt8Scalar(y[whole:], c[whole:], rowScale, colScale[whole:], bias[whole:])
}
