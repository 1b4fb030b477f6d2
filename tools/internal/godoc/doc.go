// Package godoc builds the demo corpus for `make demo` from the Go standard
// library documentation in GOROOT, which every machine with the Go toolchain
// has, so a fresh clone can run the demo without downloading a data set.
//
// Corpus walks $GOROOT/src and emits one document per package (ID is the
// import path, e.g. "net/http") and one per exported function, method and
// type that has a doc comment (ID is the import path followed by the
// qualified name, e.g. "net/http.Client.Do"). Commands, internal and vendored
// packages, test files and deprecated declarations are left out. Files are
// selected by build constraints for a fixed linux/amd64 context with cgo
// enabled, so the corpus does not depend on the machine that builds it.
//
// WriteJSONL writes the documents in the BEIR corpus layout, one
// {"_id","title","text"} object per line, so the rest of the pipeline reads
// the demo corpus like any other data set.
package godoc
