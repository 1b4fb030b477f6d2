package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/core/retriever"
)

func runQuantize(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("quantize", "--model DIR --out DIR",
		"Writes the int8 form of a model folder: linear and embedding weights in int8 with one\n"+
			"scale per row (a quarter of the fp32 size), the few input channels that carry outliers\n"+
			"kept in float32, biases and layer norms in float32, as "+bert.Int8WeightsFile+" beside\n"+
			"the config and tokenizer files. A folder written by sbmoe train keeps its head (fp32) and\n"+
			"its text preparation. Every command that encodes then runs it as it is, and its\n"+
			"fingerprint equals that of --weights int8 over the fp32 folder, so indexes of either\n"+
			"serve both. The folder is written beside --out and renamed into place when complete.",
		"sbmoe quantize --model models/all-MiniLM-L6-v2 --out models/all-MiniLM-L6-v2-int8\n"+
			"sbmoe quantize --model runs/head --out runs/head-int8", stderr)
	model := fs.String("model", defaultModelDir(), "model folder with fp32 weights: a Hugging Face encoder, or one written by sbmoe train")
	out := fs.String("out", "", "folder to write (required); it must not exist yet, or be empty")
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	usageErr := usageError(stderr, "quantize")
	switch {
	case *out == "":
		return usageErr("--out is required")
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	done := stopwatch(stderr, "quantised "+*model)
	if err := quantizeFolder(*model, *out); err != nil {
		return fail(stderr, "quantize", err)
	}
	done()
	r, err := retriever.OpenDir(*out, retriever.Options{})
	if err != nil {
		return fail(stderr, "quantize", fmt.Errorf("the folder written does not open: %w", err))
	}
	if !r.Encoder().Int8() {
		return fail(stderr, "quantize", fmt.Errorf("the folder written opens as fp32"))
	}
	fmt.Fprintf(stdout, "wrote %s: int8 encoder, model fingerprint %s\n", *out, r.Fingerprint())
	fmt.Fprintf(stdout, "weights: %s\n", weightSizes(*model, *out, r.Manifest().Encoder))
	return 0
}

// weightSizes compares the int8 weights file written with the fp32 weights it came
// from, as far as their sizes can be read.
func weightSizes(src, out, encoder string) string {
	size := func(p string) int64 {
		st, err := os.Stat(p)
		if err != nil {
			return -1
		}
		return st.Size()
	}
	s := fmt.Sprintf("%s %.1f MB", bert.Int8WeightsFile, float64(size(filepath.Join(out, encoder, bert.Int8WeightsFile)))/1e6)
	for _, name := range []string{"model.safetensors", "pytorch_model.bin"} {
		if n := size(filepath.Join(src, encoder, name)); n >= 0 {
			return s + fmt.Sprintf(", from %s %.1f MB", name, float64(n)/1e6)
		}
	}
	return s
}

// quantizeFolder writes the int8 form of the model folder src into out, through a
// temporary folder beside out that is renamed into place when complete.
func quantizeFolder(src, out string) error {
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty: choose a new folder", out)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	srcFS := os.DirFS(src)
	encoder := "."
	var extra []string // files of a trained folder copied as they are
	if raw, err := fs.ReadFile(srcFS, retriever.ManifestFile); err == nil {
		m, err := retriever.ParseManifest(raw)
		if err != nil {
			return fmt.Errorf("model %s: %s: %w", src, retriever.ManifestFile, err)
		}
		encoder, extra = m.Encoder, []string{retriever.ManifestFile}
		if m.Head != "" {
			if st, err := fs.Stat(srcFS, m.Head); err != nil || st.IsDir() {
				return fmt.Errorf("model %s: head %s: not a head file (a folder of an older sbmoe train: train it again to quantise it)", src, m.Head)
			}
			extra = append(extra, m.Head)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("model %s: %w", src, err)
	}
	encFS, err := fs.Sub(srcFS, encoder)
	if err != nil {
		return fmt.Errorf("model %s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(out)), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	write := func(name string, w func(io.Writer) error) error {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		err = w(f)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	err = bert.WriteInt8Folder(encFS, func(name string, w func(io.Writer) error) error {
		return write(path.Join(encoder, name), w)
	})
	if err != nil {
		return fmt.Errorf("model %s: %w", src, err)
	}
	for _, name := range extra {
		b, err := fs.ReadFile(srcFS, name)
		if err != nil {
			return fmt.Errorf("model %s: %w", src, err)
		}
		if err := write(name, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	os.Remove(out) // an empty folder, if any: Rename does not replace one on every system
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
