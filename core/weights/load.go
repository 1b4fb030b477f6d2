package weights

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
)

// LoadFS loads the checkpoint of a Hugging Face model folder, the root of fsys, and returns
// the name of the file it read. It prefers, in order: model.safetensors, the shards listed in
// model.safetensors.index.json, pytorch_model.bin, the shards listed in
// pytorch_model.bin.index.json. Names are returned as stored; call [Set.Canonical] for the
// BertModel convention. A browser or a worker hands it an in-memory file system of fetched
// bytes; LoadDir is LoadFS over a folder.
func LoadFS(fsys fs.FS) (Set, string, error) {
	candidates := []struct {
		file string
		read func(fsys fs.FS, name string) (Set, error)
	}{
		{"model.safetensors", readSafetensorsFS},
		{"model.safetensors.index.json", func(fsys fs.FS, p string) (Set, error) { return readSharded(fsys, p, readSafetensorsFS) }},
		{"pytorch_model.bin", readPyTorchFS},
		{"pytorch_model.bin.index.json", func(fsys fs.FS, p string) (Set, error) { return readSharded(fsys, p, readPyTorchFS) }},
	}
	for _, c := range candidates {
		if _, err := fs.Stat(fsys, c.file); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, "", fmt.Errorf("load weights: %w", err)
		}
		s, err := c.read(fsys, c.file)
		if err != nil {
			return nil, "", fmt.Errorf("load weights: %w", err)
		}
		return s, c.file, nil
	}
	return nil, "", errors.New("load weights: no model.safetensors, pytorch_model.bin or sharded index")
}

// LoadDir is LoadFS(os.DirFS(dir)); the returned name and errors include dir.
func LoadDir(dir string) (Set, string, error) {
	s, name, err := LoadFS(os.DirFS(dir))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", dir, err)
	}
	return s, path.Join(dir, name), nil
}

func readSafetensorsFS(fsys fs.FS, name string) (Set, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read safetensors: %w", err)
	}
	return ReadSafetensorsBytes(name, b)
}

// readPyTorchFS reads a pytorch_model.bin from fsys in place when its file can be read at
// offsets (os files and fstest.MapFS files can), and from a copy in memory otherwise.
func readPyTorchFS(fsys fs.FS, name string) (Set, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read pytorch checkpoint: %w", err)
	}
	defer f.Close()
	return readPyTorchFile(f, name)
}

// readPyTorchFile reads an open pytorch_model.bin; name is used in errors.
func readPyTorchFile(f fs.File, name string) (Set, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read pytorch checkpoint: %w", err)
	}
	r, ok := f.(io.ReaderAt)
	size := info.Size()
	if !ok {
		b, err := io.ReadAll(f)
		if err != nil {
			return nil, fmt.Errorf("read pytorch checkpoint %s: %w", name, err)
		}
		r, size = bytes.NewReader(b), int64(len(b))
	}
	s, err := readPyTorch(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// readSharded reads every shard an index file's weight_map names and checks that each listed
// tensor came from the shard the index promised.
func readSharded(fsys fs.FS, indexName string, read func(fs.FS, string) (Set, error)) (Set, error) {
	b, err := fs.ReadFile(fsys, indexName)
	if err != nil {
		return nil, err
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		return nil, fmt.Errorf("%s: %w", indexName, err)
	}
	if len(index.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: field weight_map: empty", indexName)
	}
	listed := make(map[string]bool)
	for _, shard := range index.WeightMap {
		if !fs.ValidPath(shard) || path.Dir(shard) != "." {
			return nil, fmt.Errorf("%s: field weight_map: shard %q is not a file beside the index", indexName, shard)
		}
		listed[shard] = true
	}
	shards := slices.Sorted(maps.Keys(listed))

	all := make(Set, len(index.WeightMap))
	for _, shard := range shards {
		s, err := read(fsys, path.Join(path.Dir(indexName), shard))
		if err != nil {
			return nil, err
		}
		for name, t := range s {
			if _, dup := all[name]; dup {
				return nil, fmt.Errorf("%s: tensor %s appears in more than one shard", indexName, name)
			}
			all[name] = t
		}
	}
	for _, name := range slices.Sorted(maps.Keys(index.WeightMap)) {
		if _, ok := all[name]; !ok {
			return nil, fmt.Errorf("%s: tensor %s: missing from shard %s", indexName, name, index.WeightMap[name])
		}
	}
	return all, nil
}
