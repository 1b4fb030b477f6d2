package weights

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// LoadDir loads the checkpoint of a Hugging Face model folder and returns the path it read. It
// prefers, in order: model.safetensors, the shards listed in model.safetensors.index.json,
// pytorch_model.bin, the shards listed in pytorch_model.bin.index.json. Names are returned as
// stored; call [Set.Canonical] for the BertModel convention.
func LoadDir(dir string) (Set, string, error) {
	candidates := []struct {
		file string
		read func(path string) (Set, error)
	}{
		{"model.safetensors", ReadSafetensors},
		{"model.safetensors.index.json", func(p string) (Set, error) { return readSharded(p, ReadSafetensors) }},
		{"pytorch_model.bin", ReadPyTorch},
		{"pytorch_model.bin.index.json", func(p string) (Set, error) { return readSharded(p, ReadPyTorch) }},
	}
	for _, c := range candidates {
		path := filepath.Join(dir, c.file)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, "", fmt.Errorf("load weights: %w", err)
		}
		s, err := c.read(path)
		if err != nil {
			return nil, "", fmt.Errorf("load weights: %w", err)
		}
		return s, path, nil
	}
	return nil, "", fmt.Errorf("load weights: %s has no model.safetensors, pytorch_model.bin or sharded index", dir)
}

// readSharded reads every shard an index file's weight_map names and checks that each listed
// tensor came from the shard the index promised.
func readSharded(indexPath string, read func(string) (Set, error)) (Set, error) {
	b, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, err
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		return nil, fmt.Errorf("%s: %w", indexPath, err)
	}
	if len(index.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: field weight_map: empty", indexPath)
	}
	var shards []string
	for _, shard := range index.WeightMap {
		if !filepath.IsLocal(shard) {
			return nil, fmt.Errorf("%s: field weight_map: shard %q is outside the model folder", indexPath, shard)
		}
		if !slices.Contains(shards, shard) {
			shards = append(shards, shard)
		}
	}
	slices.Sort(shards)

	all := make(Set, len(index.WeightMap))
	for _, shard := range shards {
		s, err := read(filepath.Join(filepath.Dir(indexPath), shard))
		if err != nil {
			return nil, err
		}
		for name, t := range s {
			if _, dup := all[name]; dup {
				return nil, fmt.Errorf("%s: tensor %s appears in more than one shard", indexPath, name)
			}
			all[name] = t
		}
	}
	for _, name := range slices.Sorted(maps.Keys(index.WeightMap)) {
		if _, ok := all[name]; !ok {
			return nil, fmt.Errorf("%s: tensor %s: missing from shard %s", indexPath, name, index.WeightMap[name])
		}
	}
	return all, nil
}
