package bert

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/sbmoe/sbmoe/core/internal/kernel"
	"github.com/sbmoe/sbmoe/core/tokenizer"
	"github.com/sbmoe/sbmoe/core/weights"
)

// The int8 encoder. Every linear layer keeps its weight W (out,in) as int8 with one
// float32 scale per output row (symmetric: scale = max|W_row|/127), and its bias in
// float32. Its input is quantised per token as it arrives (dynamic, symmetric int8,
// one scale per row), multiplied with W in int32 and scaled back to float32
// (kernel.QuantizeRowInt8, GemmInt8, DequantRowInt8). The embedding tables are int8
// with one scale per row too, dequantised row by row as tokens look them up. Layer
// norm, attention (QKᵀ, softmax, ·V), GELU and pooling stay float32, as do the
// layer norm weights.
//
// Symmetric activations keep the specification a plain int8×int8 product, which each
// instruction set reaches its own way (see core/internal/kernel/int8.go): that costs
// one bit of range on activations that are not centred on zero, against an
// asymmetric u8 scheme's zero point, which every kernel and the dequantisation would
// then have to carry.

// Int8WeightsFile is the weights file of an int8 model folder: beside config.json and
// the tokenizer, it replaces model.safetensors. LoadFS reads it when the folder has no
// fp32 weights; LoadInt8FS reads it in any case.
const Int8WeightsFile = "model.int8.safetensors"

// int8FormatKey records in the file's metadata which quantisation wrote it.
const int8FormatKey, int8Format = "sbmoe_quantization", "int8 per-row symmetric weights, v1"

// linearInt8 is the int8 form of a linear layer's weight; the bias stays in the
// linear (b).
//
// A few input channels carry values far above the rest of their token in BERT. In
// all-MiniLM-L6-v2 the [CLS] token's channel 99 is 18 to 20 times the row's RMS at the
// input of every attention and feed-forward block, channel 223 of most other tokens 8
// to 13 times, and one channel of [CLS]'s GELU output up to 39 times; a per-token scale
// then leaves the rest of that token a handful of levels, and short texts, which
// [CLS] dominates, came out at cosine 0.979 to fp32. Those channels, found by
// calibration when the model is quantised (outlierChannels), bypass the int8 product:
// their values are left out of the quantised row (set to 0; W's columns for them are 0
// in the int8 weight too) and their products are added in float32 from W's own
// columns, a (rows × channels) · (channels × out) product per row block (LLM.int8()'s
// decomposition, with a fixed set of channels; at most 8 per layer, against 384 or
// 1536 inputs).
type linearInt8 struct {
	w        *kernel.Int8Weights // (out,in), packed for the int8 kernels
	scale    []float32           // (out)
	outliers []int               // input channels computed in float32, ascending
	outlierW []float32           // (len(outliers),out): W's columns for them
}

// int8Scratch holds one goroutine's quantised rows, their scales, their int32
// products and their outlier channels' values, (rows,len(outliers)), for one row
// block.
type int8Scratch struct {
	q  []int8
	rs []float32
	c  []int32
	ov []float32
}

var int8Scratches sync.Pool

// forward: x is (m,in), y is (m,out) and is overwritten with x·Wᵀ + b. Few rows (a
// query) are split between the threads by output columns, each reading its share of
// W; many rows by rows, each thread reading all of W once per row block (see
// splitByColumns).
func (l *linearInt8) forward(y, x, b []float32, in, out, m, threads int) {
	if splitByColumns(m, threads) {
		s := l.scratch(m, in, out)
		l.quantize(s, x, 0, m, in)
		parallelFor(panels(out, kernel.Int8ColAlign), threads, 1, func(p0, p1 int) {
			l.product(y, s, b, 0, m, p0*kernel.Int8ColAlign, min(p1*kernel.Int8ColAlign, out), in, out)
		})
		int8Scratches.Put(s)
		return
	}
	parallelFor(m, threads, 16, func(lo, hi int) {
		s := l.scratch(rowBlock, in, out)
		for r0 := lo; r0 < hi; r0 += rowBlock {
			rows := min(rowBlock, hi-r0)
			l.quantize(s, x, r0, rows, in)
			l.product(y, s, b, r0, rows, 0, out, in, out)
		}
		int8Scratches.Put(s)
	})
}

// scratch takes an int8Scratch from the pool, sized for rows rows.
func (l *linearInt8) scratch(rows, in, out int) *int8Scratch {
	s, _ := int8Scratches.Get().(*int8Scratch)
	if s == nil {
		s = &int8Scratch{}
	}
	stride := kernel.Int8Stride(in)
	s.q, s.rs, s.c = grow8(s.q, rows*stride), grow(s.rs, rows), grow32(s.c, rows*out)
	s.ov = grow(s.ov, rows*len(l.outliers))
	return s
}

// quantize writes rows r0..r0+rows of x into s: each row quantised without its outlier
// channels, whose values go to s.ov.
func (l *linearInt8) quantize(s *int8Scratch, x []float32, r0, rows, in int) {
	stride, no := kernel.Int8Stride(in), len(l.outliers)
	for r := range rows {
		// The outlier channels are cleared in x itself for the quantiser and put back
		// at once: no other goroutine reads these rows meanwhile.
		xr := x[(r0+r)*in : (r0+r+1)*in]
		ov := s.ov[r*no : (r+1)*no]
		for i, c := range l.outliers {
			ov[i], xr[c] = xr[c], 0
		}
		s.rs[r] = kernel.QuantizeRowInt8(s.q[r*stride:], xr)
		for i, c := range l.outliers {
			xr[c] = ov[i]
		}
	}
}

// product writes columns j0..j1 of rows r0..r0+rows of y from the quantised rows in s:
// the int32 product, its dequantisation with the bias, and the outlier channels' float32
// product. j0 is a multiple of kernel.Int8ColAlign.
func (l *linearInt8) product(y []float32, s *int8Scratch, b []float32, r0, rows, j0, j1, in, out int) {
	stride, no := kernel.Int8Stride(in), len(l.outliers)
	w := l.w
	if j0 > 0 || j1 < out {
		w = w.Slice(j0, j1)
	}
	kernel.GemmInt8(rows, s.q, stride, w, s.c[j0:], out)
	for r := range rows {
		kernel.DequantRowInt8(y[(r0+r)*out+j0:(r0+r)*out+j1], s.c[r*out+j0:], s.rs[r], l.scale[j0:], b[j0:])
	}
	if no > 0 {
		kernel.Gemm(rows, j1-j0, no, s.ov, no, l.outlierW[j0:], out, y[r0*out+j0:], out)
	}
}

func grow8(s []int8, n int) []int8 {
	if cap(s) < n {
		return make([]int8, n)
	}
	return s[:n]
}

func grow32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

// tableInt8 is an embedding table (rows,h) in int8 with one scale per row.
type tableInt8 struct {
	q     []int8
	scale []float32
}

// embeddingsInt8 are the three tables of an int8 model.
type embeddingsInt8 struct {
	word, position, tokenType tableInt8
}

// sum writes word[id] + tokenType[0] + position[pos] into row, each dequantised, in
// the order the fp32 embeddings add them.
func (e *embeddingsInt8) sum(row []float32, id, pos int) {
	h := len(row)
	w, sw := e.word.q[id*h:(id+1)*h], e.word.scale[id]
	p, sp := e.position.q[pos*h:(pos+1)*h], e.position.scale[pos]
	t, st := e.tokenType.q[:h], e.tokenType.scale[0]
	for i := range row {
		row[i] = float32(w[i])*sw + float32(t[i])*st + float32(p[i])*sp
	}
}

// Int8 reports whether m runs in int8 (QuantizeInt8 made it, or it was loaded from
// an int8 folder). An int8 model encodes like any other but cannot be trained.
func (m *Model) Int8() bool { return m.emb.q != nil }

// Int8Kernels names the int8 kernels this build and CPU run for an int8 model's
// products ("amx", "avx512vnni", "avxvnni", "avx2", "simd128" or "scalar"); the rest
// of its arithmetic runs on the float32 kernels.
func Int8Kernels() string { return kernel.Int8Impl() }

// QuantizeInt8 returns the int8 form of m, sharing its tokenizer: linear and embedding
// weights in int8 with per-row scales, everything else float32 (see Int8WeightsFile).
// It is what SaveInt8 writes and LoadFS reads back, bit for bit. m is unchanged; an
// int8 model returns itself.
func (m *Model) QuantizeInt8() (*Model, error) {
	if m.Int8() {
		return m, nil
	}
	outliers := m.outlierChannels()
	var ints []*weights.Int8Tensor
	var floats []*weights.Tensor
	for _, p := range m.fp32Tensors() {
		if !int8Param(p.Name) {
			p.Data = slices.Clone(p.Data) // m's own slices, which training may change
			floats = append(floats, p)
			continue
		}
		if cols := outliers[p.Name]; len(cols) > 0 {
			out, in := p.Shape[0], p.Shape[1]
			w := slices.Clone(p.Data)
			idx, cw := make([]float32, len(cols)), make([]float32, len(cols)*out)
			for i, c := range cols {
				idx[i] = float32(c)
				for o := range out {
					cw[i*out+o], w[o*in+c] = w[o*in+c], 0
				}
			}
			floats = append(floats, &weights.Tensor{Name: p.Name + outliersSuffix, Shape: []int{len(cols)}, Data: idx},
				&weights.Tensor{Name: p.Name + outlierWeightSuffix, Shape: []int{len(cols), out}, Data: cw})
			p = &weights.Tensor{Name: p.Name, Shape: p.Shape, Data: w}
		}
		q, err := weights.QuantizeInt8(p)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		ints = append(ints, q)
	}
	q, err := newInt8(m.Config, int8Set(ints), floatSet(floats))
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	q.Tokenizer, q.Threads = m.Tokenizer, m.Threads
	return q, nil
}

// The outlier channels of a linear layer's input travel in the int8 file as two F32
// tensors beside its weight: "<weight>.outliers", the channel numbers in ascending
// order, and "<weight>.outlier_weight", W's columns for them, (channels,out).
const (
	outliersSuffix      = ".outliers"
	outlierWeightSuffix = ".outlier_weight"
)

// A channel is an outlier of a linear layer's input when on some calibration token it
// is outlierRatio times that token's RMS or more; the maxOutliers largest such are
// kept. On all-MiniLM-L6-v2 that is 3 to 7 channels (99, 223, 63, 157, …) of the
// query/key/value and intermediate inputs and the full 8 of the attention output's and
// the GELU output's.
const (
	outlierRatio = 6
	maxOutliers  = 8
)

// calibrationTexts are what outlierChannels runs the fp32 model on: ordinary
// sentences of several kinds, none of them from the test or golden files.
var calibrationTexts = []string{
	"How do I reset my password?",
	"The committee approved the budget after a long debate on Tuesday.",
	"Vitamin D deficiency has been linked to a higher risk of bone fractures in older adults.",
	"func main() { fmt.Println(strings.Split(s, \",\")) }",
	"best pizza near me open late",
	"In 1969, Apollo 11 landed on the Moon and Neil Armstrong became the first person to walk on its surface.",
	"Why is the sky blue?",
	"The patient presented with fever, cough and shortness of breath for three days.",
	"Shares fell 3.2% as investors worried about rising interest rates and slowing growth.",
	"A recipe for bread: flour, water, salt and yeast, kneaded and left to rise overnight.",
	"error: cannot find module providing package github.com/example/lib",
	"Photosynthesis converts light energy into chemical energy stored in glucose.",
	"Which library should I use to parse JSON in Go?",
	"The novel follows a young woman who leaves her village to study medicine in the city.",
	"Retrieval systems rank documents by the similarity of their vectors to the query vector.",
	"cheap flights from london to new york in december",
}

// outlierChannels runs the fp32 model over calibrationTexts and returns, for every
// linear weight (by name), the input channels that its int8 form computes in float32.
func (m *Model) outlierChannels() map[string][]int {
	peak := map[*linear][]float32{} // per channel, the largest |x| / RMS of its token
	mm := *m
	mm.Threads = 1
	mm.layers = slices.Clone(m.layers)
	var lins []*linear
	for i := range mm.layers {
		l := &mm.layers[i]
		lins = append(lins, &l.qkv, &l.attnOut, &l.ffnIn, &l.ffnOut)
	}
	for _, lin := range lins {
		r := make([]float32, lin.in)
		peak[lin] = r
		lin.observe = func(x []float32, rows int) {
			for t := range rows {
				row := x[t*lin.in : (t+1)*lin.in]
				rms := math.Sqrt(float64(kernel.Dot(row, row)) / float64(len(row)))
				if rms == 0 {
					continue
				}
				for c, v := range row {
					r[c] = max(r[c], float32(math.Abs(float64(v))/rms))
				}
			}
		}
	}
	seqs := make([][]int32, len(calibrationTexts))
	for i, t := range calibrationTexts {
		seqs[i] = m.Tokenizer.Encode(t, m.Config.MaxSeqLength)
	}
	mm.Forward(seqs)
	pick := func(r []float32) []int {
		var cols []int
		for c, v := range r {
			if v >= outlierRatio {
				cols = append(cols, c)
			}
		}
		slices.SortFunc(cols, func(a, b int) int { return cmp.Compare(r[b], r[a]) })
		cols = cols[:min(len(cols), maxOutliers)]
		slices.Sort(cols)
		return cols
	}
	out := map[string][]int{}
	for i := range mm.layers {
		l := &mm.layers[i]
		p := fmt.Sprintf("encoder.layer.%d.", i)
		qkv := pick(peak[&l.qkv])
		for _, name := range []string{"query", "key", "value"} {
			out[p+"attention.self."+name+".weight"] = qkv
		}
		out[p+"attention.output.dense.weight"] = pick(peak[&l.attnOut])
		out[p+"intermediate.dense.weight"] = pick(peak[&l.ffnIn])
		out[p+"output.dense.weight"] = pick(peak[&l.ffnOut])
	}
	return out
}

// int8Param reports whether a parameter is stored in int8: the embedding tables and
// the linear weights, not biases or layer norms.
func int8Param(name string) bool {
	return strings.HasSuffix(name, ".weight") && !strings.Contains(name, "LayerNorm")
}

// fp32Tensors lists m's parameters under their Hugging Face names, read from the
// packed weights the forward pass uses (nothing is kept on m).
func (m *Model) fp32Tensors() []*weights.Tensor {
	cfg := m.Config
	h, inter := cfg.HiddenSize, cfg.IntermediateSize
	var ts []*weights.Tensor
	add := func(name string, data []float32, shape ...int) {
		ts = append(ts, &weights.Tensor{Name: name, Shape: shape, Data: data})
	}
	add("embeddings.word_embeddings.weight", m.emb.word, cfg.VocabSize, h)
	add("embeddings.position_embeddings.weight", m.emb.position, cfg.MaxPositions, h)
	add("embeddings.token_type_embeddings.weight", m.emb.tokenType, cfg.TypeVocabSize, h)
	add("embeddings.LayerNorm.weight", m.emb.norm.g, h)
	add("embeddings.LayerNorm.bias", m.emb.norm.b, h)
	for i := range m.layers {
		l := &m.layers[i]
		p := fmt.Sprintf("encoder.layer.%d.", i)
		qkv := l.qkv.weight()
		for j, name := range []string{"query", "key", "value"} {
			add(p+"attention.self."+name+".weight", qkv[j*h*h:(j+1)*h*h], h, h)
			add(p+"attention.self."+name+".bias", l.qkv.b[j*h:(j+1)*h], h)
		}
		add(p+"attention.output.dense.weight", l.attnOut.weight(), h, h)
		add(p+"attention.output.dense.bias", l.attnOut.b, h)
		add(p+"attention.output.LayerNorm.weight", l.attnNorm.g, h)
		add(p+"attention.output.LayerNorm.bias", l.attnNorm.b, h)
		add(p+"intermediate.dense.weight", l.ffnIn.weight(), inter, h)
		add(p+"intermediate.dense.bias", l.ffnIn.b, inter)
		add(p+"output.dense.weight", l.ffnOut.weight(), h, inter)
		add(p+"output.dense.bias", l.ffnOut.b, h)
		add(p+"output.LayerNorm.weight", l.ffnNorm.g, h)
		add(p+"output.LayerNorm.bias", l.ffnNorm.b, h)
	}
	return ts
}

// weight returns W (out,in) read from the panels, a new slice.
func (l *linear) weight() []float32 {
	w := make([]float32, l.out*l.in)
	for o := range l.out {
		p, col := o/panelWidth, o%panelWidth
		for i := range l.in {
			w[o*l.in+i] = l.panels[(p*l.in+i)*panelWidth+col]
		}
	}
	return w
}

// int8Tensors lists an int8 model's tensors in the order of Params, as SaveInt8 writes
// them: the int8 ones (embedding tables and linear weights) and the float32 ones.
func (m *Model) int8Tensors() ([]*weights.Int8Tensor, []*weights.Tensor) {
	cfg := m.Config
	h := cfg.HiddenSize
	var ints []*weights.Int8Tensor
	var floats []*weights.Tensor
	addInt8 := func(name string, q []int8, scale []float32, shape ...int) {
		ints = append(ints, &weights.Int8Tensor{Name: name, Shape: shape, Data: q, Scale: scale})
	}
	addFloat := func(name string, data []float32, shape ...int) {
		floats = append(floats, &weights.Tensor{Name: name, Shape: shape, Data: data})
	}
	e := m.emb.q
	addInt8("embeddings.word_embeddings.weight", e.word.q, e.word.scale, cfg.VocabSize, h)
	addInt8("embeddings.position_embeddings.weight", e.position.q, e.position.scale, cfg.MaxPositions, h)
	addInt8("embeddings.token_type_embeddings.weight", e.tokenType.q, e.tokenType.scale, cfg.TypeVocabSize, h)
	addFloat("embeddings.LayerNorm.weight", m.emb.norm.g, h)
	addFloat("embeddings.LayerNorm.bias", m.emb.norm.b, h)
	for i := range m.layers {
		l := &m.layers[i]
		p := fmt.Sprintf("encoder.layer.%d.", i)
		addOutliers := func(name string, q *linearInt8, lo, hi, out int) {
			if len(q.outliers) == 0 {
				return
			}
			idx, cw := make([]float32, len(q.outliers)), make([]float32, 0, len(q.outliers)*(hi-lo))
			for i, c := range q.outliers {
				idx[i] = float32(c)
				cw = append(cw, q.outlierW[i*out+lo:i*out+hi]...)
			}
			addFloat(name+outliersSuffix, idx, len(idx))
			addFloat(name+outlierWeightSuffix, cw, len(idx), hi-lo)
		}
		addLinear := func(name string, lin *linear) {
			addInt8(name+".weight", lin.q.w.Unpack(), lin.q.scale, lin.out, lin.in)
			addOutliers(name+".weight", lin.q, 0, lin.out, lin.out)
			addFloat(name+".bias", lin.b, lin.out)
		}
		qkv := l.qkv.q.w.Unpack()
		for j, name := range []string{"query", "key", "value"} {
			w := p + "attention.self." + name + ".weight"
			addInt8(w, qkv[j*h*h:(j+1)*h*h], l.qkv.q.scale[j*h:(j+1)*h], h, h)
			addOutliers(w, l.qkv.q, j*h, (j+1)*h, 3*h)
			addFloat(p+"attention.self."+name+".bias", l.qkv.b[j*h:(j+1)*h], h)
		}
		addLinear(p+"attention.output.dense", &l.attnOut)
		addFloat(p+"attention.output.LayerNorm.weight", l.attnNorm.g, h)
		addFloat(p+"attention.output.LayerNorm.bias", l.attnNorm.b, h)
		addLinear(p+"intermediate.dense", &l.ffnIn)
		addLinear(p+"output.dense", &l.ffnOut)
		addFloat(p+"output.LayerNorm.weight", l.ffnNorm.g, h)
		addFloat(p+"output.LayerNorm.bias", l.ffnNorm.b, h)
	}
	return ints, floats
}

// SaveInt8 writes the int8 weights file (Int8WeightsFile) of m to w, quantising an
// fp32 model first (QuantizeInt8). Safetensors with the linear and embedding weights
// as I8 tensors, each beside an F32 "<name>.scale" of its row scales, and the biases
// and layer norms as F32, under Hugging Face's names; the metadata records the
// quantisation.
func (m *Model) SaveInt8(w io.Writer) error {
	q, err := m.QuantizeInt8()
	if err != nil {
		return err
	}
	ints, floats := q.int8Tensors()
	return weights.WriteInt8Safetensors(w, ints, floats, map[string]string{int8FormatKey: int8Format})
}

// LoadInt8FS is LoadFS for the int8 weights of a model folder: it reads
// Int8WeightsFile even when fp32 weights are there too.
func LoadInt8FS(fsys fs.FS) (*Model, error) {
	cfg, tok, err := loadConfigTokenizer(fsys)
	if err != nil {
		return nil, err
	}
	return loadInt8(fsys, cfg, tok)
}

// loadConfigTokenizer reads config.json, the sentence-transformers files and the
// tokenizer, and checks that they agree.
func loadConfigTokenizer(fsys fs.FS) (Config, *tokenizer.Tokenizer, error) {
	cfg, err := LoadConfigFS(fsys)
	if err != nil {
		return Config{}, nil, err
	}
	tok, err := tokenizer.LoadFS(fsys)
	if err != nil {
		return Config{}, nil, err
	}
	if tok.VocabSize() > cfg.VocabSize {
		return Config{}, nil, fmt.Errorf("load: tokenizer has %d tokens but config.json field vocab_size is %d", tok.VocabSize(), cfg.VocabSize)
	}
	return cfg, tok, nil
}

// onlyInt8 reports whether a folder's weights are int8 only: it has Int8WeightsFile
// and none of the fp32 files weights.LoadFS looks for.
func onlyInt8(fsys fs.FS) bool {
	if _, err := fs.Stat(fsys, Int8WeightsFile); err != nil {
		return false
	}
	for _, f := range []string{"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"} {
		if _, err := fs.Stat(fsys, f); !errors.Is(err, fs.ErrNotExist) {
			return false
		}
	}
	return true
}

// loadInt8 reads Int8WeightsFile. Its int8 tensors alias the bytes read, which the
// model then keeps (where the kernels' layout is the file's, as on WebAssembly, the
// weights are never copied at all).
func loadInt8(fsys fs.FS, cfg Config, tok *tokenizer.Tokenizer) (*Model, error) {
	b, err := fs.ReadFile(fsys, Int8WeightsFile)
	if err != nil {
		return nil, fmt.Errorf("load weights: %w", err)
	}
	ints, floats, meta, err := weights.ReadInt8SafetensorsBytes(Int8WeightsFile, b)
	if err != nil {
		return nil, fmt.Errorf("load weights: %w", err)
	}
	if meta[int8FormatKey] != int8Format {
		return nil, fmt.Errorf("load %s: metadata %s is %q, want %q", Int8WeightsFile, int8FormatKey, meta[int8FormatKey], int8Format)
	}
	m, err := newInt8(cfg, ints, floats)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", Int8WeightsFile, err)
	}
	m.Tokenizer = tok
	return m, nil
}

func int8Set(ts []*weights.Int8Tensor) weights.Int8Set {
	s := make(weights.Int8Set, len(ts))
	for _, t := range ts {
		s[t.Name] = t
	}
	return s
}

func floatSet(ts []*weights.Tensor) weights.Set {
	s := make(weights.Set, len(ts))
	for _, t := range ts {
		s[t.Name] = t
	}
	return s
}

// newInt8 builds an int8 encoder from its int8 and float32 tensors (Hugging Face
// names). Tensors the encoder does not read (a pooler, say) are ignored.
func newInt8(cfg Config, ints weights.Int8Set, floats weights.Set) (*Model, error) {
	h := cfg.HiddenSize
	g := int8Getter{ints: ints, floats: floats}
	m := &Model{Config: cfg, Threads: runtime.GOMAXPROCS(0)}
	word := g.table("embeddings.word_embeddings.weight", cfg.VocabSize, h)
	position := g.table("embeddings.position_embeddings.weight", cfg.MaxPositions, h)
	tokenType := g.table("embeddings.token_type_embeddings.weight", cfg.TypeVocabSize, h)
	m.emb = embeddings{
		q:    &embeddingsInt8{word: word, position: position, tokenType: tokenType},
		norm: g.norm("embeddings.LayerNorm", h, cfg.LayerNormEps),
	}
	m.layers = newLayers(cfg, &g)
	if g.err != nil {
		return nil, g.err
	}
	usedInts, usedFloats := g.usedInts, g.usedFloats
	m.lazyDigest = &lazyDigest{f: func() string { return digestInt8(usedInts, usedFloats) }}
	return m, nil
}

// int8Getter fetches tensors by name and shape, keeping the first error, as getter
// does for fp32 checkpoints.
type int8Getter struct {
	ints       weights.Int8Set
	floats     weights.Set
	err        error
	usedInts   []*weights.Int8Tensor
	usedFloats []*weights.Tensor
}

func (g *int8Getter) int8(name string, shape ...int) *weights.Int8Tensor {
	if g.err != nil {
		return nil
	}
	t, ok := g.ints[name]
	switch {
	case !ok && g.floats[name] != nil:
		g.err = fmt.Errorf("tensor %s: stored as float, want I8 with row scales", name)
	case !ok:
		g.err = fmt.Errorf("tensor %s: not found in checkpoint", name)
	case !slices.Equal(t.Shape, shape):
		g.err = fmt.Errorf("tensor %s: shape %v, want %v", name, t.Shape, shape)
	default:
		g.usedInts = append(g.usedInts, t)
		return t
	}
	return nil
}

func (g *int8Getter) float(name string, shape ...int) []float32 {
	if g.err != nil {
		return nil
	}
	t, err := g.floats.Get(name, shape...)
	if err != nil {
		g.err = err
		return nil
	}
	g.usedFloats = append(g.usedFloats, t)
	return t.Data
}

func (g *int8Getter) table(name string, rows, h int) tableInt8 {
	t := g.int8(name, rows, h)
	if t == nil {
		return tableInt8{}
	}
	return tableInt8{q: t.Data, scale: t.Scale}
}

func (g *int8Getter) norm(prefix string, h int, eps float64) layerNorm {
	return layerNorm{g: g.float(prefix+".weight", h), b: g.float(prefix+".bias", h), eps: eps}
}

func (g *int8Getter) linear(prefix string, out, in int) linear {
	w, b := g.int8(prefix+".weight", out, in), g.float(prefix+".bias", out)
	cols, cw := g.outliers(prefix+".weight", out, in)
	if g.err != nil {
		return linear{}
	}
	return newLinearInt8(w.Data, w.Scale, b, cols, cw, out, in)
}

// outliers reads a weight's outlier channels and their float32 columns, if it has any.
func (g *int8Getter) outliers(name string, out, in int) ([]int, []float32) {
	if g.err != nil {
		return nil, nil
	}
	idx, okIdx := g.floats[name+outliersSuffix]
	_, okW := g.floats[name+outlierWeightSuffix]
	if !okIdx && !okW {
		return nil, nil
	}
	if !okIdx || len(idx.Shape) != 1 {
		g.err = fmt.Errorf("tensor %s%s: missing or not a vector beside %s%s", name, outliersSuffix, name, outlierWeightSuffix)
		return nil, nil
	}
	cols := make([]int, len(idx.Data))
	for i, v := range idx.Data {
		c := int(v)
		if float32(c) != v || c < 0 || c >= in || (i > 0 && c <= cols[i-1]) {
			g.err = fmt.Errorf("tensor %s%s: entry %d (%g) is not an input channel below %d in ascending order", name, outliersSuffix, i, v, in)
			return nil, nil
		}
		cols[i] = c
	}
	g.usedFloats = append(g.usedFloats, idx)
	return cols, g.float(name+outlierWeightSuffix, len(cols), out)
}

// qkv stacks the query, key and value projections into one (h → 3h) layer: with one
// scale per output row, stacking quantised rows is the same as quantising the stack.
// The three read the same input, so they must have the same outlier channels.
func (g *int8Getter) qkv(prefix string, h int) linear {
	var w []int8
	var scale, b []float32
	var cols []int
	var cws [][]float32
	for _, name := range []string{"query", "key", "value"} {
		t := g.int8(prefix+name+".weight", h, h)
		bias := g.float(prefix+name+".bias", h)
		c, cw := g.outliers(prefix+name+".weight", h, h)
		if g.err != nil {
			return linear{}
		}
		if name != "query" && !slices.Equal(c, cols) {
			g.err = fmt.Errorf("tensor %s%s%s: %v, but the query's are %v (the three read the same input)", prefix, name, ".weight"+outliersSuffix, c, cols)
			return linear{}
		}
		cols, cws = c, append(cws, cw)
		w, scale, b = append(w, t.Data...), append(scale, t.Scale...), append(b, bias...)
	}
	var cw []float32
	for i := range cols {
		for _, x := range cws {
			cw = append(cw, x[i*h:(i+1)*h]...)
		}
	}
	return newLinearInt8(w, scale, b, cols, cw, 3*h, h)
}

func newLinearInt8(w []int8, scale, b []float32, cols []int, cw []float32, out, in int) linear {
	q := &linearInt8{w: kernel.PackInt8(w, out, in), scale: scale, outliers: cols, outlierW: cw}
	return linear{in: in, out: out, b: b, q: q}
}

// digestInt8 is WeightsDigest for an int8 model: SHA-256 over every tensor read, in
// name order, by name, dtype, shape and stored values (int8 data and its scales, or
// float32), so an int8 model never shares a digest with an fp32 one.
func digestInt8(ints []*weights.Int8Tensor, floats []*weights.Tensor) string {
	type entry struct {
		name  string
		write func(w *bufio.Writer)
	}
	var es []entry
	var word [8]byte
	u32 := func(w *bufio.Writer, v uint32) { binary.LittleEndian.PutUint32(word[:4], v); w.Write(word[:4]) }
	header := func(w *bufio.Writer, name, dtype string, shape []int) {
		u32(w, uint32(len(name)))
		w.WriteString(name)
		w.WriteString(dtype)
		u32(w, uint32(len(shape)))
		for _, d := range shape {
			binary.LittleEndian.PutUint64(word[:], uint64(d))
			w.Write(word[:])
		}
	}
	for _, t := range ints {
		es = append(es, entry{t.Name, func(w *bufio.Writer) {
			header(w, t.Name, "I8", t.Shape)
			for _, v := range t.Data {
				w.WriteByte(byte(v))
			}
			for _, v := range t.Scale {
				u32(w, math.Float32bits(v))
			}
		}})
	}
	for _, t := range floats {
		es = append(es, entry{t.Name, func(w *bufio.Writer) {
			header(w, t.Name, "F32", t.Shape)
			for _, v := range t.Data {
				u32(w, math.Float32bits(v))
			}
		}})
	}
	slices.SortFunc(es, func(a, b entry) int { return cmp.Compare(a.name, b.name) })
	// Streamed through a small buffer: the word embedding table alone is 11.7 MB of int8
	// in all-MiniLM-L6-v2, and a worker's memory keeps its peak.
	h := sha256.New()
	w := bufio.NewWriterSize(h, 64<<10)
	for _, e := range es {
		e.write(w)
	}
	w.Flush() // a hash's Write never fails
	return hex.EncodeToString(h.Sum(nil))
}

// WriteInt8Folder writes an int8 model folder made from the model folder src (fp32
// weights): config.json, the tokenizer files and sentence-transformers' module
// configs as they are, and Int8WeightsFile in place of the weights. Each file goes
// through emit(name, write): the caller creates the file (atomically, say), calls
// write with it and keeps the file if write returns nil. Names are slash-separated
// paths inside the folder ("1_Pooling/config.json").
func WriteInt8Folder(src fs.FS, emit func(name string, write func(io.Writer) error) error) error {
	m, err := LoadFS(src)
	if err != nil {
		return err
	}
	q, err := m.QuantizeInt8()
	if err != nil {
		return err
	}
	names, err := folderFiles(src)
	if err != nil {
		return err
	}
	for _, name := range names {
		b, err := fs.ReadFile(src, name)
		if err != nil {
			return fmt.Errorf("int8 folder: %w", err)
		}
		if err := emit(name, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return fmt.Errorf("int8 folder: %s: %w", name, err)
		}
	}
	if err := emit(Int8WeightsFile, q.SaveInt8); err != nil {
		return fmt.Errorf("int8 folder: %s: %w", Int8WeightsFile, err)
	}
	return nil
}

// folderFiles lists the files besides the weights that LoadFS reads from a model
// folder, those of them that are there.
func folderFiles(fsys fs.FS) ([]string, error) {
	candidates := []string{"config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json",
		"special_tokens_map.json", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"}
	var modules []struct {
		Path string `json:"path"`
	}
	if err := readJSON(fsys, "modules.json", &modules); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, mod := range modules {
		if mod.Path != "" {
			candidates = append(candidates, path.Join(mod.Path, "config.json"))
		}
	}
	var names []string
	for _, name := range candidates {
		if !fs.ValidPath(name) {
			continue
		}
		if _, err := fs.Stat(fsys, name); err == nil {
			names = append(names, name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("int8 folder: %w", err)
		}
	}
	return names, nil
}
