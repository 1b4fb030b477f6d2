package main

import (
	"fmt"
	"io"
	"time"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
	"github.com/sbmoe/sbmoe/tools/internal/cli"
)

// maxK bounds --k: more results than this is a typo, not a query.
const maxK = 100_000

// openModel opens --model with the encoding flags every command shares, its encoder's
// weights as the folder stores them.
func openModel(dir string, threads, batch, maxLen int) (*retriever.Retriever, error) {
	return openModelWeights(dir, threads, batch, maxLen, "")
}

// openModelWeights is openModel with --weights: "" (as stored), "int8" or "fp32".
func openModelWeights(dir string, threads, batch, maxLen int, weights string) (*retriever.Retriever, error) {
	return cli.OpenModel(dir, retriever.Options{Threads: threads, BatchSize: batch, MaxQueryTokens: maxLen, MaxDocTokens: maxLen, Weights: weights})
}

// loadEncoder opens --model for the benchmarks, which time the encoder alone.
func loadEncoder(dir string, threads int, weights string) (*bert.Model, error) {
	r, err := openModelWeights(dir, threads, 0, 0, weights)
	if err != nil {
		return nil, err
	}
	return r.Encoder(), nil
}

// weightsFlag adds --weights, the encoder's weights, to a command that encodes.
func weightsFlag(fs *cli.Flags) *string {
	return fs.String("weights", "", "encoder weights: int8 (an fp32 model is quantised as it opens: int8 with one scale\n"+
		"per row, activations per token) or fp32; empty takes them as the model folder stores them\n"+
		"(sbmoe quantize writes an int8 folder). Not --int8, which is about the index's vectors")
}

// checkWeights reports a --weights value that is neither empty, int8 nor fp32.
func checkWeights(weights string) error {
	switch weights {
	case "", retriever.WeightsInt8, retriever.WeightsFP32:
		return nil
	}
	return fmt.Errorf("--weights must be int8 or fp32, not %q", weights)
}

// encoderWeights names r's encoder weights: "int8" or "fp32".
func encoderWeights(r *retriever.Retriever) string {
	if r.Encoder().Int8() {
		return retriever.WeightsInt8
	}
	return retriever.WeightsFP32
}

// modelName is how an index records the model that built it: the folder as given on the
// command line, and --weights int8 when the encoder was quantised as it opened (the
// fingerprint differs from the folder's own).
func modelName(model, weights string) string {
	if weights == retriever.WeightsInt8 {
		return model + " --weights int8"
	}
	return model
}

// writeIndex writes an index file atomically, recording the model as given on the
// command line for messages.
func writeIndex(path string, ix *index.Index, model string) error {
	o := ix.Origin()
	if len(model) <= 4096 {
		o.Model = model
	}
	ix.SetOrigin(o)
	if err := cli.MakeParent(path); err != nil {
		return err
	}
	err := atomicfile.Write(path, func(w io.Writer) error {
		_, err := ix.WriteTo(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("write index %s: %w", path, err)
	}
	return nil
}

// stopwatch prints how long a step took to w, for the user watching stderr.
func stopwatch(w io.Writer, what string) func() {
	start := time.Now()
	return func() { fmt.Fprintf(w, "%s in %s\n", what, time.Since(start).Round(time.Millisecond)) }
}
