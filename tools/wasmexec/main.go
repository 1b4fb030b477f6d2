// Command wasmexec runs a GOOS=wasip1 WebAssembly program under wazero with the host's
// file system, working directory, arguments and environment. It is the -exec program
// that lets `go test` run a package's tests inside the WebAssembly build:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(pwd)/bin/wasmexec" ./core/internal/kernel/
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "usage: wasmexec program.wasm [args...]\n\nRuns a wasip1 program under wazero with the host file system mounted at /.")
		return 2
	}
	ctx := context.Background()
	wasm, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "wasmexec: %v\n", err)
		return 1
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "wasmexec: %v\n", err)
		return 1
	}
	cfg := wazero.NewModuleConfig().
		WithArgs(args...).
		WithStdin(stdin).WithStdout(stdout).WithStderr(stderr).
		WithFSConfig(wazero.NewFSConfig().WithDirMount("/", "/")).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(rand.Reader).
		WithEnv("PWD", cwd)
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "PWD" {
			cfg = cfg.WithEnv(k, v)
		}
	}
	_, err = rt.InstantiateWithConfig(ctx, wasm, cfg)
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return int(exit.ExitCode())
	}
	if err != nil {
		fmt.Fprintf(stderr, "wasmexec: %v\n", err)
		return 1
	}
	return 0
}
