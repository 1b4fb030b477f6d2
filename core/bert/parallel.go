package bert

import "sync"

// parallelFor splits [0, n) into one contiguous chunk per worker, each a multiple of
// align rows (the kernels' row tile), and calls f on every chunk concurrently.
func parallelFor(n, workers, align int, f func(lo, hi int)) {
	chunk := (n + workers - 1) / max(workers, 1)
	chunk = (chunk + align - 1) / align * align
	if workers <= 1 || chunk >= n {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Go(func() { f(lo, hi) })
	}
	wg.Wait()
}
