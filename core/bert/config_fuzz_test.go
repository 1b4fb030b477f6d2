package bert

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"
)

// FuzzLoadConfig checks every input against a memory bound and a time limit, so that `go
// test` checks the bounds over the seed corpus and the regression inputs under
// testdata/fuzz, and `make fuzz` over what the fuzzer makes.

// inputTimeLimit is how long one read may take (five times that under WebAssembly, which
// runs the same code several times slower). Go's fuzzer has no per-input limit.
const inputTimeLimit = 2 * time.Second

// readBound is what a reader may allocate for an n-byte input: perByte·n + fixed bytes.
type readBound struct{ perByte, fixed uint64 }

// configBound: the config files decode into a few fixed fields; what grows with the input is
// the architectures list, which encoding/json grows a quarter at a time: about 28 bytes per
// byte for a list of empty strings (TestLoadConfigWorstCase).
var configBound = readBound{perByte: 48, fixed: 32 << 10}

// checkRead runs read, which reads an n-byte input, and fails t when it allocates more than
// b allows. A read running past its time limit panics from a timer: that stops a fuzz
// worker, and the fuzzer keeps the input as a crasher.
func checkRead(t testing.TB, n int, b readBound, read func()) {
	t.Helper()
	timeLimit := inputTimeLimit
	if runtime.GOARCH == "wasm" {
		timeLimit *= 5
	}
	var done atomic.Bool
	hung := time.AfterFunc(timeLimit, func() {
		if !done.Load() {
			panic(fmt.Sprintf("reading a %d-byte input took longer than %v", n, timeLimit))
		}
	})
	defer hung.Stop()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	read()
	done.Store(true)
	runtime.ReadMemStats(&after)
	if got, limit := after.TotalAlloc-before.TotalAlloc, b.perByte*uint64(n)+b.fixed; got > limit {
		t.Errorf("allocated %d bytes reading a %d-byte input, more than the bound %d·%d + %d = %d",
			got, n, b.perByte, n, b.fixed, limit)
	}
}

// FuzzLoadConfig reads a fuzzed config.json and modules.json beside the tiny model's pooling
// config and sentence_bert_config.json.
func FuzzLoadConfig(f *testing.F) {
	tiny := filepath.Join(repoRoot, "testdata", "embeddings", "tiny")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(tiny, name))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	config, modules := read("config.json"), read("modules.json")
	f.Add(config, modules)
	f.Add(config, []byte(`[{"path": "1_Pooling", "type": "x.Pooling"}, {"path": "", "type": "x.Normalize"}]`))
	f.Add([]byte(`{"architectures": ["BertForMaskedLM"], "vocab_size": 9, "hidden_size": 4, "num_hidden_layers": 1,
		"num_attention_heads": 2, "intermediate_size": 8, "max_position_embeddings": 16, "hidden_act": "relu"}`), []byte(nil))
	f.Add(config, []byte(`[{"path": "../..", "type": "x.Pooling"}]`))
	pooling, sbert := read(filepath.Join("1_Pooling", "config.json")), read("sentence_bert_config.json")
	f.Fuzz(func(t *testing.T, config, modules []byte) {
		fsys := fstest.MapFS{
			"config.json":               {Data: config},
			"1_Pooling/config.json":     {Data: pooling},
			"sentence_bert_config.json": {Data: sbert},
		}
		if modules != nil {
			fsys["modules.json"] = &fstest.MapFile{Data: modules}
		}
		var c Config
		var err error
		checkRead(t, len(config)+len(modules)+len(pooling)+len(sbert), configBound, func() { c, err = LoadConfigFS(fsys) })
		if err != nil {
			return
		}
		if c.MaxSeqLength < 1 || c.MaxSeqLength > c.MaxPositions || c.HiddenSize%c.NumHeads != 0 {
			t.Fatalf("accepted an inconsistent config %+v", c)
		}
	})
}

// TestLoadConfigWorstCase: a config whose architectures list is all empty strings, the
// input that costs encoding/json the most per byte here, stays within the bound.
func TestLoadConfigWorstCase(t *testing.T) {
	config := []byte(`{"architectures": [""` + strings.Repeat(`,""`, 1<<15) + `], "model_type": "bert"}`)
	var err error
	checkRead(t, len(config), configBound, func() { _, err = LoadConfigFS(fstest.MapFS{"config.json": {Data: config}}) })
	if err == nil || !strings.Contains(err.Error(), "field vocab_size") {
		t.Errorf("got error %v, want one about vocab_size", err)
	}
}
