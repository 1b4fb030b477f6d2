package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/core/bundle"
)

// MaxAssetBytes is Cloudflare's limit on one static asset file (25 MiB). A bundle file
// over it travels as parts of at most this size: FILE.part0, FILE.part1, ...
const MaxAssetBytes = 25 << 20

// PlanFile is edge.json in a worker's assets folder: the files worker.mjs fetches and
// hands to the Go module, with what it checks them against.
const PlanFile = "edge.json"

// Plan is edge.json.
type Plan struct {
	Format  string `json:"format"` // "sbmoe-edge"
	Version int    `json:"version"`
	// Fingerprint is the bundle's model fingerprint, which /health and every answer report.
	Fingerprint string `json:"fingerprint"`
	// PartBytes is the size of every part of a split file but its last.
	PartBytes int64      `json:"part_bytes"`
	Files     []PlanItem `json:"files"`
}

// PlanItem is one bundle file: its path in the bundle, its size and SHA-256 (the
// bundle's manifest's), and the asset files it is stored in, in order.
type PlanItem struct {
	Path   string   `json:"path"`
	Size   int64    `json:"size"`
	SHA256 string   `json:"sha256"`
	Parts  []string `json:"parts"`
}

// Parts cuts data into pieces of at most size bytes; data of size or less is one piece.
func Parts(data []byte, size int) [][]byte {
	if len(data) <= size {
		return [][]byte{data}
	}
	var out [][]byte
	for len(data) > 0 {
		n := min(size, len(data))
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

// partNames names the asset files of a bundle file stored in n parts.
func partNames(p string, n int) []string {
	if n == 1 {
		return []string{p}
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s.part%d", p, i)
	}
	return names
}

// ReadPlan reads edge.json from an assets folder.
func ReadPlan(assets fs.FS) (Plan, error) {
	raw, err := fs.ReadFile(assets, PlanFile)
	if err != nil {
		return Plan{}, err
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Plan{}, fmt.Errorf("%s: %w", PlanFile, err)
	}
	if p.Format != planFormat || p.Version != planVersion {
		return Plan{}, fmt.Errorf("%s: format %q version %d, want %q version %d", PlanFile, p.Format, p.Version, planFormat, planVersion)
	}
	return p, nil
}

const (
	planFormat  = "sbmoe-edge"
	planVersion = 1
)

// AssetsFS returns the bundle that the assets folder of a worker holds, as worker.mjs
// hands it to Go: every file of edge.json reassembled from its parts and checked against
// its size and SHA-256. The native server and the tests open it with bundle.Open.
func AssetsFS(dir string) (fs.FS, error) {
	assets := os.DirFS(dir)
	plan, err := ReadPlan(assets)
	if err != nil {
		return nil, fmt.Errorf("assets %s: %w", dir, err)
	}
	out := fstest.MapFS{}
	for _, f := range plan.Files {
		var buf bytes.Buffer
		for _, part := range f.Parts {
			r, err := assets.Open(part)
			if err != nil {
				return nil, fmt.Errorf("assets %s: %w", dir, err)
			}
			_, err = io.Copy(&buf, r)
			r.Close()
			if err != nil {
				return nil, fmt.Errorf("assets %s: %w", dir, err)
			}
		}
		got := bundle.FileOf(f.Path, buf.Bytes())
		if got.Size != f.Size || got.SHA256 != f.SHA256 {
			return nil, fmt.Errorf("assets %s: %s: %d bytes with sha256 %s, %s says %d bytes with %s", dir, f.Path, got.Size, got.SHA256, PlanFile, f.Size, f.SHA256)
		}
		out[f.Path] = &fstest.MapFile{Data: buf.Bytes()}
	}
	return out, nil
}

// writeAssets copies the files a worker needs from the bundle at src (its manifest, the
// model, the index and the documents; not the browser runtime or the .br/.gz copies) into
// dir, splitting any over partBytes (MaxAssetBytes), and writes edge.json. It returns the
// plan.
func writeAssets(src, dir string, m bundle.Manifest, manifestRaw []byte, partBytes int) (Plan, error) {
	plan := Plan{Format: planFormat, Version: planVersion, Fingerprint: m.Fingerprint, PartBytes: int64(partBytes)}
	byPath := map[string]bundle.File{}
	for _, f := range m.Files {
		byPath[f.Path] = f
	}
	paths := append([]string{bundle.ManifestFile}, m.Paths()...)
	slices.Sort(paths)
	for _, p := range paths {
		var data []byte
		var err error
		want, listed := byPath[p]
		if p == bundle.ManifestFile {
			data, want, listed = manifestRaw, bundle.FileOf(p, manifestRaw), true
		} else if data, err = os.ReadFile(filepath.Join(src, filepath.FromSlash(p))); err != nil {
			return Plan{}, err
		}
		if got := bundle.FileOf(p, data); !listed || got != want {
			return Plan{}, fmt.Errorf("%s: %d bytes with sha256 %s, the manifest says %d bytes with %s", p, got.Size, got.SHA256, want.Size, want.SHA256)
		}
		parts := Parts(data, partBytes)
		names := partNames(p, len(parts))
		for i, part := range parts {
			if err := writeFile(filepath.Join(dir, filepath.FromSlash(names[i])), part); err != nil {
				return Plan{}, err
			}
		}
		plan.Files = append(plan.Files, PlanItem{Path: p, Size: want.Size, SHA256: want.SHA256, Parts: names})
	}
	raw, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		return Plan{}, err
	}
	return plan, writeFile(filepath.Join(dir, PlanFile), append(raw, '\n'))
}

func writeFile(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// errNotWorker is returned for an output folder that is neither empty nor a worker folder.
var errNotWorker = errors.New("exists and is not a worker folder (no " + path.Join("assets", PlanFile) + "): choose an empty or new folder")
