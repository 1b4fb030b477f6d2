package moe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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

// Config describes a block. Its JSON form is moe_config.json.
type Config struct {
	Hidden  int    `json:"hidden_size"` // H, the pooled embedding's width
	Experts int    `json:"num_experts"` // E; the paper uses 6
	Router  Router `json:"router"`
	Mix     Mix    `json:"mix"`
	// BalanceCoef weighs the load-balancing loss E·Σ_m f_m·P_m of the learned router
	// (0.01 in Switch Transformer); the paper router has none, so it must be 0 there.
	BalanceCoef float32 `json:"balance_coef"`
}

// DefaultConfig is the paper's block for a given hidden size: 6 experts, paper router, TOP-1.
func DefaultConfig(hidden int) Config {
	return Config{Hidden: hidden, Experts: 6, Router: RouterPaper, Mix: MixTop1}
}

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
}

// ParseConfig reads moe_config.json. hidden_size, num_experts and router are required; mix
// (or pool, its old name) defaults to top1 and balance_coef to 0. Unknown fields are errors: a misspelt field would
// otherwise silently fall back to its default.
func ParseConfig(b []byte) (Config, error) {
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
