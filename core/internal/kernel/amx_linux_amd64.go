//go:build goexperiment.simd && !purego

package kernel

import "syscall"

// amxPermission asks Linux for the AMX tile data state (kernel 5.16 or later). The
// permission is the process's, for every thread, and asking again is harmless.
func amxPermission() bool {
	const archReqXcompPerm, xfeatureXtiledata = 0x1023, 18
	_, _, errno := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXtiledata, 0)
	return errno == 0
}
