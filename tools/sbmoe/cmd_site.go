package main

import (
	"context"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/core/tokenizer"
	"github.com/sbmoe/sbmoe/tools/internal/bundler"
	"github.com/sbmoe/sbmoe/tools/internal/cli"
	"github.com/sbmoe/sbmoe/tools/internal/site"
)

// maxWarnings is how many of a site's warnings are printed one by one.
const maxWarnings = 20

func runSite(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("site", "--site DIR [--out DIR] [flags]",
		"Indexes a built static site for search in its own pages: reads every .html page under\n"+
			"--site (the main content: elements marked data-sbmoe-body, else <main>, <article> or\n"+
			"<body>, without nav, header, footer, scripts and anything marked data-sbmoe-ignore),\n"+
			"splits pages into sections at headings with an id (results link to page.html#id), and\n"+
			"writes into --out the bundle a page searches with (the model, its vector index, a BM25\n"+
			"index, the sections' texts for snippets, the WebAssembly runtime) and the search widget.\n"+
			"Put two lines in any page (a search page is at the bundle's own index.html):\n\n"+
			"  <script type=\"module\" src=\"/_sbmoe/widget.js\"></script>\n"+
			"  <div data-sbmoe-search></div>\n\n"+
			"The first keystroke is answered by keywords while the model downloads; then results\n"+
			"fuse keyword and semantic rankings. Clicks are recorded and learned from in the\n"+
			"visitor's browser only. Running again over an unchanged site reuses every encoding\n"+
			"(by the SHA-256 of the section's text) and writes nothing; a changed site encodes only\n"+
			"the sections that changed. --adapt trains the head on the site's own headings and\n"+
			"titles (label-free) and keeps it only if it ranks held-out headings better. The encoder\n"+
			"goes into the bundle as int8, a quarter of the fp32 download (--weights fp32 for the exact\n"+
			"model; see sbmoe help bundle).",
		"sbmoe site --site public\n"+
			"sbmoe site --site _site --out _site/search --base-url /docs/\n"+
			"sbmoe site --site public --adapt --prune-vocab reachable", stderr)
	siteDir := fs.String("site", "", "the built site's folder (required): public/, _site/, dist/ ...")
	out := fs.String("out", "", "bundle folder to write; default SITE/_sbmoe; replaced as a whole")
	model := fs.String("model", defaultModelDir(), "model folder: a Hugging Face encoder, or one written by sbmoe train")
	runtime := fs.String("runtime", defaultRuntime(), "folder with sbmoe.wasm, widget.wasm and wasm_exec.js (make build writes bin/web)")
	base := fs.String("base-url", "/", "the URL path the site is served under")
	adapt := fs.Bool("adapt", false, "adapt the head to the site's text (headings and titles as queries), kept only if it helps")
	compress := fs.Bool("compress", true, "write .br and .gz copies of the files over 1 KB")
	prune := fs.String("prune-vocab", "none", "keep only the vocabulary the site needs: none, corpus or reachable (see sbmoe help bundle)")
	weightsForm := fs.String("weights", retriever.WeightsInt8, "the encoder's form in the bundle: int8 (per-row scales) or fp32")
	threads := fs.Int("threads", 0, "encoder threads; 0 = all cores")
	quiet := fs.Bool("quiet", false, "no progress bars")
	if code, ok := fs.ParseArgs(args, stdout); !ok {
		return code
	}
	usageErr := usageError(stderr, "site")
	switch {
	case *siteDir == "":
		return usageErr("--site is required: the folder your site generator writes")
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *weightsForm != retriever.WeightsInt8 && *weightsForm != retriever.WeightsFP32:
		return usageErr("--weights must be int8 or fp32, not %q", *weightsForm)
	}
	pruning, ok := map[string]tokenizer.Pruning{"none": tokenizer.PruneNone, "corpus": tokenizer.PruneCorpus,
		"reachable": tokenizer.PruneReachable}[*prune]
	if !ok {
		return usageErr("--prune-vocab must be none, corpus or reachable, not %q", *prune)
	}
	if *out == "" {
		*out = filepath.Join(*siteDir, "_sbmoe")
	}

	start := time.Now()
	read, err := site.Read(*siteDir, site.Options{BaseURL: *base, Exclude: []string{*out},
		Progress: progressOnce(stderr, "reading pages", *quiet)})
	if err != nil {
		return fail(stderr, "site", err)
	}
	for i, w := range read.Warnings {
		if i == maxWarnings {
			fmt.Fprintf(stderr, "warning: … and %d more\n", len(read.Warnings)-maxWarnings)
			break
		}
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(stderr, "read %d of %d pages: %d sections, in %s\n", read.Pages, read.Files, len(read.Sections), time.Since(start).Round(time.Millisecond))

	r, err := openModel(*model, *threads, 0, 0)
	if err != nil {
		return fail(stderr, "site", err)
	}
	opt := site.WriteOptions{Options: bundler.Options{ModelDir: *model, Out: *out, Runtime: *runtime, Compress: *compress,
		Weights: *weightsForm, Prune: pruning, Progress: progressOnce(stderr, "encoding", *quiet)}, Adapt: *adapt, Log: stderr}
	res, err := site.Write(context.Background(), r, read.Sections, opt)
	if err != nil {
		return fail(stderr, "site", err)
	}
	switch {
	case res.Unchanged:
		fmt.Fprintf(stdout, "%s is up to date: the site's %d sections are those it holds\n", *out, len(read.Sections))
	case res.Encoded < len(read.Sections):
		fmt.Fprintf(stdout, "wrote %s: %d sections of %d pages, %d encoded, %d unchanged\n", *out, len(read.Sections), read.Pages, res.Encoded, len(read.Sections)-res.Encoded)
	default:
		fmt.Fprintf(stdout, "wrote %s: %d sections of %d pages\n", *out, len(read.Sections), read.Pages)
	}
	fmt.Fprintf(stdout, "a page downloads %.1f MB (%.1f MB as Brotli) for its first, keyword results, then %.1f MB (%.1f MB) of model and vectors\n",
		float64(res.First)/1e6, float64(res.FirstBrotli)/1e6, float64(res.Bytes-res.First)/1e6, float64(res.Brotli-res.FirstBrotli)/1e6)
	fmt.Fprintf(stdout, "done in %s; to search, put in any page:\n  %s\n  <div data-sbmoe-search></div>\n",
		time.Since(start).Round(time.Millisecond), scriptTag(*siteDir, *out, *base))
	return 0
}

// progressOnce makes a progress bar on the first call, when the total is known.
func progressOnce(w io.Writer, what string, quiet bool) func(done, total int) {
	var bar func(done, total int)
	return func(done, total int) {
		if bar == nil {
			bar = cli.NewProgress(w, total, what, quiet)
		}
		bar(done, total)
	}
}

// scriptTag is the widget's script element for pages of the site: the bundle's URL below
// the site's base URL when it is inside the site.
func scriptTag(siteDir, out, base string) string {
	src := "/_sbmoe/widget.js"
	if rel, err := filepath.Rel(siteDir, out); err == nil && !strings.HasPrefix(rel, "..") {
		src = path.Join(strings.TrimSuffix(base, "/")+"/", filepath.ToSlash(rel), "widget.js")
		if !strings.HasPrefix(src, "/") {
			src = "/" + src
		}
	} else {
		src = "(the URL of " + filepath.Join(out, "widget.js") + ")"
	}
	return `<script type="module" src="` + src + `"></script>`
}
