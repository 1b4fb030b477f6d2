package moe

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sbmoe/sbmoe/core/atomicfile"
	"github.com/sbmoe/sbmoe/core/weights"
)

// The two files of a saved head, side by side in one directory.
const (
	WeightsFile = "moe.safetensors"
	ConfigFile  = "moe_config.json"
)

// Save writes the block's tensors to dir/moe.safetensors and its config to
// dir/moe_config.json, each atomically. The weights go first, so an interrupted save leaves a
// config that still describes the weights beside it, old or new; the shapes are checked on
// load either way.
func (b *Block) Save(dir string) error {
	tensors := make([]*weights.Tensor, len(b.params))
	for i, p := range b.params {
		tensors[i] = &weights.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Data}
	}
	meta := map[string]string{"format": "sbmoe-moe", "router": string(b.cfg.Router)}
	if err := weights.WriteSafetensors(filepath.Join(dir, WeightsFile), tensors, meta); err != nil {
		return fmt.Errorf("save moe block: %w", err)
	}
	cfg, err := MarshalConfig(b.cfg)
	if err != nil {
		return fmt.Errorf("save moe block: %s: %w", ConfigFile, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, ConfigFile), cfg); err != nil {
		return fmt.Errorf("save moe block: %w", err)
	}
	return nil
}

// Load reads a head written by Save. Every tensor of the config's block must be present
// with its exact shape, and no other tensor may be: a file for another head is refused
// rather than half loaded.
func Load(dir string) (*Block, error) {
	cfgPath := filepath.Join(dir, ConfigFile)
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("load moe block: %w", err)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("load moe block: %s: %w", cfgPath, err)
	}
	wPath := filepath.Join(dir, WeightsFile)
	set, err := weights.ReadSafetensors(wPath)
	if err != nil {
		return nil, fmt.Errorf("load moe block: %w", err)
	}
	mismatch := func(err error) error {
		return fmt.Errorf("load moe block: %s (config %s: hidden_size %d, num_experts %d): %w",
			wPath, ConfigFile, cfg.Hidden, cfg.Experts, err)
	}
	// The gate's shapes pin H and E to what the file holds before the block is allocated,
	// so a config with an absurd size cannot drive a huge allocation.
	if _, err := set.Get("cls_1.weight", cfg.Hidden/2, cfg.Hidden); err != nil {
		return nil, mismatch(err)
	}
	if _, err := set.Get("cls_3.weight", cfg.Experts, cfg.Hidden/2); err != nil {
		return nil, mismatch(err)
	}
	b := newBlock(cfg)
	for _, p := range b.params {
		t, err := set.Get(p.Name, p.Shape...)
		if err != nil {
			return nil, mismatch(err)
		}
		copy(p.Data, t.Data)
		delete(set, p.Name)
	}
	if names := set.Names(); len(names) > 0 {
		return nil, fmt.Errorf("load moe block: %s: tensor %s: not part of a block with hidden_size %d, num_experts %d",
			wPath, names[0], cfg.Hidden, cfg.Experts)
	}
	return b, nil
}

// writeFileAtomic writes data so that a reader sees the old file or the new one.
func writeFileAtomic(path string, data []byte) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
