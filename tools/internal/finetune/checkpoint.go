package finetune

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/core/train"
	"github.com/sbmoe/sbmoe/core/weights"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/tools/internal/atomicfile"
)

// The layout of an output folder, which retriever.OpenDir opens:
//
//	<out>/sbmoe.json                   the manifest (retriever.Manifest): encoder, head, text preparation
//	<out>/encoder/                     the kept encoder, a Hugging Face model folder
//	<out>/head.safetensors             the kept block (moe.Block.Save); absent with RouterNone
//	<out>/training.json                the run's settings and per-epoch history
//	<out>/checkpoints/latest           the name of the newest complete checkpoint
//	<out>/checkpoints/step-NNNNNNNN/   encoder/ (unless frozen), head.safetensors, optimizer.safetensors, state.json
//
// A checkpoint folder is complete once latest names it: latest is written last, so a
// crash while saving leaves the previous checkpoint in force.
const (
	EncoderDir     = "encoder"
	HeadFile       = moe.HeadFile
	TrainingFile   = "training.json"
	CheckpointsDir = "checkpoints"
	latestFile     = "latest"
	stateFile      = "state.json"
	optimizerFile  = "optimizer.safetensors"
	stateVersion   = 1
)

// state is what a checkpoint records beyond the weights: where the run stands, the
// running sums of the epoch under way, and the settings that must not change on resume.
type state struct {
	Version     int          `json:"version"`
	BaseModel   string       `json:"base_model"`
	Fingerprint fingerprint  `json:"run"`
	Epoch       int          `json:"epochs_done"`
	Batch       int          `json:"batches_done"` // of the epoch under way
	GlobalStep  int          `json:"global_step"`
	LossSum     float64      `json:"epoch_loss_sum"`
	Correct     int          `json:"epoch_correct"`
	Seen        int          `json:"epoch_seen"`
	History     []EpochStats `json:"history"`
	Best        *bestEpoch   `json:"best,omitempty"`
	// Start and Stopped are headtrain.State's, with the product recipe.
	Start   *EpochStats `json:"start,omitempty"`
	Stopped bool        `json:"stopped,omitempty"`
}

// bestEpoch is the epoch with the lowest validation loss and the checkpoint that holds it.

// fingerprint holds the settings that decide the sequence of batches, noise and
// gradients: a resumed run must keep them to end where an uninterrupted one would.
type fingerprint struct {
	Seed        uint64  `json:"seed"`
	BatchSize   int     `json:"batch_size"`
	Router      string  `json:"router"`
	Experts     int     `json:"experts"`
	Freeze      bool    `json:"freeze_encoder"`
	Temperature float32 `json:"temperature"`
	MaxQueryLen int     `json:"max_query_length"`
	MaxDocLen   int     `json:"max_doc_length"`
	Examples    int     `json:"examples"`
	Val         int     `json:"validation_examples"`
	Recipe      string  `json:"recipe,omitempty"`
}

type bestEpoch struct {
	Epoch      int     `json:"epoch"`
	ValLoss    float64 `json:"val_loss"`
	ValNDCG    float64 `json:"val_ndcg@10,omitempty"`
	Checkpoint string  `json:"checkpoint"` // empty for the guard's untrained head (epoch 0)
}

func (t *trainer) fingerprint() fingerprint {
	c := t.cfg
	return fingerprint{Seed: c.Seed, BatchSize: c.BatchSize, Router: c.Router, Experts: c.Experts,
		Freeze: c.FreezeEncoder, Temperature: c.Temperature, MaxQueryLen: c.MaxQueryLen, MaxDocLen: c.MaxDocLen,
		Examples: len(t.data.Examples), Val: len(t.valIdx), Recipe: c.Recipe}
}

func checkpointName(step int) string        { return fmt.Sprintf("step-%08d", step) }
func checkpointEncoder(dir string) string   { return filepath.Join(dir, EncoderDir) }
func checkpointOptimizer(dir string) string { return filepath.Join(dir, optimizerFile) }

// checkpointNote names the last checkpoint for error messages.
func (t *trainer) checkpointNote() string {
	if t.lastSaved == "" {
		return "none: no checkpoint was written yet"
	}
	return t.lastSaved
}

// params lists what the optimizer updates.
func (t *trainer) params() []*train.Param {
	var ps []*train.Param
	if !t.cfg.FreezeEncoder {
		ps = t.model.Params(t.grads)
	}
	if t.block != nil {
		ps = append(ps, t.block.Params()...)
	}
	return ps
}

// checkpoint saves the run as it stands, then points latest at it and removes the
// checkpoints that are neither the newest nor, with KeepBest, the best.
func (t *trainer) checkpoint() error {
	for _, p := range t.params() {
		for _, v := range p.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("after step %d, parameter %s holds %g: %w (the last good checkpoint is in %s)",
					t.st.GlobalStep, p.Name, v, train.ErrNonFinite, t.checkpointNote())
			}
		}
	}
	root := filepath.Join(t.cfg.Out, CheckpointsDir)
	name := checkpointName(t.st.GlobalStep)
	dir := filepath.Join(root, name)
	// A folder of this name that latest does not name is the remains of an interrupted save.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if !t.cfg.FreezeEncoder {
		if err := writeEncoder(checkpointEncoder(dir), t.model, t.base); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	if t.block != nil {
		if err := saveBlock(dir, t.block); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	opt := t.opt
	if t.head != nil {
		opt = t.head.Optimizer()
	}
	if err := atomicfile.Write(checkpointOptimizer(dir), opt.Save); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, stateFile), t.st); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(root, latestFile), func(w io.Writer) error {
		_, err := io.WriteString(w, name+"\n")
		return err
	}); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	t.lastSaved = dir
	entries, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	for _, e := range entries {
		best := t.cfg.Keep == KeepBest && t.st.Best != nil && e.Name() == t.st.Best.Checkpoint
		keep := e.Name() == name || best
		if e.IsDir() && strings.HasPrefix(e.Name(), "step-") && !keep {
			if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
				return fmt.Errorf("checkpoint: %w", err)
			}
		}
	}
	return nil
}

// loadState reads the latest checkpoint's state for a resumed run, checks that the
// run's settings match, and returns the checkpoint's folder.
func (t *trainer) loadState() (string, error) {
	root := filepath.Join(t.cfg.Out, CheckpointsDir)
	raw, err := os.ReadFile(filepath.Join(root, latestFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("resume: %s holds no checkpoint (no %s/%s); start without resuming", t.cfg.Out, CheckpointsDir, latestFile)
	} else if err != nil {
		return "", fmt.Errorf("resume: %w", err)
	}
	name := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(name, "step-") || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("resume: %s: %q is not a checkpoint name", filepath.Join(root, latestFile), name)
	}
	dir := filepath.Join(root, name)
	path := filepath.Join(dir, stateFile)
	raw, err = os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("resume: %w", err)
	}
	var st state
	if err := json.Unmarshal(raw, &st); err != nil {
		return "", fmt.Errorf("resume: %s: %w", path, err)
	}
	if st.Version != stateVersion {
		return "", fmt.Errorf("resume: %s: field version is %d, want %d", path, st.Version, stateVersion)
	}
	if want := t.fingerprint(); st.Fingerprint != want {
		return "", fmt.Errorf("resume: %s: the checkpoint's run settings %+v differ from this run's %+v", path, st.Fingerprint, want)
	}
	if t.cfg.BaseModel != "" {
		abs, err := filepath.Abs(t.cfg.BaseModel)
		if err != nil {
			return "", fmt.Errorf("resume: %w", err)
		}
		if abs != st.BaseModel {
			return "", fmt.Errorf("resume: %s: the run started from %s, not %s", path, st.BaseModel, abs)
		}
	}
	t.st, t.base, t.lastSaved = st, st.BaseModel, dir
	return dir, nil
}

// export writes the kept epoch's model to the output folder and returns it.
func (t *trainer) export() (*Result, error) {
	res := &Result{Model: t.model, Block: t.block, History: t.st.History, Epoch: t.st.Epoch,
		Steps: t.st.GlobalStep, Train: len(t.trainIdx), Val: len(t.valIdx)}
	if t.head != nil {
		hr := t.head.Result()
		res.Block, res.Epoch = hr.Head, hr.Epoch
	} else if t.cfg.Keep == KeepBest && t.st.Best != nil && t.st.Best.Epoch != t.st.Epoch {
		dir := filepath.Join(t.cfg.Out, CheckpointsDir, t.st.Best.Checkpoint)
		var err error
		if !t.cfg.FreezeEncoder {
			if res.Model, err = bert.Load(checkpointEncoder(dir)); err != nil {
				return nil, err
			}
			res.Model.Threads = t.model.Threads
		}
		if t.block != nil {
			if res.Block, err = moe.Load(dir); err != nil {
				return nil, err
			}
		}
		res.Epoch = t.st.Best.Epoch
	}
	if res.Block != nil {
		if err := res.Block.SetMix(t.cfg.Mix); err != nil {
			return nil, err
		}
	}
	if err := writeEncoder(filepath.Join(t.cfg.Out, EncoderDir), res.Model, t.base); err != nil {
		return nil, err
	}
	if res.Block != nil {
		if err := saveBlock(t.cfg.Out, res.Block); err != nil {
			return nil, err
		}
	}
	manifest := t.manifest()
	raw, err := manifest.Marshal()
	if err != nil {
		return nil, err
	}
	// The manifest goes last: a folder is a trained model once sbmoe.json is there.
	if err := atomicfile.Write(filepath.Join(t.cfg.Out, retriever.ManifestFile), func(w io.Writer) error {
		_, err := w.Write(raw)
		return err
	}); err != nil {
		return nil, err
	}
	if res.Retriever, err = retriever.New(res.Model, res.Block, manifest, retriever.Options{Threads: t.cfg.Threads}); err != nil {
		return nil, err
	}
	summary := struct {
		BaseModel string       `json:"base_model"`
		Run       fingerprint  `json:"run"`
		EncoderLR float64      `json:"encoder_lr"`
		HeadLR    float64      `json:"head_lr"`
		Mix       moe.Mix      `json:"mix"`
		Keep      string       `json:"keep"`
		Kept      int          `json:"kept_epoch"`
		Steps     int          `json:"steps"`
		History   []EpochStats `json:"history"`
	}{t.base, t.st.Fingerprint, t.cfg.EncoderLR, t.cfg.HeadLR, t.cfg.Mix, t.cfg.Keep, res.Epoch, res.Steps, res.History}
	if err := atomicfile.WriteJSON(filepath.Join(t.cfg.Out, TrainingFile), summary); err != nil {
		return nil, err
	}
	return res, nil
}

// writeEncoder writes m as a Hugging Face model folder: the base model's config,
// tokenizer and sentence-transformers files, and model.safetensors under BertModel's
// names, which bert.Load and transformers' BertModel.from_pretrained both read.
func writeEncoder(dir string, m *bert.Model, base string) error {
	if err := copySideFiles(base, dir); err != nil {
		return fmt.Errorf("write encoder %s: %w", dir, err)
	}
	params := m.Params(nil)
	tensors := make([]*weights.Tensor, len(params))
	for i, p := range params {
		tensors[i] = &weights.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Data}
	}
	// transformers refuses safetensors files whose metadata lacks format "pt".
	return atomicfile.Write(filepath.Join(dir, "model.safetensors"), func(w io.Writer) error {
		return weights.WriteSafetensors(w, tensors, map[string]string{"format": "pt"})
	})
}

// copySideFiles copies a model folder's JSON and text files (config, tokenizer,
// sentence-transformers settings) and those of the module folders modules.json
// names, leaving the weights behind.
func copySideFiles(base, dir string) error {
	dirs := []string{""}
	if raw, err := os.ReadFile(filepath.Join(base, "modules.json")); err == nil {
		var modules []struct {
			Path string `json:"path"`
		}
		if err := json.Unmarshal(raw, &modules); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(base, "modules.json"), err)
		}
		for _, m := range modules {
			if p := filepath.Clean(m.Path); m.Path != "" && filepath.IsLocal(p) {
				dirs = append(dirs, p)
			}
		}
	}
	for _, sub := range dirs {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
		entries, err := os.ReadDir(filepath.Join(base, sub))
		if err != nil && sub != "" {
			continue // a module without settings (Normalize) may have no folder
		} else if err != nil {
			return err
		}
		for _, e := range entries {
			name := e.Name()
			side := strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".txt") || strings.HasSuffix(name, ".model")
			if !e.Type().IsRegular() || !side || strings.HasSuffix(name, ".index.json") {
				continue
			}
			raw, err := os.ReadFile(filepath.Join(base, sub, name))
			if err != nil {
				return err
			}
			if err := atomicfile.Write(filepath.Join(dir, sub, name), func(w io.Writer) error {
				_, err := w.Write(raw)
				return err
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// saveBlock writes dir/head.safetensors atomically.
func saveBlock(dir string, b *moe.Block) error {
	return atomicfile.Write(filepath.Join(dir, HeadFile), b.Save)
}
