package edge

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sbmoe/sbmoe/core/bundle"
)

func TestParts(t *testing.T) {
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	for _, c := range []struct{ size, want int }{{100, 1}, {36, 1}, {35, 2}, {10, 4}, {1, 36}} {
		parts := Parts(data, c.size)
		if len(parts) != c.want || !bytes.Equal(bytes.Join(parts, nil), data) {
			t.Errorf("size %d: %d parts %q, want %d that join to the data", c.size, len(parts), parts, c.want)
		}
		for _, p := range parts {
			if len(p) > c.size {
				t.Errorf("size %d: a part of %d bytes", c.size, len(p))
			}
		}
	}
	if got := partNames("model/w.bin", 3); strings.Join(got, " ") != "model/w.bin.part0 model/w.bin.part1 model/w.bin.part2" {
		t.Errorf("partNames: %q", got)
	}
}

// TestAssetsSplit writes the assets of a small fake bundle with parts of 10 bytes and
// reads them back; a damaged part is named.
func TestAssetsSplit(t *testing.T) {
	src := t.TempDir()
	files := map[string][]byte{
		bundle.IndexFile:         bytes.Repeat([]byte("i"), 25),
		bundle.DocsFile:          []byte(`[]`),
		"model/config.json":      []byte(`{"a": 1}`),
		"model/weights.bin":      bytes.Repeat([]byte("0123456789"), 3),
		"sbmoe.wasm":             []byte("browser runtime, not an asset"),
		bundle.IndexFile + ".br": []byte("a compressed copy, not listed"),
	}
	m := bundle.Manifest{Format: bundle.Format, Version: bundle.Version, Fingerprint: "sbmoe1-test", Dim: 1, Weights: "int8"}
	for _, p := range []string{bundle.DocsFile, bundle.IndexFile, "model/config.json", "model/weights.bin", "sbmoe.wasm"} {
		m.Files = append(m.Files, bundle.FileOf(p, files[p]))
	}
	for p, data := range files {
		if err := writeFile(filepath.Join(src, p), data); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := json.Marshal(m)
	dir := filepath.Join(t.TempDir(), "assets")
	plan, err := writeAssets(src, dir, m, raw, 10)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, f := range plan.Files {
		listed = append(listed, f.Path+":"+strings.Join(f.Parts, ","))
	}
	want := "docs.json:docs.json index.idx:index.idx.part0,index.idx.part1,index.idx.part2 manifest.json:manifest.json.part0,manifest.json.part1," +
		"manifest.json.part2,manifest.json.part3"
	if got := strings.Join(listed, " "); !strings.HasPrefix(got, want) || strings.Contains(got, "sbmoe.wasm") || strings.Contains(got, ".br") {
		t.Errorf("plan %s, want it to start %s and to leave out the runtime", got, want)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if info, _ := d.Info(); err == nil && !d.IsDir() && info.Size() > 10 && d.Name() != PlanFile {
			t.Errorf("%s is %d bytes, over the 10 asked for", p, info.Size())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := AssetsFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	for p, data := range files {
		got, err := fs.ReadFile(fsys, p)
		if _, isAsset := map[string]bool{"sbmoe.wasm": true, bundle.IndexFile + ".br": true}[p]; isAsset {
			if err == nil {
				t.Errorf("%s is among the assets", p)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s read back as %q, %v", p, got, err)
		}
	}
	part := filepath.Join(dir, "model", "weights.bin.part1")
	os.WriteFile(part, []byte("0123456789"[:9]), 0o644)
	if _, err := AssetsFS(dir); err == nil || !strings.Contains(err.Error(), "model/weights.bin: 29 bytes") {
		t.Errorf("a truncated part: %v, want an error naming model/weights.bin", err)
	}
}

func TestProcessCPU(t *testing.T) {
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	if got := ProcessCPU(os.Getpid()); got <= 0 || got > time.Hour {
		t.Errorf("this process's CPU time: %v", got)
	}
}

func TestPercentile(t *testing.T) {
	r := &LoadResult{}
	for i := 1; i <= 100; i++ {
		r.Answers = append(r.Answers, Answer{Latency: time.Duration(i) * time.Millisecond})
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 95: 95 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond} {
		if got := r.Percentile(p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
}
