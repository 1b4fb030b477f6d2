package godoc

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// goroot asks the go command, which `go test` puts first on PATH, rather
// than the deprecated runtime.GOROOT.
func goroot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}

var stdlib struct {
	once    sync.Once
	docs    []Doc
	err     error
	elapsed time.Duration
}

// stdlibCorpus builds the standard library corpus once for all tests: it
// takes a few seconds.
func stdlibCorpus(t *testing.T) []Doc {
	t.Helper()
	root := goroot(t)
	stdlib.once.Do(func() {
		start := time.Now()
		stdlib.docs, stdlib.err = Corpus(root)
		stdlib.elapsed = time.Since(start)
	})
	if stdlib.err != nil {
		t.Fatal(stdlib.err)
	}
	return stdlib.docs
}

func TestCorpusStdlib(t *testing.T) {
	docs := stdlibCorpus(t)
	t.Logf("%d documents in %v", len(docs), stdlib.elapsed)
	if len(docs) <= 3000 {
		t.Errorf("got %d documents, want more than 3000", len(docs))
	}
	byID := make(map[string]Doc, len(docs))
	for i, d := range docs {
		if i > 0 && docs[i-1].ID >= d.ID {
			t.Errorf("documents %d and %d out of order or repeated: %q, %q", i-1, i, docs[i-1].ID, d.ID)
		}
		byID[d.ID] = d
		for _, bad := range []string{"internal/", "cmd/", "vendor/"} {
			if strings.HasPrefix(d.ID, bad) || strings.Contains(d.ID, "/"+bad) {
				t.Errorf("document %q comes from a %s package", d.ID, strings.TrimSuffix(bad, "/"))
			}
		}
		if d.Title == "" || d.Text == "" || strings.ContainsAny(d.Title+d.Text, "\n\t") {
			t.Errorf("document %q: want a non-empty single-line title and text, got %q, %q", d.ID, d.Title, d.Text)
		}
		if n := utf8.RuneCountInString(d.Text); n > maxPackageText {
			t.Errorf("document %q: text has %d runes, want at most %d", d.ID, n, maxPackageText)
		}
	}

	present := []struct {
		id, title, text string
	}{
		{"strings.Split", "func Split(s, sep string) []string", "Split slices s into all substrings separated by sep"},
		{"net/http", "package http (net/http)", "Package http provides HTTP client and server implementations."},
		{"net/http.Client.Do", "func (c *Client) Do(req *Request) (*Response, error)", "Do sends an HTTP request"},
		{"strings.Reader", "type Reader struct", "A Reader implements the"},
		{"strings.NewReader", "func NewReader(s string) *Reader", "NewReader returns a new Reader"},
		{"io.Reader", "type Reader interface", "Reader is the interface that wraps the basic Read method."},
		{"maps.Keys", "func Keys[Map ~map[K]V, K comparable, V any](m Map) iter.Seq[K]", "Keys returns an iterator"},
		{"builtin.append", "func append(slice []Type, elems ...Type) []Type", "The append built-in function"},
		{"builtin.any", "type any = interface{}", "any is an alias for interface{}"},
	}
	for _, want := range present {
		got, ok := byID[want.id]
		if !ok {
			t.Errorf("no document %q", want.id)
			continue
		}
		if got.Title != want.title || !strings.HasPrefix(got.Text, want.text) {
			t.Errorf("document %q = (%q, %.80q...), want (%q, %q...)", want.id, got.Title, got.Text, want.title, want.text)
		}
	}

	absent := []struct {
		id, why string
	}{
		{"cmd/go", "command"},
		{"internal/abi", "internal package"},
		{"strings.Title", "deprecated function"},
		{"io/ioutil", "deprecated package"},
		{"net/http.Client.unexported", "unexported method"},
		{"strings.Builder.copyCheck", "unexported method"},
	}
	for _, a := range absent {
		if _, ok := byID[a.id]; ok {
			t.Errorf("document %q present, want it left out as a %s", a.id, a.why)
		}
	}
}

func TestCorpusDeterministic(t *testing.T) {
	first := stdlibCorpus(t)
	second, err := Corpus(goroot(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first, second) {
		t.Error("two calls returned different corpora")
	}
}

// writeTree creates files (slash-separated path relative to root: content)
// under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCorpusSelection(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"src/lib/doc.go": "// Package lib is kept.\npackage lib\n",
		"src/lib/lib.go": `package lib

// Long has its parameters on several lines in the source.
func Long(
	a int,
	b string,
) error { return nil }

// Undocumented declarations are left out.
func Documented() {}

func Undocumented() {}

// Old is left out.
//
// Deprecated: use Long.
func Old() {}

// notExported is left out.
func notExported() {}

type (
	// Pair is documented inside a group.
	Pair struct {
		A, B int
		hidden int
	}
	// Empty has no fields at all.
	Empty struct{}
	// Hidden has unexported fields only.
	Hidden struct{ x int }
)

// Get returns a value.
func (p *Pair) Get() int { return p.A }

// NewPair makes a Pair; go/doc files it under the type.
func NewPair() *Pair { return nil }
`,
		"src/lib/lib_windows.go":       "package lib\n\n// OnlyWindows is outside the linux/amd64 context.\nfunc OnlyWindows() {}\n",
		"src/lib/lib_test.go":          "package lib\n\n// InTest is test code.\nfunc InTest() {}\n",
		"src/lib/internal/x/x.go":      "// Package x is internal.\npackage x\n",
		"src/lib/testdata/t.go":        "// Package t is test data.\npackage t\n",
		"src/lib/_skip/s.go":           "// Package s is ignored by the go command.\npackage s\n",
		"src/internal/y/y.go":          "// Package y is internal.\npackage y\n",
		"src/vendor/v/v.go":            "// Package v is vendored.\npackage v\n",
		"src/cmd/tool/tool.go":         "// Package tool is a command's library.\npackage tool\n",
		"src/prog/main.go":             "// Prog is a command.\npackage main\n\n// Run runs.\nfunc Run() {}\n",
		"src/broken/broken.go":         "// Package broken does not parse.\npackage broken\n\nfunc (\n",
		"src/mixed/a.go":               "// Package a shares a directory with b.\npackage a\n",
		"src/mixed/b.go":               "package b\n",
		"src/nodoc/nodoc.go":           "package nodoc\n\n// F is documented though the package is not.\nfunc F() {}\n",
		"src/deprecated/deprecated.go": "// Package deprecated is old.\n//\n// Deprecated: use lib.\npackage deprecated\n",
	})
	docs, err := Corpus(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Doc{
		{"lib", "package lib (lib)", "Package lib is kept."},
		{"lib.Documented", "func Documented()", "Undocumented declarations are left out."},
		{"lib.Empty", "type Empty struct{}", "Empty has no fields at all."},
		{"lib.Hidden", "type Hidden struct", "Hidden has unexported fields only."},
		{"lib.Long", "func Long(a int, b string) error", "Long has its parameters on several lines in the source."},
		{"lib.NewPair", "func NewPair() *Pair", "NewPair makes a Pair; go/doc files it under the type."},
		{"lib.Pair", "type Pair struct", "Pair is documented inside a group."},
		{"lib.Pair.Get", "func (p *Pair) Get() int", "Get returns a value."},
		{"nodoc.F", "func F()", "F is documented though the package is not."},
	}
	if !slices.Equal(docs, want) {
		t.Errorf("got\n%s\nwant\n%s", docLines(docs), docLines(want))
	}
}

func docLines(docs []Doc) string {
	var b strings.Builder
	for _, d := range docs {
		b.WriteString("\t" + d.ID + " | " + d.Title + " | " + d.Text + "\n")
	}
	return b.String()
}

func TestCorpusErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"no src directory", nil},
		{"no documented packages", map[string]string{"src/a/a.go": "package a\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, tt.files)
			docs, err := Corpus(root)
			if err == nil || !strings.HasPrefix(err.Error(), "read go documentation in "+filepath.Join(root, "src")) {
				t.Errorf("got %d documents, error %v; want an error naming %s/src", len(docs), err, root)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s     string
		limit int
		want  string
	}{
		{"", 5, ""},
		{"short", 5, "short"},
		{"two words", 5, "two"},
		{"two words", 4, "two"},
		{"unbroken", 3, "unb"},
		{"héllo wörld", 7, "héllo"},
		{"日本語の文", 3, "日本語"},
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.limit); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.limit, got, tt.want)
		}
	}
}

// FuzzFileDocs checks that any parsable file yields documents without
// panicking, with single-line titles and texts within the limits.
func FuzzFileDocs(f *testing.F) {
	f.Add("// Package p is a package.\npackage p\n\n// F does things.\nfunc F(a,\n b int) {}\n")
	f.Add("package p\n\ntype (\n\t// T is generic.\n\tT[P any] interface{ M() P }\n\tU = T[int]\n)\n")
	f.Add("package p\n\n// M is a method.\nfunc (T[P]) M(x struct{ a int }) (r func() <-chan int) { return }\n")
	f.Add("// Package builtin.\npackage builtin\n\n// append.\nfunc append(s []T, x ...T) []T\n")
	f.Fuzz(func(t *testing.T, src string) {
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return
		}
		importPath := "p"
		if file.Name.Name == "builtin" {
			importPath = "builtin"
		}
		for _, d := range filesDocs(fset, []*ast.File{file}, importPath) {
			if d.ID == "" || d.Title == "" || strings.Contains(d.Title, "\n") || strings.Contains(d.Text, "\n") {
				t.Errorf("bad document %+v", d)
			}
			if n := utf8.RuneCountInString(d.Text); n > maxPackageText {
				t.Errorf("document %q: text has %d runes", d.ID, n)
			}
		}
	})
}
