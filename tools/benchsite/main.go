// Command sbmoe-benchsite renders data sets as static sites and reports on searching them
// in a browser: the Go standard library's documentation that make demo indexes and serves,
// and SciFact's corpus, one page per abstract, which make bench-site indexes with both
// sbmoe site and Pagefind and searches with both in the same headless Chromium
// (tools/browser/bench-site.mjs), scoring each one's results here with core/metrics.
//
//	sbmoe-benchsite godoc --out DIR [--goroot DIR]
//	sbmoe-benchsite beir --data DATASET --out DIR
//	sbmoe-benchsite queries --data DATASET --out FILE.json
//	sbmoe-benchsite build --site DIR --out FILE.json
//	sbmoe-benchsite report --data DATASET --site DIR --runs FILE.json --build FILE.json --out FILE.md
//	sbmoe-benchsite modes --data DIR --out FILE.md [--cache DIR]
package main

import (
	"fmt"
	"io"
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage:
  sbmoe-benchsite godoc --out DIR [--goroot DIR]      render the Go standard library's docs as a site
  sbmoe-benchsite beir --data DATASET --out DIR       render a BEIR corpus as a site, one page per document
  sbmoe-benchsite queries --data DATASET --out FILE   the judged test queries, as the browser bench reads them
  sbmoe-benchsite build --site DIR --out FILE.json    build Pagefind's and sbmoe's indexes of a site, timed
  sbmoe-benchsite report --data DATASET --site DIR --runs FILE --build FILE --out FILE.md
                                                      score the browser runs and write the comparison
  sbmoe-benchsite modes --data DIR --out FILE.md [--cache DIR]
                                                      NDCG@10 of BM25, dense and fusions on every collection
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "godoc":
		err = runGodoc(args[1:], stdout)
	case "beir":
		err = runBEIR(args[1:], stdout)
	case "queries":
		err = runQueries(args[1:], stdout)
	case "build":
		err = runBuild(args[1:], stdout)
	case "report":
		err = runReport(args[1:], stdout)
	case "modes":
		err = runModes(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "sbmoe-benchsite: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "sbmoe-benchsite %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
