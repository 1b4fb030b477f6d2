package headtrain

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/sbmoe/sbmoe/core/train"
)

func randVec(rng *rand.Rand, n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = scale * float32(rng.NormFloat64())
	}
	return x
}

// TestContrastiveFiniteDiff checks backward against central differences of the loss, for
// every query and document value, with a masked row and more document rows than queries.
func TestContrastiveFiniteDiff(t *testing.T) {
	const b, n, dim = 3, 7, 5
	rng := rand.New(rand.NewPCG(1, 2))
	q, d := randVec(rng, b*dim, 0.5), randVec(rng, n*dim, 0.5)
	masked := func(i, j int) bool { return (i == 0 && j == 4) || (i == 2 && j == 1) }
	l := &contrastive{temperature: 0.2}
	loss := func() float64 {
		v, _, err := l.forward(q, d, b, n, dim, masked)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	loss()
	dq, dd := make([]float32, len(q)), make([]float32, len(d))
	l.backward(dq, dd)
	check := func(name string, x, grad []float32) {
		t.Helper()
		var worst float64
		for i := range x {
			const step = 1e-2
			orig := x[i]
			x[i] = orig + step
			up := loss()
			x[i] = orig - step
			down := loss()
			x[i] = orig
			fd := (up - down) / (2 * step)
			err := math.Abs(fd-float64(grad[i])) / (1e-2 + math.Abs(fd) + math.Abs(float64(grad[i])))
			worst = max(worst, err)
			if err > 5e-3 {
				t.Errorf("%s[%d]: backward %.6g, finite difference %.6g", name, i, grad[i], fd)
			}
		}
		t.Logf("%s: max relative error %.2e", name, worst)
	}
	check("q", q, dq)
	check("d", d, dd)
	qOnly := make([]float32, len(q))
	l.forward(q, d, b, n, dim, masked)
	l.backward(qOnly, nil)
	if !slices.Equal(qOnly, dq) {
		t.Error("backward without document gradients changed the query gradients")
	}
}

// TestContrastiveIsInfoNCE: with one document row per query and nothing masked, the loss
// and its gradients are train.InfoNCE's.
func TestContrastiveIsInfoNCE(t *testing.T) {
	const b, dim = 6, 8
	rng := rand.New(rand.NewPCG(3, 4))
	q, d := randVec(rng, b*dim, 0.4), randVec(rng, b*dim, 0.4)
	ref, _ := train.NewInfoNCE(0.05)
	want, err := ref.Forward(q, d, b, dim)
	if err != nil {
		t.Fatal(err)
	}
	wq, wd := make([]float32, len(q)), make([]float32, len(d))
	ref.Backward(wq, wd)
	l := &contrastive{temperature: 0.05}
	got, correct, err := l.forward(q, d, b, b, dim, func(int, int) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	gq, gd := make([]float32, len(q)), make([]float32, len(d))
	l.backward(gq, gd)
	if math.Abs(got-want.Loss) > 1e-12 || correct != want.Correct {
		t.Errorf("loss %v (%d correct), InfoNCE %v (%d)", got, correct, want.Loss, want.Correct)
	}
	for i := range gq {
		if math.Abs(float64(gq[i]-wq[i])) > 1e-7 || math.Abs(float64(gd[i]-wd[i])) > 1e-7 {
			t.Fatalf("gradient %d: %v, %v; InfoNCE %v, %v", i, gq[i], gd[i], wq[i], wd[i])
		}
	}
}

// TestContrastiveMask: masking a row is leaving it out of the batch.
func TestContrastiveMask(t *testing.T) {
	const b, dim = 2, 4
	rng := rand.New(rand.NewPCG(5, 6))
	q, d := randVec(rng, b*dim, 1), randVec(rng, 3*dim, 1)
	l := &contrastive{temperature: 0.1}
	masked, _, _ := l.forward(q, d, b, 3, dim, func(i, j int) bool { return j == 2 })
	// Without row 2 at all.
	kept, _, _ := l.forward(q, d[:2*dim], b, 2, dim, func(int, int) bool { return false })
	if math.Abs(masked-kept) > 1e-6 {
		t.Errorf("masked loss %v, loss without the row %v", masked, kept)
	}
}

func TestTopK(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	scores := make([]float32, 500)
	for i := range scores {
		scores[i] = float32(rng.IntN(50)) // many ties
	}
	skip := func(j int) bool { return j%7 == 3 }
	var want []int
	for j := range scores {
		if !skip(j) {
			want = append(want, j)
		}
	}
	sort.SliceStable(want, func(a, b int) bool { return scores[want[a]] > scores[want[b]] })
	for _, k := range []int{0, 1, 10, 37, 600} {
		got := topK(scores, k, skip, nil)
		if w := want[:min(k, len(want))]; !slices.Equal(got, w) {
			t.Errorf("k=%d: %v, want %v", k, got, w)
		}
	}
}

func TestNDCGAt10(t *testing.T) {
	for _, tc := range []struct {
		ranked, relevant []int
		want             float64
	}{
		{[]int{1, 2, 3}, []int{1}, 1},
		{[]int{2, 1, 3}, []int{1}, 1 / math.Log2(3)},
		{[]int{2, 3}, []int{1}, 0},
		{[]int{5, 1, 9, 4}, []int{4, 5}, (1 + 1/math.Log2(5)) / (1 + 1/math.Log2(3))},
		{[]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []int{10}, 0}, // rank 11 is past the cut
	} {
		if got := ndcgAt10(tc.ranked, tc.relevant); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("ndcg(%v, %v) = %v, want %v", tc.ranked, tc.relevant, got, tc.want)
		}
	}
}
