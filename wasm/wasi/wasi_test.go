package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

var sentences = []string{
	"The quick brown fox jumps over the lazy dog.",
	"Vitamin D deficiency is associated with lower bone density in élderly patients — 骨密度.",
}

// TestWasip1MatchesNative builds this command for GOOS=wasip1 (with and without the
// SIMD experiment), runs it under wazero on the default model and checks that token ids
// are identical and vectors equal to the native encoder's within rounding.
func TestWasip1MatchesNative(t *testing.T) {
	if runtime.GOOS == "wasip1" || runtime.GOOS == "js" {
		t.Skip("this test drives the WebAssembly build from the host")
	}
	model, err := filepath.Abs(filepath.Join("..", "..", "models", "all-MiniLM-L6-v2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(model, "model.safetensors")); err != nil {
		t.Skipf("default model not found in %s: run `make model`", model)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the WebAssembly binary")
	}
	var native bytes.Buffer
	if code := run(append([]string{model}, sentences...), &native, os.Stderr); code != 0 {
		t.Fatalf("native run exited %d", code)
	}
	want := decodeResults(t, native.Bytes())
	for _, experiment := range []string{"simd", ""} {
		t.Run("GOEXPERIMENT="+experiment, func(t *testing.T) {
			wasm := filepath.Join(t.TempDir(), "encode.wasm")
			build := exec.Command(gobin, "build", "-o", wasm, ".")
			build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOEXPERIMENT="+experiment)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("build for wasip1: %v\n%s", err, out)
			}
			got := decodeResults(t, runWasm(t, wasm, append([]string{"encode.wasm", model}, sentences...)))
			if len(got) != len(want) {
				t.Fatalf("got %d results, want %d", len(got), len(want))
			}
			for i := range want {
				if !slices.Equal(got[i].IDs, want[i].IDs) {
					t.Errorf("%q: token ids differ:\nwasm   %v\nnative %v", sentences[i], got[i].IDs, want[i].IDs)
				}
				var worst float64
				for j := range want[i].Vector {
					worst = max(worst, math.Abs(float64(got[i].Vector[j]-want[i].Vector[j])))
				}
				t.Logf("%s kernels vs native %s: largest difference %.3g", got[i].Kernels, want[i].Kernels, worst)
				if worst > 1e-5 {
					t.Errorf("%q: vectors differ by up to %g", sentences[i], worst)
				}
			}
		})
	}
}

func runWasm(t *testing.T, path string, args []string) []byte {
	t.Helper()
	ctx := context.Background()
	bin, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	var stdout, stderr bytes.Buffer
	cfg := wazero.NewModuleConfig().WithArgs(args...).WithStdout(&stdout).WithStderr(&stderr).
		WithFSConfig(wazero.NewFSConfig().WithReadOnlyDirMount("/", "/")).WithSysWalltime().WithSysNanotime()
	if _, err := rt.InstantiateWithConfig(ctx, bin, cfg); err != nil && !strings.Contains(err.Error(), "exit_code(0)") {
		t.Fatalf("run under wazero: %v\n%s", err, stderr.String())
	}
	return stdout.Bytes()
}

func decodeResults(t *testing.T, b []byte) []result {
	t.Helper()
	var rs []result
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var r result
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("decode output: %v\n%s", err, b)
		}
		rs = append(rs, r)
	}
	return rs
}
