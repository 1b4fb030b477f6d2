package moe

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/weights"
)

// identityInputs are pooled vectors with the values an addition could alter: −0 (which
// h + 0·ŷ turns into +0), subnormals, the largest floats, and ordinary normals.
func identityInputs(rows, hidden int) []float32 {
	h := normals(rand.New(rand.NewPCG(5, 5)), rows*hidden)
	special := []float32{float32(math.Copysign(0, -1)), 0, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		math.MaxFloat32 / 4, -math.MaxFloat32 / 4, 1e-30, 1}
	for i, v := range special {
		h[i*7%len(h)] = v
	}
	return h
}

// TestGainStartsAsIdentity: an untrained gain block returns its input bit for bit, with
// either router, either inference mix, in Eval and in Train mode, and after a round trip
// through its head file.
func TestGainStartsAsIdentity(t *testing.T) {
	const rows, hidden = 16, 12
	h := identityInputs(rows, hidden)
	for _, router := range []Router{RouterPaper, RouterLearned} {
		for _, mix := range []Mix{MixTop1, MixAll} {
			cfg := Config{Hidden: hidden, Experts: 3, Router: router, Mix: mix, Output: OutputGain}
			if router == RouterLearned {
				cfg.BalanceCoef = 0.01
			}
			b, err := New(cfg, 42)
			if err != nil {
				t.Fatal(err)
			}
			var file bytes.Buffer
			if err := b.Save(&file); err != nil {
				t.Fatal(err)
			}
			read, err := Read(HeadFile, file.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			for _, blk := range []*Block{b, read} {
				if blk.Gain() != 0 {
					t.Fatalf("untrained gain %v", blk.Gain())
				}
				for _, mode := range []Mode{Eval, Train} {
					in := slices.Clone(h)
					out := make([]float32, len(h))
					blk.Forward(out, in, rows, mode, rand.New(rand.NewPCG(1, 2)))
					for i := range h {
						if math.Float32bits(out[i]) != math.Float32bits(h[i]) {
							t.Fatalf("%s/%s mode %d: out[%d] = %v, input %v", router, mix, mode, i, out[i], h[i])
						}
					}
					if !slices.Equal(in, h) {
						t.Fatalf("%s/%s mode %d: Forward changed its input", router, mix, mode)
					}
				}
			}
		}
	}
}

// TestGainBlockOfPaper: a gain block draws its gate and experts as the paper's block of
// the same seed does, and adds one tensor, "gain", last; with α set, it moves every vector
// by exactly |α| along the paper block's normalised mixture.
func TestGainBlockOfPaper(t *testing.T) {
	const rows, hidden = 8, 10
	paper, _ := New(Config{Hidden: hidden, Experts: 3, Router: RouterPaper, Mix: MixAll}, 9)
	gain, err := New(Config{Hidden: hidden, Experts: 3, Router: RouterPaper, Mix: MixAll, Output: OutputGain}, 9)
	if err != nil {
		t.Fatal(err)
	}
	if len(gain.Params()) != len(paper.Params())+1 {
		t.Fatalf("%d tensors, the paper block %d", len(gain.Params()), len(paper.Params()))
	}
	for i, p := range paper.Params() {
		if q := gain.Params()[i]; q.Name != p.Name || !slices.Equal(q.Data, p.Data) {
			t.Errorf("tensor %d: %s differs from the paper block's %s", i, q.Name, p.Name)
		}
	}
	last := gain.Params()[len(gain.Params())-1]
	if last.Name != "gain" || !slices.Equal(last.Shape, []int{1}) || last.Frozen {
		t.Errorf("last tensor %s %v frozen=%v, want gain [1] trained", last.Name, last.Shape, last.Frozen)
	}
	const alpha = 0.25
	last.Data[0] = alpha
	h := normals(rand.New(rand.NewPCG(3, 3)), rows*hidden)
	want, got := make([]float32, len(h)), make([]float32, len(h))
	paper.Forward(want, h, rows, Eval, nil)
	gain.Forward(got, h, rows, Eval, nil)
	for r := range rows {
		var moved float64
		for i := r * hidden; i < (r+1)*hidden; i++ {
			d := float64(got[i] - h[i])
			moved += d * d
			if diff := math.Abs(float64(got[i]-h[i]) - alpha*float64(want[i]-h[i])); diff > 1e-6 {
				t.Fatalf("row %d: out − h = %v, α·(paper out − h) = %v", r, got[i]-h[i], alpha*(want[i]-h[i]))
			}
		}
		if math.Abs(math.Sqrt(moved)-alpha) > 1e-6 {
			t.Errorf("row %d moved by %v, want |α| = %v", r, math.Sqrt(moved), alpha)
		}
	}
}

// TestGainHeadFile: a gain head round-trips through its file; the file's config names the
// output, a paper head's config does not (so its bytes and digest are those of the
// versions before the gain), and a file whose tensors do not match its output is refused
// by name.
func TestGainHeadFile(t *testing.T) {
	cfg := Config{Hidden: 8, Experts: 2, Router: RouterLearned, Mix: MixTop1, BalanceCoef: 0.01, Output: OutputGain}
	b, _ := New(cfg, 4)
	b.gain.Data[0] = 0.125
	var buf bytes.Buffer
	if err := b.Save(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Read(HeadFile, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	sameBlock(t, got, b)
	if got.Gain() != 0.125 || got.Digest() != b.Digest() {
		t.Errorf("read gain %v, digest equal %v", got.Gain(), got.Digest() == b.Digest())
	}
	if js, _ := MarshalConfig(cfg); !strings.Contains(string(js), `"output": "gain"`) {
		t.Errorf("gain config %s does not name its output", js)
	}
	if js, _ := MarshalConfig(DefaultConfig(8)); strings.Contains(string(js), "output") {
		t.Errorf("paper config %s names an output", js)
	}

	paperCfg := cfg
	paperCfg.Output = ""
	paper, _ := New(paperCfg, 4)
	file := func(c Config, ts []*weights.Tensor) []byte {
		js, _ := MarshalConfig(c)
		var w bytes.Buffer
		if err := weights.WriteSafetensors(&w, ts, map[string]string{metaFormat: headFormat, metaConfig: string(js)}); err != nil {
			t.Fatal(err)
		}
		return w.Bytes()
	}
	tensorsOf := func(blk *Block) []*weights.Tensor {
		var ts []*weights.Tensor
		for _, p := range blk.Params() {
			ts = append(ts, &weights.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Data})
		}
		return ts
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"gain config, paper tensors", file(cfg, tensorsOf(paper)), "gain: not found"},
		{"paper config, gain tensors", file(paperCfg, tensorsOf(b)), "tensor gain: not part of"},
		{"unknown output", bytes.Replace(buf.Bytes(), []byte(`"output\": \"gain\"`), []byte(`"output\": \"gate\"`), 1), "field output"},
	} {
		if _, err := Read(HeadFile, tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// TestBlockValuesGain: blockValues counts α too.
func TestBlockValuesGain(t *testing.T) {
	cfg := ProductConfig(384)
	n := 0
	for _, p := range newBlock(cfg).params {
		n += len(p.Data)
	}
	if got, ok := blockValues(cfg, n); !ok || got != n {
		t.Errorf("blockValues = %d, %v; newBlock holds %d", got, ok, n)
	}
}

// TestGainNoAllocations: a gain block's training step allocates nothing after the first.
func TestGainNoAllocations(t *testing.T) {
	const rows, hidden = 64, 384
	b, _ := New(ProductConfig(hidden), 1)
	b.gain.Data[0] = 0.1
	rng := rand.New(rand.NewPCG(1, 2))
	h, dout := normals(rng, rows*hidden), normals(rng, rows*hidden)
	out, dh := make([]float32, rows*hidden), make([]float32, rows*hidden)
	step := func() {
		b.Forward(out, h, rows, Train, rng)
		b.Backward(dh, dout, 1)
	}
	step()
	if n := testing.AllocsPerRun(3, step); n != 0 {
		t.Errorf("%v allocations per forward+backward", n)
	}
}
