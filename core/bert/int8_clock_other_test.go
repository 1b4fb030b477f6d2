//go:build !linux

package bert

import "time"

var clockStart = time.Now()

// threadClock is the wall clock where a thread's CPU time is not at hand.
func threadClock() time.Duration { return time.Since(clockStart) }
