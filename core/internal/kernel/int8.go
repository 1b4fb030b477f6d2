package kernel

import (
	"fmt"
	"math"
	"slices"
)

// The int8 kernels: a linear layer y = x·Wᵀ + b of the int8 encoder runs as three steps.
//
//  1. QuantizeRowInt8 turns one row of activations x (float32) into int8 q and a scale
//     s with x ≈ s·q: symmetric, s = max|x|/127, q = round(x·127/max|x|). Each token
//     gets its own scale, computed when it arrives (dynamic quantisation).
//  2. GemmInt8 multiplies the quantised rows with the int8 weight W (out,in) packed
//     by PackInt8, summing in int32: exact, so every implementation returns the same
//     integers as GemmInt8Scalar.
//  3. DequantRowInt8 turns a row of int32 sums back into float32: y = c·s·sw + b, sw
//     being the weight's per-row scales.
//
// Activations are symmetric int8 (a zero point of 0), like the weights, so the
// specification is a plain int8×int8 product. Each instruction set gets there its own
// way: AVX2's VPMADDUBSW multiplies u8 by s8 and saturates at int16, so it takes
// |a| × (b with a's sign), exact because both lie in [-127, 127]; AVX-512 VNNI's
// VPDPBUSD multiplies u8 by s8 into int32, so the weights are stored offset by 128
// (u8) and 128·Σa is subtracted per row; AMX's TDPBSUD (s8×u8) shares those weights
// and that correction; SIMD128 widens products to int16 (two of them fit:
// 2·127² < 2¹⁵). The one rule all of them need is that no entry is -128, which
// QuantizeRowInt8 and the weight quantiser guarantee.

// Int8Stride returns the row stride that GemmInt8 needs for k int8 values: k rounded
// up to a multiple of 64 (one AMX tile row, one AVX-512 register). GemmInt8 may read a
// row's bytes up to the stride; what it finds past k never changes the result.
func Int8Stride(k int) int { return (k + 63) &^ 63 }

// Int8Weights is an int8 matrix B (n rows of k) packed for GemmInt8 by one
// implementation, whose layout it is. It is read-only once packed and safe for
// concurrent use.
type Int8Weights struct {
	n, k int
	impl *int8Impl
	data []int8 // the implementation's layout of B
}

// PackInt8 packs B (n,k), row-major with row stride k, for the int8 implementation in
// use (see Int8Impl). Every entry must lie in [-127, 127]; -128 panics. When the
// implementation's layout is B's own, the result keeps b rather than a copy, so b must
// not change afterwards.
func PackInt8(b []int8, n, k int) *Int8Weights {
	if n < 0 || k < 0 || len(b) < n*k {
		panic("kernel: PackInt8: b shorter than n·k")
	}
	b = b[:n*k]
	if slices.Contains(b, -128) {
		panic("kernel: PackInt8: entry -128 (the int8 kernels take [-127, 127])")
	}
	w := &Int8Weights{n: n, k: k, impl: int8Current}
	w.data = w.impl.pack(b, n, k)
	return w
}

// Int8ColAlign is the granule Slice cuts B at: every layout keeps each 32 rows of B
// (32 output columns) in one contiguous block.
const Int8ColAlign = 32

// Slice returns rows [j0, j1) of B as weights sharing w's memory, so that GemmInt8
// with them computes columns j0..j1-1 of the product alone: threads split one product
// by columns that way, each reading only its share of the weights. j0 must be a
// multiple of Int8ColAlign and 0 ≤ j0 ≤ j1 ≤ n.
func (w *Int8Weights) Slice(j0, j1 int) *Int8Weights {
	if j0 < 0 || j0 > j1 || j1 > w.n || j0%Int8ColAlign != 0 {
		panic(fmt.Sprintf("kernel: Int8Weights.Slice(%d, %d) of %d rows (the first a multiple of %d)", j0, j1, w.n, Int8ColAlign))
	}
	kp := Int8Stride(w.k)
	end := min(len(w.data), (j1+Int8ColAlign-1)/Int8ColAlign*Int8ColAlign*kp)
	return &Int8Weights{n: j1 - j0, k: w.k, impl: w.impl, data: w.data[min(j0*kp, end):end]}
}

// Rows and Cols return B's shape (n,k).
func (w *Int8Weights) Rows() int { return w.n }
func (w *Int8Weights) Cols() int { return w.k }

// Impl names the implementation w was packed for.
func (w *Int8Weights) Impl() string { return w.impl.name }

// Unpack returns B (n,k) row-major, a new slice.
func (w *Int8Weights) Unpack() []int8 {
	b := make([]int8, w.n*w.k)
	w.impl.unpack(b, w)
	return b
}

// GemmInt8 computes the int32 product of int8 rows A (m,k) with Bᵀ, B being packed in
// w, overwriting C (m,n):
//
//	c[i*ldc+j] = Σ_{p<k} a[i*lda+p]·B[j][p]
//
// A's rows have stride lda ≥ Int8Stride(k) and a holds at least (m−1)·lda +
// Int8Stride(k) values; their entries must lie in [-127, 127] (QuantizeRowInt8 makes
// such rows). ldc ≥ n. Only c[i*ldc+j] for i < m, j < n is written.
func GemmInt8(m int, a []int8, lda int, w *Int8Weights, c []int32, ldc int) {
	if m == 0 || w.n == 0 {
		return
	}
	kp := Int8Stride(w.k)
	if lda < kp || ldc < w.n {
		panic("kernel: GemmInt8: lda < Int8Stride(k) or ldc < n")
	}
	if len(a) < (m-1)*lda+kp || len(c) < (m-1)*ldc+w.n {
		panic("kernel: GemmInt8: slice shorter than its matrix")
	}
	if w.k == 0 {
		for i := range m {
			clear(c[i*ldc : i*ldc+w.n])
		}
		return
	}
	w.impl.gemm(m, a, lda, w, c, ldc)
}

// GemmInt8Scalar is the specification of GemmInt8, B being row-major (n,k) with row
// stride ldb:
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s int32
//			for p := 0; p < k; p++ {
//				s += int32(a[i*lda+p]) * int32(b[j*ldb+p])
//			}
//			c[i*ldc+j] = s
//		}
//	}
func GemmInt8Scalar(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		ci := c[i*ldc : i*ldc+n]
		for j := range ci {
			bj := b[j*ldb : j*ldb+k]
			var s int32
			for p, av := range ai {
				s += int32(av) * int32(bj[p])
			}
			ci[j] = s
		}
	}
}

// QuantizeRowInt8 quantises x symmetrically into q (len(q) ≥ len(x)) and returns the
// scale s, so that x[i] ≈ s·q[i] with q[i] in [-127, 127]. x must be finite.
func QuantizeRowInt8(q []int8, x []float32) float32 {
	if len(q) < len(x) {
		panic("kernel: QuantizeRowInt8: q shorter than x")
	}
	return int8Current.quantize(q[:len(x)], x)
}

// QuantizeRowInt8Scalar is the specification of QuantizeRowInt8:
//
//	amax := max over i of |x[i]|
//	if amax == 0: q[i] = 0 for every i, return 0
//	inv := float32(127) / amax
//	q[i] = int8(RoundToEven(x[i] * inv))   (the product in float32)
//	return amax / 127
//
// |x[i]·inv| ≤ amax·inv, which rounds to 127 at most, so no entry is -128.
func QuantizeRowInt8Scalar(q []int8, x []float32) float32 {
	var amax float32
	for _, v := range x {
		amax = max(amax, math.Float32frombits(math.Float32bits(v)&0x7fffffff))
	}
	q = q[:len(x)]
	if amax == 0 {
		clear(q)
		return 0
	}
	inv := 127 / amax
	for i, v := range x {
		q[i] = int8(math.RoundToEven(float64(v * inv)))
	}
	return amax / 127
}

// DequantRowInt8 writes one output row of an int8 linear layer:
// y[j] = c[j]·rowScale·colScale[j] + bias[j] over j < len(y); c, colScale and bias
// must be at least as long as y.
func DequantRowInt8(y []float32, c []int32, rowScale float32, colScale, bias []float32) {
	n := len(y)
	if len(c) < n || len(colScale) < n || len(bias) < n {
		panic("kernel: DequantRowInt8: c, colScale or bias shorter than y")
	}
	int8Current.dequant(y, c[:n], rowScale, colScale[:n], bias[:n])
}

// DequantRowInt8Scalar is the specification of DequantRowInt8, each operation
// rounded to float32 in this order (no fused multiply-add, so that every
// implementation gives the same bits):
//
//	y[j] = float32(c[j]) * colScale[j] * rowScale + bias[j]
func DequantRowInt8Scalar(y []float32, c []int32, rowScale float32, colScale, bias []float32) {
	c, colScale, bias = c[:len(y)], colScale[:len(y)], bias[:len(y)]
	for j := range y {
		y[j] = float32(float32(float32(c[j])*colScale[j])*rowScale) + bias[j]
	}
}

// int8Impl is one implementation of the int8 kernels. The implementations this build
// and CPU can run are listed in int8Impls, widest first; int8Current, the first of
// them unless SetInt8Impl chose another, serves PackInt8, QuantizeRowInt8 and
// DequantRowInt8, while GemmInt8 runs the implementation its weights were packed for.
type int8Impl struct {
	name     string
	pack     func(b []int8, n, k int) []int8 // B (n,k) → the layout gemm reads
	unpack   func(b []int8, w *Int8Weights)  // the inverse of pack, into B (n,k)
	gemm     func(m int, a []int8, lda int, w *Int8Weights, c []int32, ldc int)
	quantize func(q []int8, x []float32) float32
	dequant  func(y []float32, c []int32, rowScale float32, colScale, bias []float32)
}

var (
	int8Impls   = supportedInt8Impls()
	int8Current = int8Impls[0]
)

// Int8Impls names the int8 implementations this build and CPU can run, widest first
// ("amx", "avx512vnni", "avxvnni", "avx2", "simd128", "scalar"; the last is always
// "scalar").
func Int8Impls() []string {
	names := make([]string, len(int8Impls))
	for i, im := range int8Impls {
		names[i] = im.name
	}
	return names
}

// Int8Impl names the int8 implementation that PackInt8 packs for.
func Int8Impl() string { return int8Current.name }

// SetInt8Impl makes PackInt8, QuantizeRowInt8 and DequantRowInt8 use the named
// implementation (one of Int8Impls), so that tests and benchmarks can run every
// narrower path on a wide CPU. Weights packed before keep their implementation. It
// must not run concurrently with the int8 kernels.
func SetInt8Impl(name string) error {
	for _, im := range int8Impls {
		if im.name == name {
			int8Current = im
			return nil
		}
	}
	return fmt.Errorf("kernel: int8 implementation %q not available here (have %v)", name, Int8Impls())
}

// scalarInt8 is the specification itself, over B kept row by row with stride
// Int8Stride(k).
var scalarInt8 = &int8Impl{
	name:   "scalar",
	pack:   packRows,
	unpack: unpackRows,
	gemm: func(m int, a []int8, lda int, w *Int8Weights, c []int32, ldc int) {
		GemmInt8Scalar(m, w.n, w.k, a, lda, w.data, Int8Stride(w.k), c, ldc)
	},
	quantize: QuantizeRowInt8Scalar,
	dequant:  DequantRowInt8Scalar,
}

// packRows is the row layout: B (n,k) with row stride Int8Stride(k), zero-padded. When
// k is already a multiple of 64 that is b itself, kept without a copy.
func packRows(b []int8, n, k int) []int8 {
	kp := Int8Stride(k)
	if kp == k {
		return b
	}
	d := make([]int8, n*kp)
	for j := range n {
		copy(d[j*kp:j*kp+k], b[j*k:(j+1)*k])
	}
	return d
}

func unpackRows(b []int8, w *Int8Weights) {
	kp := Int8Stride(w.k)
	for j := range w.n {
		copy(b[j*w.k:(j+1)*w.k], w.data[j*kp:j*kp+w.k])
	}
}
