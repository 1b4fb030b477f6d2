// Package edge builds and runs the edge endpoint: Build writes a ready-to-deploy
// Cloudflare Worker folder for a bundle (the Go module of wasm/edge, worker.mjs, Go's
// wasm_exec.js, wrangler.toml, a workerd configuration and the bundle as static assets,
// split where a file is over the platform's 25 MiB), Start runs such a folder in local
// workerd on 127.0.0.1, Native serves the same bundle with the same handler natively, and
// Load drives either with concurrent requests and measures them.
//
// A worker folder:
//
//	wrangler.toml      for npx wrangler deploy (assets bound as ASSETS, run_worker_first)
//	workerd.capnp      for workerd serve (assets as a disk service bound as ASSETS)
//	worker.mjs         the entry module (tools/edge/worker.mjs)
//	wasm_exec.js       Go's, of the toolchain that built the module
//	sbmoe-edge.wasm    the Go module (wasm/edge)
//	assets/edge.json   Plan: the bundle's files, their sizes, SHA-256 and parts
//	assets/...         manifest.json, model/, index.idx, docs.json (FILE.partN when split)
package edge

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/sbmoe/sbmoe/core/bundle"
	edgefiles "github.com/sbmoe/sbmoe/tools/edge"
)

// CompatibilityDate is the Workers compatibility date the worker is written for; the
// pinned workerd (tools/edge/package-lock.json) supports it.
const CompatibilityDate = "2025-09-01"

// ModuleFile, WasmExecFile and EntryFile are the worker's code files.
const (
	ModuleFile   = "sbmoe-edge.wasm"
	WasmExecFile = "wasm_exec.js"
	EntryFile    = "worker.mjs"
	AssetsDir    = "assets"
	WorkerdFile  = "workerd.capnp"
	WranglerFile = "wrangler.toml"
)

// DefaultAddr is where a local worker listens unless told otherwise (wrangler dev's port).
const DefaultAddr = "127.0.0.1:8787"

// Options describe a worker folder to write.
type Options struct {
	Bundle string // the bundle folder (sbmoe bundle --out)
	Out    string // the worker folder; replaced as a whole when it holds a worker
	// Name is the worker's name in wrangler.toml; default sbmoe-search.
	Name string
	// Module is a built wasm/edge module, with Go's wasm_exec.js beside it or in
	// GOROOT; empty builds it with the go command from Source.
	Module string
	// Source is the sbmoe module's folder when Module is empty; default ".".
	Source string
	// Scalar builds the module without GOEXPERIMENT=simd (the kernels' scalar twins).
	Scalar bool
}

// Result says what Build wrote.
type Result struct {
	Plan Plan
	// ModuleBytes is the size of sbmoe-edge.wasm; AssetBytes the assets' total and
	// LargestAsset the largest one file among them, which the platform caps at 25 MiB.
	ModuleBytes, AssetBytes, LargestAsset int64
	Split                                 []string // bundle files stored in parts
	Weights                               string   // the bundle's encoder: fp32 or int8
}

// Build writes the worker folder for a bundle. The bundle is opened and checked (every
// file's size and SHA-256, the fingerprints) before anything is written, and the folder
// is written beside Out and swapped in at the end.
func Build(opt Options) (*Result, error) {
	if opt.Bundle == "" || opt.Out == "" {
		return nil, errors.New("edge build: a bundle and an output folder are needed")
	}
	if opt.Name == "" {
		opt.Name = "sbmoe-search"
	}
	if err := checkOut(opt.Out); err != nil {
		return nil, err
	}
	manifestRaw, err := os.ReadFile(filepath.Join(opt.Bundle, bundle.ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("edge build: %w (is %s a bundle? sbmoe bundle writes one)", err, opt.Bundle)
	}
	b, err := bundle.Open(os.DirFS(opt.Bundle), bundle.Options{Verify: true})
	if err != nil {
		return nil, fmt.Errorf("edge build: %s: %w", opt.Bundle, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(opt.Out)), "."+filepath.Base(opt.Out)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("edge build: %w", err)
	}
	defer os.RemoveAll(tmp)
	res := &Result{Weights: b.Manifest.Weights}
	if res.Plan, err = writeAssets(opt.Bundle, filepath.Join(tmp, AssetsDir), b.Manifest, manifestRaw, MaxAssetBytes); err != nil {
		return nil, fmt.Errorf("edge build: %w", err)
	}
	if err := writeCode(tmp, opt); err != nil {
		return nil, fmt.Errorf("edge build: %w", err)
	}
	cfg := Config{Name: opt.Name, CompatibilityDate: CompatibilityDate, Addr: DefaultAddr}
	for name, text := range map[string]func(Config) ([]byte, error){WranglerFile: Wrangler, WorkerdFile: Workerd} {
		data, err := text(cfg)
		if err == nil {
			err = writeFile(filepath.Join(tmp, name), data)
		}
		if err != nil {
			return nil, fmt.Errorf("edge build: %w", err)
		}
	}
	st, err := os.Stat(filepath.Join(tmp, ModuleFile))
	if err != nil {
		return nil, fmt.Errorf("edge build: %w", err)
	}
	res.ModuleBytes = st.Size()
	for _, f := range res.Plan.Files {
		if len(f.Parts) > 1 {
			res.Split = append(res.Split, f.Path)
		}
	}
	err = filepath.WalkDir(filepath.Join(tmp, AssetsDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		res.AssetBytes += info.Size()
		res.LargestAsset = max(res.LargestAsset, info.Size())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("edge build: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("edge build: %w", err)
	}
	if err := swap(tmp, opt.Out); err != nil {
		return nil, fmt.Errorf("edge build: %w", err)
	}
	return res, nil
}

// writeCode writes the module, Go's wasm_exec.js and worker.mjs into dir.
func writeCode(dir string, opt Options) error {
	wasmExec := ""
	if opt.Module == "" {
		if err := BuildModule(opt.Source, filepath.Join(dir, ModuleFile), opt.Scalar); err != nil {
			return err
		}
	} else {
		data, err := os.ReadFile(opt.Module)
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, ModuleFile), data); err != nil {
			return err
		}
		if beside := filepath.Join(filepath.Dir(opt.Module), WasmExecFile); fileExists(beside) {
			wasmExec = beside
		}
	}
	if wasmExec == "" {
		root, err := goEnv(opt.Source, "GOROOT")
		if err != nil {
			return err
		}
		wasmExec = filepath.Join(root, "lib", "wasm", WasmExecFile)
	}
	data, err := os.ReadFile(wasmExec)
	if err != nil {
		return fmt.Errorf("Go's %s: %w", WasmExecFile, err)
	}
	if err := writeFile(filepath.Join(dir, WasmExecFile), data); err != nil {
		return err
	}
	entry, err := edgefiles.Files.ReadFile(EntryFile)
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, EntryFile), entry)
}

// BuildModule compiles wasm/edge of the sbmoe module in src (default ".") to out:
// GOOS=js GOARCH=wasm, with GOEXPERIMENT=simd (SIMD128) unless scalar.
func BuildModule(src, out string, scalar bool) error {
	if src == "" {
		src = "."
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s", "-o", abs, "./wasm/edge")
	cmd.Dir = src
	experiment := "simd"
	if scalar {
		experiment = ""
	}
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOEXPERIMENT="+experiment)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the worker module (go build ./wasm/edge in %s; run it inside the sbmoe source tree or pass a built module): %v\n%s", src, err, out)
	}
	return nil
}

func goEnv(dir, name string) (string, error) {
	cmd := exec.Command("go", "env", name)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Config fills the templates of wrangler.toml and workerd.capnp.
type Config struct {
	Name              string
	CompatibilityDate string
	Addr              string // workerd's socket
	Debug             bool   // SBMOE_EDGE_DEBUG=1: GET /debug/panic panics, for the tests
}

// Wrangler is the text of wrangler.toml.
func Wrangler(c Config) ([]byte, error) { return fill("wrangler.toml.tmpl", c) }

// Workerd is the text of a workerd configuration.
func Workerd(c Config) ([]byte, error) { return fill("workerd.capnp.tmpl", c) }

func fill(name string, c Config) ([]byte, error) {
	t, err := template.ParseFS(edgefiles.Files, name)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// checkOut refuses to replace a folder that is neither empty nor a worker folder.
func checkOut(out string) error {
	entries, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("edge build: %w", err)
	}
	if !fileExists(filepath.Join(out, AssetsDir, PlanFile)) {
		return fmt.Errorf("edge build: %s %w", out, errNotWorker)
	}
	return nil
}

// swap puts the finished folder tmp in place of out, removing the worker out held.
func swap(tmp, out string) error {
	old := ""
	if _, err := os.Stat(out); err == nil {
		old = tmp + ".old"
		if err := os.Rename(out, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		if old != "" {
			os.Rename(old, out) // best effort: put the previous worker back
		}
		return err
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}
