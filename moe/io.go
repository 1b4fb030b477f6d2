package moe

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"

	"github.com/sbmoe/sbmoe/core/weights"
)

// HeadFile is the name a head file takes in a folder: one safetensors file holding the
// block's tensors, with its config (moe_config.json's content) in the metadata.
const HeadFile = "head.safetensors"

// The two files of a head saved by earlier versions, side by side in one folder; LoadFS
// still reads them.
const (
	legacyWeightsFile = "moe.safetensors"
	legacyConfigFile  = "moe_config.json"
)

// metadata keys of a head file.
const (
	metaFormat = "format"
	metaConfig = "moe_config"
	headFormat = "sbmoe-head"
)

// Save writes the block to w as a head file: its tensors, in Params order, under the
// authors' names, and its config in the metadata. The browser exports a learned head this
// way, and sbmoe reads it back with Read or LoadFS.
func (b *Block) Save(w io.Writer) error {
	cfg, err := MarshalConfig(b.cfg)
	if err != nil {
		return fmt.Errorf("save head: %w", err)
	}
	tensors := make([]*weights.Tensor, len(b.params))
	for i, p := range b.params {
		tensors[i] = &weights.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Data}
	}
	meta := map[string]string{metaFormat: headFormat, metaConfig: string(cfg)}
	if err := weights.WriteSafetensors(w, tensors, meta); err != nil {
		return fmt.Errorf("save head: %w", err)
	}
	return nil
}

// Read parses a head file held in data; name is used in errors. Every tensor of the
// config's block must be present with its exact shape, and no other tensor may be: a file
// for another head is refused rather than half loaded.
func Read(name string, data []byte) (*Block, error) {
	set, meta, err := weights.ReadSafetensorsMetadata(name, data)
	if err != nil {
		return nil, fmt.Errorf("load head: %w", err)
	}
	if meta[metaFormat] != headFormat {
		return nil, fmt.Errorf("load head: %s: metadata field %s is %q, want %q (not an sbmoe head file)", name, metaFormat, meta[metaFormat], headFormat)
	}
	cfg, err := ParseConfig([]byte(meta[metaConfig]))
	if err != nil {
		return nil, fmt.Errorf("load head: %s: metadata field %s: %w", name, metaConfig, err)
	}
	b, err := fromTensors(cfg, set)
	if err != nil {
		return nil, fmt.Errorf("load head: %s (hidden_size %d, num_experts %d): %w", name, cfg.Hidden, cfg.Experts, err)
	}
	return b, nil
}

// LoadFS reads the head in a folder, the root of fsys: head.safetensors, or the two files
// moe_config.json and moe.safetensors that earlier versions wrote.
func LoadFS(fsys fs.FS) (*Block, error) {
	data, err := fs.ReadFile(fsys, HeadFile)
	if err == nil {
		return Read(HeadFile, data)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load head: %w", err)
	}
	raw, err := fs.ReadFile(fsys, legacyConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load head: no %s (nor %s and %s)", HeadFile, legacyConfigFile, legacyWeightsFile)
	}
	if err != nil {
		return nil, fmt.Errorf("load head: %w", err)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("load head: %s: %w", legacyConfigFile, err)
	}
	data, err = fs.ReadFile(fsys, legacyWeightsFile)
	if err != nil {
		return nil, fmt.Errorf("load head: %w", err)
	}
	set, err := weights.ReadSafetensorsBytes(legacyWeightsFile, data)
	if err != nil {
		return nil, fmt.Errorf("load head: %w", err)
	}
	b, err := fromTensors(cfg, set)
	if err != nil {
		return nil, fmt.Errorf("load head: %s (%s: hidden_size %d, num_experts %d): %w",
			legacyWeightsFile, legacyConfigFile, cfg.Hidden, cfg.Experts, err)
	}
	return b, nil
}

// Load is LoadFS(os.DirFS(dir)); errors start with dir.
func Load(dir string) (*Block, error) {
	b, err := LoadFS(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return b, nil
}

// fromTensors builds the block cfg describes from a checkpoint's tensors.
func fromTensors(cfg Config, set weights.Set) (*Block, error) {
	// The gate's shapes pin H and E to what the file holds, and the block may have at most
	// twice the values the file holds, before the block is allocated: a config with an
	// absurd size, or a file with the gate of a thousand experts and none of them, cannot
	// drive a huge allocation. A file short of a tensor or two still gets the error that
	// names it, below.
	if _, err := set.Get("cls_1.weight", cfg.Hidden/2, cfg.Hidden); err != nil {
		return nil, err
	}
	if _, err := set.Get("cls_3.weight", cfg.Experts, cfg.Hidden/2); err != nil {
		return nil, err
	}
	held := 0
	for _, t := range set {
		held += len(t.Data)
	}
	if _, ok := blockValues(cfg, 2*held); !ok {
		return nil, fmt.Errorf("a block with hidden_size %d, num_experts %d has more than twice the %d values the file holds",
			cfg.Hidden, cfg.Experts, held)
	}
	b := newBlock(cfg)
	for _, p := range b.params {
		t, err := set.Get(p.Name, p.Shape...)
		if err != nil {
			return nil, err
		}
		copy(p.Data, t.Data)
		delete(set, p.Name)
	}
	if names := set.Names(); len(names) > 0 {
		return nil, fmt.Errorf("tensor %s: not part of a block with hidden_size %d, num_experts %d", names[0], cfg.Hidden, cfg.Experts)
	}
	return b, nil
}

// blockValues is the number of values newBlock(cfg) holds, counted without allocating them;
// ok is false when it exceeds limit. H and E are those of the gate's tensors, which the file
// holds, so the products below do not overflow.
func blockValues(cfg Config, limit int) (n int, ok bool) {
	h, half, e := cfg.Hidden, cfg.Hidden/2, cfg.Experts
	gates := half*h + half + e*half + e + e*h + e // cls_1, cls_3, noise_linear
	expert := half*h + half + h*half + h          // query_embedding_changer_1 and _4
	if cfg.gained() {
		gates++ // α
	}
	if gates > limit || e > (limit-gates)/expert {
		return 0, false
	}
	return gates + e*expert, true
}

// Digest is a SHA-256 over what decides the block's output: its config and every tensor's
// name, shape and values. The retriever's fingerprint includes it.
func (b *Block) Digest() string {
	h := sha256.New()
	cfg, _ := MarshalConfig(b.cfg) // a struct of numbers and strings: cannot fail
	h.Write(cfg)
	var buf []byte
	for _, p := range b.params {
		buf = binary.LittleEndian.AppendUint32(buf[:0], uint32(len(p.Name)))
		buf = append(buf, p.Name...)
		for _, d := range p.Shape {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(d))
		}
		for _, v := range p.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}
