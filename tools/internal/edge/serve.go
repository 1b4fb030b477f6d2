package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// InstallCommand installs the pinned workerd (make edge-deps runs it).
const InstallCommand = "bash tools/edge/install.sh"

// FindWorkerd returns the workerd binary: $SBMOE_WORKERD, else the one tools/edge/install.sh
// put under out/edge-node of the folders given (the sbmoe source tree, say), else workerd on
// PATH. The error says how to install it.
func FindWorkerd(roots ...string) (string, error) {
	if p := os.Getenv("SBMOE_WORKERD"); p != "" {
		return p, nil
	}
	platform := map[string]string{"linux/amd64": "linux-64", "linux/arm64": "linux-arm64",
		"darwin/amd64": "darwin-64", "darwin/arm64": "darwin-arm64"}[runtime.GOOS+"/"+runtime.GOARCH]
	nodeDir := os.Getenv("SBMOE_EDGE_NODE")
	for _, root := range roots {
		dir := filepath.Join(root, "out", "edge-node")
		if nodeDir != "" {
			dir = nodeDir
		}
		p := filepath.Join(dir, "node_modules", "@cloudflare", "workerd-"+platform, "bin", "workerd")
		if fileExists(p) {
			return filepath.Abs(p)
		}
	}
	if p, err := exec.LookPath("workerd"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("workerd not found: run `%s` (make edge-deps) in the sbmoe source tree, or set SBMOE_WORKERD to a workerd binary", InstallCommand)
}

// ServeOptions tune Start.
type ServeOptions struct {
	Workerd string // the binary; default FindWorkerd(".")
	// Addr is host:port to listen on; port 0 picks a free one. Default DefaultAddr.
	Addr string
	// Debug sets SBMOE_EDGE_DEBUG=1 (GET /debug/panic panics), for the tests.
	Debug bool
	// Output receives workerd's stdout and stderr (the Go module's prints among them).
	Output io.Writer
	// Probe is the path Start requests until it is answered; default /health. Its first
	// answer comes after the Go instance has started and opened the bundle.
	Probe string
}

// Worker is a worker folder running in local workerd.
type Worker struct {
	URL     string // http://127.0.0.1:PORT
	Cmd     *exec.Cmd
	Started time.Time // just before workerd was started
	// FirstAnswer is when the probe was first answered, and Probe its status and body.
	FirstAnswer time.Time
	Probe       ProbeAnswer
	done        chan struct{}
	err         error
	config      string // the temporary folder of its configuration
}

// Start runs the worker folder dir in workerd, listening on opt.Addr, and returns once
// the worker has answered opt.Probe: the Go instance is running and has the bundle.
func Start(dir string, opt ServeOptions) (*Worker, error) {
	if opt.Workerd == "" {
		p, err := FindWorkerd(".")
		if err != nil {
			return nil, err
		}
		opt.Workerd = p
	}
	if opt.Addr == "" {
		opt.Addr = DefaultAddr
	}
	bin, err := exec.LookPath(opt.Workerd) // absolute: workerd runs in another folder
	if err != nil {
		return nil, err
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if !fileExists(filepath.Join(abs, ModuleFile)) || !fileExists(filepath.Join(abs, AssetsDir, PlanFile)) {
		return nil, fmt.Errorf("%s is not a worker folder (sbmoe edge build writes one)", dir)
	}
	// workerd takes the listening socket as an inherited descriptor: the port is ours
	// before it starts, so a free port chosen here cannot be taken in between.
	ln, err := net.Listen("tcp", opt.Addr)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	sock, err := ln.(*net.TCPListener).File()
	if err != nil {
		return nil, err
	}
	defer sock.Close()
	// workerd resolves a configuration's embeds beside it and refuses absolute ones: the
	// configuration goes into a temporary folder with links to the worker's files.
	tmp, err := os.MkdirTemp("", "sbmoe-edge-")
	if err != nil {
		return nil, err
	}
	for _, name := range []string{EntryFile, WasmExecFile, ModuleFile, AssetsDir} {
		if err := os.Symlink(filepath.Join(abs, name), filepath.Join(tmp, name)); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
	}
	cfg, err := Workerd(Config{Name: "sbmoe-search", CompatibilityDate: CompatibilityDate, Addr: ln.Addr().String(), Debug: opt.Debug})
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, WorkerdFile), cfg, 0o644)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	w := &Worker{URL: "http://" + ln.Addr().String(), done: make(chan struct{}), config: tmp}
	w.Cmd = exec.Command(bin, "serve", filepath.Join(tmp, WorkerdFile), "--socket-fd", "http=3")
	w.Cmd.Dir = tmp // workerd resolves the disk service's path from its working folder
	w.Cmd.ExtraFiles = []*os.File{sock}
	w.Cmd.Stdout, w.Cmd.Stderr = opt.Output, opt.Output
	w.Started = time.Now()
	if err := w.Cmd.Start(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("start workerd: %w", err)
	}
	go func() {
		w.err = w.Cmd.Wait()
		os.RemoveAll(w.config)
		close(w.done)
	}()
	if opt.Probe == "" {
		opt.Probe = "/health"
	}
	if err := w.waitUp(opt.Probe, 60*time.Second); err != nil {
		w.Stop()
		return nil, err
	}
	return w, nil
}

// ProbeAnswer is the status and body of the first answer to the probe.
type ProbeAnswer struct {
	Status int
	Body   []byte
}

// waitUp requests probe until workerd answers it (any status), which it does once it has
// loaded its configuration and the worker has started the Go instance.
func (w *Worker) waitUp(probe string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: limit}
	for time.Now().Before(deadline) {
		select {
		case <-w.done:
			return w.exitErr()
		default:
		}
		res, err := client.Get(w.URL + probe)
		if err == nil {
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err == nil {
				w.FirstAnswer, w.Probe = time.Now(), ProbeAnswer{Status: res.StatusCode, Body: body}
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("workerd did not answer on %s within %v", w.URL, limit)
}

// Done is closed when workerd has exited.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Stop ends workerd and waits for it.
func (w *Worker) Stop() error {
	select {
	case <-w.done:
		return w.exitErr()
	default:
	}
	w.Cmd.Process.Signal(os.Interrupt)
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		w.Cmd.Process.Kill()
		<-w.done
	}
	return nil
}

func (w *Worker) exitErr() error {
	if w.err != nil {
		return fmt.Errorf("workerd exited: %w", w.err)
	}
	return errors.New("workerd exited")
}

// CPUTime is the CPU time workerd has used so far (user + system, from /proc; Linux
// only, 0 elsewhere).
func (w *Worker) CPUTime() time.Duration { return ProcessCPU(w.Cmd.Process.Pid) }

// PeakRSS is the peak resident memory of workerd in bytes (VmHWM; Linux only, 0
// elsewhere): the whole process, V8 and its compiled code included, an upper bound of
// the instance's memory.
func (w *Worker) PeakRSS() int64 { return processPeakRSS(w.Cmd.Process.Pid) }

// ProcessCPU reads the user + system CPU time of a process from /proc/PID/stat.
func ProcessCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// the command name (field 2) is in parentheses and may hold spaces
	_, after, ok := strings.Cut(string(raw), ") ")
	if !ok {
		return 0
	}
	f := strings.Fields(after) // f[0] is field 3; utime and stime are fields 14 and 15
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ, 100 on every Linux this runs on
	return time.Duration(utime+stime) * time.Second / ticks
}

func processPeakRSS(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Wait blocks until workerd exits or ctx ends (then it stops it).
func (w *Worker) Wait(ctx context.Context) error {
	select {
	case <-w.done:
		return w.exitErr()
	case <-ctx.Done():
		return w.Stop()
	}
}
