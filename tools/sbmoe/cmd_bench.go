package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/f32"
)

// benchText is tokenized and repeated to fill each benchmark sequence; the encoder's
// cost depends on the sequence length only, not on which tokens it holds.
const benchText = "Dense retrieval encodes queries and documents into vectors with a transformer " +
	"and ranks documents by the dot product of their vectors with the query vector. " +
	"A mixture of experts after the last layer routes each embedding to a specialist. "

// benchResult is one line of --json output; tools/reference/bench_peers.py prints the
// same fields for the peers, so one report can compare them.
type benchResult struct {
	Peer       string  `json:"peer"`
	SeqLen     int     `json:"seq_len"`
	Batch      int     `json:"batch"`
	Threads    int     `json:"threads"`
	DocsPerSec float64 `json:"docs_per_sec"` // from the median batch time
	Batches    int     `json:"iterations"`
	// SecondsPerBatchMedian and SecondsPerBatchMin are over the measured batches.
	SecondsPerBatchMedian float64 `json:"seconds_per_batch_median"`
	SecondsPerBatchMin    float64 `json:"seconds_per_batch_min"`
	Kernels               string  `json:"kernels"`
	// Dtype is the encoder's weights, as bench_peers.py names them: float32 or int8.
	Dtype string `json:"dtype"`
}

func kernelImpl() string { return f32.Kernels() }

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench", "[flags]",
		"Measures encoder throughput in documents per second: batches of --batch sequences of\n"+
			"exactly L tokens each (for every L in --seq), forward pass and pooling, after one\n"+
			"warm-up batch, repeated for at least --seconds; the median batch time counts.\n"+
			"`make bench` runs this beside PyTorch and ONNX Runtime on the same machine and\n"+
			"reports the ratios. --weights int8 times the int8 encoder.",
		"  sbmoe bench\n  sbmoe bench --seq 128,256,512 --threads 1 --json\n  sbmoe bench --weights int8", stderr)
	model := fs.String("model", defaultModelDir(), "model folder (Hugging Face layout)")
	seqs := fs.String("seq", "128,512", "comma-separated sequence lengths in tokens ([CLS] and [SEP] included)")
	batch := fs.Int("batch", 32, "sequences per forward pass")
	threads := fs.Int("threads", 2, "encoder threads")
	seconds := fs.Float64("seconds", 5, "minimum measured time per length")
	asJSON := fs.Bool("json", false, "print one JSON object per length")
	weights := weightsFlag(fs)
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	if err := checkWeights(*weights); err != nil {
		return usageError(stderr, "bench")("%v", err)
	}
	var lengths []int
	for _, s := range strings.Split(*seqs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			fmt.Fprintf(stderr, "sbmoe bench: --seq: %q is not a length of 2 or more tokens\n", s)
			return 2
		}
		lengths = append(lengths, n)
	}
	m, err := loadEncoder(*model, *threads, *weights)
	if err != nil {
		return fail(stderr, "bench", err)
	}
	dtype, kernels := "float32", f32.Kernels()
	if m.Int8() {
		dtype, kernels = "int8", bert.Int8Kernels()
	}
	filler := m.Tokenizer.Encode(benchText, 0)
	filler = filler[1 : len(filler)-1]
	for _, n := range lengths {
		if n > m.Config.MaxPositions {
			return fail(stderr, "bench", fmt.Errorf("--seq %d exceeds the model's %d positions", n, m.Config.MaxPositions))
		}
		seq := make([]int32, n)
		seq[0], seq[n-1] = m.Tokenizer.CLSID(), m.Tokenizer.SEPID()
		for i := 1; i < n-1; i++ {
			seq[i] = filler[(i-1)%len(filler)]
		}
		group := make([][]int32, *batch)
		for i := range group {
			group[i] = seq
		}
		m.EncodeIDs(group, *batch, nil)
		var times []float64
		start := time.Now()
		for time.Since(start).Seconds() < *seconds || len(times) < 3 {
			t0 := time.Now()
			m.EncodeIDs(group, *batch, nil)
			times = append(times, time.Since(t0).Seconds())
		}
		slices.Sort(times)
		median := times[len(times)/2]
		r := benchResult{Peer: "sbmoe", SeqLen: n, Batch: *batch, Threads: *threads,
			DocsPerSec: float64(*batch) / median, Batches: len(times), SecondsPerBatchMedian: median,
			SecondsPerBatchMin: times[0], Kernels: kernels, Dtype: dtype}
		if *asJSON {
			b, _ := json.Marshal(r)
			fmt.Fprintln(stdout, string(b))
		} else {
			fmt.Fprintf(stdout, "seq %4d  batch %d  threads %d  %8.1f docs/s  (%s, %s kernels)\n", n, *batch, *threads, r.DocsPerSec, dtype, r.Kernels)
		}
	}
	return 0
}
