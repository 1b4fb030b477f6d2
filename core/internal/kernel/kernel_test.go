package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// guard is written around every output slice to catch writes past the end.
const guard = float32(-12345.5)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// closeTo compares NaN-aware with a tolerance relative to the magnitude of the terms summed.
func closeTo(got, want, scale float32, tol float64) bool {
	if math.IsNaN(float64(want)) {
		return math.IsNaN(float64(got))
	}
	if math.IsInf(float64(want), 0) {
		return got == want
	}
	return math.Abs(float64(got-want)) <= tol*float64(max(scale, 1))
}

func TestDotMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 2000; n += 1 + n/16 {
		for _, off := range []int{0, 1, 3} {
			a := randSlice(r, n+off)[off:]
			b := randSlice(r, n+off)[off:]
			var scale float32
			for i := range a {
				scale += float32(math.Abs(float64(a[i] * b[i])))
			}
			got, want := Dot(a, b), DotScalar(a, b)
			if !closeTo(got, want, scale, 1e-5) {
				t.Fatalf("Dot n=%d off=%d: got %v want %v", n, off, got, want)
			}
		}
	}
}

func TestDotNaNInf(t *testing.T) {
	for _, n := range []int{1, 7, 8, 17, 33, 100} {
		a := make([]float32, n)
		b := make([]float32, n)
		for i := range a {
			a[i], b[i] = 1, 1
		}
		a[n-1] = float32(math.NaN())
		if got := Dot(a, b); !math.IsNaN(float64(got)) {
			t.Errorf("n=%d: NaN lost, got %v", n, got)
		}
		a[n-1] = float32(math.Inf(1))
		if got := Dot(a, b); !math.IsInf(float64(got), 1) {
			t.Errorf("n=%d: +Inf lost, got %v", n, got)
		}
	}
}

func TestAxpyMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 2000; n += 1 + n/16 {
		x := randSlice(r, n)
		y := append(randSlice(r, n), guard, guard)
		want := append([]float32(nil), y...)
		Axpy(0.75, x, y[:n])
		AxpyScalar(0.75, x, want[:n])
		for i := range y {
			if !closeTo(y[i], want[i], 1, 1e-6) {
				t.Fatalf("Axpy n=%d i=%d: got %v want %v", n, i, y[i], want[i])
			}
		}
	}
}

func TestGemmMatchesScalar(t *testing.T) {
	forEachFloatPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {4, 16, 8}, {4, 32, 8}, {5, 33, 17}, {64, 64, 64},
			{67, 48, 31}, {130, 100, 384}, {7, 384, 32}, {128, 32, 128}, {2, 1536, 384}}
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			for _, pad := range []int{0, 3} {
				t.Run(fmt.Sprintf("m%d_n%d_k%d_pad%d", m, n, k, pad), func(t *testing.T) {
					lda, ldb, ldc := k+pad, n+pad, n+pad
					a := randSlice(r, m*lda)
					b := randSlice(r, k*ldb)
					c := randSlice(r, m*ldc+2)
					c[len(c)-1], c[len(c)-2] = guard, guard
					want := append([]float32(nil), c...)
					Gemm(m, n, k, a, lda, b, ldb, c, ldc)
					GemmScalar(m, n, k, a, lda, b, ldb, want, ldc)
					var worst float64
					for i := range c {
						if i%ldc >= n && i < m*ldc && c[i] != want[i] {
							t.Fatalf("wrote padding at %d", i)
						}
						worst = max(worst, math.Abs(float64(c[i]-want[i])))
					}
					if c[len(c)-1] != guard || c[len(c)-2] != guard {
						t.Fatal("wrote past the end of C")
					}
					if tol := 1e-5 * math.Sqrt(float64(k)) * 4; worst > tol {
						t.Fatalf("largest difference %g > %g", worst, tol)
					}
				})
			}
		}
	})
}

// TestGemmNarrow checks every width below 48, where the AVX-512 path runs its masked
// 16-column tails (attention's Q·Kᵀ over a short sequence is one), against the scalar
// specification, with guards around C and inputs checked unchanged.
func TestGemmNarrow(t *testing.T) {
	forEachFloatPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 16))
		for n := 1; n < 48; n++ {
			for _, mk := range [][2]int{{1, 7}, {4, 32}, {5, 1}, {16, 32}, {18, 65}} {
				m, k := mk[0], mk[1]
				lda, ldb, ldc := k+1, n+2, n+3
				a, b := randSlice(r, m*lda), randSlice(r, k*ldb)
				a0, b0 := slices.Clone(a), slices.Clone(b)
				c := randSlice(r, m*ldc+2)
				for i := range c {
					if i%ldc >= n || i >= m*ldc {
						c[i] = guard
					}
				}
				want := slices.Clone(c)
				Gemm(m, n, k, a, lda, b, ldb, c, ldc)
				GemmScalar(m, n, k, a, lda, b, ldb, want, ldc)
				for i := range c {
					if i%ldc >= n || i >= m*ldc {
						if c[i] != guard {
							t.Fatalf("m=%d n=%d k=%d: wrote the guard at %d", m, n, k, i)
						}
					} else if d := math.Abs(float64(c[i] - want[i])); d > 1e-5*math.Sqrt(float64(k))*4 {
						t.Fatalf("m=%d n=%d k=%d: c[%d] = %g, want %g", m, n, k, i, c[i], want[i])
					}
				}
				if !slices.Equal(a, a0) || !slices.Equal(b, b0) {
					t.Fatalf("m=%d n=%d k=%d: Gemm changed A or B", m, n, k)
				}
			}
		}
	})
}

// TestGemmTN checks GemmTN against Gemm on the explicit transpose, bit for bit (the
// same tiles sum each element in the same order), and against its scalar
// specification, for shapes with tails in every direction; guards and inputs as in
// TestGemmNarrow.
func TestGemmTN(t *testing.T) {
	forEachFloatPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(19, 20))
		shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {4, 16, 8}, {4, 32, 8}, {5, 33, 17}, {16, 16, 32},
			{64, 64, 64}, {67, 48, 31}, {130, 100, 384}, {7, 384, 300}, {33, 17, 2}}
		for n := 1; n < 40; n += 3 {
			shapes = append(shapes, [3]int{6, n, 9})
		}
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			lda, ldb, ldc := m+2, n+1, n+3
			a, b := randSlice(r, k*lda), randSlice(r, k*ldb)
			at := make([]float32, m*k) // Aᵀ as Gemm takes it, (m,k)
			for p := range k {
				for i := range m {
					at[i*k+p] = a[p*lda+i]
				}
			}
			a0, b0 := slices.Clone(a), slices.Clone(b)
			c := randSlice(r, m*ldc+2)
			c[len(c)-1], c[len(c)-2] = guard, guard
			viaGemm, spec := slices.Clone(c), slices.Clone(c)
			GemmTN(m, n, k, a, lda, b, ldb, c, ldc)
			Gemm(m, n, k, at, k, b, ldb, viaGemm, ldc)
			GemmTNScalar(m, n, k, a, lda, b, ldb, spec, ldc)
			if !slices.Equal(c, viaGemm) {
				t.Fatalf("m=%d n=%d k=%d: GemmTN differs from Gemm on the transpose", m, n, k)
			}
			for i := range c {
				if d := math.Abs(float64(c[i] - spec[i])); d > 1e-5*math.Sqrt(float64(k))*4 {
					t.Fatalf("m=%d n=%d k=%d: c[%d] = %g, want %g", m, n, k, i, c[i], spec[i])
				}
			}
			if c[len(c)-1] != guard || c[len(c)-2] != guard {
				t.Fatalf("m=%d n=%d k=%d: wrote past the end of C", m, n, k)
			}
			if !slices.Equal(a, a0) || !slices.Equal(b, b0) {
				t.Fatalf("m=%d n=%d k=%d: GemmTN changed A or B", m, n, k)
			}
		}
	})
}

func TestMisusePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("no panic")
		}
	}()
	Dot(make([]float32, 3), make([]float32, 2))
}

func BenchmarkDot(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{32, 384, 768} {
		x, y := randSlice(r, n), randSlice(r, n)
		b.Run(fmt.Sprintf("%s/n=%d", Impl(), n), func(b *testing.B) {
			for b.Loop() {
				Dot(x, y)
			}
		})
		b.Run(fmt.Sprintf("scalar/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				DotScalar(x, y)
			}
		})
	}
}

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range [][3]int{{256, 384, 384}, {256, 1536, 384}, {128, 128, 32}} {
		m, n, k := s[0], s[1], s[2]
		x, y, z := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
		flops := 2 * float64(m*n*k)
		b.Run(fmt.Sprintf("%s/%dx%dx%d", Impl(), m, n, k), func(b *testing.B) {
			for b.Loop() {
				Gemm(m, n, k, x, k, y, n, z, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
		b.Run(fmt.Sprintf("scalar/%dx%dx%d", m, n, k), func(b *testing.B) {
			for b.Loop() {
				GemmScalar(m, n, k, x, k, y, n, z, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}
