package bert

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"github.com/sbmoe/sbmoe/core/tokenizer"
	"github.com/sbmoe/sbmoe/core/train"
	"github.com/sbmoe/sbmoe/core/weights"
)

// Model is a loaded encoder with its tokenizer. It is safe for concurrent use by
// several goroutines: Encode and Forward keep their state on the stack. Training
// (ForwardTrain, Params, SyncWeights and the optimizer writing Params' data) changes
// the model and must not overlap with any other call.
type Model struct {
	Config    Config
	Tokenizer *tokenizer.Tokenizer
	// Threads is how many goroutines one Forward call uses; Load sets it to GOMAXPROCS.
	Threads int

	emb    embeddings
	layers []layer
	digest string // WeightsDigest, once computed
	// lazyDigest computes WeightsDigest of the weights as loaded, on first use (a SHA-256
	// of every weight: seconds in WebAssembly for a 90 MB model, which a page that trusts
	// its manifest never needs); nil once training has changed the weights.
	lazyDigest *lazyDigest
}

// layer is one transformer block.
type layer struct {
	qkv      linear // the query, key and value projections as one (h → 3h) product
	attn     attention
	attnOut  linear
	attnNorm layerNorm
	ffnIn    linear
	act      activation
	ffnOut   linear
	ffnNorm  layerNorm
}

// LoadFS reads a Hugging Face model folder, the root of fsys: config.json, the tokenizer
// files, the weights (model.safetensors, pytorch_model.bin or their shards) and
// sentence-transformers' module configs. A browser or a worker passes an in-memory file
// system of fetched bytes (fstest.MapFS, say); Load is LoadFS over a folder.
//
// A folder whose only weights are Int8WeightsFile loads as an int8 model.
func LoadFS(fsys fs.FS) (*Model, error) {
	cfg, tok, err := loadConfigTokenizer(fsys)
	if err != nil {
		return nil, err
	}
	if onlyInt8(fsys) {
		return loadInt8(fsys, cfg, tok)
	}
	set, file, err := weights.LoadFS(fsys)
	if err != nil {
		return nil, err
	}
	m, err := New(cfg, set)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", file, err)
	}
	m.Tokenizer = tok
	return m, nil
}

// Load is LoadFS(os.DirFS(dir)); errors start with dir.
func Load(dir string) (*Model, error) {
	m, err := LoadFS(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	return m, nil
}

// New builds an encoder from a config and a checkpoint's tensors (any naming that
// weights.Set.Canonical understands). The tokenizer is left nil.
func New(cfg Config, set weights.Set) (*Model, error) {
	set, err := set.Canonical()
	if err != nil {
		return nil, err
	}
	h := cfg.HiddenSize
	g := getter{set: set, names: map[string]bool{}}
	m := &Model{Config: cfg, Threads: runtime.GOMAXPROCS(0)}
	m.emb = embeddings{
		word:      g.get("embeddings.word_embeddings.weight", cfg.VocabSize, h),
		position:  g.get("embeddings.position_embeddings.weight", cfg.MaxPositions, h),
		tokenType: g.get("embeddings.token_type_embeddings.weight", cfg.TypeVocabSize, h),
		norm:      g.norm("embeddings.LayerNorm", h, cfg.LayerNormEps),
	}
	m.layers = newLayers(cfg, &g)
	if g.err != nil {
		return nil, g.err
	}
	used := g.used
	m.lazyDigest = &lazyDigest{f: func() string { return digestParams(used) }}
	return m, nil
}

// layerWeights is what builds a layer's parts from a checkpoint: getter for fp32,
// int8Getter for an int8 model.
type layerWeights interface {
	qkv(prefix string, h int) linear
	linear(prefix string, out, in int) linear
	norm(prefix string, h int, eps float64) layerNorm
}

// newLayers builds the transformer blocks from their Hugging Face parameter names.
func newLayers(cfg Config, g layerWeights) []layer {
	h, inter := cfg.HiddenSize, cfg.IntermediateSize
	var layers []layer
	for i := range cfg.NumLayers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		att := p + "attention."
		layers = append(layers, layer{
			qkv:      g.qkv(att+"self.", h),
			attn:     attention{heads: cfg.NumHeads, headDim: h / cfg.NumHeads},
			attnOut:  g.linear(att+"output.dense", h, h),
			attnNorm: g.norm(att+"output.LayerNorm", h, cfg.LayerNormEps),
			ffnIn:    g.linear(p+"intermediate.dense", inter, h),
			act:      activations[cfg.HiddenAct],
			ffnOut:   g.linear(p+"output.dense", h, inter),
			ffnNorm:  g.norm(p+"output.LayerNorm", h, cfg.LayerNormEps),
		})
	}
	return layers
}

// getter fetches tensors by name and shape, keeping the first error so that New reads
// as a list of parameters.
type getter struct {
	set   weights.Set
	err   error
	used  []*train.Param // every tensor fetched, for WeightsDigest
	names map[string]bool
}

func (g *getter) get(name string, shape ...int) []float32 {
	if g.err != nil {
		return nil
	}
	t, err := g.set.Get(name, shape...)
	if err != nil {
		g.err = err
		return nil
	}
	if !g.names[name] {
		g.names[name] = true
		g.used = append(g.used, &train.Param{Name: name, Shape: t.Shape, Data: t.Data})
	}
	return t.Data
}

func (g *getter) linear(prefix string, out, in int) linear {
	w, b := g.get(prefix+".weight", out, in), g.get(prefix+".bias", out)
	if g.err != nil {
		return linear{}
	}
	return newLinear(w, b, out, in)
}

// qkv stacks the query, key and value projections into one (h → 3h) linear layer.
func (g *getter) qkv(prefix string, h int) linear {
	var w, b []float32
	for _, name := range []string{"query", "key", "value"} {
		w = append(w, g.get(prefix+name+".weight", h, h)...)
		b = append(b, g.get(prefix+name+".bias", h)...)
	}
	if g.err != nil {
		return linear{}
	}
	return newLinear(w, b, 3*h, h)
}

func (g *getter) norm(prefix string, h int, eps float64) layerNorm {
	return layerNorm{g: g.get(prefix+".weight", h), b: g.get(prefix+".bias", h), eps: eps}
}
