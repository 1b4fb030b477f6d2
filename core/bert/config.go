package bert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Pooling is how token vectors become one text vector.
type Pooling string

const (
	PoolMean Pooling = "mean" // average over the sequence's tokens ([CLS] and [SEP] included)
	PoolCLS  Pooling = "cls"  // the first token's vector
)

// Config is what the encoder needs to know about a checkpoint: the Hugging Face
// config.json plus sentence-transformers' pooling, normalisation and length settings.
type Config struct {
	VocabSize        int     `json:"vocab_size"`
	HiddenSize       int     `json:"hidden_size"`
	NumLayers        int     `json:"num_hidden_layers"`
	NumHeads         int     `json:"num_attention_heads"`
	IntermediateSize int     `json:"intermediate_size"`
	MaxPositions     int     `json:"max_position_embeddings"`
	TypeVocabSize    int     `json:"type_vocab_size"`
	LayerNormEps     float64 `json:"layer_norm_eps"`
	HiddenAct        string  `json:"hidden_act"`

	Pooling   Pooling // from 1_Pooling/config.json; PoolMean when absent
	Normalize bool    // a sentence_transformers Normalize module follows pooling
	// MaxSeqLength is the longest token sequence encoded, [CLS] and [SEP] included:
	// sentence_bert_config.json's max_seq_length, else max_position_embeddings.
	MaxSeqLength int
}

// hfConfig holds the config.json fields that are checked but not kept.
type hfConfig struct {
	Config
	ModelType             string   `json:"model_type"`
	Architectures         []string `json:"architectures"`
	PositionEmbeddingType string   `json:"position_embedding_type"`
}

// LoadConfigFS reads config.json and the sentence-transformers files (modules.json, the
// pooling module's config, sentence_bert_config.json) of a model folder, the root of fsys.
func LoadConfigFS(fsys fs.FS) (Config, error) {
	var hc hfConfig
	hc.LayerNormEps = 1e-12
	hc.HiddenAct = "gelu"
	hc.TypeVocabSize = 2
	if err := readJSON(fsys, "config.json", &hc); err != nil {
		return Config{}, err
	}
	if err := hc.check(); err != nil {
		return Config{}, fmt.Errorf("load config.json: %w", err)
	}
	c := hc.Config
	c.Pooling, c.MaxSeqLength = PoolMean, c.MaxPositions
	if err := c.readSentenceTransformers(fsys); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (hc *hfConfig) check() error {
	isBert := hc.ModelType == "bert" ||
		(hc.ModelType == "" && slices.ContainsFunc(hc.Architectures, func(a string) bool { return strings.HasPrefix(a, "Bert") }))
	if !isBert {
		return fmt.Errorf("field model_type: unsupported architecture %q (architectures %v): sbmoe runs BERT-family encoders (model_type \"bert\")", hc.ModelType, hc.Architectures)
	}
	if p := hc.PositionEmbeddingType; p != "" && p != "absolute" {
		return fmt.Errorf("field position_embedding_type: %q is not supported, only \"absolute\"", p)
	}
	if _, ok := activations[hc.HiddenAct]; !ok {
		return fmt.Errorf("field hidden_act: %q is not supported (want one of gelu, gelu_new, gelu_pytorch_tanh, relu)", hc.HiddenAct)
	}
	// The weights must match every size, but the loader builds layer after layer before it
	// finds that they do not: the largest sizes are bounded so that a forged config fails at
	// once. The bounds are far above any BERT (BERT-large: 24 layers of 1024, 30522 tokens).
	sizes := []struct {
		name   string
		v, max int
	}{{"vocab_size", hc.VocabSize, 1 << 24}, {"hidden_size", hc.HiddenSize, 1 << 16},
		{"num_hidden_layers", hc.NumLayers, 1 << 10}, {"num_attention_heads", hc.NumHeads, 1 << 16},
		{"intermediate_size", hc.IntermediateSize, 1 << 18}, {"max_position_embeddings", hc.MaxPositions, 1 << 20},
		{"type_vocab_size", hc.TypeVocabSize, 1 << 16}}
	for _, f := range sizes {
		if f.v <= 0 {
			return fmt.Errorf("field %s: must be a positive integer, got %d", f.name, f.v)
		}
		if f.v > f.max {
			return fmt.Errorf("field %s: %d, at most %d is supported", f.name, f.v, f.max)
		}
	}
	if hc.HiddenSize%hc.NumHeads != 0 {
		return fmt.Errorf("field num_attention_heads: %d does not divide hidden_size %d", hc.NumHeads, hc.HiddenSize)
	}
	if !(hc.LayerNormEps > 0) {
		return fmt.Errorf("field layer_norm_eps: must be positive, got %g", hc.LayerNormEps)
	}
	return nil
}

// readSentenceTransformers applies modules.json, the pooling module's config and
// sentence_bert_config.json when the folder has them.
func (c *Config) readSentenceTransformers(fsys fs.FS) error {
	var modules []struct {
		Path string `json:"path"`
		Type string `json:"type"`
	}
	if err := readJSON(fsys, "modules.json", &modules); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	pooling := 0
	for _, m := range modules {
		switch {
		case strings.HasSuffix(m.Type, ".Pooling"):
			if pooling++; pooling > 1 {
				return errors.New("load modules.json: more than one Pooling module")
			}
			var p struct {
				CLS      bool `json:"pooling_mode_cls_token"`
				Mean     bool `json:"pooling_mode_mean_tokens"`
				Max      bool `json:"pooling_mode_max_tokens"`
				MeanSqrt bool `json:"pooling_mode_mean_sqrt_len_tokens"`
			}
			name := path.Join(m.Path, "config.json")
			if !fs.ValidPath(name) {
				return fmt.Errorf("load modules.json: module path %q is not inside the model folder", m.Path)
			}
			if err := readJSON(fsys, name, &p); err != nil {
				return err
			}
			switch {
			case p.Max || p.MeanSqrt || (p.CLS && p.Mean):
				return fmt.Errorf("load %s: only one of pooling_mode_mean_tokens or pooling_mode_cls_token is supported", name)
			case p.CLS:
				c.Pooling = PoolCLS
			case p.Mean:
				c.Pooling = PoolMean
			default:
				return fmt.Errorf("load %s: no pooling mode is set", name)
			}
		case strings.HasSuffix(m.Type, ".Normalize"):
			c.Normalize = true
		case strings.HasSuffix(m.Type, ".Transformer"):
		default:
			return fmt.Errorf("load modules.json: module type %q is not supported", m.Type)
		}
	}
	var sb struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	err := readJSON(fsys, "sentence_bert_config.json", &sb)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case sb.MaxSeqLength > 0:
		c.MaxSeqLength = min(sb.MaxSeqLength, c.MaxPositions)
	}
	return nil
}

func readJSON(fsys fs.FS, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("load %s: %w", name, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("load %s: %w", name, err)
	}
	return nil
}
