package weights

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Tensor is a named float32 tensor in row-major order. A scalar has an empty Shape and one value.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Set holds a checkpoint's tensors by name.
type Set map[string]*Tensor

// Names returns the tensor names in sorted order, so that output built from a Set is stable.
func (s Set) Names() []string {
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Get returns the named tensor. When shape is given, the tensor must have exactly that shape;
// the error then names the tensor and both shapes, which is what a user loading a checkpoint
// into the wrong config needs to see.
func (s Set) Get(name string, shape ...int) (*Tensor, error) {
	t, ok := s[name]
	if !ok {
		return nil, fmt.Errorf("tensor %s: not found in checkpoint", name)
	}
	if shape != nil && !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("tensor %s: shape %v, want %v", name, t.Shape, shape)
	}
	return t, nil
}

// Canonical returns the tensors renamed to the Hugging Face BertModel convention
// ("embeddings.word_embeddings.weight", "encoder.layer.N.…", "pooler.dense.weight"):
//
//   - a leading "bert." is removed (BertForPreTraining, BertForSequenceClassification, TinyBERT);
//   - LayerNorm "gamma" and "beta" become "weight" and "bias" (old TensorFlow conversions);
//   - everything outside embeddings., encoder. and pooler. is dropped (the "cls." pre-training
//     heads, classifiers, TinyBERT's "fit_denses"), and so is the "embeddings.position_ids"
//     buffer, which is an index range rather than a parameter.
//
// The returned tensors share Data with s. Two names that map to the same canonical name are an
// error, since silently keeping one of them would load the wrong weights.
func (s Set) Canonical() (Set, error) {
	out := make(Set, len(s))
	source := make(map[string]string, len(s))
	for _, name := range s.Names() {
		canon, keep := canonicalName(name)
		if !keep {
			continue
		}
		if prev, dup := source[canon]; dup {
			return nil, fmt.Errorf("tensors %s and %s both map to %s", prev, name, canon)
		}
		source[canon] = name
		t := *s[name]
		t.Name = canon
		out[canon] = &t
	}
	return out, nil
}

func canonicalName(name string) (string, bool) {
	name = strings.TrimPrefix(name, "bert.")
	if name == "embeddings.position_ids" {
		return "", false
	}
	if !strings.HasPrefix(name, "embeddings.") && !strings.HasPrefix(name, "encoder.") &&
		!strings.HasPrefix(name, "pooler.") {
		return "", false
	}
	if base, ok := strings.CutSuffix(name, "LayerNorm.gamma"); ok {
		return base + "LayerNorm.weight", true
	}
	if base, ok := strings.CutSuffix(name, "LayerNorm.beta"); ok {
		return base + "LayerNorm.bias", true
	}
	return name, true
}

// numElements returns the product of shape, or ok=false when a dimension is negative or the
// product exceeds limit. Callers pass the largest count the file could hold, which keeps a lying
// shape from overflowing or driving a huge allocation.
func numElements(shape []int, limit int) (n int, ok bool) {
	n = 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			n = 0
			continue
		}
		if n > limit/d {
			return 0, false
		}
		n *= d
	}
	if n > limit {
		return 0, false
	}
	return n, true
}

// checkFinite reports the first NaN or infinity in data: a checkpoint holding one would only
// show up much later as NaN embeddings. The scan tests the exponent bits, one branch per value,
// because it runs over every weight of every checkpoint loaded.
func checkFinite(data []float32) error {
	const expMask = 0x7f800000 // all exponent bits set: ±Inf or NaN
	for i, v := range data {
		if math.Float32bits(v)&expMask != expMask {
			continue
		}
		if math.IsNaN(float64(v)) {
			return fmt.Errorf("contains NaN at index %d", i)
		}
		return fmt.Errorf("contains %v at index %d", v, i)
	}
	return nil
}
