package bert

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/sbmoe/sbmoe/core/internal/kernel"
)

// TestInt8CPUTime measures the encoder's time per forward pass on one thread, fp32
// against int8 with every int8 kernel, round after round, keeping the fastest round
// of each. On Linux the clock is the thread's CPU time, which on a shared machine
// varies far less than wall-clock time; elsewhere (WebAssembly under wazero) it is the
// wall clock. It runs only with SBMOE_INT8_BENCH=1.
func TestInt8CPUTime(t *testing.T) {
	if os.Getenv("SBMOE_INT8_BENCH") != "1" {
		t.Skip("set SBMOE_INT8_BENCH=1 to measure CPU time per forward pass")
	}
	m := loadDefaultModel(t)
	m.Threads = 1
	type variant struct {
		name string
		m    *Model
	}
	vs := []variant{{"fp32 (" + kernel.Impl() + ")", m}}
	defer kernel.SetInt8Impl(kernel.Int8Impl())
	for _, impl := range kernel.Int8Impls() {
		if impl == "scalar" && len(kernel.Int8Impls()) > 1 {
			continue
		}
		kernel.SetInt8Impl(impl)
		q, err := m.QuantizeInt8()
		if err != nil {
			t.Fatal(err)
		}
		q.Threads = 1
		vs = append(vs, variant{"int8 " + impl, q})
	}
	seq := func(n int) []int32 {
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(1000 + i)
		}
		s[0], s[n-1] = 101, 102
		return s
	}
	batch := make([][]int32, 32)
	for i := range batch {
		batch[i] = seq(128)
	}
	query := [][]int32{seq(16)}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	best := map[string][2]time.Duration{}
	for range 5 {
		for _, v := range vs {
			v.m.Forward(query) // warm
			c0 := threadClock()
			v.m.Forward(batch)
			c1 := threadClock()
			for range 10 {
				v.m.Forward(query)
			}
			c2 := threadClock()
			b := best[v.name]
			if b[0] == 0 || c1-c0 < b[0] {
				b[0] = c1 - c0
			}
			if b[1] == 0 || (c2-c1)/10 < b[1] {
				b[1] = (c2 - c1) / 10
			}
			best[v.name] = b
		}
	}
	base := best[vs[0].name]
	for _, v := range vs {
		b := best[v.name]
		t.Logf("%-22s batch 32×128: %7.0f ms (%5.1f docs/s, %.2f× fp32); query 16 tokens: %6.2f ms (%.2f× fp32)",
			v.name, b[0].Seconds()*1e3, 32/b[0].Seconds(), base[0].Seconds()/b[0].Seconds(), b[1].Seconds()*1e3, base[1].Seconds()/b[1].Seconds())
	}
}
