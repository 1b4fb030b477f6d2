package moe

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/train"
)

// e2eDir holds the files written by tools/reference/train_e2e_golden.py: the starting
// block (moe.safetensors, moe_config.json), tiny.json.gz and minilm.json.gz.
var e2eDir = filepath.Join("..", "testdata", "train_e2e")

type e2eGrad struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	Rows  []int  `json:"rows"` // the rows of the (shape[0], -1) view stored; nil for all
	Grad  string `json:"grad"`
}

type e2eCase struct {
	Name     string    `json:"name"`
	Losses   []float64 `json:"losses"`
	Experts  [][]int   `json:"experts"`
	TokenIDs [][]int32 `json:"token_ids"`
	Pooled   string    `json:"pooled"`
	Out      string    `json:"out"`
	Grads    []e2eGrad `json:"grads"`
}

type e2eTiny struct {
	Header         map[string]any `json:"header"`
	Texts          [][2]string    `json:"texts"`
	Tau            float32        `json:"tau"`
	Steps          int            `json:"steps"`
	EncoderLR      float64        `json:"encoder_lr"`
	HeadLR         float64        `json:"head_lr"`
	WeightDecay    float64        `json:"weight_decay"`
	NoiseQueries   string         `json:"noise_queries"`
	NoiseDocuments string         `json:"noise_documents"`
	Cases          []e2eCase      `json:"cases"`
}

type e2eMiniLM struct {
	Header        map[string]any `json:"header"`
	Texts         [][2]string    `json:"texts"`
	MaxLength     int            `json:"max_length"`
	Tau           float32        `json:"tau"`
	LR            float64        `json:"lr"`
	WeightDecay   float64        `json:"weight_decay"`
	TokenIDs      [][]int32      `json:"token_ids"`
	Pooled        string         `json:"pooled"`
	Loss          float64        `json:"loss"`
	LossAfterStep float64        `json:"loss_after_step"`
	Grads         []e2eGrad      `json:"grads"`
}

// Tolerances against PyTorch's float64 run of the same float32 weights. Go computes in
// float32; over ten AdamW steps its losses drift by up to ~2e-5 relative.
const (
	e2eLossTol  = 1e-5 // relative, a loss before any update
	e2eStepsTol = 1e-4 // relative, the losses of later steps
	e2eGradTol  = 1e-4 // relative to the tensor's largest |value|
	// e2eMiniLMGradTol is e2eGradTol for MiniLM, whose longer float32 sums cancel more:
	// the last layer's LayerNorm bias gradient, a sum over every token that largely
	// cancels, is off by up to 2e-4 of its largest value (the others by < 2e-5).
	e2eMiniLMGradTol = 1e-3
	// e2eGradFloor, relative to the largest gradient of the whole model, is the absolute
	// tolerance of tensors whose true gradient is zero or nearly so: the attention key
	// bias (softmax ignores it) and the paper gate (normalisation ignores it) come out
	// as rounding noise, ~1e-10 and ~1e-7 in Go, ~1e-19 and ~1e-16 in float64.
	e2eGradFloor = 1e-6
)

// TestTrainGoldenTiny replays ten training steps of the recipe on the tiny random BERT
// (mean-pooled), with the SB-MoE block (gate noise replayed from the file) and without
// it, and matches PyTorch's: the pooled vectors, the block's outputs, the loss and every
// parameter gradient at step 1, the expert each row keeps at every step, and all ten
// losses.
func TestTrainGoldenTiny(t *testing.T) {
	var gold e2eTiny
	readGolden(t, filepath.Join(e2eDir, "tiny.json.gz"), &gold)
	t.Logf("golden file by %v, %v", gold.Header["generator"], gold.Header["versions"])
	noiseQ, noiseD := goldenFloats(t, gold.NoiseQueries), goldenFloats(t, gold.NoiseDocuments)
	for _, c := range gold.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if len(c.Losses) != gold.Steps || (c.Name == "moe" && len(c.Experts) != gold.Steps) {
				t.Fatalf("golden case has %d losses and %d routings for %d steps", len(c.Losses), len(c.Experts), gold.Steps)
			}
			m, err := bert.Load(filepath.Join("..", "testdata", "embeddings", "tiny"))
			if err != nil {
				t.Fatal(err)
			}
			// The checkpoint pools [CLS]; the recipe (and the golden run) mean-pools.
			m.Config.Pooling, m.Config.Normalize = bert.PoolMean, false
			seqs := tokenizePairs(t, m, gold.Texts, 0, c.TokenIDs)
			b, h := len(gold.Texts), m.Config.HiddenSize
			grads := m.NewGrads()
			groups := []train.Group{{Name: "encoder", LR: gold.EncoderLR, WeightDecay: gold.WeightDecay, Params: m.Params(grads)}}
			var blk *Block
			if c.Name == "moe" {
				if blk, err = Load(e2eDir); err != nil {
					t.Fatal(err)
				}
				groups = append(groups, train.Group{Name: "head", LR: gold.HeadLR, WeightDecay: gold.WeightDecay, Params: blk.Params()})
			}
			opt, err := train.NewAdamW(groups...)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := train.NewInfoNCE(gold.Tau)
			if err != nil {
				t.Fatal(err)
			}

			var acts *bert.Activations
			pooled, out := make([]float32, 2*b*h), make([]float32, 2*b*h)
			dout, dh := make([]float32, 2*b*h), make([]float32, 2*b*h)
			eps := make([]float32, 2*b*blockExperts(blk))
			losses := make([]float64, gold.Steps)
			for step := range gold.Steps {
				acts = m.ForwardTrain(seqs, acts)
				for s, v := range acts.Pooled() {
					copy(pooled[s*h:], v)
				}
				copy(out, pooled)
				if blk != nil {
					e := len(eps) / 2
					copy(eps, noiseQ[step*e:(step+1)*e])
					copy(eps[e:], noiseD[step*e:(step+1)*e])
					rt := blk.forward(out, pooled, 2*b, Train, eps)
					if !slices.Equal(rt.Expert, c.Experts[step]) {
						t.Errorf("step %d: experts %v, PyTorch %v", step+1, rt.Expert, c.Experts[step])
					}
				}
				stats, err := loss.Forward(out[:b*h], out[b*h:], b, h)
				if err != nil {
					t.Fatalf("step %d: %v", step+1, err)
				}
				losses[step] = stats.Loss

				grads.Zero()
				clear(dout)
				loss.Backward(dout[:b*h], dout[b*h:])
				copy(dh, dout)
				if blk != nil {
					blk.ZeroGrad()
					clear(dh)
					blk.Backward(dh, dout, 1)
				}
				m.Backward(acts, rowsOf(dh, h), grads)
				if step == 0 {
					compareRel(t, "pooled", pooled, goldenFloats(t, c.Pooled), e2eGradTol, 0)
					compareRel(t, "out", out, goldenFloats(t, c.Out), e2eGradTol, 0)
					compareGrads(t, c.Grads, append(m.Params(grads), blockParams(blk)...), e2eGradTol, true)
				}
				if blk != nil {
					// The paper gate's gradient is zero in exact arithmetic and rounding noise
					// (~1e-7) in float32, which AdamW would inflate into lr-sized random steps
					// unlike float64 PyTorch's; the golden run zeroes it too.
					for _, p := range blk.Params() {
						if strings.HasPrefix(p.Name, "cls_") {
							clear(p.Grad)
						}
					}
				}
				opt.Step()
				m.SyncWeights()
			}
			for step, want := range c.Losses {
				d := math.Abs(losses[step]-want) / math.Abs(want)
				t.Logf("step %2d loss %.7f, PyTorch %.7f, relative diff %.1e", step+1, losses[step], want, d)
				tol := e2eStepsTol
				if step == 0 {
					tol = e2eLossTol
				}
				if !(d <= tol) {
					t.Errorf("step %d: loss %.7g, PyTorch %.7g (relative diff %.1e > %.0e)", step+1, losses[step], want, d, tol)
				}
			}
		})
	}
}

// TestTrainStepMiniLM runs one training step of all-MiniLM-L6-v2, encoder only, on four
// (query, document) pairs of at most 32 tokens and matches PyTorch's loss, pooled
// vectors, slices of a selection of gradients and the loss after one AdamW step.
func TestTrainStepMiniLM(t *testing.T) {
	dir := filepath.Join("..", "models", "all-MiniLM-L6-v2")
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		t.Skipf("default model absent (%v): `make model` fetches it", err)
	}
	var gold e2eMiniLM
	readGolden(t, filepath.Join(e2eDir, "minilm.json.gz"), &gold)
	t.Logf("golden file by %v, %v", gold.Header["generator"], gold.Header["versions"])
	m, err := bert.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Pooling != bert.PoolMean {
		t.Fatalf("pooling %q, want mean", m.Config.Pooling)
	}
	m.Config.Normalize = false // the recipe has no normalisation; the golden run leaves it out too
	seqs := tokenizePairs(t, m, gold.Texts, gold.MaxLength, gold.TokenIDs)
	b, h := len(gold.Texts), m.Config.HiddenSize

	grads := m.NewGrads()
	params := m.Params(grads)
	opt, err := train.NewAdamW(train.Group{Name: "encoder", LR: gold.LR, WeightDecay: gold.WeightDecay, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	loss, err := train.NewInfoNCE(gold.Tau)
	if err != nil {
		t.Fatal(err)
	}
	pooled, dpooled := make([]float32, 2*b*h), make([]float32, 2*b*h)
	acts := m.ForwardTrain(seqs, nil)
	for s, v := range acts.Pooled() {
		copy(pooled[s*h:], v)
	}
	stats, err := loss.Forward(pooled[:b*h], pooled[b*h:], b, h)
	if err != nil {
		t.Fatal(err)
	}
	checkLoss(t, "loss", stats.Loss, gold.Loss, e2eLossTol)
	compareRel(t, "pooled", pooled, goldenFloats(t, gold.Pooled), e2eGradTol, 0)
	loss.Backward(dpooled[:b*h], dpooled[b*h:])
	m.Backward(acts, rowsOf(dpooled, h), grads)
	compareGrads(t, gold.Grads, params, e2eMiniLMGradTol, false)

	opt.Step()
	m.SyncWeights()
	acts = m.ForwardTrain(seqs, acts)
	for s, v := range acts.Pooled() {
		copy(pooled[s*h:], v)
	}
	if stats, err = loss.Forward(pooled[:b*h], pooled[b*h:], b, h); err != nil {
		t.Fatal(err)
	}
	checkLoss(t, "loss after one AdamW step", stats.Loss, gold.LossAfterStep, e2eStepsTol)
}

// tokenizePairs encodes the queries, then the documents, with the Go tokenizer and
// checks that they are the token ids the golden run was given.
func tokenizePairs(t *testing.T, m *bert.Model, pairs [][2]string, maxLen int, want [][]int32) [][]int32 {
	t.Helper()
	var seqs [][]int32
	for side := range 2 {
		for _, p := range pairs {
			seqs = append(seqs, m.Tokenizer.Encode(p[side], maxLen))
		}
	}
	if len(seqs) != len(want) {
		t.Fatalf("%d sequences, golden has %d", len(seqs), len(want))
	}
	for i := range seqs {
		if !slices.Equal(seqs[i], want[i]) {
			t.Fatalf("text %d: token ids %v, Hugging Face %v", i, seqs[i], want[i])
		}
	}
	return seqs
}

func blockExperts(b *Block) int {
	if b == nil {
		return 0
	}
	return b.cfg.Experts
}

func blockParams(b *Block) []*train.Param {
	if b == nil {
		return nil
	}
	return b.Params()
}

// rowsOf views a (rows,h) matrix as one slice per row.
func rowsOf(flat []float32, h int) [][]float32 {
	v := make([][]float32, len(flat)/h)
	for s := range v {
		v[s] = flat[s*h : (s+1)*h]
	}
	return v
}

// compareGrads matches every golden gradient (or the rows of it that the file keeps)
// with the parameter of the same name, within rtol of the tensor's largest value plus
// e2eGradFloor of the largest gradient in golden. With all, every trained parameter must have one,
// and the frozen ones (noise_linear, which PyTorch never updates either) no gradient.
func compareGrads(t *testing.T, golden []e2eGrad, params []*train.Param, rtol float64, all bool) {
	t.Helper()
	byName := make(map[string]*train.Param, len(params))
	for _, p := range params {
		byName[p.Name] = p
	}
	want := make([][]float32, len(golden))
	var largest float64
	for i, g := range golden {
		want[i] = goldenFloats(t, g.Grad)
		for _, v := range want[i] {
			largest = max(largest, math.Abs(float64(v)))
		}
	}
	for i, g := range golden {
		p, ok := byName[g.Name]
		if !ok {
			t.Errorf("no parameter %s", g.Name)
			continue
		}
		if !slices.Equal(p.Shape, g.Shape) {
			t.Errorf("%s: shape %v, PyTorch %v", g.Name, p.Shape, g.Shape)
			continue
		}
		got := p.Grad
		if g.Rows != nil {
			width := len(p.Grad) / p.Shape[0]
			got = make([]float32, 0, len(g.Rows)*width)
			for _, r := range g.Rows {
				got = append(got, p.Grad[r*width:(r+1)*width]...)
			}
		}
		compareRel(t, g.Name, got, want[i], rtol, e2eGradFloor*largest)
		delete(byName, g.Name)
	}
	if !all {
		return
	}
	for name, p := range byName {
		switch {
		case !p.Frozen:
			t.Errorf("golden has no gradient for %s", name)
		case slices.ContainsFunc(p.Grad, func(v float32) bool { return v != 0 }):
			t.Errorf("%s is frozen but has a gradient", name)
		}
	}
}

// compareRel logs the largest difference of a tensor from PyTorch's and fails when it
// exceeds rtol times the tensor's largest magnitude plus atol.
func compareRel(t *testing.T, name string, got, want []float32, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, PyTorch %d", name, len(got), len(want))
		return
	}
	var worst, scale float64
	at := 0
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - float64(w)); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
		scale = max(scale, math.Abs(float64(w)))
	}
	t.Logf("%-52s max |diff| %.2e  max |value| %.2e", name, worst, scale)
	if !(worst <= rtol*scale+atol) {
		t.Errorf("%s[%d] = %g, PyTorch %g (|diff| %.2e > %.0e·%.2e + %.1e)", name, at, got[at], want[at], worst, rtol, scale, atol)
	}
}

func checkLoss(t *testing.T, name string, got, want, rtol float64) {
	t.Helper()
	d := math.Abs(got-want) / math.Abs(want)
	t.Logf("%s %.7f, PyTorch %.7f, relative diff %.1e", name, got, want, d)
	if !(d <= rtol) {
		t.Errorf("%s %.7g, PyTorch %.7g (relative diff %.1e > %.0e)", name, got, want, d, rtol)
	}
}
