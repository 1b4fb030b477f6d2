package train

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sbmoe/sbmoe/core/weights"
)

// Defaults of torch.optim.AdamW, which the SB-MoE recipe keeps.
const (
	DefaultBeta1       = 0.9
	DefaultBeta2       = 0.999
	DefaultEps         = 1e-8
	DefaultWeightDecay = 0.01
)

// Group is a set of parameters sharing a learning rate and a weight decay, as a torch
// parameter group (the recipe trains the encoder at 1e-6 and the head at 1e-4).
type Group struct {
	Name        string // for messages
	LR          float64
	WeightDecay float64
	Params      []*Param
}

// AdamW is torch.optim.AdamW (amsgrad off, not maximising) over parameter groups. For each
// parameter that is not frozen, step t, gradient g and group (lr, wd):
//
//	p ← p·(1 − lr·wd)                        decoupled weight decay, before the Adam update
//	m ← m + (1−β1)·(g − m)                   torch's lerp
//	v ← β2·v + (1−β2)·g²
//	p ← p − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε)
//
// Vectors are float32 and the scalar factors are computed in float64 and rounded once, in
// the order torch's single-tensor CPU implementation uses. State is created at a parameter's
// first step, so frozen parameters (a frozen encoder in the browser) cost no memory.
type AdamW struct {
	Beta1, Beta2, Eps float64 // DefaultBeta1, DefaultBeta2, DefaultEps unless changed before Step

	groups []Group
	state  map[*Param]*adamState
}

type adamState struct {
	step     int
	expAvg   []float32 // m
	expAvgSq []float32 // v
}

// NewAdamW returns an optimizer over the groups with torch's default betas and ε. Every
// parameter must belong to one group only, have a unique non-empty name, and have Data and
// Grad of the length its Shape gives.
func NewAdamW(groups ...Group) (*AdamW, error) {
	names := make(map[string]bool)
	for _, g := range groups {
		if !(g.LR >= 0) || math.IsInf(g.LR, 1) {
			return nil, fmt.Errorf("adamw: group %s: learning rate %v: must be non-negative and finite", g.Name, g.LR)
		}
		if !(g.WeightDecay >= 0) || math.IsInf(g.WeightDecay, 1) {
			return nil, fmt.Errorf("adamw: group %s: weight decay %v: must be non-negative and finite", g.Name, g.WeightDecay)
		}
		for _, p := range g.Params {
			if p.Name == "" {
				return nil, fmt.Errorf("adamw: group %s: a parameter has no name", g.Name)
			}
			if names[p.Name] {
				return nil, fmt.Errorf("adamw: group %s: parameter %s: listed twice", g.Name, p.Name)
			}
			names[p.Name] = true
			n := 1
			for _, d := range p.Shape {
				n *= d
			}
			if len(p.Data) != n || len(p.Grad) != n {
				return nil, fmt.Errorf("adamw: group %s: parameter %s: shape %v with %d values and %d gradients",
					g.Name, p.Name, p.Shape, len(p.Data), len(p.Grad))
			}
		}
	}
	return &AdamW{
		Beta1:  DefaultBeta1,
		Beta2:  DefaultBeta2,
		Eps:    DefaultEps,
		groups: slices.Clone(groups),
		state:  make(map[*Param]*adamState),
	}, nil
}

// Step updates every parameter that is not frozen from its gradient. It does not zero the
// gradients; ZeroGrad does.
func (o *AdamW) Step() {
	for _, g := range o.groups {
		for _, p := range g.Params {
			if !p.Frozen {
				o.update(g, p)
			}
		}
	}
}

func (o *AdamW) update(g Group, p *Param) {
	s := o.state[p]
	if s == nil {
		s = &adamState{expAvg: make([]float32, len(p.Data)), expAvgSq: make([]float32, len(p.Data))}
		o.state[p] = s
	}
	s.step++
	t := float64(s.step)

	decay := float32(1 - g.LR*g.WeightDecay)
	w1 := float32(1 - o.Beta1)
	b2 := float32(o.Beta2)
	w2 := float32(1 - o.Beta2)
	stepSize := float32(-(g.LR / (1 - math.Pow(o.Beta1, t))))
	bc2Sqrt := float32(math.Sqrt(1 - math.Pow(o.Beta2, t)))
	eps := float32(o.Eps)

	data, grad, m, v := p.Data, p.Grad[:len(p.Data)], s.expAvg[:len(p.Data)], s.expAvgSq[:len(p.Data)]
	for i := range data {
		if g.WeightDecay != 0 {
			data[i] *= decay
		}
		gi := grad[i]
		m[i] += w1 * (gi - m[i])
		v[i] = v[i]*b2 + w2*gi*gi
		denom := float32(math.Sqrt(float64(v[i])))/bc2Sqrt + eps
		data[i] += stepSize * m[i] / denom
	}
}

// Names of a parameter's state tensors, as "<param>.<suffix>". The step is a float32 scalar,
// as torch keeps it; it is exact up to 2²⁴ steps.
const (
	suffixExpAvg   = ".exp_avg"
	suffixExpAvgSq = ".exp_avg_sq"
	suffixStep     = ".step"
	maxStoredStep  = 1 << 24
)

// State returns the optimizer state as tensors "<param>.exp_avg", "<param>.exp_avg_sq" (each
// of the parameter's shape) and "<param>.step" (a scalar), in group and parameter order, for
// the parameters that have taken a step. The tensors share memory with the optimizer: write
// them out before the next Step.
func (o *AdamW) State() []*weights.Tensor {
	var out []*weights.Tensor
	for _, g := range o.groups {
		for _, p := range g.Params {
			s := o.state[p]
			if s == nil {
				continue
			}
			out = append(out,
				&weights.Tensor{Name: p.Name + suffixExpAvg, Shape: p.Shape, Data: s.expAvg},
				&weights.Tensor{Name: p.Name + suffixExpAvgSq, Shape: p.Shape, Data: s.expAvgSq},
				&weights.Tensor{Name: p.Name + suffixStep, Shape: []int{}, Data: []float32{float32(s.step)}})
		}
	}
	return out
}

// SetState replaces the optimizer state with tensors written by State. Every tensor must
// belong to a parameter of this optimizer, with its shape, and come with its two siblings;
// parameters without state start afresh at their next step. On error the state is unchanged.
func (o *AdamW) SetState(set weights.Set) error {
	byName := make(map[string]*Param)
	for _, g := range o.groups {
		for _, p := range g.Params {
			byName[p.Name] = p
		}
	}
	next := make(map[*Param]*adamState)
	for _, name := range set.Names() {
		var paramName string
		for _, suffix := range []string{suffixExpAvg, suffixExpAvgSq, suffixStep} {
			if base, ok := strings.CutSuffix(name, suffix); ok && byName[base] != nil {
				paramName = base
				break
			}
		}
		if paramName == "" {
			return fmt.Errorf("optimizer state: tensor %s: is not the state of a parameter of this model", name)
		}
		p := byName[paramName]
		if next[p] != nil {
			continue // read with its siblings
		}
		s, err := readState(set, p)
		if err != nil {
			return fmt.Errorf("optimizer state: parameter %s: %w", p.Name, err)
		}
		next[p] = s
	}
	o.state = next
	return nil
}

// readState copies one parameter's three state tensors out of set.
func readState(set weights.Set, p *Param) (*adamState, error) {
	m, err := set.Get(p.Name+suffixExpAvg, p.Shape...)
	if err != nil {
		return nil, err
	}
	v, err := set.Get(p.Name+suffixExpAvgSq, p.Shape...)
	if err != nil {
		return nil, err
	}
	step, err := set.Get(p.Name+suffixStep, []int{}...)
	if err != nil {
		return nil, err
	}
	if len(m.Data) != len(p.Data) || len(v.Data) != len(p.Data) {
		return nil, fmt.Errorf("tensors %s and %s have %d and %d values, want %d",
			m.Name, v.Name, len(m.Data), len(v.Data), len(p.Data))
	}
	if len(step.Data) != 1 {
		return nil, fmt.Errorf("tensor %s: %d values, want a scalar", step.Name, len(step.Data))
	}
	t := step.Data[0]
	if t != float32(math.Trunc(float64(t))) || t < 1 || t > maxStoredStep {
		return nil, fmt.Errorf("tensor %s: step %v: want a whole number in [1, %d]", step.Name, t, maxStoredStep)
	}
	if i := slices.IndexFunc(v.Data, func(x float32) bool { return x < 0 }); i >= 0 {
		return nil, fmt.Errorf("tensor %s: value %d is negative (%v)", v.Name, i, v.Data[i])
	}
	return &adamState{step: int(t), expAvg: slices.Clone(m.Data), expAvgSq: slices.Clone(v.Data)}, nil
}

// Save writes the state to w as safetensors. The metadata records the hyperparameters for
// whoever inspects the file; Load takes them from the optimizer instead, so a resumed run
// may change its learning rates.
func (o *AdamW) Save(w io.Writer) error {
	meta := map[string]string{
		"optimizer": "AdamW",
		"betas":     strconv.FormatFloat(o.Beta1, 'g', -1, 64) + "," + strconv.FormatFloat(o.Beta2, 'g', -1, 64),
		"eps":       strconv.FormatFloat(o.Eps, 'g', -1, 64),
	}
	for _, g := range o.groups {
		meta["group."+g.Name] = "lr=" + strconv.FormatFloat(g.LR, 'g', -1, 64) +
			",weight_decay=" + strconv.FormatFloat(g.WeightDecay, 'g', -1, 64)
	}
	if err := weights.WriteSafetensors(w, o.State(), meta); err != nil {
		return fmt.Errorf("save optimizer state: %w", err)
	}
	return nil
}

// Load replaces the state with the one Save wrote, held in data; name is used in errors.
func (o *AdamW) Load(name string, data []byte) error {
	set, err := weights.ReadSafetensorsBytes(name, data)
	if err != nil {
		return fmt.Errorf("load optimizer state: %w", err)
	}
	if err := o.SetState(set); err != nil {
		return fmt.Errorf("load optimizer state %s: %w", name, err)
	}
	return nil
}
