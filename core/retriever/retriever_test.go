package retriever

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/internal/readbound"
	"github.com/sbmoe/sbmoe/moe"
)

// tinyDir is a random 2-layer BERT written by transformers (testdata/README.md).
const tinyDir = "../../testdata/embeddings/tiny"

var testDocs = []Document{
	{ID: "d1", Title: "Split", Text: "Split slices s into all substrings separated by sep."},
	{ID: "d2", Title: "ReadFile", Text: "ReadFile READS the named file and returns the contents."},
	{ID: "d3", Text: "Ints sorts a slice of ints in increasing order."},
	{ID: "d4", Title: "Über", Text: "Straße ÆSIR Ünïcödé"},
}

var testQueries = []string{"Cut a STRING at commas", "read a file", "sort numbers", ""}

// mapFS copies a folder into memory, as a browser would hand fetched files over.
func mapFS(t testing.TB, dir string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		m[filepath.ToSlash(rel)] = &fstest.MapFile{Data: b}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// trainedFS is a trained folder in memory: the tiny encoder under encoder/, a head, and
// a manifest that lower-cases.
func trainedFS(t testing.TB, seed uint64, appliesTo string) (fstest.MapFS, *moe.Block) {
	t.Helper()
	files := fstest.MapFS{}
	for name, f := range mapFS(t, tinyDir) {
		files["encoder/"+name] = f
	}
	head, err := moe.New(moe.DefaultConfig(32), seed)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := head.Save(&buf); err != nil {
		t.Fatal(err)
	}
	files[moe.HeadFile] = &fstest.MapFile{Data: buf.Bytes()}
	m := NewManifest(true, true, "paper")
	m.HeadAppliesTo = appliesTo
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	files[ManifestFile] = &fstest.MapFile{Data: b}
	return files, head
}

func encodeAll(t *testing.T, r *Retriever) (docs, queries [][]float32) {
	t.Helper()
	ctx := context.Background()
	docs, err := r.EncodeDocuments(ctx, testDocs, nil)
	if err != nil {
		t.Fatal(err)
	}
	queries, err = r.EncodeQueries(ctx, testQueries)
	if err != nil {
		t.Fatal(err)
	}
	return docs, queries
}

func sameVectors(t *testing.T, what string, got, want [][]float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d vectors, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("%s: vector %d differs", what, i)
		}
	}
}

func TestOpenFSMatchesFolder(t *testing.T) {
	fromDir, err := OpenDir(tinyDir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fromFS, err := Open(mapFS(t, tinyDir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	d1, q1 := encodeAll(t, fromDir)
	d2, q2 := encodeAll(t, fromFS)
	sameVectors(t, "documents", d2, d1)
	sameVectors(t, "queries", q2, q1)
	if fromDir.Fingerprint() != fromFS.Fingerprint() {
		t.Errorf("fingerprints %s and %s differ", fromDir.Fingerprint(), fromFS.Fingerprint())
	}
	if fromDir.Head() != nil || fromDir.Manifest().Lowercase {
		t.Error("a plain encoder folder has a head or lower-cases")
	}
	// The same weights as pytorch_model.bin: the fingerprint does not depend on the format.
	files := mapFS(t, tinyDir)
	delete(files, "model.safetensors")
	fromBin, err := Open(files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fromBin.Fingerprint() != fromDir.Fingerprint() {
		t.Errorf("pytorch_model.bin gives fingerprint %s, model.safetensors %s", fromBin.Fingerprint(), fromDir.Fingerprint())
	}
}

// TestTrainedFolder opens a trained folder and checks each vector against the pieces:
// the encoder's pooled vector of the lower-cased text, through the head.
func TestTrainedFolder(t *testing.T) {
	for _, appliesTo := range []string{HeadBoth, HeadQueries} {
		files, head := trainedFS(t, 3, appliesTo)
		r, err := Open(files, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Head() == nil || !r.Manifest().Lowercase {
			t.Fatal("trained folder opened without its head or its lower-casing")
		}
		plain, err := OpenDir(tinyDir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var docTexts, queryTexts []string
		for _, d := range testDocs {
			docTexts = append(docTexts, strings.ToLower(strings.TrimSpace(d.Title+" "+d.Text)))
		}
		for _, q := range testQueries {
			queryTexts = append(queryTexts, strings.ToLower(q))
		}
		wantDocs, _ := plain.Pooled(ctx, Doc, docTexts, nil)
		wantQueries, _ := plain.Pooled(ctx, Query, queryTexts, nil)
		applyBlock(head, wantQueries)
		if appliesTo == HeadBoth {
			applyBlock(head, wantDocs)
		}
		gotDocs, gotQueries := encodeAll(t, r)
		sameVectors(t, appliesTo+": documents", gotDocs, wantDocs)
		sameVectors(t, appliesTo+": queries", gotQueries, wantQueries)
	}
}

// TestLegacyTrainedFolder opens what sbmoe train wrote before sbmoe.json: encoder/ and
// moe/ (moe_config.json and moe.safetensors), texts lower-cased.
func TestLegacyTrainedFolder(t *testing.T) {
	files, head := trainedFS(t, 5, HeadBoth)
	delete(files, ManifestFile)
	delete(files, moe.HeadFile)
	cfg, _ := moe.MarshalConfig(head.Config())
	var w bytes.Buffer
	if err := head.Save(&w); err != nil {
		t.Fatal(err)
	}
	files["moe/moe_config.json"] = &fstest.MapFile{Data: cfg}
	files["moe/moe.safetensors"] = &fstest.MapFile{Data: w.Bytes()} // the legacy reader ignores the metadata
	r, err := Open(files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Head() == nil || r.Head().Digest() != head.Digest() || !r.Manifest().Lowercase {
		t.Errorf("legacy folder: head %v, lowercase %v", r.Head() != nil, r.Manifest().Lowercase)
	}
}

func TestFingerprintAndIndexCheck(t *testing.T) {
	ctx := context.Background()
	filesA, _ := trainedFS(t, 1, HeadBoth)
	filesB, _ := trainedFS(t, 2, HeadBoth)
	filesQ, _ := trainedFS(t, 2, HeadQueries)
	a, err := Open(filesA, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Open(filesB, Options{})
	q, _ := Open(filesQ, Options{})
	plain, _ := OpenDir(tinyDir, Options{})
	short, _ := OpenDir(tinyDir, Options{MaxDocTokens: 8})
	fps := map[string]string{"a": a.Fingerprint(), "b": b.Fingerprint(), "plain": plain.Fingerprint(), "short": short.Fingerprint()}
	seen := map[string]string{}
	for name, fp := range fps {
		if other, dup := seen[fp]; dup {
			t.Errorf("%s and %s share fingerprint %s", name, other, fp)
		}
		seen[fp] = name
	}
	if q.Fingerprint() == plain.Fingerprint() {
		t.Error("a query-only head must keep the lower-casing in the fingerprint")
	}

	ix, err := a.Index(ctx, testDocs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ix.SetOrigin(index.Origin{Fingerprint: ix.Origin().Fingerprint, Model: "runs/a"})
	if _, err := a.Search(ctx, ix, testQueries, 2); err != nil {
		t.Fatalf("own index refused: %v", err)
	}
	_, err = b.Search(ctx, ix, testQueries, 2)
	if err == nil || !strings.Contains(err.Error(), a.Fingerprint()) || !strings.Contains(err.Error(), b.Fingerprint()) ||
		!strings.Contains(err.Error(), "runs/a") {
		t.Errorf("another model's index: got %v, want an error naming both fingerprints and runs/a", err)
	}
	var buf bytes.Buffer
	if _, err := ix.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := index.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CheckIndex(back); err != nil {
		t.Errorf("index read back: %v", err)
	}
	if err := a.CheckIndex(index.New(a.Dim(), index.Float32)); !errors.Is(err, ErrNoFingerprint) {
		t.Errorf("index without fingerprint: got %v, want %v", err, ErrNoFingerprint)
	}
	if _, err := a.Search(ctx, ix, testQueries, 0); err == nil {
		t.Error("k = 0 accepted")
	}
}

func TestSearchCancelled(t *testing.T) {
	r, err := OpenDir(tinyDir, Options{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Index(ctx, testDocs, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v, want %v", err, context.Canceled)
	}
}

// TestOpenErrors opens damaged folders; each error must name the file and, where it
// applies, the field.
func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(fstest.MapFS)
		want []string
	}{
		{"empty", func(f fstest.MapFS) { clear(f) }, []string{"not a model folder"}},
		{"missing head", func(f fstest.MapFS) { delete(f, moe.HeadFile) }, []string{moe.HeadFile}},
		{"corrupt head", func(f fstest.MapFS) { f[moe.HeadFile].Data = f[moe.HeadFile].Data[:100] }, []string{moe.HeadFile}},
		{"missing tokenizer", func(f fstest.MapFS) { delete(f, "encoder/tokenizer.json"); delete(f, "encoder/vocab.txt") },
			[]string{"encoder/", "tokenizer.json", "vocab.txt"}},
		{"missing weights", func(f fstest.MapFS) { delete(f, "encoder/model.safetensors"); delete(f, "encoder/pytorch_model.bin") },
			[]string{"encoder/", "model.safetensors"}},
		{"missing config", func(f fstest.MapFS) { delete(f, "encoder/config.json") }, []string{"encoder/", "config.json"}},
		{"bad manifest", func(f fstest.MapFS) {
			f[ManifestFile].Data = []byte(`{"format": "sbmoe-model", "version": 1, "encoder": "encoder", "lowercase": "yes"}`)
		},
			[]string{ManifestFile, "field lowercase"}},
		{"unknown field", func(f fstest.MapFS) {
			f[ManifestFile].Data = []byte(`{"format": "sbmoe-model", "version": 1, "encoder": "encoder", "lower": true}`)
		},
			[]string{ManifestFile, `"lower"`}},
		{"encoder outside", func(f fstest.MapFS) {
			f[ManifestFile].Data = []byte(`{"format": "sbmoe-model", "version": 1, "encoder": "../x"}`)
		},
			[]string{ManifestFile, "field encoder"}},
		{"version", func(f fstest.MapFS) {
			f[ManifestFile].Data = []byte(`{"format": "sbmoe-model", "version": 9, "encoder": "encoder"}`)
		},
			[]string{ManifestFile, "field version"}},
		{"head of another width", func(f fstest.MapFS) {
			h, _ := moe.New(moe.DefaultConfig(16), 1)
			var b bytes.Buffer
			h.Save(&b)
			f[moe.HeadFile].Data = b.Bytes()
		}, []string{moe.HeadFile, "hidden_size 16", "hidden_size 32"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, _ := trainedFS(t, 1, HeadBoth)
			tc.edit(files)
			_, err := Open(files, Options{})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := OpenDir(filepath.Join(t.TempDir(), "nope"), Options{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing folder: got %v", err)
	}
}

func FuzzParseManifest(f *testing.F) {
	good, _ := NewManifest(true, true, "paper").Marshal()
	f.Add(good)
	f.Add([]byte(`{"format": "sbmoe-model", "version": 1, "encoder": "."}`))
	f.Add([]byte(`{"format": "sbmoe-model", "version": 1, "encoder": "a/../../b", "head": "/etc/passwd"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Manifest
		var err error
		readbound.Check(t, len(b), manifestBound, func() { m, err = ParseManifest(b) })
		if err != nil {
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("accepted manifest does not marshal: %v", err)
		}
		if back, err := ParseManifest(out); err != nil || back != m {
			t.Fatalf("round trip %+v → %+v, %v", m, back, err)
		}
	})
}
