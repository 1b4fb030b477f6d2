package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/f32"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/core/train"
	"github.com/sbmoe/sbmoe/moe"
)

// benchTrainResult is one line of bench-train --json output;
// tools/reference/bench_train_peers.py prints the same fields for PyTorch.
type benchTrainResult struct {
	Peer    string `json:"peer"`
	SeqLen  int    `json:"seq_len"`
	Batch   int    `json:"batch"` // query–document pairs per step
	Threads int    `json:"threads"`
	MoE     string `json:"moe"` // the block's router, or "none"
	Experts int    `json:"experts"`
	// PairsPerSec is from the median step time.
	PairsPerSec float64 `json:"pairs_per_sec"`
	Steps       int     `json:"iterations"`
	// SecondsPerStepMedian and SecondsPerStepMin are over the measured steps.
	SecondsPerStepMedian float64 `json:"seconds_per_step_median"`
	SecondsPerStepMin    float64 `json:"seconds_per_step_min"`
	Kernels              string  `json:"kernels"`
}

func runBenchTrain(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench-train", "[flags]",
		"Measures training throughput in query–document pairs per second: one step of the\n"+
			"SB-MoE recipe on --batch pairs whose queries and documents are all exactly --seq\n"+
			"tokens: encoder forward over the 2·batch sequences, mean pooling, the SB-MoE block\n"+
			"(noisy top-1 gating), InfoNCE with in-batch negatives, the backward pass through\n"+
			"block and encoder, and an AdamW step (encoder lr 1e-6, head 1e-4). One warm-up\n"+
			"step, then at least --steps measured steps; the median step time counts.\n"+
			"tools/reference/bench_train_peers.py measures the same step in PyTorch.",
		"  sbmoe bench-train\n  sbmoe bench-train --batch 8 --seq 128 --json\n  sbmoe bench-train --moe none",
		stderr)
	model := fs.String("model", defaultModelDir(), "model folder (Hugging Face layout)")
	seq := fs.Int("seq", 256, "tokens of every query and document ([CLS] and [SEP] included)")
	batch := fs.Int("batch", train.DefaultBatchSize, "query–document pairs per step")
	threads := fs.Int("threads", 2, "encoder threads")
	steps := fs.Int("steps", 2, "minimum measured steps after the warm-up step")
	seconds := fs.Float64("seconds", 0, "minimum measured time")
	router := fs.String("moe", string(moe.RouterPaper), "head: paper (the authors' router), learned, or none (the encoder alone)")
	experts := fs.Int("experts", 6, "experts in the block")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	if *batch < 2 || *steps < 1 || *seq < 2 {
		fmt.Fprintln(stderr, "sbmoe bench-train: --batch must be at least 2 (in-batch negatives), --steps at least 1, --seq at least 2")
		return 2
	}
	m, err := loadEncoder(*model, *threads, retriever.WeightsFP32)
	if err != nil {
		return fail(stderr, "bench-train", err)
	}
	if *seq > m.Config.MaxPositions {
		return fail(stderr, "bench-train", fmt.Errorf("--seq %d exceeds the model's %d positions", *seq, m.Config.MaxPositions))
	}
	// The recipe: mean pooling, raw dot products.
	m.Config.Pooling, m.Config.Normalize = bert.PoolMean, false
	st, err := newBenchTrainStep(m, *router, *experts)
	if err != nil {
		return fail(stderr, "bench-train", err)
	}
	seqs := benchTrainSeqs(m, *batch, *seq)

	if err := st.run(seqs); err != nil { // warm-up: allocates every buffer
		return fail(stderr, "bench-train", err)
	}
	var times []float64
	start := time.Now()
	for len(times) < *steps || time.Since(start).Seconds() < *seconds {
		t0 := time.Now()
		if err := st.run(seqs); err != nil {
			return fail(stderr, "bench-train", err)
		}
		times = append(times, time.Since(t0).Seconds())
	}
	slices.Sort(times)
	median := times[len(times)/2]
	r := benchTrainResult{Peer: "sbmoe", SeqLen: *seq, Batch: *batch, Threads: *threads, MoE: *router,
		PairsPerSec: float64(*batch) / median, Steps: len(times), SecondsPerStepMedian: median,
		SecondsPerStepMin: times[0], Kernels: f32.Kernels()}
	if st.block != nil {
		r.Experts = *experts
	}
	if *asJSON {
		b, _ := json.Marshal(r)
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprintf(stdout, "seq %d  batch %d pairs  threads %d  moe %s  %.2f pairs/s  (%.2f s/step, %s kernels)\n",
			*seq, *batch, *threads, *router, r.PairsPerSec, median, r.Kernels)
	}
	return 0
}

// benchTrainSeqs returns batch queries then batch documents of exactly n tokens each:
// [CLS], a window of the tokenized benchText starting at a different offset per row (so
// the rows, and the experts they are routed to, differ), [SEP].
func benchTrainSeqs(m *bert.Model, batch, n int) [][]int32 {
	filler := m.Tokenizer.Encode(benchText, 0)
	filler = filler[1 : len(filler)-1]
	seqs := make([][]int32, 2*batch)
	for r := range seqs {
		s := make([]int32, n)
		s[0], s[n-1] = m.Tokenizer.CLSID(), m.Tokenizer.SEPID()
		for i := 1; i < n-1; i++ {
			s[i] = filler[(7*r+i-1)%len(filler)]
		}
		seqs[r] = s
	}
	return seqs
}

// benchTrainStep is one step of the recipe with its buffers, reused from step to step.
type benchTrainStep struct {
	model *bert.Model
	block *moe.Block // nil: the encoder alone
	grads *bert.Grads
	opt   *train.AdamW
	loss  *train.InfoNCE
	rng   *rand.Rand
	acts  *bert.Activations

	pooled, out, dout, dh []float32
	dpooled               [][]float32
}

func newBenchTrainStep(m *bert.Model, router string, experts int) (*benchTrainStep, error) {
	st := &benchTrainStep{model: m, grads: m.NewGrads(), rng: rand.New(rand.NewPCG(42, 0))}
	groups := []train.Group{{Name: "encoder", LR: 1e-6, WeightDecay: train.DefaultWeightDecay, Params: m.Params(st.grads)}}
	if router != "none" {
		cfg := moe.DefaultConfig(m.Config.HiddenSize)
		cfg.Router, cfg.Experts = moe.Router(router), experts
		if cfg.Router == moe.RouterLearned {
			cfg.BalanceCoef = 0.01
		}
		b, err := moe.New(cfg, 42)
		if err != nil {
			return nil, fmt.Errorf("--moe %s --experts %d: %w", router, experts, err)
		}
		st.block = b
		groups = append(groups, train.Group{Name: "head", LR: 1e-4, WeightDecay: train.DefaultWeightDecay, Params: b.Params()})
	}
	var err error
	if st.opt, err = train.NewAdamW(groups...); err != nil {
		return nil, err
	}
	if st.loss, err = train.NewInfoNCE(train.DefaultTemperature); err != nil {
		return nil, err
	}
	return st, nil
}

// run trains on seqs, the batch's queries followed by their documents.
func (st *benchTrainStep) run(seqs [][]int32) error {
	m, h := st.model, st.model.Config.HiddenSize
	rows := len(seqs)
	b := rows / 2
	if len(st.pooled) != rows*h {
		st.pooled, st.out = make([]float32, rows*h), make([]float32, rows*h)
		st.dout, st.dh = make([]float32, rows*h), make([]float32, rows*h)
		st.dpooled = make([][]float32, rows)
		for s := range st.dpooled {
			st.dpooled[s] = st.dh[s*h : (s+1)*h]
		}
	}
	st.acts = m.ForwardTrain(seqs, st.acts)
	for s, v := range st.acts.Pooled() {
		copy(st.pooled[s*h:], v)
	}
	out := st.pooled
	if st.block != nil {
		out = st.out
		st.block.Forward(out, st.pooled, rows, moe.Train, st.rng)
	}
	if _, err := st.loss.Forward(out[:b*h], out[b*h:], b, h); err != nil {
		return err
	}
	st.grads.Zero()
	clear(st.dout)
	st.loss.Backward(st.dout[:b*h], st.dout[b*h:])
	if st.block != nil {
		st.block.ZeroGrad()
		clear(st.dh)
		st.block.Backward(st.dh, st.dout, 1)
	} else {
		copy(st.dh, st.dout)
	}
	m.Backward(st.acts, st.dpooled, st.grads)
	st.opt.Step()
	m.SyncWeights()
	return nil
}
