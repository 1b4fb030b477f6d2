//go:build !goexperiment.simd || purego || !amd64

package kernel

import "testing"

// forEachFloatPath runs f once: this build has one float32 path.
func forEachFloatPath(t *testing.T, f func(t *testing.T)) { f(t) }
