package bert

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sbmoe/sbmoe/internal/readbound"
)

// FuzzLoadConfig checks every input against a memory bound and a time limit, so that `go
// test` checks the bounds over the seed corpus and the regression inputs under
// testdata/fuzz, and `make fuzz` over what the fuzzer makes.

// configBound: the config files decode into a few fixed fields; what grows with the input is
// the architectures list, which encoding/json grows a quarter at a time: about 28 bytes per
// byte for a list of empty strings (TestLoadConfigWorstCase).
var configBound = readbound.Bound{PerByte: 48, Fixed: 32 << 10}

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
		readbound.Check(t, len(config)+len(modules)+len(pooling)+len(sbert), configBound, func() { c, err = LoadConfigFS(fsys) })
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
	readbound.Check(t, len(config), configBound, func() { _, err = LoadConfigFS(fstest.MapFS{"config.json": {Data: config}}) })
	if err == nil || !strings.Contains(err.Error(), "field vocab_size") {
		t.Errorf("got error %v, want one about vocab_size", err)
	}
}
