//go:build goexperiment.simd && amd64 && !purego

package kernel

import (
	"math"

	"simd/archsimd"
)

// The int8 implementations of amd64, widest first. VPDPBUSD (AVX-512 VNNI and
// AVX-VNNI) is not in archsimd (its generator lists only the 16-bit VPDPWSSD, and that
// without a method), so the VNNI tiles are assembly like the fp32 AVX-512 tile; AMX is
// assembly too, the Go assembler knowing none of its instructions. AVX2 is archsimd
// Go: VPMADDUBSW is Uint8x32.DotProductPairsSaturated, VPMADDWD
// Int16x16.DotProductPairs and VPSIGNB Int8x32.MulSign.
func supportedInt8Impls() []*int8Impl {
	var impls []*int8Impl
	avx512 := archsimd.X86.AVX512()
	if avx512 && amxUsable() {
		impls = append(impls, amxInt8)
	}
	if avx512 && archsimd.X86.AVX512VNNI() {
		impls = append(impls, vnniInt8)
	}
	if archsimd.X86.AVX2() && archsimd.X86.AVXVNNI() {
		impls = append(impls, avxvnniInt8)
	}
	if archsimd.X86.AVX2() {
		impls = append(impls, avx2Int8)
	}
	return append(impls, scalarInt8)
}

var avx2Int8 = &int8Impl{
	name:     "avx2",
	pack:     packRows,
	unpack:   unpackRows,
	gemm:     gemmInt8AVX2,
	quantize: quantizeRowInt8AVX2,
	dequant:  dequantRowInt8AVX2,
}

var vnniInt8 = &int8Impl{
	name:     "avx512vnni",
	pack:     func(b []int8, n, k int) []int8 { return packPanels(b, n, k, -128) },
	unpack:   func(b []int8, w *Int8Weights) { unpackPanels(b, w, -128) },
	gemm:     gemmInt8VNNI,
	quantize: quantizeRowInt8AVX512,
	dequant:  dequantRowInt8AVX512,
}

// int8ColBlock is how many rows of B one sweep over A's rows meets: 64 rows of a
// 1536-wide B are 96 KB.
const int8ColBlock = 64

// gemmInt8AVX2 takes dot products of A's rows with B's rows (the row layout) in 2×4
// tiles, 32 bytes at a time: VPMADDUBSW multiplies unsigned by signed bytes and adds
// pairs with int16 saturation, so it is given |a| and b with the sign of a
// (VPSIGNB); both lie in [-127, 127], so a pair sums to at most 2·127² < 2¹⁵ and
// never saturates. VPMADDWD against ones then adds pairs of int16 into int32.
func gemmInt8AVX2(m int, a []int8, lda int, w *Int8Weights, c []int32, ldc int) {
	n, kp, b := w.n, Int8Stride(w.k), w.data
	for j0 := 0; j0 < n; j0 += int8ColBlock {
		j1 := min(j0+int8ColBlock, n)
		i := 0
		for ; i+2 <= m; i += 2 {
			a0, a1 := a[i*lda:i*lda+kp], a[(i+1)*lda:(i+1)*lda+kp]
			c0, c1 := c[i*ldc:i*ldc+n], c[(i+1)*ldc:(i+1)*ldc+n]
			j := j0
			for ; j+4 <= j1; j += 4 {
				tile2x4Int8AVX2(a0, a1, b[j*kp:(j+4)*kp], kp, c0[j:j+4], c1[j:j+4])
			}
			for ; j < j1; j++ {
				bj := b[j*kp : (j+1)*kp]
				c0[j], c1[j] = dotInt8AVX2(a0, bj), dotInt8AVX2(a1, bj)
			}
		}
		if i < m {
			a0, c0 := a[i*lda:i*lda+kp], c[i*ldc:i*ldc+n]
			for j := j0; j < j1; j++ {
				c0[j] = dotInt8AVX2(a0, b[j*kp:(j+1)*kp])
			}
		}
	}
	archsimd.ClearAVXUpperBits()
}

// maddAVX2 adds the 32 products x[i]·y[i] into the eight lanes of s, ux being |x|.
func maddAVX2(s archsimd.Int32x8, ux archsimd.Uint8x32, x, y archsimd.Int8x32, ones archsimd.Int16x16) archsimd.Int32x8 {
	return s.Add(ux.DotProductPairsSaturated(y.MulSign(x)).DotProductPairs(ones))
}

// sum4x8 returns the lane sums of four vectors as one vector.
func sum4x8(s0, s1, s2, s3 archsimd.Int32x8) archsimd.Int32x4 {
	h := s0.ConcatAddPairsGrouped(s1).ConcatAddPairsGrouped(s2.ConcatAddPairsGrouped(s3))
	return h.GetLo().Add(h.GetHi())
}

// tile2x4Int8AVX2 writes the dot products of rows a0, a1 with the four rows of b
// (stride kp, a multiple of 32) into c0[:4] and c1[:4].
func tile2x4Int8AVX2(a0, a1, b []int8, kp int, c0, c1 []int32) {
	b0, b1, b2, b3 := b[:kp], b[kp:2*kp], b[2*kp:3*kp], b[3*kp:4*kp]
	a1 = a1[:len(a0)]
	ones := archsimd.BroadcastInt16x16(1)
	var s00, s01, s02, s03, s10, s11, s12, s13 archsimd.Int32x8
	for p := 0; p+32 <= len(a0); p += 32 {
		x0 := archsimd.LoadInt8x32Array((*[32]int8)(a0[p:]))
		x1 := archsimd.LoadInt8x32Array((*[32]int8)(a1[p:]))
		u0, u1 := x0.Abs().AsUint8x32(), x1.Abs().AsUint8x32()
		y := archsimd.LoadInt8x32Array((*[32]int8)(b0[p:]))
		s00, s10 = maddAVX2(s00, u0, x0, y, ones), maddAVX2(s10, u1, x1, y, ones)
		y = archsimd.LoadInt8x32Array((*[32]int8)(b1[p:]))
		s01, s11 = maddAVX2(s01, u0, x0, y, ones), maddAVX2(s11, u1, x1, y, ones)
		y = archsimd.LoadInt8x32Array((*[32]int8)(b2[p:]))
		s02, s12 = maddAVX2(s02, u0, x0, y, ones), maddAVX2(s12, u1, x1, y, ones)
		y = archsimd.LoadInt8x32Array((*[32]int8)(b3[p:]))
		s03, s13 = maddAVX2(s03, u0, x0, y, ones), maddAVX2(s13, u1, x1, y, ones)
	}
	sum4x8(s00, s01, s02, s03).StoreArray((*[4]int32)(c0))
	sum4x8(s10, s11, s12, s13).StoreArray((*[4]int32)(c1))
}

// dotInt8AVX2 is one dot product of two rows of equal length, a multiple of 32.
func dotInt8AVX2(a, b []int8) int32 {
	b = b[:len(a)]
	ones := archsimd.BroadcastInt16x16(1)
	var s archsimd.Int32x8
	for p := 0; p+32 <= len(a); p += 32 {
		x := archsimd.LoadInt8x32Array((*[32]int8)(a[p:]))
		s = maddAVX2(s, x.Abs().AsUint8x32(), x, archsimd.LoadInt8x32Array((*[32]int8)(b[p:])), ones)
	}
	var lanes [4]int32
	sum4x8(s, s, s, s).StoreArray(&lanes)
	return lanes[0]
}

// absMask clears the sign bit of a float32.
const absMask = 0x7fffffff

func quantizeRowInt8AVX2(q []int8, x []float32) float32 {
	n := len(x)
	whole := n &^ 7
	mask := archsimd.BroadcastInt32x8(absMask)
	var vmax archsimd.Float32x8
	for i := 0; i < whole; i += 8 {
		vmax = vmax.Max(archsimd.LoadFloat32x8Array((*[8]float32)(x[i:])).AsInt32x8().And(mask).AsFloat32x8())
	}
	var lanes [8]float32
	vmax.StoreArray(&lanes)
	archsimd.ClearAVXUpperBits()
	var amax float32
	for _, v := range lanes {
		amax = max(amax, v)
	}
	for _, v := range x[whole:] {
		amax = max(amax, math.Float32frombits(math.Float32bits(v)&absMask))
	}
	q = q[:n]
	if amax == 0 {
		clear(q)
		return 0
	}
	inv := 127 / amax
	vinv := archsimd.BroadcastFloat32x8(inv)
	round := func(i int) archsimd.Int32x8 {
		return archsimd.LoadFloat32x8Array((*[8]float32)(x[i:])).Mul(vinv).Round().ConvertToInt32()
	}
	// AVX2 narrows with VPACKSSDW/VPACKSSWB, and archsimd offers only the first: the
	// low bytes of four vectors are merged with shifts and ors instead (dword i of
	// lane h then holds q[4h+i], q[8+4h+i], q[16+4h+i], q[24+4h+i]), VPSHUFB groups
	// each lane's bytes by vector and VPERMD interleaves the two lanes.
	lowByte := archsimd.BroadcastInt32x8(0xff)
	order := archsimd.LoadInt8x32Array(&quantizeOrderAVX2)
	lanesOrder := archsimd.LoadUint32x8Array(&[8]uint32{0, 4, 1, 5, 2, 6, 3, 7})
	i := 0
	for ; i+32 <= n; i += 32 {
		v := round(i).And(lowByte).Or(round(i + 8).And(lowByte).ShiftAllLeft(8))
		v = v.Or(round(i + 16).And(lowByte).ShiftAllLeft(16)).Or(round(i + 24).ShiftAllLeft(24))
		v = v.AsInt8x32().PermuteOrZeroGrouped(order).AsInt32x8().Permute(lanesOrder)
		v.AsInt8x32().StoreArray((*[32]int8)(q[i:]))
	}
	archsimd.ClearAVXUpperBits()
	for ; i < n; i++ {
		q[i] = int8(math.RoundToEven(float64(x[i] * inv)))
	}
	return amax / 127
}

// quantizeOrderAVX2 moves byte 4i+k of a lane (vector k's value for dword i) to 4k+i.
var quantizeOrderAVX2 = [32]int8{0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
	0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15}

func dequantRowInt8AVX2(y []float32, c []int32, rowScale float32, colScale, bias []float32) {
	n := len(y)
	whole := n &^ 7
	rs := archsimd.BroadcastFloat32x8(rowScale)
	for j := 0; j < whole; j += 8 {
		v := archsimd.LoadInt32x8Array((*[8]int32)(c[j:])).ConvertToFloat32()
		v = v.Mul(archsimd.LoadFloat32x8Array((*[8]float32)(colScale[j:]))).Mul(rs)
		v.Add(archsimd.LoadFloat32x8Array((*[8]float32)(bias[j:]))).StoreArray((*[8]float32)(y[j:]))
	}
	archsimd.ClearAVXUpperBits()
	DequantRowInt8Scalar(y[whole:], c[whole:], rowScale, colScale[whole:], bias[whole:])
}

func quantizeRowInt8AVX512(q []int8, x []float32) float32 {
	n := len(x)
	whole := n &^ 15
	mask := archsimd.BroadcastInt32x16(absMask)
	var vmax archsimd.Float32x16
	for i := 0; i < whole; i += 16 {
		vmax = vmax.Max(archsimd.LoadFloat32x16Array((*[16]float32)(x[i:])).AsInt32x16().And(mask).AsFloat32x16())
	}
	if whole < n {
		v, _ := archsimd.LoadFloat32x16Part(x[whole:])
		vmax = vmax.Max(v.AsInt32x16().And(mask).AsFloat32x16())
	}
	vmax = allMax16(vmax)
	var lanes [16]float32
	vmax.StoreArray(&lanes)
	q = q[:n]
	if lanes[0] == 0 {
		archsimd.ClearAVXUpperBits()
		clear(q)
		return 0
	}
	vinv := archsimd.BroadcastFloat32x16(127).Div(vmax)
	for i := 0; i < whole; i += 16 {
		r := archsimd.LoadFloat32x16Array((*[16]float32)(x[i:])).Mul(vinv).RoundScaled(0).ConvertToInt32()
		r.SaturateToInt8().StoreArray((*[16]int8)(q[i:]))
	}
	if whole < n {
		v, _ := archsimd.LoadFloat32x16Part(x[whole:])
		var tail [16]int8
		v.Mul(vinv).RoundScaled(0).ConvertToInt32().SaturateToInt8().StoreArray(&tail)
		copy(q[whole:], tail[:])
	}
	archsimd.ClearAVXUpperBits()
	return lanes[0] / 127
}

func dequantRowInt8AVX512(y []float32, c []int32, rowScale float32, colScale, bias []float32) {
	n := len(y)
	whole := n &^ 15
	rs := archsimd.BroadcastFloat32x16(rowScale)
	for j := 0; j < whole; j += 16 {
		v := archsimd.LoadInt32x16Array((*[16]int32)(c[j:])).ConvertToFloat32()
		v = v.Mul(archsimd.LoadFloat32x16Array((*[16]float32)(colScale[j:]))).Mul(rs)
		v.Add(archsimd.LoadFloat32x16Array((*[16]float32)(bias[j:]))).StoreArray((*[16]float32)(y[j:]))
	}
	if whole < n {
		v, _ := archsimd.LoadInt32x16Part(c[whole:])
		s, _ := archsimd.LoadFloat32x16Part(colScale[whole:])
		b, _ := archsimd.LoadFloat32x16Part(bias[whole:])
		v.ConvertToFloat32().Mul(s).Mul(rs).Add(b).StorePart(y[whole:])
	}
	archsimd.ClearAVXUpperBits()
}

// The panel layout of VNNI and AMX: B's rows (the output columns) in panels of 32,
// zero-padded; within a panel, for every group of 4 k, the 4 bytes of each of the 32
// rows in turn: 128 bytes, two AVX-512 registers, in which each 32-bit lane holds one
// output column's 4 consecutive products for VPDPBUSD, and two rows of an AMX B tile.
const (
	panelCols  = 32
	panelGroup = 4 * panelCols // bytes per group of 4 k
)

// packPanels lays B out in panels, each byte XOR offset (-128 turns s8 into the u8
// value b+128 that VPDPBUSD's unsigned operand takes).
func packPanels(b []int8, n, k int, offset int8) []int8 {
	kq := Int8Stride(k) / 4
	if kq == 0 {
		return nil
	}
	panels := (n + panelCols - 1) / panelCols
	d := make([]int8, panels*kq*panelGroup)
	for i := range d {
		d[i] = offset // the padding holds B = 0
	}
	for j := range n {
		col := d[(j/panelCols)*kq*panelGroup+(j%panelCols)*4:]
		for p, v := range b[j*k : (j+1)*k] {
			col[(p/4)*panelGroup+p%4] = v ^ offset
		}
	}
	return d
}

func unpackPanels(b []int8, w *Int8Weights, offset int8) {
	kq := Int8Stride(w.k) / 4
	if kq == 0 {
		return
	}
	for j := range w.n {
		col := w.data[(j/panelCols)*kq*panelGroup+(j%panelCols)*4:]
		row := b[j*w.k : (j+1)*w.k]
		for p := range row {
			row[p] = col[(p/4)*panelGroup+p%4] ^ offset
		}
	}
}

// vnniTile8x32 computes an 8×32 block of C from 8 rows of A (stride lda) and one
// panel of B+128 (vnni_amd64.s); corr[r] = 128·Σ_p a[r][p] is what the offset added.
//
//go:noescape
func vnniTile8x32(kq int, a *int8, lda int, b *int8, c *int32, ldc int, corr *int32)

// vnniTile1x32 is vnniTile8x32 for one row.
//
//go:noescape
func vnniTile1x32(kq int, a *int8, b *int8, c *int32, corr int32)

// int8RowBlock is how many rows of A meet every panel before the next rows come in:
// 64 rows of 1536 bytes are 96 KB, in L2.
const int8RowBlock = 64

// gemmInt8VNNI sums u8(b+128)·s8(a) with VPDPBUSD, A's 4 bytes broadcast to every
// lane, and subtracts 128·Σa per row: Σ a·(b+128) − 128·Σ a = Σ a·b over the same
// Int8Stride(k) bytes, whatever A holds past k (B is 0 there).
func gemmInt8VNNI(m int, a []int8, lda int, w *Int8Weights, c []int32, ldc int) {
	gemmInt8Panels(m, a, lda, w, c, ldc, false)
}

// gemmInt8Panels runs the panel layout's tiles over row blocks of A: with amx, AMX
// takes every 32 rows × the whole panels, and the VNNI tiles the rest.
func gemmInt8Panels(m int, a []int8, lda int, w *Int8Weights, c []int32, ldc int, amx bool) {
	n, kp := w.n, Int8Stride(w.k)
	var corr [int8RowBlock]int32
	var init [32 * 16]int32
	full := n / panelCols
	for i0 := 0; i0 < m; i0 += int8RowBlock {
		i1 := min(i0+int8RowBlock, m)
		for i := i0; i < i1; i++ {
			corr[i-i0] = 128 * rowSumInt8AVX512(a[i*lda:i*lda+kp])
		}
		i := i0
		if amx && full > 0 {
			for ; i+32 <= i1; i += 32 {
				for r := range 32 {
					v := -corr[i-i0+r]
					for j := range 16 {
						init[r*16+j] = v
					}
				}
				_ = a[(i+31)*lda+kp-1]
				_ = c[(i+31)*ldc+full*panelCols-1]
				amxStrip32(&amxConfig[0], kp/64, &a[i*lda], lda, &w.data[0], full, &c[i*ldc], ldc, &init[0])
			}
			vnniBlock(i0, i, full*panelCols, a, lda, w, c, ldc, corr[:], i0) // the last, partial panel
		}
		vnniBlock(i, i1, 0, a, lda, w, c, ldc, corr[:], i0)
	}
}

// vnniBlock computes rows [lo,hi) of C from column j0 (a multiple of 32) on with the
// VNNI tiles; corr[i-base] is row i's correction.
func vnniBlock(lo, hi, j0 int, a []int8, lda int, w *Int8Weights, c []int32, ldc int, corr []int32, base int) {
	n, kp := w.n, Int8Stride(w.k)
	kq := kp / 4
	var part [8 * panelCols]int32 // the last panel's block when n is not a multiple of 32
	for j := j0; j < n; j += panelCols {
		cols := min(panelCols, n-j)
		panel := w.data[(j/panelCols)*kq*panelGroup : (j/panelCols+1)*kq*panelGroup]
		i := lo
		for ; i+8 <= hi; i += 8 {
			_ = a[(i+7)*lda+kp-1]
			if cols == panelCols {
				_ = c[(i+7)*ldc+j+panelCols-1]
				vnniTile8x32(kq, &a[i*lda], lda, &panel[0], &c[i*ldc+j], ldc, &corr[i-base])
				continue
			}
			vnniTile8x32(kq, &a[i*lda], lda, &panel[0], &part[0], panelCols, &corr[i-base])
			for r := range 8 {
				copy(c[(i+r)*ldc+j:(i+r)*ldc+j+cols], part[r*panelCols:])
			}
		}
		for ; i < hi; i++ {
			_ = a[i*lda+kp-1]
			vnniTile1x32(kq, &a[i*lda], &panel[0], &part[0], corr[i-base])
			copy(c[i*ldc+j:i*ldc+j+cols], part[:cols])
		}
	}
}

// rowSumInt8AVX512 returns Σ a[p] over a whole number of 64-byte steps.
func rowSumInt8AVX512(a []int8) int32 {
	ones8, ones16 := archsimd.BroadcastUint8x64(1), archsimd.BroadcastInt16x32(1)
	var s archsimd.Int32x16
	for p := 0; p+64 <= len(a); p += 64 {
		s = s.Add(ones8.DotProductPairsSaturated(archsimd.LoadInt8x64Array((*[64]int8)(a[p:]))).DotProductPairs(ones16))
	}
	var lanes [16]int32
	s.StoreArray(&lanes)
	archsimd.ClearAVXUpperBits()
	var t int32
	for _, v := range lanes {
		t += v
	}
	return t
}
