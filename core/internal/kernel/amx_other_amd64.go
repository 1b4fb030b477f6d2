//go:build goexperiment.simd && !purego && !linux

package kernel

// amxPermission: AMX is used on Linux only, where the permission it needs is known.
func amxPermission() bool { return false }
