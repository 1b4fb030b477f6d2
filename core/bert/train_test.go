package bert

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/internal/golden"
)

func loadTiny(t *testing.T) *Model {
	t.Helper()
	m, err := Load(filepath.Join(repoRoot, "testdata", "embeddings", "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// tinySeqs are three sequences of different lengths in the tiny model's vocabulary.
var tinySeqs = [][]int32{
	{2, 17, 400, 523, 88, 901, 3},
	{2, 3},
	{2, 640, 12, 12, 75, 300, 999, 41, 550, 3},
}

// pooledLoss is L = Σ pooled·R.
func pooledLoss(pooled [][]float32, r []float32) float64 {
	var l float64
	for s, v := range pooled {
		l += dotLoss(v, r[s*len(v):])
	}
	return l
}

// TestModelBackward checks the gradient of L = Σ pooled·R with respect to a sample of
// every parameter of the tiny model against finite differences, for each pooling and
// with normalisation.
func TestModelBackward(t *testing.T) {
	for _, c := range []struct {
		pooling   Pooling
		normalize bool
	}{{PoolMean, false}, {PoolCLS, true}} {
		t.Run(fmt.Sprintf("%s normalize=%v", c.pooling, c.normalize), func(t *testing.T) {
			m := loadTiny(t)
			m.Config.Pooling, m.Config.Normalize = c.pooling, c.normalize
			h := m.Config.HiddenSize
			// The random model's attention is almost uniform, which leaves the query and
			// key gradients near the difference quotient's rounding noise: sharpen it.
			for _, p := range m.Params(nil) {
				if strings.Contains(p.Name, ".query.") || strings.Contains(p.Name, ".key.") {
					for i := range p.Data {
						p.Data[i] *= 20
					}
				}
			}
			m.SyncWeights()
			rng := rand.New(rand.NewPCG(42, 1))
			r := randVec(rng, len(tinySeqs)*h, 1)
			a := m.ForwardTrain(tinySeqs, nil)
			g := m.NewGrads()
			m.Backward(a, vecs(r, h), g)
			loss := func() float64 {
				m.SyncWeights()
				return pooledLoss(m.ForwardTrain(tinySeqs, nil).Pooled(), r)
			}
			check := gradCheck{t, loss, 1e-2}
			for _, p := range m.Params(g) {
				check.check(p.Name, p.Data, p.Grad, sampleIndices(rng, p.Grad, 4))
			}
		})
	}
}

// sampleIndices picks the entry with the largest gradient and n random nonzero ones.
func sampleIndices(r *rand.Rand, grad []float32, n int) []int {
	var nonzero []int
	best := 0
	for i, v := range grad {
		if v != 0 {
			nonzero = append(nonzero, i)
		}
		if math.Abs(float64(v)) > math.Abs(float64(grad[best])) {
			best = i
		}
	}
	idx := []int{best}
	for range min(n, len(nonzero)) {
		idx = append(idx, nonzero[r.IntN(len(nonzero))])
	}
	return idx
}

func vecs(flat []float32, h int) [][]float32 {
	v := make([][]float32, len(flat)/h)
	for s := range v {
		v[s] = flat[s*h : (s+1)*h]
	}
	return v
}

// goldenGrads is testdata/bertgrad/golden.json.gz, written by
// tools/reference/bert_grad_golden.py with PyTorch.
type goldenGrads struct {
	Header   map[string]any `json:"header"`
	TokenIDs [][]int32      `json:"token_ids"`
	R        string         `json:"r"`
	Pooled   string         `json:"pooled"`
	Loss     float64        `json:"loss"`
	Grads    []struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
		Grad  string `json:"grad"`
	} `json:"grads"`
	InputEmbeddingsGrad string `json:"input_embeddings_grad"`
}

// TestGoldenGradients matches the loss, the pooled vectors, every parameter gradient
// and the gradient of the summed input embeddings with PyTorch's for the tiny model,
// mean-pooled, on a padded batch of three texts: each entry within 1e-5 + 1e-4·(the
// tensor's largest gradient).
func TestGoldenGradients(t *testing.T) {
	var gold goldenGrads
	golden.ReadJSON(t, filepath.Join(repoRoot, "testdata", "bertgrad", "golden.json.gz"), &gold)
	t.Logf("golden file by %v, %v", gold.Header["generator"], gold.Header["versions"])
	m := loadTiny(t)
	m.Config.Pooling, m.Config.Normalize = PoolMean, false
	h := m.Config.HiddenSize
	a := m.ForwardTrain(gold.TokenIDs, nil)
	r := golden.Float32s(t, gold.R)
	loss := pooledLoss(a.Pooled(), r)
	if d := math.Abs(loss - gold.Loss); d > 1e-4*math.Abs(gold.Loss) {
		t.Errorf("loss %.7g, PyTorch %.7g", loss, gold.Loss)
	}
	t.Logf("loss %.7g, PyTorch %.7g", loss, gold.Loss)
	compare := func(name string, got, want []float32) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d values, PyTorch has %d", name, len(got), len(want))
			return
		}
		var scale, worst float64
		for _, w := range want {
			scale = max(scale, math.Abs(float64(w)))
		}
		tol := 1e-5 + 1e-4*scale
		bad := 0
		for i := range want {
			d := math.Abs(float64(got[i] - want[i]))
			worst = max(worst, d)
			if d > tol {
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d entries differ from PyTorch by more than %.2g (largest %.3g)", name, bad, len(want), tol, worst)
		}
		t.Logf("%-50s largest difference %.2g (largest |value| %.3g)", name, worst, scale)
	}
	compare("pooled", slices.Concat(a.Pooled()...), golden.Float32s(t, gold.Pooled))

	g := m.NewGrads()
	m.Backward(a, vecs(r, h), g)
	params := m.Params(g)
	if len(params) != len(gold.Grads) {
		t.Errorf("%d parameters, PyTorch has %d", len(params), len(gold.Grads))
	}
	for i, want := range gold.Grads {
		if i >= len(params) || params[i].Name != want.Name || !slices.Equal(params[i].Shape, want.Shape) {
			t.Fatalf("parameter %d is not %s %v as in PyTorch", i, want.Name, want.Shape)
		}
		compare(want.Name, params[i].Grad, golden.Float32s(t, want.Grad))
	}
	// The embeddings' backward leaves the gradient of the summed input embeddings in
	// its scratch, a.dy.
	compare("input embeddings", a.dy, golden.Float32s(t, gold.InputEmbeddingsGrad))
}

// TestForwardTrainMatchesForward checks that the training forward computes exactly
// what Forward does, that reusing its buffers changes nothing, and that SyncWeights
// makes a change to Params' data reach both forwards.
func TestForwardTrainMatchesForward(t *testing.T) {
	m := loadTiny(t)
	hidden, offs := m.Forward(tinySeqs)
	a := m.ForwardTrain(tinySeqs, nil)
	got, gotOffs := a.Hidden()
	if !slices.Equal(got, hidden) || !slices.Equal(gotOffs, offs) {
		t.Fatal("ForwardTrain's hidden states differ from Forward's")
	}
	pooled := slices.Concat(a.Pooled()...)
	if want := slices.Concat(m.EncodeIDs(tinySeqs, 8, nil)...); !slices.Equal(pooled, want) {
		t.Fatal("ForwardTrain's pooled vectors differ from EncodeIDs'")
	}
	// Shorter sequences into the same buffers, then the originals again.
	m.ForwardTrain(tinySeqs[:2], a)
	if again, _ := m.ForwardTrain(tinySeqs, a).Hidden(); !slices.Equal(again, hidden) {
		t.Fatal("ForwardTrain with reused buffers differs")
	}

	for _, p := range m.Params(nil) {
		if p.Name == "encoder.layer.1.intermediate.dense.weight" {
			p.Data[5] += 0.5
		}
	}
	m.SyncWeights()
	changed, _ := m.Forward(tinySeqs)
	if slices.Equal(changed, hidden) {
		t.Fatal("a change to a weight through Params did not reach Forward after SyncWeights")
	}
	if got, _ := m.ForwardTrain(tinySeqs, nil).Hidden(); !slices.Equal(got, changed) {
		t.Fatal("ForwardTrain and Forward disagree after SyncWeights")
	}
}

// TestBackwardDeterministic runs the same step twice per thread count and wants
// identical gradients; one and two threads agree to rounding.
func TestBackwardDeterministic(t *testing.T) {
	grads := func(threads int) []float32 {
		m := loadTiny(t)
		m.Threads = threads
		m.Config.Pooling = PoolMean
		a := m.ForwardTrain(tinySeqs, nil)
		g := m.NewGrads()
		m.Backward(a, vecs(randVec(rand.New(rand.NewPCG(1, 1)), len(tinySeqs)*m.Config.HiddenSize, 1), m.Config.HiddenSize), g)
		return slices.Clone(g.flat)
	}
	one := grads(1)
	for _, threads := range []int{1, 2, 3} {
		first, second := grads(threads), grads(threads)
		if !slices.Equal(first, second) {
			t.Errorf("threads=%d: two runs give different gradients", threads)
		}
		var worst float64
		for i := range one {
			worst = max(worst, math.Abs(float64(first[i]-one[i])))
		}
		if worst > 1e-4 {
			t.Errorf("threads=%d: gradients differ from one thread's by %.3g", threads, worst)
		}
		t.Logf("threads=%d: largest difference from one thread %.3g", threads, worst)
	}
}

// TestGradsAccumulate checks that Backward adds into Grads and Zero clears them.
func TestGradsAccumulate(t *testing.T) {
	m := loadTiny(t)
	h := m.Config.HiddenSize
	dpooled := vecs(randVec(rand.New(rand.NewPCG(2, 2)), len(tinySeqs)*h, 1), h)
	a := m.ForwardTrain(tinySeqs, nil)
	g := m.NewGrads()
	m.Backward(a, dpooled, g)
	once := slices.Clone(g.flat)
	m.Backward(a, dpooled, g)
	var scale float64
	for _, v := range once {
		scale = max(scale, math.Abs(float64(v)))
	}
	for i, v := range once {
		// Sums over rows land on the running gradient, so the second pass rounds differently.
		if math.Abs(float64(g.flat[i]-2*v)) > 1e-6*scale {
			t.Fatalf("gradient %d: %v after two backward passes, want 2×%v", i, g.flat[i], v)
		}
	}
	g.Zero()
	if slices.ContainsFunc(g.flat, func(v float32) bool { return v != 0 }) {
		t.Fatal("Zero left a nonzero gradient")
	}
	var n int
	for _, p := range m.Params(g) {
		n += len(p.Data)
		if len(p.Grad) != len(p.Data) {
			t.Fatalf("%s: %d gradient values for %d parameters", p.Name, len(p.Grad), len(p.Data))
		}
	}
	if n != len(g.flat) {
		t.Fatalf("Params cover %d values, Grads hold %d", n, len(g.flat))
	}
}

// TestBackwardHidden checks that starting from the hidden states' gradient gives what
// Backward gives from the mean-pooled vectors' gradient it implies.
func TestBackwardHidden(t *testing.T) {
	m := loadTiny(t)
	m.Config.Pooling = PoolMean
	h := m.Config.HiddenSize
	dpooled := vecs(randVec(rand.New(rand.NewPCG(3, 3)), len(tinySeqs)*h, 1), h)
	a := m.ForwardTrain(tinySeqs, nil)
	fromPooled, fromHidden := m.NewGrads(), m.NewGrads()
	m.Backward(a, dpooled, fromPooled)
	hidden, offs := a.Hidden()
	dhidden := make([]float32, len(hidden))
	poolBackward(dhidden, dpooled, offs, h, PoolMean)
	m.BackwardHidden(a, dhidden, fromHidden)
	if !slices.Equal(fromPooled.flat, fromHidden.flat) {
		t.Fatal("BackwardHidden and Backward give different gradients")
	}
}
