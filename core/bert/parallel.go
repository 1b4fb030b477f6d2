package bert

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// parallelFor splits [0, n) into one contiguous chunk per worker, each a multiple of
// align rows (the kernels' row tile), and calls f on every chunk concurrently: the
// calling goroutine takes the first chunk and the team's helpers the others.
func parallelFor(n, workers, align int, f func(lo, hi int)) {
	chunk := (n + workers - 1) / max(workers, 1)
	chunk = (chunk + align - 1) / align * align
	if workers <= 1 || chunk >= n {
		f(0, n)
		return
	}
	parts := (n + chunk - 1) / chunk
	if team.TryLock() {
		if team.ensure(parts - 1) {
			team.run(n, chunk, parts, f)
			team.Unlock()
			return
		}
		team.Unlock()
	}
	spawn(n, chunk, f)
}

// run hands chunks 1.. to the helpers, runs chunk 0 and waits for the others.
func (t *helperTeam) run(n, chunk, parts int, f func(lo, hi int)) {
	var left atomic.Int32
	left.Store(int32(parts - 1))
	for i, lo := 0, chunk; lo < n; i, lo = i+1, lo+chunk {
		t.helpers[i].give(&job{f: f, lo: lo, hi: min(lo+chunk, n), left: &left})
	}
	f(0, chunk)
	for spins := 0; left.Load() != 0; spins++ {
		if spins%64 == 63 {
			runtime.Gosched()
		}
	}
}

// spawn runs the chunks of parallelFor on goroutines of their own: the way when the
// team is busy with another call.
func spawn(n, chunk int, f func(lo, hi int)) {
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Go(func() { f(lo, hi) })
	}
	wg.Wait()
}

// team holds the helper goroutines that parallelFor hands chunks to. They spin for a
// while after each chunk, so the many short parallel steps of one forward pass (a
// query's layers take tens of microseconds each) reach a running goroutine instead of
// waking a sleeping thread each time, and then sleep. One parallelFor at a time uses
// the team; a concurrent one spawns goroutines.
var team helperTeam

type helperTeam struct {
	sync.Mutex
	helpers []*helper
}

// ensure starts helpers until there are k, at most GOMAXPROCS−1; it reports whether
// there are k.
func (t *helperTeam) ensure(k int) bool {
	for len(t.helpers) < k && len(t.helpers) < runtime.GOMAXPROCS(0)-1 {
		h := &helper{wake: make(chan struct{}, 1)}
		t.helpers = append(t.helpers, h)
		go h.run()
	}
	return len(t.helpers) >= k
}

type job struct {
	f      func(lo, hi int)
	lo, hi int
	left   *atomic.Int32
}

type helper struct {
	next     atomic.Pointer[job]
	sleeping atomic.Bool
	wake     chan struct{}
}

// helperSpin is how long a helper waits for its next chunk before it sleeps.
const helperSpin = 200 * time.Microsecond

func (h *helper) give(j *job) {
	h.next.Store(j)
	if h.sleeping.Load() {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

func (h *helper) run() {
	for {
		start := time.Now()
		for spins := 0; h.next.Load() == nil; spins++ {
			if spins%256 == 255 && time.Since(start) > helperSpin {
				h.sleeping.Store(true)
				if h.next.Load() == nil {
					<-h.wake
				}
				h.sleeping.Store(false)
				start = time.Now()
			}
		}
		j := h.next.Swap(nil)
		j.f(j.lo, j.hi)
		j.left.Add(-1)
	}
}
