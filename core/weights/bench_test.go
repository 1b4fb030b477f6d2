package weights

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadMiniLM parses the 90 MB all-MiniLM-L6-v2 checkpoint already in memory.
func BenchmarkReadMiniLM(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "models", "all-MiniLM-L6-v2", "model.safetensors"))
	if err != nil {
		b.Skipf("default model absent (run `make model`): %v", err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadSafetensorsBytes("model.safetensors", data); err != nil {
			b.Fatal(err)
		}
	}
}
