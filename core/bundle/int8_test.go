package bundle

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/retriever"
)

// buildInt8 is build with the tiny encoder as an int8 folder (bert.WriteInt8Folder, as
// sbmoe bundle --weights int8 writes it) and an index made by that int8 encoder.
func buildInt8(t testing.TB) fstest.MapFS {
	t.Helper()
	files := build(t)
	src, _ := fs.Sub(files, ModelDir)
	model := fstest.MapFS{}
	err := bert.WriteInt8Folder(src, func(name string, write func(io.Writer) error) error {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			return err
		}
		model[name] = &fstest.MapFile{Data: buf.Bytes()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range files {
		if strings.HasPrefix(p, ModelDir+"/") {
			delete(files, p)
		}
	}
	for name, f := range model {
		files[ModelDir+"/"+name] = f
	}
	r, err := retriever.Open(model, retriever.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Encoder().Int8() {
		t.Fatal("the int8 folder opened as fp32")
	}
	ix, err := r.Index(context.Background(), testDocs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	ix.WriteTo(&buf)
	files[IndexFile] = &fstest.MapFile{Data: slices.Clone(buf.Bytes())}
	seal(t, files, r.Fingerprint())
	return files
}

// TestOpenInt8 opens a bundle whose encoder is int8, as the browser and the edge worker
// do: it searches with the int8 encoder, exactly as the same encoder does natively, and
// its fingerprint is not the fp32 bundle's.
func TestOpenInt8(t *testing.T) {
	ctx := context.Background()
	files := buildInt8(t)
	b, err := Open(files, Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Weights != "int8" || !b.Retriever.Encoder().Int8() || b.Mode() != ModeHybrid {
		t.Fatalf("weights %q, int8 encoder %v, mode %s", b.Manifest.Weights, b.Retriever.Encoder().Int8(), b.Mode())
	}
	fp32, err := Open(build(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Fingerprint == fp32.Manifest.Fingerprint {
		t.Fatalf("int8 and fp32 bundles share the fingerprint %s", b.Manifest.Fingerprint)
	}
	// The fp32 folder quantised on open is the same int8 encoder as the folder written.
	sub, _ := fs.Sub(build(t), ModelDir)
	native, err := retriever.Open(sub, retriever.Options{Weights: retriever.WeightsInt8})
	if err != nil {
		t.Fatal(err)
	}
	if native.Fingerprint() != b.Manifest.Fingerprint {
		t.Fatalf("quantised on open: fingerprint %s, the int8 folder's %s", native.Fingerprint(), b.Manifest.Fingerprint)
	}
	for _, q := range []string{"with that", "said over", "time would"} {
		want, err := native.Search(ctx, b.Index, []string{q}, 5)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Retriever.Search(ctx, b.Index, []string{q}, 5)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[0], want[0]) {
			t.Errorf("%q: bundle %v, native int8 %v", q, got[0], want[0])
		}
		if hits, err := b.Search(ctx, q, 3); err != nil || len(hits) != 3 {
			t.Errorf("%q: %d hits, %v", q, len(hits), err)
		}
	}
	if nb, err := New(b.Docs, b.Retriever, b.Index); err != nil || nb.Manifest.Weights != "int8" {
		t.Errorf("New: weights %q, %v", nb.Manifest.Weights, err)
	}
}

// TestOpenWeightsMismatch: a manifest whose weights field is not what model/ holds is
// refused, naming the field.
func TestOpenWeightsMismatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		files    func(testing.TB) fstest.MapFS
		old, new string
	}{
		{"int8 model, fp32 manifest", buildInt8, `"weights":"int8"`, `"weights":"fp32"`},
		{"fp32 model, int8 manifest", build, `"weights":"fp32"`, `"weights":"int8"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := tc.files(t)
			patchManifest(t, files, tc.old, tc.new)
			_, err := Open(files, Options{})
			if err == nil || !strings.Contains(err.Error(), "field weights") || !strings.Contains(err.Error(), ManifestFile) {
				t.Fatalf("got %v, want an error naming %s's field weights", err, ManifestFile)
			}
		})
	}
}
