package train

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/weights"
)

func newParam(name string, data []float32, shape ...int) *Param {
	return &Param{Name: name, Shape: shape, Data: data, Grad: make([]float32, len(data))}
}

// TestAdamWFirstStep checks one step against the closed form: after one step m̂ = g and
// v̂ = g², so p ← p·(1 − lr·wd) − lr·g/(|g| + ε).
func TestAdamWFirstStep(t *testing.T) {
	const lr, wd = 1e-3, 0.01
	p := newParam("w", []float32{1, -2, 0.5, 3}, 2, 2)
	copy(p.Grad, []float32{0.1, -0.3, 0, 2})
	frozen := newParam("frozen", []float32{7, 8}, 2)
	frozen.Frozen = true
	copy(frozen.Grad, []float32{1, 1})
	opt, err := NewAdamW(Group{Name: "all", LR: lr, WeightDecay: wd, Params: []*Param{p, frozen}})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(p.Data))
	for i, x := range p.Data {
		g := float64(p.Grad[i])
		want[i] = float64(x)*(1-lr*wd) - lr*g/(math.Abs(g)+DefaultEps)
	}
	opt.Step()
	for i, x := range p.Data {
		if math.Abs(float64(x)-want[i]) > 1e-7 {
			t.Errorf("value %d: %v, want %v", i, x, want[i])
		}
	}
	if !slices.Equal(frozen.Data, []float32{7, 8}) {
		t.Errorf("frozen parameter changed to %v", frozen.Data)
	}
	for _, s := range opt.State() {
		if s.Name == "frozen.exp_avg" {
			t.Errorf("frozen parameter has optimizer state")
		}
	}
}

// quadraticModel is a small problem with non-trivial gradients for the resume test:
// loss = Σ c_i (p_i − target_i)², gradient 2c_i(p_i − target_i), in two groups.
type quadraticModel struct {
	params          []*Param
	target, weights [][]float32
}

func newQuadraticModel() *quadraticModel {
	r := rand.New(rand.NewPCG(11, 12))
	m := &quadraticModel{}
	for _, n := range []int{6, 10} {
		m.params = append(m.params, newParam("p"+string(rune('a'+len(m.params))), randomMatrix(r, n, 1, 1), n))
		m.target = append(m.target, randomMatrix(r, n, 1, 1))
		c := randomMatrix(r, n, 1, 1)
		for i := range c {
			c[i] = c[i] * c[i]
		}
		m.weights = append(m.weights, c)
	}
	return m
}

func (m *quadraticModel) optimizer(t *testing.T) *AdamW {
	t.Helper()
	opt, err := NewAdamW(
		Group{Name: "encoder", LR: 1e-2, WeightDecay: DefaultWeightDecay, Params: m.params[:1]},
		Group{Name: "head", LR: 1e-1, WeightDecay: 0, Params: m.params[1:]})
	if err != nil {
		t.Fatal(err)
	}
	return opt
}

func (m *quadraticModel) train(opt *AdamW, steps int) {
	for range steps {
		ZeroGrad(m.params)
		for k, p := range m.params {
			for i := range p.Data {
				p.Grad[i] += 2 * m.weights[k][i] * (p.Data[i] - m.target[k][i])
			}
		}
		opt.Step()
	}
}

// TestAdamWResume saves the optimizer state mid-run, loads it into a new optimizer over a
// copy of the parameters, and checks that finishing the run gives bit-identical parameters
// and state to an uninterrupted run.
func TestAdamWResume(t *testing.T) {
	const before, after = 4, 5
	whole := newQuadraticModel()
	wholeOpt := whole.optimizer(t)
	whole.train(wholeOpt, before+after)

	first := newQuadraticModel()
	firstOpt := first.optimizer(t)
	first.train(firstOpt, before)
	var saved bytes.Buffer
	if err := firstOpt.Save(&saved); err != nil {
		t.Fatal(err)
	}

	resumed := newQuadraticModel()
	for k, p := range resumed.params {
		copy(p.Data, first.params[k].Data) // the trainer restores these from its model checkpoint
	}
	resumedOpt := resumed.optimizer(t)
	if err := resumedOpt.Load("optimizer.safetensors", saved.Bytes()); err != nil {
		t.Fatal(err)
	}
	resumed.train(resumedOpt, after)

	for k, p := range resumed.params {
		if !slices.Equal(p.Data, whole.params[k].Data) {
			t.Errorf("parameter %s: resumed %v, uninterrupted %v", p.Name, p.Data, whole.params[k].Data)
		}
	}
	got, want := resumedOpt.State(), wholeOpt.State()
	if len(got) != len(want) {
		t.Fatalf("%d state tensors after resuming, %d uninterrupted", len(got), len(want))
	}
	for i := range want {
		if got[i].Name != want[i].Name || !slices.Equal(got[i].Data, want[i].Data) {
			t.Errorf("state %s: resumed %v, uninterrupted %s %v", got[i].Name, got[i].Data, want[i].Name, want[i].Data)
		}
	}
}

func TestNewAdamWErrors(t *testing.T) {
	p := func(name string, n, grads int) *Param {
		return &Param{Name: name, Shape: []int{n}, Data: make([]float32, n), Grad: make([]float32, grads)}
	}
	shared := p("shared", 2, 2)
	for _, c := range []struct {
		name   string
		groups []Group
	}{
		{"negative learning rate", []Group{{Name: "g", LR: -1, Params: []*Param{p("a", 2, 2)}}}},
		{"NaN learning rate", []Group{{Name: "g", LR: math.NaN()}}},
		{"infinite weight decay", []Group{{Name: "g", LR: 1, WeightDecay: math.Inf(1)}}},
		{"unnamed parameter", []Group{{Name: "g", LR: 1, Params: []*Param{p("", 2, 2)}}}},
		{"duplicate name", []Group{{Name: "g", LR: 1, Params: []*Param{p("a", 2, 2), p("a", 3, 3)}}}},
		{"parameter in two groups", []Group{{Name: "g", Params: []*Param{shared}}, {Name: "h", Params: []*Param{shared}}}},
		{"gradient length", []Group{{Name: "g", LR: 1, Params: []*Param{p("a", 2, 3)}}}},
		{"shape and data disagree", []Group{{Name: "g", LR: 1, Params: []*Param{{Name: "a", Shape: []int{2, 2}, Data: make([]float32, 3), Grad: make([]float32, 3)}}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewAdamW(c.groups...)
			if err == nil {
				t.Fatal("accepted")
			}
			t.Log(err)
		})
	}
}

func TestAdamWSetStateErrors(t *testing.T) {
	valid := func() weights.Set {
		return weights.Set{
			"w.exp_avg":    {Name: "w.exp_avg", Shape: []int{2}, Data: []float32{0.1, 0.2}},
			"w.exp_avg_sq": {Name: "w.exp_avg_sq", Shape: []int{2}, Data: []float32{0.01, 0.02}},
			"w.step":       {Name: "w.step", Shape: []int{}, Data: []float32{3}},
		}
	}
	for _, c := range []struct {
		name   string
		change func(weights.Set)
	}{
		{"unknown parameter", func(s weights.Set) { s["x.step"] = &weights.Tensor{Name: "x.step", Shape: []int{}, Data: []float32{1}} }},
		{"not a state tensor", func(s weights.Set) { s["w"] = &weights.Tensor{Name: "w", Shape: []int{2}, Data: []float32{1, 2}} }},
		{"missing step", func(s weights.Set) { delete(s, "w.step") }},
		{"missing exp_avg", func(s weights.Set) { delete(s, "w.exp_avg") }},
		{"wrong shape", func(s weights.Set) { s["w.exp_avg"].Shape = []int{1, 2} }},
		{"step not a scalar", func(s weights.Set) { s["w.step"].Shape = []int{1} }},
		{"fractional step", func(s weights.Set) { s["w.step"].Data[0] = 1.5 }},
		{"step zero", func(s weights.Set) { s["w.step"].Data[0] = 0 }},
		{"negative second moment", func(s weights.Set) { s["w.exp_avg_sq"].Data[1] = -1e-9 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newParam("w", []float32{1, 2}, 2)
			opt, err := NewAdamW(Group{Name: "g", LR: 1e-3, Params: []*Param{w}})
			if err != nil {
				t.Fatal(err)
			}
			copy(w.Grad, []float32{1, 1})
			opt.Step()
			before := opt.State()
			set := valid()
			c.change(set)
			err = opt.SetState(set)
			if err == nil {
				t.Fatal("accepted")
			}
			t.Log(err)
			if after := opt.State(); len(after) != len(before) || after[2].Data[0] != 1 {
				t.Errorf("state changed by a failed SetState")
			}
		})
	}
	w := newParam("w", []float32{1, 2}, 2)
	opt, _ := NewAdamW(Group{Name: "g", LR: 1e-3, Params: []*Param{w}})
	if err := opt.SetState(valid()); err != nil {
		t.Fatalf("valid state: %v", err)
	}
}

func TestAdamWLoadErrors(t *testing.T) {
	opt, _ := NewAdamW(Group{Name: "g", LR: 1e-3, Params: []*Param{newParam("w", []float32{1, 2}, 2)}})
	if err := opt.Load("empty.safetensors", nil); err == nil || !strings.Contains(err.Error(), "empty.safetensors") {
		t.Errorf("empty state: got %v, want an error naming the file", err)
	}
}

// FuzzAdamWLoad feeds arbitrary files to the state loader: it must reject or accept them
// without panicking, and a state it accepts must be usable by Step.
func FuzzAdamWLoad(f *testing.F) {
	m := newQuadraticModel()
	opt, err := NewAdamW(Group{Name: "all", LR: 1e-2, Params: m.params})
	if err != nil {
		f.Fatal(err)
	}
	m.train(opt, 2)
	var buf bytes.Buffer
	if err := opt.Save(&buf); err != nil {
		f.Fatal(err)
	}
	valid := buf.Bytes()
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		set, err := weights.ReadSafetensorsBytes("fuzz", b)
		if err != nil {
			return
		}
		m := newQuadraticModel()
		opt, err := NewAdamW(Group{Name: "all", LR: 1e-2, Params: m.params})
		if err != nil {
			t.Fatal(err)
		}
		if opt.SetState(set) == nil {
			m.train(opt, 1)
		}
	})
}
