package golden

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestReadJSONAndFloat32s(t *testing.T) {
	dir := t.TempDir()
	doc := `{"v":"AACAPwAAAMA="}` // 1.0 and -2.0 as little-endian float32
	plain := filepath.Join(dir, "a.json")
	os.WriteFile(plain, []byte(doc), 0o644)
	zipped := filepath.Join(dir, "a.json.gz")
	f, _ := os.Create(zipped)
	zw := gzip.NewWriter(f)
	zw.Write([]byte(doc))
	zw.Close()
	f.Close()
	for _, path := range []string{plain, zipped} {
		var v struct{ V string }
		ReadJSON(t, path, &v)
		if got := Float32s(t, v.V); !slices.Equal(got, []float32{1, -2}) {
			t.Errorf("%s: %v", path, got)
		}
	}
}
