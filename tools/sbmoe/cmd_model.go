package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"path/filepath"

	"github.com/schollz/progressbar/v3"

	"github.com/sbmoe/sbmoe/core/bert"
	"github.com/sbmoe/sbmoe/tools/internal/hub"
)

func runModel(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "fetch" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, "Usage: sbmoe model fetch <hf-repo> [flags]\n\nRun \"sbmoe model fetch --help\" for the flags.")
			return 0
		}
		fmt.Fprintln(stderr, "sbmoe model: the only subcommand is fetch: sbmoe model fetch <hf-repo>")
		return 2
	}
	fs := newFlags("model fetch", "<hf-repo> [flags]",
		"Downloads a BERT checkpoint from the Hugging Face Hub into a local folder: config, tokenizer,\n"+
			"sentence-transformers module configs and the weights (model.safetensors, else\n"+
			"pytorch_model.bin). Interrupted downloads resume; every file is checked against the\n"+
			"Hub's checksum. Set HF_TOKEN for gated or private repos and HF_ENDPOINT for a mirror.",
		"  sbmoe model fetch sentence-transformers/all-MiniLM-L6-v2\n"+
			"  sbmoe model fetch huawei-noah/TinyBERT_General_4L_312D --dir models/tinybert", stderr)
	dir := fs.String("dir", "", "destination folder; default models/<repo name>")
	revision := fs.String("revision", "main", "branch, tag or commit")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if code, ok := fs.ParseArgs(args[1:], stdout); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "sbmoe model fetch: give exactly one repository, e.g. sentence-transformers/all-MiniLM-L6-v2")
		return 2
	}
	repo := fs.Arg(0)
	dest := *dir
	if dest == "" {
		dest = filepath.Join("models", path.Base(repo))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := hub.Options{}
	if !*quiet {
		var bar *progressbar.ProgressBar
		var current string
		opts.Progress = func(file string, done, total int64) {
			if file != current {
				if bar != nil {
					bar.Finish()
				}
				current = file
				bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(stderr),
					progressbar.OptionSetDescription(file), progressbar.OptionShowBytes(true),
					progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200_000_000),
					progressbar.OptionOnCompletion(func() { io.WriteString(stderr, "\n") }))
			}
			bar.Set64(done)
		}
	}
	if err := hub.Fetch(ctx, repo, *revision, dest, opts); err != nil {
		return fail(stderr, "model fetch", err)
	}
	if _, err := bert.LoadConfigFS(os.DirFS(dest)); err != nil {
		return fail(stderr, "model fetch", fmt.Errorf("downloaded %s, but sbmoe cannot run it: %w", repo, err))
	}
	fmt.Fprintf(stdout, "fetched %s@%s into %s\n", repo, *revision, dest)
	return 0
}
