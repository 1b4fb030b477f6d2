package edge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sbmoe/sbmoe/wasm/edge/api"
)

// BenchOptions describe a benchmark of a worker folder.
type BenchOptions struct {
	Worker  string // the worker folder
	Workerd string
	// Native is the command line that serves the worker's bundle natively and prints
	// "... on http://ADDR/" (sbmoe edge serve --native --addr 127.0.0.1:0 DIR); nil skips
	// the native ceiling.
	Native      []string
	Queries     []string
	K           int
	Requests    int   // per concurrency level
	Concurrency []int // e.g. 1, 4, 16
	ColdRuns    int   // cold starts measured (median reported)
	Log         io.Writer
}

// Level is one concurrency level's measurements.
type Level struct {
	Concurrency int
	Requests    int
	Errors      int
	P50, P95    time.Duration
	P99         time.Duration
	PerSecond   float64
	CPUPerReq   time.Duration // the server process's CPU time per request
	ServerP50   float64       // the median took_ms the server reported
}

// ServerBench is one server's measurements.
type ServerBench struct {
	Name      string
	ColdStart []time.Duration // process start to the first search answered
	Levels    []Level
	Health    api.Health // after the load
	PeakRSS   int64      // of the server process
}

// Bench is a benchmark's outcome.
type Bench struct {
	Worker, Native *ServerBench
	Plan           Plan
	ModuleBytes    int64
	AssetBytes     int64
	LargestAsset   int64
	WorkerdVersion string
	// SameAnswers is the number of queries whose worker and native answers have the same
	// ids with scores within 1e-5, of Checked.
	SameAnswers, Checked int
	MaxScoreDiff         float64
}

// RunBench measures the worker in workerd, then the native server, under the same load.
func RunBench(ctx context.Context, opt BenchOptions) (*Bench, error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	plan, err := ReadPlan(os.DirFS(filepath.Join(opt.Worker, AssetsDir)))
	if err != nil {
		return nil, err
	}
	b := &Bench{Plan: plan}
	if st, err := os.Stat(filepath.Join(opt.Worker, ModuleFile)); err == nil {
		b.ModuleBytes = st.Size()
	}
	filepath.WalkDir(filepath.Join(opt.Worker, AssetsDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				b.AssetBytes += info.Size()
				b.LargestAsset = max(b.LargestAsset, info.Size())
			}
		}
		return nil
	})
	if out, err := exec.Command(opt.Workerd, "--version").Output(); err == nil {
		b.WorkerdVersion = strings.TrimSpace(string(out))
	}
	probe := "/search?" + url.Values{"q": {opt.Queries[0]}, "k": {strconv.Itoa(opt.K)}}.Encode()

	wb := &ServerBench{Name: "worker (workerd)"}
	var w *Worker
	for i := range max(opt.ColdRuns, 1) {
		if w != nil {
			w.Stop()
		}
		if w, err = Start(opt.Worker, ServeOptions{Workerd: opt.Workerd, Addr: "127.0.0.1:0", Probe: probe, Output: opt.Log}); err != nil {
			return nil, err
		}
		if w.Probe.Status != http.StatusOK {
			w.Stop()
			return nil, fmt.Errorf("the worker's first answer: %d %s", w.Probe.Status, w.Probe.Body)
		}
		wb.ColdStart = append(wb.ColdStart, w.FirstAnswer.Sub(w.Started))
		fmt.Fprintf(opt.Log, "worker cold start %d: %v\n", i+1, wb.ColdStart[i])
	}
	defer w.Stop()
	workerAnswers, err := measure(ctx, wb, w.URL, w.CPUTime, opt)
	if err != nil {
		return nil, err
	}
	wb.PeakRSS = w.PeakRSS()
	b.Worker = wb
	w.Stop()

	if opt.Native != nil {
		nb := &ServerBench{Name: "native Go server"}
		for i := range max(opt.ColdRuns, 1) {
			base, cmd, cold, err := startNative(opt.Native, probe)
			if err != nil {
				return nil, err
			}
			nb.ColdStart = append(nb.ColdStart, cold)
			fmt.Fprintf(opt.Log, "native cold start %d: %v\n", i+1, cold)
			if i < max(opt.ColdRuns, 1)-1 {
				stopProcess(cmd)
				continue
			}
			nativeAnswers, err := measure(ctx, nb, base, func() time.Duration { return ProcessCPU(cmd.Process.Pid) }, opt)
			nb.PeakRSS = processPeakRSS(cmd.Process.Pid)
			stopProcess(cmd)
			if err != nil {
				return nil, err
			}
			b.compare(workerAnswers, nativeAnswers)
		}
		b.Native = nb
	}
	return b, nil
}

// measure warms the server up, runs every concurrency level and reads /health. It
// returns the answers of the sequential level, by query.
func measure(ctx context.Context, sb *ServerBench, base string, cpu func() time.Duration, opt BenchOptions) (map[int]api.SearchResponse, error) {
	warm, err := Load(ctx, LoadOptions{URL: base, Queries: opt.Queries, K: opt.K, Requests: min(len(opt.Queries), 50), Concurrency: 1})
	if err != nil {
		return nil, err
	}
	if warm.Errors > 0 {
		return nil, fmt.Errorf("%s: %d errors warming up", sb.Name, warm.Errors)
	}
	answers := map[int]api.SearchResponse{}
	for _, c := range opt.Concurrency {
		before := cpu()
		res, err := Load(ctx, LoadOptions{URL: base, Queries: opt.Queries, K: opt.K, Requests: opt.Requests, Concurrency: c})
		if err != nil {
			return nil, err
		}
		used := cpu() - before
		took := make([]float64, 0, len(res.Answers))
		for _, a := range res.Answers {
			took = append(took, a.Body.TookMS)
			if c == 1 && a.Err == "" {
				answers[a.Query] = a.Body
			}
		}
		l := Level{Concurrency: c, Requests: len(res.Answers), Errors: res.Errors, P50: res.Percentile(50), P95: res.Percentile(95),
			P99: res.Percentile(99), PerSecond: res.PerSecond(), CPUPerReq: used / time.Duration(len(res.Answers)), ServerP50: median(took)}
		sb.Levels = append(sb.Levels, l)
		fmt.Fprintf(opt.Log, "%s, %d concurrent: p50 %v p95 %v p99 %v, %.1f/s, CPU %v/request, %d errors\n",
			sb.Name, c, l.P50, l.P95, l.P99, l.PerSecond, l.CPUPerReq, l.Errors)
	}
	res, err := http.Get(base + "/health")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&sb.Health); err != nil {
		return nil, fmt.Errorf("%s /health: %w", sb.Name, err)
	}
	return answers, nil
}

// compare counts the queries that the worker and the native server answer alike.
func (b *Bench) compare(worker, native map[int]api.SearchResponse) {
	for q, w := range worker {
		n, ok := native[q]
		if !ok {
			continue
		}
		b.Checked++
		same := len(w.Hits) == len(n.Hits)
		for i := 0; same && i < len(w.Hits); i++ {
			d := math.Abs(float64(w.Hits[i].Score - n.Hits[i].Score))
			b.MaxScoreDiff = max(b.MaxScoreDiff, d)
			same = w.Hits[i].ID == n.Hits[i].ID && d <= 1e-5
		}
		if same {
			b.SameAnswers++
		}
	}
}

// startNative starts the native server and waits for its first answer to probe.
func startNative(args []string, probe string) (string, *exec.Cmd, time.Duration, error) {
	cmd := exec.Command(args[0], args[1:]...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, 0, err
	}
	cmd.Stderr = os.Stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return "", nil, 0, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	_, after, ok := strings.Cut(line, " on http://")
	if err != nil || !ok {
		stopProcess(cmd)
		return "", nil, 0, fmt.Errorf("the native server printed %q: %v", line, err)
	}
	go io.Copy(io.Discard, stdout)
	base := "http://" + strings.TrimSuffix(strings.Fields(after)[0], "/")
	for time.Since(started) < time.Minute {
		res, err := http.Get(base + probe)
		if err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				stopProcess(cmd)
				return "", nil, 0, fmt.Errorf("the native server's first answer: %d", res.StatusCode)
			}
			return base, cmd, time.Since(started), nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	stopProcess(cmd)
	return "", nil, 0, errors.New("the native server did not answer within a minute")
}

func stopProcess(cmd *exec.Cmd) {
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func minOr0(v []time.Duration) time.Duration {
	if len(v) == 0 {
		return 0
	}
	return slices.Min(v)
}

// Markdown writes the report of b: the command that made it, the machine, the bundle,
// and the table, worker beside native.
func (b *Bench) Markdown(w io.Writer, command string) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	mb := func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
	msf := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
	h := b.Worker.Health
	p("# The edge endpoint under load (make bench-edge)\n\n")
	p("`%s`\n\n", command)
	p("Machine: %s, %d cores, %s/%s, %s; %s (npm workerd). Every request goes to 127.0.0.1. Load average when the report was written: %s (a shared machine: compare the ratios of one run).\n\n",
		cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), b.WorkerdVersion, loadAverage())
	p("Bundle: %d documents, %s encoder, dim %d, model %s. Worker: module %s, assets %s (largest file %s; the platform's limit is 25 MiB = %s).\n\n",
		h.Documents, h.Weights, h.Dim, h.Model, mb(b.ModuleBytes), mb(b.AssetBytes), mb(b.LargestAsset), mb(MaxAssetBytes))
	p("Kernels: worker %s", h.Kernels)
	if b.Native != nil {
		p(", native %s (the native server encodes with all %d cores; the worker runs on one thread)", b.Native.Health.Kernels, runtime.NumCPU())
	}
	p(".\n\n")
	servers := []*ServerBench{b.Worker}
	if b.Native != nil {
		servers = append(servers, b.Native)
	}
	p("| server | concurrent | requests | errors | p50 | p95 | p99 | requests/s | CPU per request | server time p50 (took_ms) |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range servers {
		for _, l := range s.Levels {
			p("| %s | %d | %d | %d | %s | %s | %s | %.1f | %s | %.1f ms |\n", s.Name, l.Concurrency, l.Requests, l.Errors,
				msf(l.P50), msf(l.P95), msf(l.P99), l.PerSecond, msf(l.CPUPerReq), l.ServerP50)
		}
	}
	p("\n| | worker (workerd) |")
	if b.Native != nil {
		p(" native Go server | worker ÷ native |")
	}
	p("\n|---|---:|")
	if b.Native != nil {
		p("---:|---:|")
	}
	p("\n")
	row := func(name string, wv, nv float64, unit string, format string) {
		p("| %s | "+format+"%s |", name, wv, unit)
		if b.Native != nil {
			p(" "+format+"%s | %.2f× |", nv, unit, wv/nv)
		}
		p("\n")
	}
	var nb ServerBench
	if b.Native != nil {
		nb = *b.Native
	}
	row(fmt.Sprintf("cold start to first answer (fastest of %d)", len(b.Worker.ColdStart)),
		float64(slices.Min(b.Worker.ColdStart))/1e6, float64(minOr0(nb.ColdStart))/1e6, " ms", "%.0f")
	for i, l := range b.Worker.Levels {
		var nl Level
		if i < len(nb.Levels) {
			nl = nb.Levels[i]
		}
		row(fmt.Sprintf("p50 latency, %d concurrent", l.Concurrency), float64(l.P50)/1e6, float64(nl.P50)/1e6, " ms", "%.1f")
		row(fmt.Sprintf("requests/s, %d concurrent", l.Concurrency), l.PerSecond, nl.PerSecond, "", "%.1f")
	}
	if len(b.Worker.Levels) > 0 {
		l := b.Worker.Levels[len(b.Worker.Levels)-1]
		var nl Level
		if len(nb.Levels) > 0 {
			nl = nb.Levels[len(nb.Levels)-1]
		}
		row(fmt.Sprintf("CPU time per request, %d concurrent", l.Concurrency), float64(l.CPUPerReq)/1e6, float64(nl.CPUPerReq)/1e6, " ms", "%.2f")
	}
	p("\nEvery cold start (process start to the first search answered): worker %v", roundAll(b.Worker.ColdStart))
	if b.Native != nil {
		p(", native %v", roundAll(nb.ColdStart))
	}
	p(".\n")
	p("\nMemory after the load, against the platform's 128 MB per isolate:\n\n")
	p("| | bytes | of 128 MB |\n|---|---:|---:|\n")
	m := h.Memory
	p("| worker: Go runtime, obtained from the system (its peak: Go on WebAssembly never returns memory) | %s | %.0f%% |\n", mb(int64(m.GoSys)), 100*float64(m.GoSys)/api.MemoryLimit)
	p("| worker: Go heap in use | %s | %.0f%% |\n", mb(int64(m.GoHeapInuse)), 100*float64(m.GoHeapInuse)/api.MemoryLimit)
	p("| worker: WebAssembly memory (its peak: it never shrinks) | %s | %.0f%% |\n", mb(m.Wasm), 100*float64(m.Wasm)/api.MemoryLimit)
	p("| worker: bundle files held by JS while the instance starts (freed once Go has them) | %s | %.0f%% |\n", mb(planBytes(b.Plan)), 100*float64(planBytes(b.Plan))/api.MemoryLimit)
	p("| workerd process, peak resident (V8, compiled code and every isolate; an upper bound) | %s | |\n", mb(b.Worker.PeakRSS))
	if b.Native != nil {
		p("| native server: Go runtime, obtained from the system | %s | |\n", mb(int64(nb.Health.Memory.GoSys)))
		p("| native server process, peak resident | %s | |\n", mb(nb.PeakRSS))
		p("\nThe worker and the native server gave the same ids, scores within 1e-5, for %d of %d queries (largest score difference %.2g).\n",
			b.SameAnswers, b.Checked, b.MaxScoreDiff)
	}
	b.targets(p)
}

// targets writes the endpoint's targets with this run's figures: the instance's peak
// memory under 128 MB, a p50 under 50 ms for one query at a time, and no errors at the
// highest concurrency.
func (b *Bench) targets(p func(string, ...any)) {
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "missed"
	}
	peak := b.Worker.Health.Memory.Wasm
	p("\n## Against the targets\n\n")
	p("- Peak memory of the instance (its WebAssembly memory) under 128 MB with the %s encoder: **%s** (%.1f MB).\n",
		b.Worker.Health.Weights, verdict(peak < api.MemoryLimit), float64(peak)/1e6)
	for _, l := range b.Worker.Levels {
		if l.Concurrency == 1 {
			p("- p50 latency of one query at a time under 50 ms: **%s** (%.1f ms; %.1f ms of workerd CPU per request, server time %.1f ms).\n",
				verdict(l.P50 < 50*time.Millisecond), float64(l.P50)/1e6, float64(l.CPUPerReq)/1e6, l.ServerP50)
		}
	}
	if n := len(b.Worker.Levels); n > 0 {
		l := b.Worker.Levels[n-1]
		p("- No errors at %d concurrent: **%s** (%d errors in %d requests).\n", l.Concurrency, verdict(l.Errors == 0), l.Errors, l.Requests)
	}
}

func roundAll(v []time.Duration) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, d := range v {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

func planBytes(p Plan) int64 {
	var n int64
	for _, f := range p.Files {
		n += f.Size
	}
	return n
}

// loadAverage is the 1-, 5- and 15-minute load average of /proc/loadavg.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(raw)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}
