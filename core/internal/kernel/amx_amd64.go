//go:build goexperiment.simd && amd64 && !purego

package kernel

// AMX (Advanced Matrix Extensions): eight tile registers of up to 16 rows × 64 bytes
// and TDPBSUD, which adds a 16×64 int8 tile times a 64×16 tile into 16×16 int32 in one
// instruction. It shares the VNNI panels (B+128) and the correction 128·Σa, so the
// blocks AMX does not cover (fewer than 32 rows left, the last panel when n is not a
// multiple of 32) go to the VNNI tiles.
//
// Using it takes three checks: the CPU has AMX-TILE and AMX-INT8 (CPUID leaf 7), the
// OS saves tile state (XCR0 bits 17 and 18), and on Linux the process has asked for
// the tile data permission with arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA),
// without which the first tile instruction raises SIGILL (amxPermission). Go's
// runtime is no obstacle: an assembly function is never preempted asynchronously, so
// the tiles live from LDTILECFG to TILERELEASE inside one call to amxStrip32, on one
// thread; a signal arriving meanwhile gets the tile state saved in its frame by the
// kernel, and Go's 32 KB signal stacks hold that frame (the kernel refuses the
// permission if an alternate signal stack is too small for it).
var amxInt8 = &int8Impl{
	name:   "amx",
	pack:   vnniInt8.pack,
	unpack: vnniInt8.unpack,
	gemm: func(m int, a []int8, lda int, w *Int8Weights, c []int32, ldc int) {
		gemmInt8Panels(m, a, lda, w, c, ldc, true)
	},
	quantize: quantizeRowInt8AVX512,
	dequant:  dequantRowInt8AVX512,
}

//go:noescape
func amxStrip32(cfg *byte, nk int, a *int8, lda int, b *int8, np int, c *int32, ldc int, init *int32)

func cpuidex(leaf, sub uint32) (a, b, c, d uint32)

func xgetbv0() (lo, hi uint32)

// amxConfig is the tile configuration of amxStrip32 (palette 1): all eight tiles
// 16 rows of 64 bytes.
var amxConfig = func() (cfg [64]byte) {
	cfg[0] = 1
	for t := range 8 {
		cfg[16+2*t] = 64
		cfg[48+t] = 16
	}
	return cfg
}()

func amxUsable() bool {
	if max, _, _, _ := cpuidex(0, 0); max < 7 {
		return false
	}
	if _, _, ecx, _ := cpuidex(1, 0); ecx&(1<<27) == 0 { // OSXSAVE: XGETBV works
		return false
	}
	const amxTile, amxInt8 = 1 << 24, 1 << 25
	if _, _, _, edx := cpuidex(7, 0); edx&amxTile == 0 || edx&amxInt8 == 0 {
		return false
	}
	const xtilecfg, xtiledata = 1 << 17, 1 << 18
	if xcr0, _ := xgetbv0(); xcr0&xtilecfg == 0 || xcr0&xtiledata == 0 {
		return false
	}
	return amxPermission()
}
