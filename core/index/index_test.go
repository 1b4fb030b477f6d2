package index

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/internal/kernel"
)

// randomVectors returns n vectors of length dim. With ints set, elements are
// small integers, so many dot products tie exactly.
func randomVectors(rng *rand.Rand, n, dim int, ints bool) [][]float32 {
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = make([]float32, dim)
		for j := range vecs[i] {
			if ints {
				vecs[i][j] = float32(rng.IntN(5) - 2)
			} else {
				vecs[i][j] = float32(rng.NormFloat64())
			}
		}
	}
	return vecs
}

func build(t testing.TB, kind Kind, vecs [][]float32, dim int) *Index {
	t.Helper()
	ix := New(dim, kind)
	for i, v := range vecs {
		if err := ix.Add("doc"+strconv.Itoa(i), v); err != nil {
			t.Fatal(err)
		}
	}
	return ix
}

// bruteForce scores every vector with the index's own dot product and sorts
// all of them: the specification Search must match exactly.
func bruteForce(ix *Index, query []float32, k int) []Hit {
	if k <= 0 || ix.Len() == 0 {
		return nil
	}
	all := make([]Hit, ix.Len())
	for i := range all {
		row := ix.dim * i
		var s float32
		if ix.kind == Float32 {
			s = kernel.Dot(query, ix.f32[row:row+ix.dim])
		} else {
			s = dotInt8(query, ix.i8[row:row+ix.dim]) * ix.scales[i]
		}
		all[i] = Hit{ID: ix.ids[i], Index: i, Score: s}
	}
	slices.SortStableFunc(all, func(a, b Hit) int { return -compareFloat(a.Score, b.Score) })
	return all[:min(k, len(all))]
}

func compareFloat(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestSearchMatchesBruteForce(t *testing.T) {
	const dim = 16
	for _, kind := range []Kind{Float32, Int8} {
		for _, ints := range []bool{false, true} {
			for _, n := range []int{0, 1, 5, 1000} {
				for _, k := range []int{-1, 0, 1, 10, n + 5} {
					name := kind.String() + "/ints=" + strconv.FormatBool(ints) +
						"/n=" + strconv.Itoa(n) + "/k=" + strconv.Itoa(k)
					t.Run(name, func(t *testing.T) {
						rng := rand.New(rand.NewPCG(uint64(n), uint64(k+10)))
						ix := build(t, kind, randomVectors(rng, n, dim, ints), dim)
						for _, q := range randomVectors(rng, 5, dim, ints) {
							got := ix.Search(q, k)
							want := bruteForce(ix, q, k)
							if !slices.Equal(got, want) {
								t.Fatalf("Search(k=%d):\n got %v\nwant %v", k, got, want)
							}
							if wantLen := max(0, min(k, n)); len(got) != wantLen {
								t.Fatalf("got %d hits, want %d", len(got), wantLen)
							}
						}
					})
				}
			}
		}
	}
}

func TestSearchTiesByInsertionOrder(t *testing.T) {
	ix := New(2, Float32)
	for _, d := range []struct {
		id  string
		vec []float32
	}{
		{"low", []float32{0, 1}},
		{"tie-a", []float32{1, 0}},
		{"top", []float32{2, 0}},
		{"tie-b", []float32{1, 0}},
		{"tie-c", []float32{1, 5}}, // ties on the query below, not on vector
	} {
		if err := ix.Add(d.id, d.vec); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		k    int
		want []string
	}{
		{1, []string{"top"}},
		{2, []string{"top", "tie-a"}},
		{3, []string{"top", "tie-a", "tie-b"}},
		{4, []string{"top", "tie-a", "tie-b", "tie-c"}},
		{9, []string{"top", "tie-a", "tie-b", "tie-c", "low"}},
	}
	query := []float32{1, 0}
	for _, tt := range tests {
		var got []string
		for _, h := range ix.Search(query, tt.k) {
			got = append(got, h.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("k=%d: got %v, want %v", tt.k, got, tt.want)
		}
	}
}

func TestSearchOddQueries(t *testing.T) {
	ix := New(2, Float32)
	for i, v := range [][]float32{{1, 1}, {3e38, -3e38}, {2, 2}} {
		if err := ix.Add(strconv.Itoa(i), v); err != nil {
			t.Fatal(err)
		}
	}
	// 6e38 overflows to +Inf, then +Inf + -Inf is NaN: it must rank last
	// without disturbing the others.
	got := ix.Search([]float32{2, 2}, 3)
	if ids := []string{got[0].ID, got[1].ID, got[2].ID}; !slices.Equal(ids, []string{"2", "0", "1"}) {
		t.Errorf("NaN score: got order %v, want [2 0 1]", ids)
	}
	for _, q := range [][]float32{{float32(math.NaN()), 0}, {0, float32(math.Inf(-1))}} {
		if got := ix.Search(q, 3); got != nil {
			t.Errorf("Search(%v) = %v, want nil", q, got)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "dim 3") {
			t.Errorf("wrong-dim query: recovered %v, want a panic naming dim 3", r)
		}
	}()
	ix.Search([]float32{1, 2, 3}, 1)
}

func TestSearchBatch(t *testing.T) {
	const dim = 8
	rng := rand.New(rand.NewPCG(7, 7))
	ix := build(t, Float32, randomVectors(rng, 200, dim, false), dim)
	queries := randomVectors(rng, 13, dim, false)
	for _, threads := range []int{-1, 0, 1, 2, 50} {
		got := ix.SearchBatch(queries, 7, threads)
		if len(got) != len(queries) {
			t.Fatalf("threads=%d: %d results for %d queries", threads, len(got), len(queries))
		}
		for i, q := range queries {
			if want := ix.Search(q, 7); !slices.Equal(got[i], want) {
				t.Errorf("threads=%d query %d: got %v, want %v", threads, i, got[i], want)
			}
		}
	}
	if got := ix.SearchBatch(nil, 7, 2); len(got) != 0 {
		t.Errorf("no queries: got %v", got)
	}
}

// TestInt8ErrorBound checks the documented bound: each element is off by at
// most scale/2, so a score is off by at most sum|q_i|*scale/2 (plus float32
// rounding in the sum, far smaller).
func TestInt8ErrorBound(t *testing.T) {
	const dim, n = 64, 300
	rng := rand.New(rand.NewPCG(3, 4))
	vecs := randomVectors(rng, n, dim, false)
	for i := range vecs[:50] { // varied magnitudes, including tiny ones
		for j := range vecs[i] {
			vecs[i][j] *= float32(math.Pow(10, float64(i%12-8)))
		}
	}
	ix := build(t, Int8, vecs, dim)
	var worst float64
	for _, q := range randomVectors(rng, 20, dim, false) {
		var sumAbsQ float64
		for _, x := range q {
			sumAbsQ += math.Abs(float64(x))
		}
		for _, h := range ix.Search(q, n) {
			var exact, maxAbs float64
			for j, x := range vecs[h.Index] {
				exact += float64(q[j]) * float64(x)
				maxAbs = max(maxAbs, math.Abs(float64(x)))
			}
			bound := sumAbsQ * float64(ix.scales[h.Index]) / 2
			diff := math.Abs(float64(h.Score) - exact)
			if diff > bound+1e-5*sumAbsQ*maxAbs {
				t.Fatalf("vector %d: |%v - %v| = %g > bound %g", h.Index, h.Score, exact, diff, bound)
			}
			if bound > 0 {
				worst = max(worst, diff/bound)
			}
		}
	}
	t.Logf("largest error / bound: %.3f", worst)
}

func TestQuantize(t *testing.T) {
	tests := []struct {
		name      string
		x         []float32
		wantQ     []int8
		wantScale float32
	}{
		{"zero", []float32{0, 0, 0}, []int8{0, 0, 0}, 0},
		{"unit", []float32{1, -1, 0.5, -0.25}, []int8{127, -127, 64, -32}, 1.0 / 127},
		{"negative max", []float32{-254, 127, 1}, []int8{-127, 64, 1}, 2},
		{"underflow", []float32{1e-45, -1e-45}, []int8{0, 0}, 0},
	}
	for _, tt := range tests {
		q := []int8{9, 9, 9, 9}[:len(tt.x)]
		scale := quantize(tt.x, q)
		if scale != tt.wantScale || !slices.Equal(q, tt.wantQ) {
			t.Errorf("%s: quantize(%v) = %v, %v; want %v, %v", tt.name, tt.x, q, scale, tt.wantQ, tt.wantScale)
		}
	}
}

func TestQuantized(t *testing.T) {
	const dim = 12
	rng := rand.New(rand.NewPCG(5, 6))
	vecs := randomVectors(rng, 40, dim, false)
	f := build(t, Float32, vecs, dim)
	direct := build(t, Int8, vecs, dim)
	q := f.Quantized()
	again := q.Quantized()
	for _, got := range []*Index{q, again} {
		if got.Kind() != Int8 || got.Dim() != dim || got.Len() != 40 ||
			!slices.Equal(got.ids, direct.ids) || !slices.Equal(got.i8, direct.i8) ||
			!slices.Equal(got.scales, direct.scales) {
			t.Fatal("Quantized differs from adding the vectors to an Int8 index")
		}
	}
	again.i8[0]++
	if q.i8[0] == again.i8[0] {
		t.Error("Quantized of an Int8 index shares storage with it")
	}
	if err := q.Add("doc0", vecs[0]); err == nil {
		t.Error("Quantized copy accepted a duplicate id")
	}
}

func TestAddErrors(t *testing.T) {
	ix := New(3, Float32)
	if err := ix.Add("a", []float32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id   string
		vec  []float32
		want string
	}{
		{"b", []float32{1, 2}, `add "b": vector has dim 2, index has dim 3`},
		{"b", []float32{1, float32(math.NaN()), 3}, `add "b": element 1 is NaN`},
		{"b", []float32{float32(math.Inf(1)), 2, 3}, `add "b": element 0 is +Inf`},
		{"a", []float32{1, 2, 3}, `add "a": duplicate id (already vector 0)`},
		{"", []float32{1, 2, 3}, `add "": id has length 0, want 1..65536 bytes`},
		{strings.Repeat("x", maxIDLen+1), []float32{1, 2, 3}, "id has length 65537"},
		{"bad\xff", []float32{1, 2, 3}, `add "bad\xff": id is not valid UTF-8`},
	}
	for _, tt := range tests {
		err := ix.Add(tt.id, tt.vec)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Add(%.20q, %v) = %v, want error containing %q", tt.id, tt.vec, err, tt.want)
		}
	}
	if ix.Len() != 1 {
		t.Errorf("failed Adds changed the index: Len() = %d", ix.Len())
	}
}

func TestNewPanics(t *testing.T) {
	tests := []struct {
		dim  int
		kind Kind
	}{{0, Float32}, {-1, Int8}, {maxDim + 1, Float32}, {4, 0}, {4, 3}}
	for _, tt := range tests {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "index: New: ") {
					t.Errorf("New(%d, %v): recovered %v, want an index: New panic", tt.dim, tt.kind, r)
				}
			}()
			New(tt.dim, tt.kind)
		}()
	}
}

func TestDotInt8(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 3, 384, 1001} {
		a := randomVectors(rng, 1, n, false)[0]
		b8 := make([]int8, n)
		var want8, scale float64
		for i := range a {
			b8[i] = int8(rng.IntN(255) - 127)
			want8 += float64(a[i]) * float64(b8[i])
			scale += math.Abs(float64(a[i])) * 127
		}
		if got := float64(dotInt8(a, b8)); math.Abs(got-want8) > 1e-6*scale {
			t.Errorf("n=%d: dotInt8 = %v, want %v", n, got, want8)
		}
	}
}

func TestVector(t *testing.T) {
	ix := New(3, Float32)
	for i, v := range [][]float32{{1, 2, 3}, {4, 5, 6}} {
		if err := ix.Add(string(rune('a'+i)), v); err != nil {
			t.Fatal(err)
		}
	}
	if got := ix.Vector(1); len(got) != 3 || got[0] != 4 || got[2] != 6 || cap(got) != 3 {
		t.Errorf("Vector(1) = %v (cap %d)", got, cap(got))
	}
	defer func() {
		if recover() == nil {
			t.Error("Vector of an int8 index did not panic")
		}
	}()
	ix.Quantized().Vector(0)
}
