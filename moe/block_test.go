package moe

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sbmoe/sbmoe/core/train"
)

// TestInit: the same seed gives the same weights, another seed other weights, and every
// tensor lies in U(−1/√in, 1/√in) with roughly the uniform's spread, as torch.nn.Linear.
func TestInit(t *testing.T) {
	cfg := DefaultConfig(64)
	a, _ := New(cfg, 42)
	b, _ := New(cfg, 42)
	c, _ := New(cfg, 43)
	for i, p := range a.Params() {
		if !slices.Equal(p.Data, b.Params()[i].Data) {
			t.Errorf("%s differs between two blocks from seed 42", p.Name)
		}
		if slices.Equal(p.Data, c.Params()[i].Data) {
			t.Errorf("%s is the same for seeds 42 and 43", p.Name)
		}
		in := p.Shape[len(p.Shape)-1]
		if len(p.Shape) == 1 { // a bias: its bound is that of its weight, listed just before
			in = a.Params()[i-1].Shape[1]
		}
		bound := 1 / math.Sqrt(float64(in))
		var sumSq float64
		for _, v := range p.Data {
			if math.Abs(float64(v)) > bound {
				t.Fatalf("%s: %v outside ±%v", p.Name, v, bound)
			}
			sumSq += float64(v) * float64(v)
		}
		if len(p.Data) >= 1000 { // U(−a, a) has variance a²/3
			if rms, want := math.Sqrt(sumSq/float64(len(p.Data))), bound/math.Sqrt(3); math.Abs(rms-want) > 0.05*want {
				t.Errorf("%s: rms %.4f, want %.4f", p.Name, rms, want)
			}
		}
	}
	if names := paramNames(a); names[4] != "noise_linear.weight" || !a.Params()[4].Frozen {
		t.Errorf("params %v: want noise_linear.weight fifth, frozen", names)
	}
}

func paramNames(b *Block) []string {
	var names []string
	for _, p := range b.Params() {
		names = append(names, p.Name)
	}
	return names
}

// TestForwardModes: the noise comes from the caller's generator (same seed, same pass);
// TOP-1 keeps one expert and ALL mixes them; both routers give the same forward values.
func TestForwardModes(t *testing.T) {
	const rows = 32
	cfg := DefaultConfig(16)
	paper, _ := New(cfg, 3)
	learnedCfg := cfg
	learnedCfg.Router, learnedCfg.BalanceCoef = RouterLearned, 0.01
	learned, _ := New(learnedCfg, 3)
	h := normals(rand.New(rand.NewPCG(9, 9)), rows*cfg.Hidden)

	run := func(b *Block, mode Mode, seed uint64) ([]float32, []int) {
		out := make([]float32, len(h))
		rt := b.Forward(out, h, rows, mode, rand.New(rand.NewPCG(seed, 0)))
		return out, slices.Clone(rt.Expert)
	}
	o1, e1 := run(paper, Train, 5)
	o2, e2 := run(paper, Train, 5)
	o3, e3 := run(paper, Train, 6)
	if !slices.Equal(o1, o2) || !slices.Equal(e1, e2) {
		t.Error("two training passes with the same noise seed differ")
	}
	if slices.Equal(o1, o3) && slices.Equal(e1, e3) {
		t.Error("training passes with different noise seeds agree: is the noise used?")
	}
	ol, el := run(learned, Train, 5)
	if !slices.Equal(el, e1) || maxDiff(ol, o1) > 1e-6 {
		t.Errorf("learned and paper routers differ in forward values by %g", maxDiff(ol, o1))
	}

	top1, _ := run(paper, Eval, 0)
	if err := paper.SetMix(MixAll); err != nil {
		t.Fatal(err)
	}
	all, _ := run(paper, Eval, 0)
	if maxDiff(top1, all) < 1e-3 {
		t.Error("TOP-1 and ALL inference agree")
	}
	// Each output is a unit vector plus the residual.
	for r := range rows {
		var ss float64
		for i := r * cfg.Hidden; i < (r+1)*cfg.Hidden; i++ {
			d := float64(all[i] - h[i])
			ss += d * d
		}
		if math.Abs(math.Sqrt(ss)-1) > 1e-5 {
			t.Fatalf("row %d: |out − h| = %v, want 1", r, math.Sqrt(ss))
		}
	}
	if err := paper.SetMix("top3"); err == nil {
		t.Error("SetPool accepted top3")
	}
}

func maxDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestNoAllocations: at a fixed batch (64 rows of 384, the default model's width) a training
// step's forward and backward allocate nothing after the first one, for both routers and
// both inference pools.
func TestNoAllocations(t *testing.T) {
	const rows, hidden = 64, 384
	for _, cfg := range []Config{
		{Hidden: hidden, Experts: 6, Router: RouterPaper, Mix: MixTop1},
		{Hidden: hidden, Experts: 6, Router: RouterLearned, Mix: MixAll, BalanceCoef: 0.01},
	} {
		b, _ := New(cfg, 1)
		rng := rand.New(rand.NewPCG(1, 2))
		h, dout := normals(rng, rows*hidden), normals(rng, rows*hidden)
		out, dh := make([]float32, rows*hidden), make([]float32, rows*hidden)
		for _, mode := range []Mode{Train, Eval} {
			step := func() {
				b.Forward(out, h, rows, mode, rng)
				b.Backward(dh, dout, 1)
			}
			step()
			if n := testing.AllocsPerRun(3, step); n != 0 {
				t.Errorf("%s/%s mode %d: %v allocations per forward+backward", cfg.Router, cfg.Mix, mode, n)
			}
		}
	}
}

func TestMisusePanics(t *testing.T) {
	b, _ := New(DefaultConfig(8), 1)
	for name, f := range map[string]func(){
		"backward first": func() { b.Backward(make([]float32, 8), make([]float32, 8), 1) },
		"short input":    func() { b.Forward(make([]float32, 16), make([]float32, 8), 2, Eval, nil) },
		"train, no rng":  func() { b.Forward(make([]float32, 8), make([]float32, 8), 1, Train, nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestAdamWStep: the block's Params go straight into train.AdamW, which moves every trained
// tensor and leaves noise_linear as initialised.
func TestAdamWStep(t *testing.T) {
	const rows = 8
	cfg := Config{Hidden: 8, Experts: 3, Router: RouterLearned, Mix: MixTop1, BalanceCoef: 0.01}
	b, _ := New(cfg, 1)
	before := make(map[string][]float32)
	for _, p := range b.Params() {
		before[p.Name] = slices.Clone(p.Data)
	}
	opt, err := train.NewAdamW(train.Group{Name: "head", LR: 1e-2, WeightDecay: 0.01, Params: b.Params()})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	h, dout := normals(rng, rows*cfg.Hidden), normals(rng, rows*cfg.Hidden)
	out, dh := make([]float32, len(h)), make([]float32, len(h))
	b.Forward(out, h, rows, Train, rng)
	b.ZeroGrad()
	b.Backward(dh, dout, 1)
	opt.Step()
	for _, p := range b.Params() {
		moved := !slices.Equal(p.Data, before[p.Name])
		if p.Frozen && moved {
			t.Errorf("%s is frozen but moved", p.Name)
		}
		if !p.Frozen && !moved { // weight decay moves even experts no row chose
			t.Errorf("%s did not move", p.Name)
		}
	}
}
