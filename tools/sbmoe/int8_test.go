package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/core/index"
)

// TestWeightsInt8 runs the int8 encoder through the commands: sbmoe quantize writes an
// int8 folder, whose index has the fingerprint of --weights int8 over the fp32 folder
// and not the fp32 one; search refuses the other weights' index, naming --weights int8;
// eval --weights int8 reports it and --compare sets it beside the fp32 report.
func TestWeightsInt8(t *testing.T) {
	data := writeDataset(t)
	dir := t.TempDir()
	q := filepath.Join(dir, "tiny-int8")
	code, out, errOut := runCLI("quantize", "--model", tinyModel, "--out", q)
	if code != 0 || !strings.Contains(out, "int8 encoder") {
		t.Fatalf("quantize: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := runCLI("quantize", "--model", tinyModel, "--out", q); code != 1 || !strings.Contains(errOut, "not empty") {
		t.Errorf("quantize over a folder: exit %d, %s", code, errOut)
	}
	fingerprint := func(path string) string {
		ix, err := index.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return ix.Origin().Fingerprint
	}
	index8, indexQ, index32 := filepath.Join(dir, "w8.idx"), filepath.Join(dir, "q.idx"), filepath.Join(dir, "fp32.idx")
	for _, c := range [][]string{
		{"index", "--model", tinyModel, "--weights", "int8", "--corpus", data, "--out", index8, "--quiet"},
		{"index", "--model", q, "--corpus", data, "--out", indexQ, "--quiet"},
		{"index", "--model", tinyModel, "--corpus", data, "--out", index32, "--quiet"},
	} {
		if code, out, errOut := runCLI(c...); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", c, code, out, errOut)
		}
	}
	if fingerprint(index8) != fingerprint(indexQ) || fingerprint(index8) == fingerprint(index32) {
		t.Errorf("fingerprints: --weights int8 %s, quantised folder %s, fp32 %s", fingerprint(index8), fingerprint(indexQ), fingerprint(index32))
	}
	if code, out, errOut := runCLI("search", "--model", tinyModel, "--weights", "int8", "--index", indexQ, "hello"); code != 0 || !strings.Contains(out, "query: hello") {
		t.Errorf("search --weights int8 of the quantised folder's index: exit %d\n%s\n%s", code, out, errOut)
	}
	code, _, errOut = runCLI("search", "--model", tinyModel, "--index", index8, "hello")
	if code != 1 || !strings.Contains(errOut, "--weights int8") {
		t.Errorf("fp32 search of an int8 index: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCLI("search", "--model", q, "--weights", "fp32", "--index", indexQ, "hello"); code != 1 || !strings.Contains(errOut, "int8") {
		t.Errorf("--weights fp32 of an int8 folder: exit %d, %s", code, errOut)
	}
	base := filepath.Join(dir, "fp32.json")
	if code, _, errOut := runCLI("eval", "--model", tinyModel, "--quiet", "--out", base, data); code != 0 {
		t.Fatalf("eval: exit %d: %s", code, errOut)
	}
	code, out, errOut = runCLI("eval", "--model", tinyModel, "--weights", "int8", "--quiet", "--format", "json", data)
	var rep evalReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Weights != "int8" || !strings.HasPrefix(rep.Kernels, "int8 ") || rep.Fingerprint != fingerprint(index8) {
		t.Errorf("eval --weights int8: exit %d, report %+v, %s", code, rep, errOut)
	}
	code, out, errOut = runCLI("eval", "--model", tinyModel, "--weights", "int8", "--quiet", "--compare", base, data)
	if code != 0 || !strings.Contains(out, "NDCG@10 fp32 | NDCG@10 int8 | difference") || !strings.Contains(out, "Largest |difference|") {
		t.Errorf("eval --compare: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, args := range [][]string{
		{"index", "--weights", "int4", "--corpus", data, "--out", filepath.Join(dir, "x.idx")},
		{"eval", "--weights", "bf16", data}, {"bench", "--weights", "x"}, {"search", "--index", index8, "--weights", "fp16", "q"},
		{"bundle", "--weights", "fp16", "--corpus", data, "--out", filepath.Join(dir, "b")},
		{"eval", "--compare", base, "--format", "json", data}, {"quantize"}, {"eval", "--mode", "bm25", "--weights", "int8", data},
	} {
		if code, _, errOut := runCLI(args...); code != 2 || errOut == "" {
			t.Errorf("%q: exit %d (want 2), stderr %q", args, code, errOut)
		}
	}
}

// TestBundleWeights: sbmoe bundle writes the int8 encoder unless told fp32, says which in
// its manifest, and the bundle opens with the encoder it names. Pruning the vocabulary of
// an int8 bundle keeps the int8 rows of the tokens kept, so the documents' vectors are
// those of the unpruned int8 bundle, bit for bit.
func TestBundleWeights(t *testing.T) {
	data := writeDataset(t)
	rt := t.TempDir()
	for _, name := range []string{"sbmoe.wasm", "wasm_exec.js"} {
		os.WriteFile(filepath.Join(rt, name), []byte("stand-in"), 0o644)
	}
	var indexes []*index.Index
	var vocab []int
	for _, c := range []struct {
		flags []string
		want  string
		file  string
	}{
		{nil, "int8", "model/encoder/model.int8.safetensors"},
		{[]string{"--weights", "fp32"}, "fp32", "model/encoder/model.safetensors"},
		{[]string{"--weights", "int8", "--prune-vocab", "corpus"}, "int8", "model/encoder/model.int8.safetensors"},
	} {
		out := filepath.Join(t.TempDir(), "bundle")
		args := append([]string{"bundle", "--model", tinyModel, "--corpus", data, "--out", out, "--runtime", rt, "--quiet", "--compress=false"}, c.flags...)
		code, stdout, errOut := runCLI(args...)
		if code != 0 || !strings.Contains(stdout, c.want+" encoder") {
			t.Fatalf("%v: exit %d\n%s\n%s", c.flags, code, stdout, errOut)
		}
		b, err := bundle.Open(os.DirFS(out), bundle.Options{Verify: true})
		if err != nil {
			t.Fatalf("%v: %v", c.flags, err)
		}
		if b.Manifest.Weights != c.want || b.Retriever.Encoder().Int8() != (c.want == "int8") {
			t.Errorf("%v: manifest weights %s, int8 encoder %v", c.flags, b.Manifest.Weights, b.Retriever.Encoder().Int8())
		}
		if _, err := os.Stat(filepath.Join(out, c.file)); err != nil {
			t.Errorf("%v: %v", c.flags, err)
		}
		if hits, err := b.Search(t.Context(), "hello", 2); err != nil || len(hits) != 2 {
			t.Errorf("%v: search: %v, %v", c.flags, hits, err)
		}
		indexes, vocab = append(indexes, b.Index), append(vocab, b.Retriever.Encoder().Config.VocabSize)
	}
	if vocab[2] >= vocab[0] {
		t.Fatalf("--prune-vocab corpus kept %d of %d tokens", vocab[2], vocab[0])
	}
	whole, pruned := indexes[0], indexes[2]
	for i := range whole.Len() {
		if !slices.Equal(whole.Vector(i), pruned.Vector(i)) {
			t.Errorf("document %s: the pruned int8 bundle's vector differs from the whole one's", whole.ID(i))
		}
	}
}
