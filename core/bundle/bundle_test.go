package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/lexical"
	"github.com/sbmoe/sbmoe/core/retriever"
)

// tinyDir is a random 2-layer BERT written by transformers (testdata/README.md).
const tinyDir = "../../testdata/embeddings/tiny"

var testDocs = []retriever.Document{
	{ID: "d1", Title: "with that", Text: "from were this"}, {ID: "d2", Title: "they which", Text: "have first also"},
	{ID: "d3", Text: "their been when after"}, {ID: "d4", Title: "there", Text: "into time would what"},
	{ID: "d5", Title: "about", Text: "said over then other more like"},
}

// build assembles a bundle in memory as sbmoe bundle lays it out: the tiny encoder as
// model/, its index of testDocs, docs.json and the manifest.
func build(t testing.TB) fstest.MapFS {
	t.Helper()
	files := fstest.MapFS{}
	err := filepath.WalkDir(tinyDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "golden.json") || strings.HasSuffix(p, "pytorch_model.bin") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tinyDir, p)
		files[ModelDir+"/"+filepath.ToSlash(rel)] = &fstest.MapFile{Data: b}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := fs.Sub(files, ModelDir)
	r, err := retriever.Open(sub, retriever.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := r.Index(context.Background(), testDocs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	ix.WriteTo(&buf)
	files[IndexFile] = &fstest.MapFile{Data: slices.Clone(buf.Bytes())}
	var docs []Doc
	for _, d := range testDocs {
		docs = append(docs, Doc{ID: d.ID, Title: d.Title, Snippet: d.Text})
	}
	raw, _ := json.Marshal(docs)
	files[DocsFile] = &fstest.MapFile{Data: raw}
	ids, texts := make([]string, len(testDocs)), make([]string, len(testDocs))
	for i, d := range testDocs {
		ids[i], texts[i] = d.ID, d.Title+" "+d.Text
	}
	lex, err := lexical.Build(ids, texts)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	lex.WriteTo(&buf)
	files[LexicalFile] = &fstest.MapFile{Data: slices.Clone(buf.Bytes())}
	seal(t, files, r.Fingerprint())
	return files
}

// seal writes the manifest of files.
func seal(t testing.TB, files fstest.MapFS, fingerprint string) {
	t.Helper()
	delete(files, ManifestFile)
	m := Manifest{Format: Format, Version: Version, Fingerprint: fingerprint, Dim: 32, Documents: len(testDocs), Weights: "fp32"}
	if _, ok := files[ModelDir+"/"+bert.Int8WeightsFile]; ok {
		m.Weights = "int8"
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		m.Files = append(m.Files, FileOf(p, files[p].Data))
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	files[ManifestFile] = &fstest.MapFile{Data: raw}
}

// TestOpenAndSearch opens a bundle in two steps, as a page does: by keywords first, then
// with the model, when search fuses both rankings; a bundle without lexical.idx is dense.
func TestOpenAndSearch(t *testing.T) {
	ctx := context.Background()
	files := build(t)
	lexOnly := fstest.MapFS{ManifestFile: files[ManifestFile], DocsFile: files[DocsFile], LexicalFile: files[LexicalFile]}
	b, err := OpenLexical(lexOnly, Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.Mode() != ModeLexical {
		t.Fatalf("mode %s before the model", b.Mode())
	}
	hits, err := b.Search(ctx, "from were", 3)
	if err != nil || len(hits) == 0 || hits[0].ID != "d1" {
		t.Fatalf("keyword search: %v, %v", hits, err)
	}
	if err := b.LoadModel(files, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	if b.Mode() != ModeHybrid {
		t.Fatalf("mode %s with the model", b.Mode())
	}
	hits, err = b.Search(ctx, "with that", 3)
	if err != nil {
		t.Fatal(err)
	}
	dense, _ := b.Retriever.Search(ctx, b.Index, []string{"with that"}, 5)
	var di []lexical.Ranked
	for _, h := range dense[0] {
		di = append(di, lexical.Ranked{Index: h.Index, Score: h.Score})
	}
	var li []lexical.Ranked
	for _, h := range b.Lexical.Search("with that", 100) {
		li = append(li, lexical.Ranked{Index: h.Index, Score: h.Score})
	}
	fused := lexical.Combine(3, di, li)
	for i, h := range hits {
		if h.ID != b.Docs[fused[i].Index].ID || h.Score != float32(fused[i].Score) {
			t.Errorf("hybrid hit %d: %+v, want %s", i, h, b.Docs[fused[i].Index].ID)
		}
	}

	delete(files, LexicalFile)
	seal(t, files, fingerprintOf(t, files))
	b, err = Open(files, Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	hits, err = b.Search(ctx, "with that", 3)
	if err != nil || b.Mode() != ModeDense {
		t.Fatal(err, b.Mode())
	}
	want, _ := b.Retriever.Search(ctx, b.Index, []string{"with that"}, 3)
	if len(hits) != 3 {
		t.Fatalf("%d hits", len(hits))
	}
	for i, h := range hits {
		if h.ID != want[0][i].ID || h.Score != want[0][i].Score || h.Title != b.Docs[want[0][i].Index].Title {
			t.Errorf("hit %d: %+v, want %s %v", i, h, want[0][i].ID, want[0][i].Score)
		}
	}
	for _, tc := range []struct {
		q    string
		k    int
		want string
	}{
		{"", 3, "empty"}, {"   ", 3, "empty"}, {strings.Repeat("a", MaxQueryBytes+1), 3, "at most"},
		{"\xff\xfe", 3, "UTF-8"}, {"ok", 0, "k is 0"}, {"ok", MaxK + 1, "k is"},
	} {
		if _, err := b.Search(context.Background(), tc.q, tc.k); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("query %.20q, k %d: got %v, want %q", tc.q, tc.k, err, tc.want)
		}
	}
}

// TestOpenErrors damages a bundle one way at a time; each error names the file and field.
func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(t *testing.T, f fstest.MapFS)
		verify bool
		want   []string
	}{
		{"no manifest", func(t *testing.T, f fstest.MapFS) { delete(f, ManifestFile) }, false, []string{ManifestFile}},
		{"manifest not json", func(t *testing.T, f fstest.MapFS) { f[ManifestFile].Data = []byte("{") }, false, []string{ManifestFile}},
		{"unknown field", func(t *testing.T, f fstest.MapFS) { patchManifest(t, f, `"dim":32`, `"dim":32,"extra":1`) }, false, []string{ManifestFile, `"extra"`}},
		{"format", func(t *testing.T, f fstest.MapFS) { patchManifest(t, f, `"sbmoe-bundle"`, `"other"`) }, false, []string{"field format"}},
		{"path outside", func(t *testing.T, f fstest.MapFS) { patchManifest(t, f, `"docs.json"`, `"../docs.json"`) }, false, []string{"files[", "not a file inside"}},
		{"truncated index", func(t *testing.T, f fstest.MapFS) { f[IndexFile].Data = f[IndexFile].Data[:40] }, true, []string{IndexFile, "truncated"}},
		{"corrupt weights", func(t *testing.T, f fstest.MapFS) { f[ModelDir+"/model.safetensors"].Data[500] ^= 1 }, true, []string{"model/model.safetensors", "sha256"}},
		{"corrupt index, unverified", func(t *testing.T, f fstest.MapFS) {
			d := f[IndexFile].Data
			d[len(d)/2] ^= 0xff
		}, false, []string{IndexFile, "checksum"}},
		{"missing docs", func(t *testing.T, f fstest.MapFS) { delete(f, DocsFile) }, false, []string{DocsFile}},
		{"docs out of order", func(t *testing.T, f fstest.MapFS) {
			f[DocsFile].Data = []byte(`[{"id":"d2"},{"id":"d1"},{"id":"d3"},{"id":"d4"},{"id":"d5"}]`)
			seal(t, f, fingerprintOf(t, f))
		}, true, []string{DocsFile, `"d2"`}},
		{"another model's index", func(t *testing.T, f fstest.MapFS) {
			ix, _ := index.Read(bytes.NewReader(f[IndexFile].Data))
			ix.SetOrigin(index.Origin{Fingerprint: "sbmoe1-other", Model: "elsewhere"})
			var buf bytes.Buffer
			ix.WriteTo(&buf)
			f[IndexFile].Data = buf.Bytes()
			seal(t, f, fingerprintOf(t, f))
		}, true, []string{IndexFile, "sbmoe1-other", "elsewhere"}},
		{"manifest fingerprint", func(t *testing.T, f fstest.MapFS) { seal(t, f, "sbmoe1-wrong") }, true, []string{ManifestFile, "sbmoe1-wrong"}},
		{"corrupt lexical index", func(t *testing.T, f fstest.MapFS) {
			f[LexicalFile].Data[10] ^= 0xff
			seal(t, f, fingerprintOf(t, f))
		}, false, []string{LexicalFile, "checksum"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := build(t)
			tc.edit(t, files)
			_, err := Open(files, Options{Verify: tc.verify})
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
}

func patchManifest(t *testing.T, f fstest.MapFS, old, new string) {
	t.Helper()
	s := string(f[ManifestFile].Data)
	if !strings.Contains(s, old) {
		t.Fatalf("manifest has no %s", old)
	}
	f[ManifestFile].Data = []byte(strings.Replace(s, old, new, 1))
}

func fingerprintOf(t *testing.T, f fstest.MapFS) string {
	var m Manifest
	json.Unmarshal(f[ManifestFile].Data, &m)
	return m.Fingerprint
}

// TestLearnHead learns a query head from feedback, which changes queries only: the index
// stays valid (same fingerprint) and the chosen documents rise; export, import and reset.
func TestLearnHead(t *testing.T) {
	ctx := context.Background()
	b, err := Open(build(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	fp := b.Retriever.Fingerprint()
	feedback := []Feedback{{"with", "d3"}, {"they", "d5"}, {"time", "d1"}, {"said", "d2"}, {"with", "d3"}}
	// ranks is the sum over the feedback's queries of the rank of the document chosen.
	ranks := func() int {
		sum := 0
		for _, f := range feedback[:4] {
			hs, _ := b.Search(ctx, f.Query, 5)
			for i, h := range hs {
				if h.ID == f.DocID {
					sum += i
				}
			}
		}
		return sum
	}
	before := ranks()
	res, err := b.LearnHead(ctx, feedback, LearnOptions{Epochs: 40, LR: 0.01, Recipe: RecipePaper})
	if err != nil {
		t.Fatal(err)
	}
	if res.Train != 4 || b.Retriever.Head() == nil || b.Retriever.Fingerprint() != fp {
		t.Fatalf("learned from %d queries, head %v, fingerprint %s (was %s)", res.Train, b.Retriever.Head() != nil, b.Retriever.Fingerprint(), fp)
	}
	t.Logf("chosen documents' ranks sum to %d before learning, %d after; loss %.3f → %.3f", before, ranks(), res.History[0].Loss, res.History[len(res.History)-1].Loss)
	if ranks() >= before {
		t.Errorf("learning did not help: ranks %d → %d", before, ranks())
	}
	after, _ := b.Search(ctx, "with", 5)
	head, err := b.ExportHead()
	if err != nil || head == nil {
		t.Fatal(err)
	}
	again, _ := Open(build(t), Options{})
	if err := again.ImportHead(head); err != nil {
		t.Fatal(err)
	}
	if imported, _ := again.Search(ctx, "with", 5); imported[0] != after[0] {
		t.Errorf("imported head ranks %v first, the learned one %v", imported[0], after[0])
	}
	if err := again.ResetHead(); err != nil || again.Retriever.Head() != nil {
		t.Errorf("reset: %v", err)
	}
	if h, _ := again.ExportHead(); h != nil {
		t.Error("a bundle without a head exports one")
	}
	for _, tc := range []struct {
		fb   []Feedback
		opt  LearnOptions
		want string
	}{
		{[]Feedback{{"with", "d9"}}, LearnOptions{}, `no document "d9"`},
		{[]Feedback{{"with", "d1"}, {"with", "d2"}}, LearnOptions{}, "1 distinct queries"},
		{[]Feedback{{"", "d1"}, {"x", "d2"}}, LearnOptions{}, "empty"},
		{feedback, LearnOptions{Router: "magic"}, `router "magic"`},
	} {
		_, err := again.LearnHead(ctx, tc.fb, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.fb, err, tc.want)
		}
	}
	if _, err := again.LearnHead(ctx, nil, LearnOptions{}); !errors.Is(err, ErrNoFeedback) {
		t.Errorf("no feedback: %v", err)
	}
}

func FuzzParseManifest(f *testing.F) {
	files := build(f)
	f.Add(files[ManifestFile].Data)
	f.Add([]byte(`{"format":"sbmoe-bundle","version":1,"weights":"int8","dim":1,"files":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		for _, file := range m.Files {
			if !fs.ValidPath(file.Path) || file.Size < 0 || file.Size > MaxFileSize {
				t.Fatalf("accepted %+v", file)
			}
		}
	})
}
