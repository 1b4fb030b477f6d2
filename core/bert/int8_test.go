package bert

import (
	"bytes"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/core/internal/golden"
	"github.com/sbmoe/sbmoe/core/internal/kernel"
)

// int8Texts are short and long texts for the tiny-model tests.
var int8Texts = []string{
	"hello world", "the quick brown fox jumps over the lazy dog",
	strings.Repeat("a longer text about retrieval, vectors and quantisation. ", 12), "x",
}

// int8Folder returns a model folder as an in-memory file system: src's files without
// its fp32 weights, plus Int8WeightsFile written by WriteInt8Folder.
func int8Folder(t testing.TB, src fs.FS) fstest.MapFS {
	t.Helper()
	folder := fstest.MapFS{}
	err := WriteInt8Folder(src, func(name string, write func(io.Writer) error) error {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			return err
		}
		folder[name] = &fstest.MapFile{Data: buf.Bytes()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return folder
}

func tinyDir() string { return filepath.Join(repoRoot, "testdata", "embeddings", "tiny") }

// TestInt8RoundTrip writes the int8 folder of the tiny model, reads it back from an
// fstest.MapFS and checks that it encodes bit for bit as the quantised model in memory
// and has its digest, that saving again gives the same file, and that the folder has
// every file a model folder needs.
func TestInt8RoundTrip(t *testing.T) {
	m, err := Load(tinyDir())
	if err != nil {
		t.Fatal(err)
	}
	q, err := m.QuantizeInt8()
	if err != nil {
		t.Fatal(err)
	}
	if m.Int8() || !q.Int8() {
		t.Fatalf("Int8(): fp32 %v, quantised %v", m.Int8(), q.Int8())
	}
	folder := int8Folder(t, os.DirFS(tinyDir()))
	for _, name := range []string{"config.json", "tokenizer.json", "modules.json", "1_Pooling/config.json", Int8WeightsFile} {
		if folder[name] == nil {
			t.Errorf("int8 folder lacks %s", name)
		}
	}
	if folder["model.safetensors"] != nil || folder["pytorch_model.bin"] != nil {
		t.Error("int8 folder carries the fp32 weights")
	}
	loaded, err := LoadFS(folder)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Int8() || loaded.Config != q.Config {
		t.Fatalf("loaded: Int8 %v, config %+v", loaded.Int8(), loaded.Config)
	}
	want, got := q.Encode(int8Texts, EncodeOptions{}), loaded.Encode(int8Texts, EncodeOptions{})
	for i := range want {
		for j := range want[i] {
			if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
				t.Fatalf("text %d, dim %d: loaded %g, quantised in memory %g", i, j, got[i][j], want[i][j])
			}
		}
	}
	if loaded.WeightsDigest() != q.WeightsDigest() || q.WeightsDigest() == m.WeightsDigest() {
		t.Errorf("digests: loaded %s, quantised %s, fp32 %s", loaded.WeightsDigest(), q.WeightsDigest(), m.WeightsDigest())
	}
	var again bytes.Buffer
	if err := loaded.SaveInt8(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), folder[Int8WeightsFile].Data) {
		t.Error("saving the loaded int8 model gives another file")
	}

	// Beside fp32 weights the int8 file is read only when asked for.
	both := fstest.MapFS{}
	for name, f := range folder {
		both[name] = f
	}
	fp32, err := os.ReadFile(filepath.Join(tinyDir(), "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	both["model.safetensors"] = &fstest.MapFile{Data: fp32}
	if m2, err := LoadFS(both); err != nil || m2.Int8() {
		t.Errorf("LoadFS beside fp32 weights: int8 %v, error %v", m2 != nil && m2.Int8(), err)
	}
	if m2, err := LoadInt8FS(both); err != nil || !m2.Int8() {
		t.Errorf("LoadInt8FS: error %v", err)
	}
}

// TestInt8EveryKernel encodes with the int8 tiny model packed for every int8 kernel
// implementation this machine runs: the integer products are exact and the rest is
// shared, so the vectors must agree bit for bit.
func TestInt8EveryKernel(t *testing.T) {
	m, err := Load(tinyDir())
	if err != nil {
		t.Fatal(err)
	}
	defer kernel.SetInt8Impl(kernel.Int8Impl())
	var want [][]float32
	for _, impl := range kernel.Int8Impls() {
		if err := kernel.SetInt8Impl(impl); err != nil {
			t.Fatal(err)
		}
		q, err := m.QuantizeInt8()
		if err != nil {
			t.Fatal(err)
		}
		got := q.Encode(int8Texts, EncodeOptions{})
		if want == nil {
			want = got
			continue
		}
		for i := range want {
			for j := range want[i] {
				if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
					t.Fatalf("%s: text %d, dim %d: %g, %s gave %g", impl, i, j, got[i][j], kernel.Int8Impls()[0], want[i][j])
				}
			}
		}
	}
}

func TestInt8CannotTrain(t *testing.T) {
	m, err := Load(tinyDir())
	if err != nil {
		t.Fatal(err)
	}
	q, err := m.QuantizeInt8()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "int8 model cannot be trained") {
			t.Fatalf("panic %v", r)
		}
	}()
	q.ForwardTrain([][]int32{{101, 102}}, nil)
}

func TestLoadInt8Errors(t *testing.T) {
	folder := int8Folder(t, os.DirFS(tinyDir()))
	corrupt := func(edit func(b []byte) []byte) fstest.MapFS {
		f := fstest.MapFS{}
		for name, file := range folder {
			f[name] = file
		}
		f[Int8WeightsFile] = &fstest.MapFile{Data: edit(slices.Clone(folder[Int8WeightsFile].Data))}
		return f
	}
	tests := []struct {
		name    string
		fsys    fs.FS
		wantErr string
	}{
		{"truncated", corrupt(func(b []byte) []byte { return b[:len(b)/2] }), "load weights: model.int8.safetensors: "},
		{"metadata", corrupt(func(b []byte) []byte { return bytes.Replace(b, []byte("per-row"), []byte("per-col"), 1) }), "metadata sbmoe_quantization"},
		{"scales renamed", corrupt(func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"encoder.layer.1.output.dense.weight.scale"`), []byte(`"encoder.layer.1.output.dense.weight.scalx"`), 1)
		}), "tensor encoder.layer.1.output.dense.weight: I8 without its scales"},
		{"tensor renamed", corrupt(func(b []byte) []byte {
			return bytes.ReplaceAll(b, []byte(`encoder.layer.1.output.dense.weight`), []byte(`encoder.layer.1.output.dense.wexght`))
		}), "load model.int8.safetensors: tensor encoder.layer.1.output.dense.weight: not found in checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFS(tt.fsys)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestInt8Golden compares the int8 form of the default model, written as an int8
// folder and read back from memory, with its fp32 form on every text of the
// sentence-transformers golden file: cosine ≥ 0.99 for each, the lowest and the mean
// logged, and against the reference vectors too. The model read back encodes bit for
// bit as the one quantised in memory.
func TestInt8Golden(t *testing.T) {
	m := loadDefaultModel(t)
	inMemory, err := m.QuantizeInt8()
	if err != nil {
		t.Fatal(err)
	}
	q, err := LoadFS(int8Folder(t, os.DirFS(filepath.Join(repoRoot, "models", "all-MiniLM-L6-v2"))))
	if err != nil {
		t.Fatal(err)
	}
	want, got := inMemory.Encode(int8Texts, EncodeOptions{}), q.Encode(int8Texts, EncodeOptions{})
	for i := range want {
		if !slices.EqualFunc(got[i], want[i], func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Fatalf("text %d: the int8 model read back encodes otherwise than the one quantised in memory", i)
		}
	}
	var g goldenEmbeddings
	golden.ReadJSON(t, filepath.Join(repoRoot, "testdata", "embeddings", "golden.json.gz"), &g)
	allMin, allSum, all := 1.0, 0.0, 0
	for _, set := range g.Sets {
		t.Run(set.Name, func(t *testing.T) {
			texts := make([]string, len(set.Records))
			for i, r := range set.Records {
				texts[i] = r.Text
			}
			opt := EncodeOptions{MaxLength: set.MaxSeqLength}
			fm, qm := *m, *q
			fm.Config.Normalize, qm.Config.Normalize = set.Normalize, set.Normalize
			want, got := fm.Encode(texts, opt), qm.Encode(texts, opt)
			lo, sum, loRef, worst := 1.0, 0.0, 1.0, ""
			for i, r := range set.Records {
				c := cosine(got[i], want[i])
				if c < 0.99 {
					t.Errorf("%s: cosine %.5f to fp32 < 0.99", r.Source, c)
				}
				if c < lo {
					lo, worst = c, r.Source
				}
				sum += c
				loRef = min(loRef, cosine(got[i], golden.Float32s(t, r.Embedding)))
			}
			n := len(set.Records)
			allMin, allSum, all = min(allMin, lo), allSum+sum, all+n
			t.Logf("%d texts: int8 vs fp32 cosine lowest %.5f (%s), mean %.5f; int8 vs sentence-transformers lowest %.5f",
				n, lo, worst, sum/float64(n), loRef)
		})
	}
	t.Logf("all %d texts: int8 vs fp32 cosine lowest %.5f, mean %.5f", all, allMin, allSum/float64(all))
}

// TestInt8Memory loads the default model's int8 folder from memory and checks that it
// holds no fp32 copy of its int8 weights: the Go heap grows by about the int8 file.
func TestInt8Memory(t *testing.T) {
	loadDefaultModel(t) // skips when the model is absent
	folder := int8Folder(t, os.DirFS(filepath.Join(repoRoot, "models", "all-MiniLM-L6-v2")))
	file := len(folder[Int8WeightsFile].Data)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	q, err := LoadFS(folder)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("int8 file %.1f MB; the loaded model holds %.1f MB of heap (kernels %s)", float64(file)/1e6, float64(grew)/1e6, kernel.Int8Impl())
	if q.emb.word != nil || q.layers[0].ffnIn.panels != nil {
		t.Error("the int8 model keeps fp32 weights")
	}
	// The file read (aliased by the tables) plus, where the kernels repack, one more
	// int8 copy of the linear weights, the tokenizer and the float32 biases.
	if limit := int64(2*file + 8<<20); grew > limit {
		t.Errorf("heap grew by %d bytes, more than %d", grew, limit)
	}
	runtime.KeepAlive(q)
	runtime.KeepAlive(folder)
}
