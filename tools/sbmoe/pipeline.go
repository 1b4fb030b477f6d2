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

// openModel opens --model with the encoding flags every command shares.
func openModel(dir string, threads, batch, maxLen int) (*retriever.Retriever, error) {
	return cli.OpenModel(dir, retriever.Options{Threads: threads, BatchSize: batch, MaxQueryTokens: maxLen, MaxDocTokens: maxLen})
}

// loadEncoder opens --model for the benchmarks, which time the encoder alone.
func loadEncoder(dir string, threads int) (*bert.Model, error) {
	r, err := cli.OpenModel(dir, retriever.Options{Threads: threads})
	if err != nil {
		return nil, err
	}
	return r.Encoder(), nil
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
