package edge

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/wasm/edge/api"
)

// Native opens a bundle natively and serves it with the worker's handler: dir is a
// bundle folder, or a worker's assets folder (split files are put back together). It is
// the ceiling the worker is measured against.
func Native(dir string) (*api.Server, error) {
	var fsys fs.FS = os.DirFS(dir)
	if fileExists(filepath.Join(dir, PlanFile)) {
		var err error
		if fsys, err = AssetsFS(dir); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	b, err := bundle.Open(fsys, bundle.Options{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return api.New(b, api.Options{Platform: "native", LoadTime: time.Since(start)}), nil
}
