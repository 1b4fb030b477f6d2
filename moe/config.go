package moe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Router names how the gate is trained.
type Router string

const (
	// RouterPaper is the authors' recipe: noisy top-1 gating, no auxiliary loss.
	RouterPaper Router = "paper"
	// RouterLearned has the same forward values but a straight-through gradient for the kept
	// expert's probability and a load-balancing loss, so that the gate learns.
	RouterLearned Router = "learned"
)

// Mix names how experts are mixed at inference (Eval mode). Training always keeps the top-1.
type Mix string

const (
	MixTop1 Mix = "top1" // the most probable expert only, weighted by its probability
	MixAll  Mix = "all"  // every expert weighted by the softmax
)

// Output names how the expert mixture joins the residual h.
type Output string

const (
	// OutputPaper is the authors' out = normalize(Σ g·E(h)) + h: the head adds a unit vector,
	// as long as h itself on a normalised encoder, from the first step. The empty Output is
	// the same.
	OutputPaper Output = "paper"
	// OutputGain is out = h + α·normalize(Σ g·E(h)) with one learned scalar α that starts at
	// 0: the untrained head returns h bit for bit, and training moves every vector by exactly
	// |α| in the direction the experts choose (RATIONALE.md, "SB-MoE heads").
	OutputGain Output = "gain"
)

// Config describes a block. Its JSON form is moe_config.json.
type Config struct {
	Hidden  int    `json:"hidden_size"` // H, the pooled embedding's width
	Experts int    `json:"num_experts"` // E; the paper uses 6
	Router  Router `json:"router"`
	Mix     Mix    `json:"mix"`
	// BalanceCoef weighs the load-balancing loss E·Σ_m f_m·P_m of the learned router
	// (0.01 in Switch Transformer); the paper router has none, so it must be 0 there.
	BalanceCoef float32 `json:"balance_coef"`
	// Output is OutputGain, or OutputPaper (or empty, the same): how the mixture joins h.
	// It is left out of the JSON when empty, so the heads written before it existed keep
	// their bytes and digests, and code older than it refuses a gain head's unknown field
	// instead of reading it as the paper's.
	Output Output `json:"output,omitempty"`
}

// DefaultConfig is the paper's block for a given hidden size: 6 experts, paper router, TOP-1.
func DefaultConfig(hidden int) Config {
	return Config{Hidden: hidden, Experts: 6, Router: RouterPaper, Mix: MixTop1}
}

// ProductConfig is the head the product learns from feedback: the paper's six experts and
// gate, the learned router (Switch's 0.01 balance) and the gain output, so that it starts
// as the identity and never has to be undone to be harmless.
func ProductConfig(hidden int) Config {
	return Config{Hidden: hidden, Experts: 6, Router: RouterLearned, Mix: MixTop1, BalanceCoef: 0.01, Output: OutputGain}
}

// gained reports whether the block has the learned gain α.
func (c Config) gained() bool { return c.Output == OutputGain }

// Validate reports the first field that cannot build a block, by its JSON name.
func (c Config) Validate() error {
	switch {
	case c.Hidden < 2:
		return fmt.Errorf("field hidden_size: %d, want at least 2 (experts are H→H/2→H)", c.Hidden)
	case c.Experts < 1:
		return fmt.Errorf("field num_experts: %d, want at least 1", c.Experts)
	case c.Router != RouterPaper && c.Router != RouterLearned:
		return fmt.Errorf("field router: %q, want %q or %q", c.Router, RouterPaper, RouterLearned)
	case c.Mix != MixTop1 && c.Mix != MixAll:
		return fmt.Errorf("field mix: %q, want %q or %q", c.Mix, MixTop1, MixAll)
	case c.BalanceCoef < 0 || math.IsNaN(float64(c.BalanceCoef)) || math.IsInf(float64(c.BalanceCoef), 0):
		return fmt.Errorf("field balance_coef: %v, want a finite value ≥ 0", c.BalanceCoef)
	case c.Output != "" && c.Output != OutputPaper && c.Output != OutputGain:
		return fmt.Errorf("field output: %q, want %q or %q", c.Output, OutputPaper, OutputGain)
	case c.Router == RouterPaper && c.BalanceCoef != 0:
		return fmt.Errorf("field balance_coef: %v, the paper router has no load-balancing loss (want 0 or router %q)", c.BalanceCoef, RouterLearned)
	}
	return nil
}

// configJSON mirrors Config with pointers, so a missing field is told apart from a zero one.
type configJSON struct {
	Hidden      *int     `json:"hidden_size"`
	Experts     *int     `json:"num_experts"`
	Router      *Router  `json:"router"`
	Mix         *Mix     `json:"mix"`
	LegacyPool  *Mix     `json:"pool"` // the name of mix before it was renamed
	BalanceCoef *float32 `json:"balance_coef"`
	Output      *Output  `json:"output"`
}

// ParseConfig reads moe_config.json. hidden_size, num_experts and router are required; mix
// (or pool, its old name) defaults to top1, balance_coef to 0 and output to the paper's. Unknown fields are errors: a misspelt field would
// otherwise silently fall back to its default.
func ParseConfig(b []byte) (Config, error) {
	// Checked first: encoding/json would replace each invalid byte of an unknown field's
	// name by an escape in its error, costing 60 bytes of memory per byte of input.
	if !utf8.Valid(b) {
		return Config{}, errors.New("not valid UTF-8")
	}
	var raw configJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return Config{}, fmt.Errorf("field %s: %s is not a %s", typeErr.Field, typeErr.Value, typeErr.Type.Kind())
		}
		return Config{}, err
	}
	if dec.More() {
		return Config{}, errors.New("data after the JSON object")
	}
	c := Config{Mix: MixTop1}
	switch {
	case raw.Hidden == nil:
		return Config{}, errors.New("field hidden_size: missing")
	case raw.Experts == nil:
		return Config{}, errors.New("field num_experts: missing")
	case raw.Router == nil:
		return Config{}, errors.New("field router: missing")
	}
	c.Hidden, c.Experts, c.Router = *raw.Hidden, *raw.Experts, *raw.Router
	switch {
	case raw.Mix != nil && raw.LegacyPool != nil:
		return Config{}, errors.New("field pool: the old name of mix; give one of them")
	case raw.Mix != nil:
		c.Mix = *raw.Mix
	case raw.LegacyPool != nil:
		c.Mix = *raw.LegacyPool
	}
	if raw.BalanceCoef != nil {
		c.BalanceCoef = *raw.BalanceCoef
	}
	if raw.Output != nil {
		c.Output = *raw.Output
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// MarshalConfig is the inverse of ParseConfig, indented for people to read.
func MarshalConfig(c Config) ([]byte, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
