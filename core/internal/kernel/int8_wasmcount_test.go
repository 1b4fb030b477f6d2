//go:build !wasm

package kernel

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestInt8WasmInstructions builds this package's tests for GOOS=wasip1 with
// GOEXPERIMENT=simd and counts, with wasm-objdump (Debian's wabt), the v128
// instructions in each SIMD128 int8 kernel: archsimd must have lowered them to
// SIMD128 integer instructions, not to scalar code.
func TestInt8WasmInstructions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package for wasip1")
	}
	objdump, err := exec.LookPath("wasm-objdump")
	if err != nil {
		t.Skip("wasm-objdump not found: install Debian's wabt (apt-get install wabt) to count the v128 instructions")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	bin := filepath.Join(t.TempDir(), "kernel.wasm")
	build := exec.Command(goTool, "test", "-c", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOEXPERIMENT=simd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c for wasip1: %v\n%s", err, out)
	}
	dis, err := exec.Command(objdump, "-d", bin).Output()
	if err != nil {
		t.Fatalf("wasm-objdump: %v", err)
	}
	counts := v128Counts(dis, "github.com_sbmoe_sbmoe_core_internal_kernel.")
	want := map[string]map[string]int{
		// 2 rows × 4 columns × 4 steps of 16 bytes per 64-byte iteration.
		"tile2x4Int8SIMD128": {"i16x8.extmul_low_i8x16_s": 32, "i16x8.extmul_high_i8x16_s": 32, "i16x8.add": 32,
			"i32x4.extend_low_i16x8_s": 32, "i32x4.extend_high_i16x8_s": 32, "i32x4.add": 64, "v128.load": 24},
		"dotInt8SIMD128":         {"i16x8.extmul_low_i8x16_s": 2, "i16x8.extmul_high_i8x16_s": 2, "i32x4.extend_low_i16x8_s": 2},
		"quantizeRowInt8SIMD128": {"f32x4.abs": 1, "f32x4.max": 1, "f32x4.nearest": 4, "i32x4.trunc_sat_f32x4_s": 4, "i8x16.swizzle": 1, "v128.store": 1},
		"dequantRowInt8SIMD128":  {"f32x4.convert_i32x4_s": 1, "f32x4.mul": 2, "f32x4.add": 1, "v128.store": 1},
	}
	for fn, ops := range want {
		got, ok := counts[fn]
		if !ok {
			t.Errorf("%s: not in the wasm binary", fn)
			continue
		}
		for op, n := range ops {
			if got[op] < n {
				t.Errorf("%s: %d × %s, want at least %d", fn, got[op], op, n)
			}
		}
		t.Logf("%s: %v", fn, got)
	}
}

var (
	funcHeader = regexp.MustCompile(`func\[\d+\] <([^>]+)>:`)
	v128Op     = regexp.MustCompile(`\b((?:i8x16|i16x8|i32x4|i64x2|f32x4|f64x2|v128)\.[a-z0-9_]+)`)
)

// v128Counts counts the v128 instructions of every function whose name starts with
// prefix in a wasm-objdump -d listing, by function (prefix removed) and instruction.
func v128Counts(dis []byte, prefix string) map[string]map[string]int {
	counts := map[string]map[string]int{}
	var cur map[string]int
	sc := bufio.NewScanner(bytes.NewReader(dis))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := funcHeader.FindStringSubmatch(line); m != nil {
			cur = nil
			if name, ok := strings.CutPrefix(m[1], prefix); ok {
				cur = map[string]int{}
				counts[name] = cur
			}
			continue
		}
		if cur == nil {
			continue
		}
		if _, code, ok := strings.Cut(line, "|"); ok {
			if m := v128Op.FindStringSubmatch(code); m != nil {
				cur[m[1]]++
			}
		}
	}
	return counts
}
