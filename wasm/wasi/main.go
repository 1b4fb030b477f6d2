// Command wasi is the encoder built for GOOS=wasip1: it loads a model folder, encodes
// the texts given as arguments and prints their token ids and vectors as JSON lines.
// Its test builds it for WebAssembly, runs it under wazero and compares the output with
// the native encoder's, so every change to core/ is checked for portability.
//
//	GOOS=wasip1 GOARCH=wasm go build -o encode.wasm ./wasm/wasi
//	wasmexec encode.wasm models/all-MiniLM-L6-v2 "a sentence"
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/f32"
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
	m, err := bert.Load(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "wasi: %v\n", err)
		return 1
	}
	texts := args[1:]
	vecs := m.Encode(texts, bert.EncodeOptions{})
	enc := json.NewEncoder(stdout)
	for i, t := range texts {
		r := result{Text: t, IDs: m.Tokenizer.Encode(t, m.Config.MaxSeqLength), Vector: vecs[i], Kernels: f32.Kernels()}
		if err := enc.Encode(r); err != nil {
			fmt.Fprintf(stderr, "wasi: %v\n", err)
			return 1
		}
	}
	return 0
}
