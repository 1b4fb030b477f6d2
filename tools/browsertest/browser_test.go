package browsertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/tools/internal/bundler"
	"github.com/sbmoe/sbmoe/tools/internal/godoc"
)

var repo = filepath.Join("..", "..")

// corpusIDs are the Go standard library documents of the test bundle.
var corpusIDs = []string{"strings.Split", "strings.Join", "strings.Fields", "strings.ToUpper", "bufio.Scanner",
	"bufio.NewScanner", "os.ReadFile", "os.WriteFile", "os.Open", "encoding/json.Unmarshal", "encoding/json.Marshal",
	"sort.Ints", "sort.Slice", "slices.Sort", "sync.WaitGroup", "sync.Mutex", "time.Sleep", "time.Now", "net/http.Get",
	"net/http.ListenAndServe", "fmt.Printf", "fmt.Sprintf", "strconv.Atoi", "strconv.Itoa", "math.Sqrt", "math/rand.Intn",
	"path/filepath.Join", "path/filepath.Walk", "io.Copy", "io.ReadAll", "regexp.MustCompile", "errors.Is",
	"context.WithTimeout", "crypto/sha256.Sum256", "compress/gzip.NewReader", "bytes.Buffer", "unicode.IsUpper",
	"container/heap", "flag.String"}

var queries = []string{"split a string around each comma", "read a file line by line", "decode JSON into a struct",
	"sort a slice of integers", "wait for all goroutines to finish", "convert a number to text",
	"stop an operation after a deadline", "hash some bytes", "join path elements", "serve HTTP requests"}

// feedback is what a visitor taught: a query and the document they chose.
var feedback = []bundle.Feedback{
	{Query: "break text into words", DocID: "strings.Fields"}, {Query: "cut a line at commas", DocID: "strings.Split"},
	{Query: "load a whole file into memory", DocID: "os.ReadFile"}, {Query: "parse json", DocID: "encoding/json.Unmarshal"},
	{Query: "pause the program", DocID: "time.Sleep"}, {Query: "turn a string into an int", DocID: "strconv.Atoi"},
	{Query: "lock shared data", DocID: "sync.Mutex"}, {Query: "make a request to a web server", DocID: "net/http.Get"},
	{Query: "cut a line at commas", DocID: "strings.Fields"},
}

var learn = bundle.LearnOptions{Epochs: 8, Seed: 7}

// tools finds node, the npm packages and Chromium that tools/browser/install.sh installs,
// and fails with the command to run when they are missing: the browser tests never skip
// silently. SBMOE_SKIP_BROWSER=1 skips them, loudly.
func tools(t *testing.T) string {
	t.Helper()
	if os.Getenv("SBMOE_SKIP_BROWSER") == "1" {
		t.Skip("SBMOE_SKIP_BROWSER=1: the Chromium tests are skipped")
	}
	node, err := exec.LookPath("node")
	if err == nil {
		check := exec.Command(node, "-e", "import('./chromium.mjs').then(m => { m.requireTool('playwright-core'); console.log(m.findChromium()) })")
		check.Dir = filepath.Join(repo, "tools", "browser")
		var out bytes.Buffer
		check.Stdout, check.Stderr = &out, &out
		if err = check.Run(); err != nil {
			err = &exec.Error{Name: strings.TrimSpace(out.String()), Err: err}
		}
	}
	if err != nil {
		t.Fatalf("the Chromium tests need Debian chromium and npm playwright-core: run `bash tools/browser/install.sh` (as root, or it prints the sudo command), or set SBMOE_SKIP_BROWSER=1 to skip them (%v)", err)
	}
	return node
}

// runtimeDir builds the WebAssembly module as this test process was built (with the SIMD
// experiment or without) and Go's wasm_exec.js beside it.
func runtimeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(gobin, "build", "-trimpath", "-o", filepath.Join(dir, "sbmoe.wasm"), "./wasm/browser")
	build.Dir = repo
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOEXPERIMENT="+experiment())
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the WebAssembly module: %v\n%s", err, out)
	}
	js, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "wasm_exec.js"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// experiment is the GOEXPERIMENT value of this build's kernels: "simd" or none.
func experiment() string {
	if retriever.Kernels() == "scalar" || strings.HasPrefix(retriever.Kernels(), "scalar") {
		return ""
	}
	return "simd"
}

func corpus(t *testing.T) []beir.Doc {
	t.Helper()
	all, err := godoc.Corpus(runtime.GOROOT())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]godoc.Doc{}
	for _, d := range all {
		byID[d.ID] = d
	}
	var docs []beir.Doc
	for _, id := range corpusIDs {
		d, ok := byID[id]
		if !ok {
			t.Fatalf("GOROOT has no document %s", id)
		}
		docs = append(docs, beir.Doc{ID: d.ID, Title: d.Title, Text: d.Text})
	}
	return docs
}

// page is what test-bundle.mjs reports.
type page struct {
	Errors              []string               `json:"errors"`
	Info                map[string]any         `json:"info"`
	CrossOriginIsolated bool                   `json:"crossOriginIsolated"`
	Results             [][]bundle.Hit         `json:"results"`
	Shown               []string               `json:"shown"`
	Learn               *struct{ Head string } `json:"learn"`
	AfterLearn          [][]bundle.Hit         `json:"afterLearn"`
	Reload              map[string]any         `json:"reload"`
	AfterReload         [][]bundle.Hit         `json:"afterReload"`
	Reset               map[string]any         `json:"reset"`
	CorruptError        *string                `json:"corruptError"`
}

// TestBundleInChromium writes a bundle of the default model over forty documents of the Go
// standard library, opens its demo page in headless Chromium with and without
// cross-origin isolation, and checks: the same results as the native bundle reader (ids
// equal, scores within 1e-5), learning from feedback in the page gives the head the native
// trainer gives (bit for bit with the scalar kernels, within 1e-4 with SIMD), a reload finds
// the learned head and downloads nothing, a reset forgets it, and a damaged index.idx stops
// the page with an error that names it.
func TestBundleInChromium(t *testing.T) {
	node := tools(t)
	model := filepath.Join(repo, "models", "all-MiniLM-L6-v2")
	r, err := retriever.OpenDir(model, retriever.Options{})
	if err != nil {
		t.Fatalf("%v (run make model)", err)
	}
	out := filepath.Join(t.TempDir(), "bundle")
	if _, err := bundler.Write(context.Background(), r, corpus(t), bundler.Options{ModelDir: model, Out: out,
		Runtime: runtimeDir(t), Demo: true}); err != nil {
		t.Fatal(err)
	}

	native, err := bundle.Open(os.DirFS(out), bundle.Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]bundle.Hit, len(queries))
	for i, q := range queries {
		if want[i], err = native.Search(context.Background(), q, 10); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := native.LearnHead(context.Background(), feedback, learn); err != nil {
		t.Fatal(err)
	}
	nativeHead := native.Retriever.Head()
	wantLearned := make([][]bundle.Hit, len(queries))
	for i, q := range queries {
		wantLearned[i], _ = native.Search(context.Background(), q, 10)
	}

	corrupt := filepath.Join(t.TempDir(), "corrupt")
	copyDir(t, out, corrupt)
	ix := filepath.Join(corrupt, bundle.IndexFile)
	data, _ := os.ReadFile(ix)
	data[len(data)/2] ^= 0xff
	os.WriteFile(ix, data, 0o644)
	os.Remove(ix + ".br")
	os.Remove(ix + ".gz")

	spec := map[string]any{"queries": queries, "k": 10, "feedback": feedback, "learn": learn, "corrupt": corrupt}
	specFile := filepath.Join(t.TempDir(), "spec.json")
	raw, _ := json.Marshal(spec)
	os.WriteFile(specFile, raw, 0o644)

	for _, coi := range []bool{false, true} {
		args := []string{"test-bundle.mjs", "--bundle", out, "--spec", specFile, "--query", queries[0]}
		if coi {
			args = append(args, "--coi", "--screenshot", filepath.Join(t.TempDir(), "page.png"))
		}
		cmd := exec.Command(node, args...)
		cmd.Dir = filepath.Join(repo, "tools", "browser")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("coi=%v: %v\n%s", coi, err, stderr.String())
		}
		var got page
		if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
			t.Fatalf("coi=%v: %v\n%s", coi, err, stdout.String())
		}
		if len(got.Errors) > 0 {
			t.Errorf("coi=%v: the page logged errors: %q", coi, got.Errors)
		}
		if got.CrossOriginIsolated != coi {
			t.Errorf("coi=%v: page crossOriginIsolated %v", coi, got.CrossOriginIsolated)
		}
		sameHits(t, "search", got.Results, want, 1e-5)
		if len(got.Shown) == 0 || got.Shown[0] != want[0][0].Title {
			t.Errorf("coi=%v: the demo page shows %q first, want %q", coi, got.Shown, want[0][0].Title)
		}
		if got.Learn == nil {
			t.Fatalf("coi=%v: no learning result", coi)
		}
		headBytes, err := base64.StdEncoding.DecodeString(got.Learn.Head)
		if err != nil {
			t.Fatal(err)
		}
		pageHead, err := moe.Read("page head", headBytes)
		if err != nil {
			t.Fatal(err)
		}
		tol := 1e-4
		if experiment() == "" {
			tol = 0 // the scalar kernels: the page and the native trainer agree bit for bit
		}
		if d := maxDiff(pageHead, nativeHead); d > tol {
			t.Errorf("coi=%v: the head learned in the page differs from the native one by up to %g (tolerance %g)", coi, d, tol)
		} else {
			t.Logf("coi=%v: learned head within %g of the native one (kernels %v)", coi, d, got.Info["kernels"])
		}
		sameHits(t, "search after learning", got.AfterLearn, wantLearned, 1e-4)
		sameHits(t, "search after a reload", got.AfterReload, wantLearned, 1e-4)
		if got.Reload["learned"] != true || got.Reload["downloaded"].(float64) != 0 {
			t.Errorf("coi=%v: after a reload: %v (want the head learned and nothing downloaded)", coi, got.Reload)
		}
		if got.Reset["learned"] == true || got.Reset["feedback"].(float64) != 0 {
			t.Errorf("coi=%v: after a reset: %v", coi, got.Reset)
		}
		if got.CorruptError == nil || !strings.Contains(*got.CorruptError, "index.idx") {
			t.Errorf("coi=%v: the damaged bundle gave %v, want an error naming index.idx", coi, got.CorruptError)
		}
	}
}

func sameHits(t *testing.T, what string, got, want [][]bundle.Hit, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d result lists, want %d", what, len(got), len(want))
	}
	for i := range want {
		ids := func(hs []bundle.Hit) []string {
			var out []string
			for _, h := range hs {
				out = append(out, h.ID)
			}
			return out
		}
		if !slices.Equal(ids(got[i]), ids(want[i])) {
			t.Errorf("%s %q: page %v, native %v", what, queries[i], ids(got[i]), ids(want[i]))
			continue
		}
		for j := range want[i] {
			if d := math.Abs(float64(got[i][j].Score - want[i][j].Score)); d > tol {
				t.Errorf("%s %q, hit %d: score %v in the page, %v natively", what, queries[i], j, got[i][j].Score, want[i][j].Score)
			}
		}
	}
}

func maxDiff(a, b *moe.Block) float64 {
	var d float64
	for i, p := range a.Params() {
		for j, v := range p.Data {
			d = max(d, math.Abs(float64(v-b.Params()[i].Data[j])))
		}
	}
	return d
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestModuleHasSIMD128 counts the WebAssembly SIMD128 instructions in the module the page
// runs: the SIMD build's kernels must use them (per kernel function), the scalar build none.
func TestModuleHasSIMD128(t *testing.T) {
	objdump, err := exec.LookPath("wasm-objdump")
	if err != nil {
		t.Fatal("wasm-objdump (Debian package wabt) is needed: run `bash tools/browser/install.sh`")
	}
	counts := map[string]int{}
	for _, exp := range []string{"simd", ""} {
		wasm := filepath.Join(t.TempDir(), "sbmoe.wasm")
		build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", wasm, "./wasm/browser")
		build.Dir = repo
		build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOEXPERIMENT="+exp)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("GOEXPERIMENT=%s: %v\n%s", exp, err, out)
		}
		out, err := exec.Command(objdump, "-d", wasm).Output()
		if err != nil {
			t.Fatalf("wasm-objdump: %v", err)
		}
		fn := ""
		perKernel := map[string]int{}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasSuffix(line, ">:") {
				fn = line
				continue
			}
			if isSIMD(line) {
				counts[exp]++
				if strings.Contains(fn, "core_internal_kernel.") {
					perKernel[fn]++
				}
			}
		}
		t.Logf("GOEXPERIMENT=%q: %d SIMD128 instructions, %d in %d kernel functions", exp, counts[exp], sum(perKernel), len(perKernel))
		if exp == "simd" && (sum(perKernel) < 200 || len(perKernel) < 5) {
			t.Errorf("the SIMD build's kernels hold %d SIMD128 instructions in %d functions", sum(perKernel), len(perKernel))
		}
	}
	if counts[""] != 0 {
		t.Errorf("the scalar build holds %d SIMD128 instructions", counts[""])
	}
}

// isSIMD reports whether a line of wasm-objdump -d output is a SIMD128 instruction.
func isSIMD(line string) bool {
	_, ins, ok := strings.Cut(line, "| ")
	if !ok {
		return false
	}
	for _, p := range []string{"v128.", "f32x4.", "f64x2.", "i8x16.", "i16x8.", "i32x4.", "i64x2."} {
		if strings.HasPrefix(strings.TrimSpace(ins), p) {
			return true
		}
	}
	return false
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
