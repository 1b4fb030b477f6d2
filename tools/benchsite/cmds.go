package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/tools/benchsite/render"
)

func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("sbmoe-benchsite "+name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

func runGodoc(args []string, stdout io.Writer) error {
	fs := flags("godoc")
	out := fs.String("out", "", "folder to write the site into (required)")
	goroot := fs.String("goroot", runtime.GOROOT(), "Go installation to read")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	pages, sections, err := render.Godoc(*goroot, *out, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: the Go standard library's documentation, %d pages, %d sections with an anchor\n", *out, pages, sections)
	return nil
}

func runBEIR(args []string, stdout io.Writer) error {
	fs := flags("beir")
	data := fs.String("data", "", "BEIR dataset folder (required)")
	out := fs.String("out", "", "folder to write the site into (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *out == "" {
		return errors.New("--data and --out are required")
	}
	ds, err := beir.Load(*data, "test")
	if err != nil {
		return err
	}
	name := filepath.Base(filepath.Clean(*data))
	if err := render.BEIR(ds.Corpus, name, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d pages of %s\n", *out, len(ds.Corpus), name)
	return nil
}

// benchQuery is a query as tools/browser/bench-site.mjs reads it.
type benchQuery struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

func runQueries(args []string, stdout io.Writer) error {
	fs := flags("queries")
	data := fs.String("data", "", "BEIR dataset folder (required)")
	out := fs.String("out", "", "JSON file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *out == "" {
		return errors.New("--data and --out are required")
	}
	ds, err := beir.Load(*data, "test")
	if err != nil {
		return err
	}
	var qs []benchQuery
	for _, q := range ds.JudgedQueries() {
		qs = append(qs, benchQuery{q.ID, q.Text})
	}
	raw, err := json.Marshal(qs)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, raw, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d judged test queries\n", *out, len(qs))
	return nil
}
