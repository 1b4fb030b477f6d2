package bert

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTiny copies the tiny test model into a temporary folder that a test may damage.
func copyTiny(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot, "testdata", "embeddings", "tiny")
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name    string
		damage  func(dir string) error
		wantErr []string
	}{
		{"missing config", func(d string) error { return os.Remove(filepath.Join(d, "config.json")) },
			[]string{"config.json", "no such file"}},
		{"malformed config", func(d string) error { return os.WriteFile(filepath.Join(d, "config.json"), []byte("{"), 0o644) },
			[]string{"config.json", "unexpected end"}},
		{"unknown architecture", func(d string) error {
			return rewrite(d, "config.json", `"model_type": "bert"`, `"model_type": "gpt2"`)
		}, []string{"config.json", "model_type", "gpt2"}},
		{"relative positions", func(d string) error {
			return rewrite(d, "config.json", `"model_type"`, `"position_embedding_type": "relative_key", "model_type"`)
		}, []string{"position_embedding_type", "relative_key"}},
		{"heads do not divide", func(d string) error {
			return rewrite(d, "config.json", `"num_attention_heads": 4`, `"num_attention_heads": 5`)
		}, []string{"num_attention_heads", "does not divide"}},
		{"wrong hidden size", func(d string) error {
			return rewrite(d, "config.json", `"intermediate_size": 64`, `"intermediate_size": 65`)
		}, []string{"model.safetensors", "intermediate.dense.weight", "shape"}},
		{"no weights", func(d string) error {
			os.Remove(filepath.Join(d, "pytorch_model.bin"))
			return os.Remove(filepath.Join(d, "model.safetensors"))
		}, []string{"model.safetensors"}},
		{"truncated weights", func(d string) error {
			return os.Truncate(filepath.Join(d, "model.safetensors"), 1000)
		}, []string{"model.safetensors"}},
		{"max pooling", func(d string) error {
			return rewrite(d, filepath.Join("1_Pooling", "config.json"), `"pooling_mode_max_tokens": false`, `"pooling_mode_max_tokens": true`)
		}, []string{"1_Pooling", "pooling"}},
		{"forged layer count", func(d string) error {
			return rewrite(d, "config.json", `"num_hidden_layers": 2`, `"num_hidden_layers": 1000000000`)
		}, []string{"config.json", "field num_hidden_layers: 1000000000, at most 1024"}},
		{"two pooling modules", func(d string) error {
			return rewrite(d, "modules.json", `[`, `[{"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},`)
		}, []string{"modules.json", "more than one Pooling module"}},
		{"missing tokenizer", func(d string) error {
			os.Remove(filepath.Join(d, "vocab.txt"))
			return os.Remove(filepath.Join(d, "tokenizer.json"))
		}, []string{"vocab.txt"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyTiny(t)
			if err := c.damage(dir); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir)
			if err == nil {
				t.Fatal("Load succeeded on a damaged model folder")
			}
			for _, want := range c.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func rewrite(dir, name, old, new string) error {
	p := filepath.Join(dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), old) {
		return os.ErrNotExist
	}
	return os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644)
}
