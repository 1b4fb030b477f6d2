package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// guard32 and guard8 are written around every int8 kernel's output.
const (
	guard32 = int32(-123456789)
	guard8  = int8(-128) // never a quantised value
)

// forEachInt8Impl runs f once with every int8 implementation this CPU and build can
// run made current, the widest first, so that an AMX machine also tests the VNNI and
// AVX2 tiles.
func forEachInt8Impl(t *testing.T, f func(t *testing.T)) {
	saved := int8Current
	defer func() { int8Current = saved }()
	for _, im := range int8Impls {
		int8Current = im
		t.Run(im.name, f)
	}
}

func TestInt8ImplsEndWithScalar(t *testing.T) {
	names := Int8Impls()
	if names[len(names)-1] != "scalar" || Int8Impl() != names[0] {
		t.Fatalf("Int8Impls() = %v, Int8Impl() = %q", names, Int8Impl())
	}
	t.Logf("int8 implementations here: %v", names)
	if err := SetInt8Impl("no-such-impl"); err == nil {
		t.Fatal("SetInt8Impl accepted an unknown name")
	}
}

// randInt8s returns n values in [-127, 127], a tenth of them at ±127.
func randInt8s(r *rand.Rand, n int) []int8 {
	s := make([]int8, n)
	for i := range s {
		switch r.IntN(10) {
		case 0:
			s[i] = 127
		case 1:
			s[i] = -127
		default:
			s[i] = int8(r.IntN(255) - 127)
		}
	}
	return s
}

// int8Matrix returns m rows of k values in [-127, 127] with stride lda; the bytes
// between k and lda are arbitrary, -128 included, which GemmInt8 must ignore.
func int8Matrix(r *rand.Rand, m, k, lda int) []int8 {
	a := make([]int8, m*lda)
	for i := range m {
		copy(a[i*lda:], randInt8s(r, k))
		for p := k; p < lda; p++ {
			a[i*lda+p] = int8(r.IntN(256) - 128)
		}
	}
	return a
}

func checkGemmInt8(t *testing.T, r *rand.Rand, m, n, k, padA, padC int, fill func([]int8)) {
	t.Helper()
	lda, ldc := Int8Stride(k)+padA, n+padC
	a := int8Matrix(r, m, k, lda)
	b := randInt8s(r, n*k)
	if fill != nil {
		for i := range m {
			fill(a[i*lda : i*lda+k])
		}
		fill(b)
	}
	a0, b0 := slices.Clone(a), slices.Clone(b)
	w := PackInt8(b, n, k)
	packed := slices.Clone(w.data)
	// C is surrounded by guards: before its first row, in every row's padding and
	// after its last row.
	const front = 3
	c := make([]int32, front+max(m*ldc, 0)+3)
	for i := range c {
		c[i] = guard32
	}
	want := slices.Clone(c)
	GemmInt8(m, a, lda, w, c[front:], ldc)
	GemmInt8Scalar(m, n, k, a, lda, b, k, want[front:], ldc)
	for i := range c {
		if c[i] != want[i] {
			t.Fatalf("m=%d n=%d k=%d lda=%d ldc=%d: c[%d] = %d, want %d (guards %d)", m, n, k, lda, ldc, i-front, c[i], want[i], guard32)
		}
	}
	if !slices.Equal(a, a0) || !slices.Equal(b, b0) || !slices.Equal(w.data, packed) {
		t.Fatalf("m=%d n=%d k=%d: GemmInt8 changed its inputs", m, n, k)
	}
	if got := w.Unpack(); !slices.Equal(got, b) {
		t.Fatalf("n=%d k=%d: Unpack does not return B", n, k)
	}
}

func TestGemmInt8MatchesScalar(t *testing.T) {
	forEachInt8Impl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		// Every k up to 2000 in growing steps, against odd m and n that leave tails in
		// every tile direction.
		for k := 0; k <= 2000; k += 1 + k/8 {
			checkGemmInt8(t, r, 11, 37, k, k%3, 2, nil)
		}
		shapes := [][3]int{{0, 5, 7}, {1, 1, 1}, {1, 32, 64}, {2, 4, 32}, {3, 5, 7}, {7, 31, 63},
			{8, 32, 64}, {9, 33, 65}, {16, 16, 64}, {17, 64, 128}, {32, 32, 64}, {33, 65, 200},
			{64, 96, 384}, {65, 100, 384}, {70, 384, 384}, {130, 64, 1536}, {5, 1536, 384}}
		for _, s := range shapes {
			for _, pad := range [][2]int{{0, 0}, {64, 5}} {
				checkGemmInt8(t, r, s[0], s[1], s[2], pad[0], pad[1], nil)
			}
		}
	})
}

// TestInt8WeightsSlice checks that a slice of the weights computes exactly its
// columns of the whole product, for cuts at every multiple of Int8ColAlign, ragged
// ends included, and that the columns outside are left alone.
func TestInt8WeightsSlice(t *testing.T) {
	forEachInt8Impl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, s := range [][3]int{{1, 100, 384}, {16, 96, 64}, {40, 384, 200}, {3, 31, 65}, {33, 65, 1536}} {
			m, n, k := s[0], s[1], s[2]
			lda := Int8Stride(k)
			a, b := int8Matrix(r, m, k, lda), randInt8s(r, n*k)
			w := PackInt8(b, n, k)
			want := make([]int32, m*n)
			GemmInt8Scalar(m, n, k, a, lda, b, k, want, n)
			for j0 := 0; j0 <= n; j0 += Int8ColAlign {
				for _, j1 := range []int{j0, min(j0+Int8ColAlign, n), min(j0+2*Int8ColAlign+5, n), n} {
					c := make([]int32, m*n)
					for i := range c {
						c[i] = guard32
					}
					if j1 > j0 {
						GemmInt8(m, a, lda, w.Slice(j0, j1), c[j0:], n)
					}
					for i := range m {
						for j := range n {
							got, exp := c[i*n+j], want[i*n+j]
							if j < j0 || j >= j1 {
								exp = guard32
							}
							if got != exp {
								t.Fatalf("m=%d n=%d k=%d slice [%d,%d): c[%d][%d] = %d, want %d", m, n, k, j0, j1, i, j, got, exp)
							}
						}
					}
				}
			}
		}
		w := PackInt8(make([]int8, 64*8), 64, 8)
		for _, cut := range [][2]int{{1, 5}, {-32, 0}, {32, 65}, {40, 30}} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("Slice(%d, %d) of 64 rows did not panic", cut[0], cut[1])
					}
				}()
				w.Slice(cut[0], cut[1])
			}()
		}
	})
}

// TestGemmInt8Extremes fills A and B with ±127 only: the largest pair sums that the
// int16 steps of AVX2 and SIMD128 must hold without saturating.
func TestGemmInt8Extremes(t *testing.T) {
	forEachInt8Impl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, v := range [][2]int8{{127, 127}, {-127, -127}, {127, -127}} {
			fill := func(s []int8) {
				for i := range s {
					s[i] = v[i%2]
				}
			}
			checkGemmInt8(t, r, 9, 35, 1536, 0, 1, fill)
			checkGemmInt8(t, r, 16, 64, 2000, 0, 0, fill)
		}
	})
}

func TestPackInt8RejectsMinus128(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	PackInt8([]int8{1, -128, 3}, 1, 3)
}

func TestGemmInt8ShortStridePanics(t *testing.T) {
	w := PackInt8(make([]int8, 2*10), 2, 10)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	GemmInt8(2, make([]int8, 2*10), 10, w, make([]int32, 4), 2)
}

func TestPackInt8KeepsAlignedRows(t *testing.T) {
	saved := int8Current
	defer func() { int8Current = saved }()
	int8Current = scalarInt8
	b := make([]int8, 3*128)
	if w := PackInt8(b, 3, 128); &w.data[0] != &b[0] {
		t.Fatal("the row layout copied rows that need no padding")
	}
}

// quantizeInputs are the rows the quantiser is tested on: random rows of every length
// up to 2000, rows with one large outlier, zeros, and rows whose scaled values fall
// exactly halfway between integers (amax 127 makes the scale 1), where rounding to
// even decides.
func quantizeInputs(r *rand.Rand) [][]float32 {
	var rows [][]float32
	for n := 0; n <= 2000; n += 1 + n/16 {
		rows = append(rows, randSlice(r, n))
	}
	outlier := randSlice(r, 384)
	outlier[100] = 300
	ties := make([]float32, 61)
	for i := range ties {
		ties[i] = float32(i-30) + 0.5
	}
	ties[0] = -127
	rows = append(rows, outlier, make([]float32, 33), ties, []float32{1e-30, -2e-30, 0}, []float32{-5})
	return rows
}

func TestQuantizeRowInt8MatchesScalar(t *testing.T) {
	forEachInt8Impl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, x := range quantizeInputs(r) {
			n := len(x)
			x0 := slices.Clone(x)
			q := make([]int8, n+2)
			q[n], q[n+1] = guard8, guard8
			want := make([]int8, n)
			gotScale, wantScale := QuantizeRowInt8(q, x), QuantizeRowInt8Scalar(want, x)
			if math.Float32bits(gotScale) != math.Float32bits(wantScale) {
				t.Fatalf("n=%d: scale %g, want %g", n, gotScale, wantScale)
			}
			if !slices.Equal(q[:n], want) {
				t.Fatalf("n=%d: q = %v\nwant %v", n, q[:n], want)
			}
			if q[n] != guard8 || q[n+1] != guard8 {
				t.Fatalf("n=%d: wrote past len(x)", n)
			}
			if !slices.Equal(x, x0) {
				t.Fatalf("n=%d: x changed", n)
			}
			if slices.Contains(want, -128) {
				t.Fatalf("n=%d: -128 in the quantised row", n)
			}
		}
	})
}

func TestQuantizeRowInt8Scalar(t *testing.T) {
	q := make([]int8, 5)
	s := QuantizeRowInt8Scalar(q, []float32{2.54, -1.27, 0, 1.905, 0.01})
	if want := []int8{127, -64, 0, 95, 0}; !slices.Equal(q, want) {
		t.Errorf("q = %v, want %v", q, want) // -63.5 rounds to even, -64
	}
	if want := float32(2.54) / 127; s != want {
		t.Errorf("scale %g, want %g", s, want)
	}
	// The round trip error is at most half a step.
	r := rand.New(rand.NewPCG(13, 14))
	x := randSlice(r, 1000)
	q = make([]int8, len(x))
	s = QuantizeRowInt8Scalar(q, x)
	for i, v := range x {
		if d := math.Abs(float64(v - s*float32(q[i]))); d > 0.5001*float64(s) {
			t.Fatalf("x[%d] = %g comes back as %g (step %g)", i, v, s*float32(q[i]), s)
		}
	}
}

func TestDequantRowInt8MatchesScalar(t *testing.T) {
	forEachInt8Impl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 16))
		for n := 0; n <= 2000; n += 1 + n/16 {
			c := make([]int32, n)
			for i := range c {
				c[i] = int32(r.IntN(1<<24) - 1<<23)
			}
			cs, bias := randSlice(r, n), randSlice(r, n)
			rs := float32(r.Float64()) / 100
			inputs := [][]float32{slices.Clone(cs), slices.Clone(bias)}
			c0 := slices.Clone(c)
			y := make([]float32, n+2)
			y[n], y[n+1] = guard, guard
			want := make([]float32, n)
			DequantRowInt8(y[:n], c, rs, cs, bias)
			DequantRowInt8Scalar(want, c, rs, cs, bias)
			for j := range want {
				if math.Float32bits(y[j]) != math.Float32bits(want[j]) {
					t.Fatalf("n=%d: y[%d] = %g, want %g", n, j, y[j], want[j])
				}
			}
			if y[n] != guard || y[n+1] != guard {
				t.Fatalf("n=%d: wrote past len(y)", n)
			}
			if !slices.Equal(c, c0) || !slices.Equal(cs, inputs[0]) || !slices.Equal(bias, inputs[1]) {
				t.Fatalf("n=%d: inputs changed", n)
			}
		}
	})
}

func BenchmarkGemmInt8(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	saved := int8Current
	defer func() { int8Current = saved }()
	for _, s := range [][3]int{{256, 384, 384}, {256, 1536, 384}, {256, 384, 1536}, {16, 1536, 384}} {
		m, n, k := s[0], s[1], s[2]
		a, bm, c := int8Matrix(r, m, k, Int8Stride(k)), randInt8s(r, n*k), make([]int32, m*n)
		ops := 2 * float64(m*n*k)
		for _, im := range int8Impls {
			int8Current = im
			w := PackInt8(bm, n, k)
			b.Run(fmt.Sprintf("%s/%dx%dx%d", im.name, m, n, k), func(b *testing.B) {
				for b.Loop() {
					GemmInt8(m, a, Int8Stride(k), w, c, n)
				}
				b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gop/s")
			})
		}
	}
}

func BenchmarkQuantizeRowInt8(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	saved := int8Current
	defer func() { int8Current = saved }()
	x := randSlice(r, 1536)
	q := make([]int8, len(x))
	for _, im := range int8Impls {
		int8Current = im
		b.Run(im.name, func(b *testing.B) {
			for b.Loop() {
				QuantizeRowInt8(q, x)
			}
		})
	}
}
