package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
	"github.com/sbmoe/sbmoe/tools/internal/edge"
)

const edgeUsage = `Usage: sbmoe edge build|serve|bench [flags]

Runs a bundle's search at the edge, as a Cloudflare Worker written in Go:
  sbmoe edge build   write a ready-to-deploy worker folder for a bundle
  sbmoe edge serve   run a worker folder in local workerd on 127.0.0.1 (or the bundle natively)
  sbmoe edge bench   measure a worker folder in workerd against the same bundle served natively

Run "sbmoe edge <subcommand> --help" for the flags.

Examples:
  sbmoe edge build --bundle out/godoc-bundle --out out/godoc-edge
  sbmoe edge serve out/godoc-edge
  sbmoe edge bench --out results/bench-edge.md out/godoc-edge
`

func runEdge(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "build":
			return runEdgeBuild(args[1:], stdout, stderr)
		case "serve":
			return runEdgeServe(args[1:], stdout, stderr)
		case "bench":
			return runEdgeBench(args[1:], stdout, stderr)
		case "-h", "-help", "--help", "help":
			fmt.Fprint(stdout, edgeUsage)
			return 0
		}
	}
	fmt.Fprint(stderr, "sbmoe edge: give a subcommand: build, serve or bench\n\n"+edgeUsage)
	return 2
}

func runEdgeBuild(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("edge build", "--bundle DIR --out DIR [flags]",
		"Writes a Cloudflare Worker folder that serves a bundle's search: the Go module (wasm/edge,\n"+
			"built here with the go command unless --module names one), its entry worker.mjs, Go's\n"+
			"wasm_exec.js, wrangler.toml (deploy with npx wrangler deploy), workerd.capnp (run with\n"+
			"workerd serve, or sbmoe edge serve) and the bundle's model, index and documents as\n"+
			"static assets, any file over 25 MiB split into parts. The bundle is checked first.\n\n"+
			"The worker answers GET /search?q=...&k=..., POST /search {\"query\", \"k\"} or {\"queries\", \"k\"}\n"+
			"and GET /health.",
		"sbmoe edge build --bundle out/godoc-bundle --out out/godoc-edge\n"+
			"sbmoe edge build --bundle site/search --out site/worker --name site-search", stderr)
	bundleDir := fs.String("bundle", "", "bundle folder (sbmoe bundle --out) (required)")
	out := fs.String("out", "", "worker folder to write (required); replaced as a whole when it holds a worker")
	name := fs.String("name", "sbmoe-search", "the worker's name in wrangler.toml")
	module := fs.String("module", "", "a built wasm/edge module (default: build it with go from the source tree in the current folder)")
	scalar := fs.Bool("scalar", false, "build the module without SIMD128 (the kernels' scalar twins)")
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	usageErr := usageError(stderr, "edge build")
	switch {
	case *bundleDir == "" || *out == "":
		return usageErr("--bundle and --out are required")
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	res, err := edge.Build(edge.Options{Bundle: *bundleDir, Out: *out, Name: *name, Module: *module, Scalar: *scalar})
	if err != nil {
		return fail(stderr, "edge build", err)
	}
	fmt.Fprintf(stdout, "wrote %s: module %.1f MB, %d bundle files in %.1f MB of assets (largest %.1f MB, limit 25 MiB), %s model %s\n",
		*out, mb(res.ModuleBytes), len(res.Plan.Files), mb(res.AssetBytes), mb(res.LargestAsset), res.Weights, res.Plan.Fingerprint)
	if len(res.Split) > 0 {
		fmt.Fprintf(stdout, "split into parts of at most 25 MiB: %s\n", strings.Join(res.Split, ", "))
	}
	fmt.Fprintf(stdout, "run it here: sbmoe edge serve %s; deploy it: cd %s && npx wrangler deploy\n", *out, *out)
	return 0
}

func runEdgeServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("edge serve", "[flags] DIR",
		"Runs a worker folder (sbmoe edge build --out) in local workerd, the Cloudflare Workers\n"+
			"runtime, on this machine, and waits until the worker has loaded its bundle. With\n"+
			"--native it serves the same bundle with the same handler as a native Go server instead,\n"+
			"the ceiling the worker is measured against. Stop it with Ctrl-C.\n\n"+
			"workerd comes from make edge-deps (bash tools/edge/install.sh: npm workerd into\n"+
			"out/edge-node), $SBMOE_WORKERD or PATH.",
		"sbmoe edge serve out/godoc-edge\n"+
			"sbmoe edge serve --addr 127.0.0.1:0 --native out/godoc-edge", stderr)
	addr := fs.String("addr", edge.DefaultAddr, "address to listen on (host:port; port 0 picks a free one)")
	native := fs.Bool("native", false, "serve the bundle natively instead of in workerd")
	workerd := fs.String("workerd", "", "the workerd binary (default: out/edge-node's, $SBMOE_WORKERD, or PATH)")
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return usageError(stderr, "edge serve")("give one worker folder to serve")
	}
	dir := fs.Arg(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *native {
		srv, err := edge.Native(filepath.Join(dir, edge.AssetsDir))
		if err != nil {
			return fail(stderr, "edge serve", err)
		}
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return fail(stderr, "edge serve", err)
		}
		fmt.Fprintf(stdout, "serving %s natively on http://%s/ (Ctrl-C stops)\n", dir, ln.Addr())
		hs := &http.Server{Handler: srv}
		go func() { <-ctx.Done(); hs.Close() }()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fail(stderr, "edge serve", err)
		}
		return 0
	}
	bin := *workerd
	if bin == "" {
		var err error
		if bin, err = edge.FindWorkerd(sourceRoots()...); err != nil {
			return fail(stderr, "edge serve", err)
		}
	}
	w, err := edge.Start(dir, edge.ServeOptions{Workerd: bin, Addr: *addr, Output: stderr})
	if err != nil {
		return fail(stderr, "edge serve", err)
	}
	fmt.Fprintf(stdout, "serving %s in workerd on %s/ (started in %v; try %s/search?q=hello; Ctrl-C stops)\n",
		dir, w.URL, w.FirstAnswer.Sub(w.Started).Round(1e6), w.URL)
	if err := w.Wait(ctx); err != nil && ctx.Err() == nil {
		return fail(stderr, "edge serve", err)
	}
	return 0
}

// sourceRoots are where make edge-deps may have put workerd: the current folder and the
// source tree above bin/sbmoe.
func sourceRoots() []string {
	roots := []string{"."}
	if exe, err := os.Executable(); err == nil {
		roots = append(roots, filepath.Dir(filepath.Dir(exe)))
	}
	return roots
}

func mb(n int64) float64 { return float64(n) / 1e6 }

func runEdgeBench(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("edge bench", "[flags] DIR",
		"Measures a worker folder (sbmoe edge build --out) in local workerd, then the same bundle\n"+
			"served natively by sbmoe edge serve --native, under the same load on 127.0.0.1: cold\n"+
			"start to the first answer, latency percentiles and requests per second at each\n"+
			"concurrency, the server's CPU time per request (from /proc), and the worker's memory\n"+
			"(Go runtime and WebAssembly memory, from /health) against the platform's 128 MB.\n"+
			"Writes a markdown report.",
		"sbmoe edge bench --queries ../shared/data/scifact/queries.jsonl --out results/bench-edge.md out/scifact-edge\n"+
			"sbmoe edge bench --requests 200 --concurrency 1,16 --no-native out/godoc-edge", stderr)
	queriesFile := fs.String("queries", "", "BEIR queries.jsonl, or a text file of one query per line (default: a few built-in queries)")
	maxQueries := fs.Int("max-queries", 200, "use at most this many queries, in turn")
	requests := fs.Int("requests", 400, "requests per concurrency level")
	levels := fs.String("concurrency", "1,4,16", "concurrency levels, comma-separated")
	k := fs.Int("k", 10, "results per query")
	cold := fs.Int("cold-runs", 3, "cold starts to measure (the report gives the median)")
	noNative := fs.Bool("no-native", false, "skip the native ceiling")
	out := fs.String("out", "", "write the report here (default: stdout)")
	workerd := fs.String("workerd", "", "the workerd binary (default: out/edge-node's, $SBMOE_WORKERD, or PATH)")
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	usageErr := usageError(stderr, "edge bench")
	if fs.NArg() != 1 {
		return usageErr("give one worker folder")
	}
	var conc []int
	for _, f := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return usageErr("--concurrency: %q is not a positive number", f)
		}
		conc = append(conc, n)
	}
	if *requests < 1 || *maxQueries < 1 {
		return usageErr("--requests and --max-queries must be positive")
	}
	queries, err := benchQueries(*queriesFile, *maxQueries)
	if err != nil {
		return fail(stderr, "edge bench", err)
	}
	bin := *workerd
	if bin == "" {
		if bin, err = edge.FindWorkerd(sourceRoots()...); err != nil {
			return fail(stderr, "edge bench", err)
		}
	}
	dir := fs.Arg(0)
	opt := edge.BenchOptions{Worker: dir, Workerd: bin, Queries: queries, K: *k, Requests: *requests, Concurrency: conc,
		ColdRuns: *cold, Log: stderr}
	if !*noNative {
		exe, err := os.Executable()
		if err != nil {
			return fail(stderr, "edge bench", err)
		}
		opt.Native = []string{exe, "edge", "serve", "--native", "--addr", "127.0.0.1:0", dir}
	}
	res, err := edge.RunBench(context.Background(), opt)
	if err != nil {
		return fail(stderr, "edge bench", err)
	}
	var w io.Writer = stdout
	var buf strings.Builder
	if *out != "" {
		w = &buf
	}
	res.Markdown(w, "sbmoe edge bench "+strings.Join(args, " "))
	if *out != "" {
		if err := atomicfile.Write(*out, func(w io.Writer) error { _, err := io.WriteString(w, buf.String()); return err }); err != nil {
			return fail(stderr, "edge bench", err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", *out)
	}
	return 0
}

// benchQueries reads the queries of a BEIR queries.jsonl or of a text file, one a line.
func benchQueries(file string, limit int) ([]string, error) {
	var out []string
	switch {
	case file == "":
		out = []string{"split a string around each comma", "read a file line by line", "decode JSON into a struct",
			"sort a slice of integers", "wait for all goroutines to finish", "vitamin D deficiency and bone loss",
			"a protein that regulates cell growth", "how do vaccines trigger immunity"}
	case strings.HasSuffix(file, ".jsonl"):
		qs, err := beir.LoadQueries(file)
		if err != nil {
			return nil, err
		}
		for _, q := range qs {
			out = append(out, q.Text)
		}
	default:
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				out = append(out, line)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no queries", file)
	}
	return out[:min(len(out), limit)], nil
}
