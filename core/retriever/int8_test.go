package retriever

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/core/bert"
)

// int8Folder is the tiny encoder as an int8 folder (bert.WriteInt8Folder).
func int8Folder(t testing.TB) fstest.MapFS {
	t.Helper()
	files := fstest.MapFS{}
	err := bert.WriteInt8Folder(mapFS(t, tinyDir), func(name string, write func(io.Writer) error) error {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			return err
		}
		files[name] = &fstest.MapFile{Data: buf.Bytes()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestWeightsOption: Weights int8 quantises an fp32 folder as it opens, which gives the
// encoder of its int8 folder (same fingerprint, same vectors); the fingerprint tells
// int8 from fp32, so an index of one is refused by the other; fp32 refuses an int8
// folder, and an unknown value is an error.
func TestWeightsOption(t *testing.T) {
	ctx := context.Background()
	fp32, err := Open(mapFS(t, tinyDir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	quantised, err := Open(mapFS(t, tinyDir), Options{Weights: WeightsInt8})
	if err != nil {
		t.Fatal(err)
	}
	folder, err := Open(int8Folder(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fp32.Encoder().Int8() || !quantised.Encoder().Int8() || !folder.Encoder().Int8() {
		t.Fatalf("int8: fp32 %v, quantised %v, int8 folder %v", fp32.Encoder().Int8(), quantised.Encoder().Int8(), folder.Encoder().Int8())
	}
	if quantised.Fingerprint() == fp32.Fingerprint() {
		t.Fatalf("int8 and fp32 share the fingerprint %s", fp32.Fingerprint())
	}
	if quantised.Fingerprint() != folder.Fingerprint() {
		t.Fatalf("quantised on open %s, int8 folder %s", quantised.Fingerprint(), folder.Fingerprint())
	}
	a, err := quantised.EncodeDocuments(ctx, testDocs, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := folder.EncodeDocuments(ctx, testDocs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Errorf("document %d: quantised on open and int8 folder differ", i)
		}
	}
	ix, err := quantised.Index(ctx, testDocs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fp32.Search(ctx, ix, testQueries[:1], 2); err == nil || !strings.Contains(err.Error(), quantised.Fingerprint()) {
		t.Errorf("fp32 searched an int8 encoder's index: %v", err)
	}
	if _, err := folder.Search(ctx, ix, testQueries[:1], 2); err != nil {
		t.Errorf("the int8 folder refused the quantised encoder's index: %v", err)
	}
	if again, err := Open(int8Folder(t), Options{Weights: WeightsInt8}); err != nil || again.Fingerprint() != folder.Fingerprint() {
		t.Errorf("int8 folder with Weights int8: %v", err)
	}
	if _, err := Open(int8Folder(t), Options{Weights: WeightsFP32}); err == nil || !strings.Contains(err.Error(), "int8") {
		t.Errorf("fp32 of an int8 folder: %v", err)
	}
	if _, err := Open(mapFS(t, tinyDir), Options{Weights: "fp16"}); err == nil || !strings.Contains(err.Error(), `"fp16"`) {
		t.Errorf("weights fp16: %v", err)
	}
}
