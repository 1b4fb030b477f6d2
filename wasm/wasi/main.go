// Command wasi is the retriever built for GOOS=wasip1: it opens a model folder (a Hugging
// Face encoder, or a folder written by sbmoe train), encodes the texts given as arguments
// as queries and prints their token ids and vectors as JSON lines.
// Its test builds it for WebAssembly, runs it under wazero and compares the output with
// the native encoder's, so every change to core/ is checked for portability.
//
//	GOOS=wasip1 GOARCH=wasm go build -o encode.wasm ./wasm/wasi
//	wasmexec encode.wasm models/all-MiniLM-L6-v2 "a sentence"
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/sbmoe/sbmoe/core/retriever"
)

// result is one output line.
type result struct {
	Text    string    `json:"text"`
	IDs     []int32   `json:"ids"`
	Vector  []float32 `json:"vector"`
	Kernels string    `json:"kernels"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, "usage: wasi MODEL_DIR TEXT...")
		return 2
	}
	r, err := retriever.OpenDir(args[0], retriever.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "wasi: %v\n", err)
		return 1
	}
	texts := args[1:]
	vecs, err := r.EncodeQueries(context.Background(), texts)
	if err != nil {
		fmt.Fprintf(stderr, "wasi: %v\n", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	m := r.Encoder()
	for i, t := range texts {
		r := result{Text: t, IDs: m.Tokenizer.Encode(r.Text(retriever.Query, t, retriever.Document{}), m.Config.MaxSeqLength),
			Vector: vecs[i], Kernels: retriever.Kernels()}
		if err := enc.Encode(r); err != nil {
			fmt.Fprintf(stderr, "wasi: %v\n", err)
			return 1
		}
	}
	return 0
}
