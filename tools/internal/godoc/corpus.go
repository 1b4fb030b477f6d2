package godoc

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Doc is one corpus document; its JSON form is a BEIR corpus line.
type Doc struct {
	ID    string `json:"_id"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Text limits, in runes. Package overviews run to thousands of words; the
// encoder sees at most a few hundred tokens, so longer texts only cost time.
const (
	maxPackageText = 2000
	maxDeclText    = 1500
)

// Corpus returns the documents for the standard library under goroot/src,
// sorted by ID. A directory whose files do not parse, or that holds no
// importable non-main package, is skipped: one odd package should not cost
// the demo its corpus.
func Corpus(goroot string) ([]Doc, error) {
	src := filepath.Join(goroot, "src")
	type pkgDir struct{ dir, importPath string }
	var dirs []pkgDir
	err := filepath.WalkDir(src, func(dir string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(src, dir)
		if err != nil {
			return err
		}
		importPath := filepath.ToSlash(rel)
		if skipDir(importPath, d.Name()) {
			return filepath.SkipDir
		}
		dirs = append(dirs, pkgDir{dir, importPath})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read go documentation in %s: %w", src, err)
	}

	// Reading the files dominates and mostly waits on the disk, so the
	// packages are read by more workers than there are CPUs. Each writes
	// only its own slots; the sort below makes the order deterministic.
	ctx := buildContext(goroot)
	perDir := make([][]Doc, len(dirs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(readers, len(dirs)) {
		wg.Go(func() {
			for i := range next {
				perDir[i] = packageDocs(ctx, dirs[i].dir, dirs[i].importPath)
			}
		})
	}
	for i := range dirs {
		next <- i
	}
	close(next)
	wg.Wait()

	docs := slices.Concat(perDir...)
	if len(docs) == 0 {
		return nil, fmt.Errorf("read go documentation in %s: no documented packages", src)
	}
	return sortUnique(docs), nil
}

// readers is the number of packages read at once.
const readers = 8

// buildContext fixes GOOS, GOARCH and cgo so that the files chosen by build
// constraints, and hence the corpus, are the same on every machine.
func buildContext(goroot string) *build.Context {
	ctx := build.Default
	ctx.GOROOT = goroot
	ctx.GOOS = "linux"
	ctx.GOARCH = "amd64"
	ctx.CgoEnabled = true
	return &ctx
}

// skipDir reports whether the walk should not descend into the directory
// with the given import path (relative to GOROOT/src) and base name.
// Internal and vendored packages cannot be imported by users, cmd holds
// tools rather than library packages, and the go command ignores testdata
// and names starting with "." or "_".
func skipDir(importPath, name string) bool {
	if importPath == "." {
		return false
	}
	switch {
	case importPath == "cmd", name == "internal", name == "vendor", name == "testdata":
		return true
	case strings.HasPrefix(name, "."), strings.HasPrefix(name, "_"):
		return true
	}
	return false
}

// packageDocs returns the documents of the package in dir, or none if the
// directory holds no usable package.
func packageDocs(ctx *build.Context, dir, importPath string) []Doc {
	bp, err := ctx.ImportDir(dir, 0)
	if err != nil || bp.Name == "main" {
		return nil
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range slices.Concat(bp.GoFiles, bp.CgoFiles) {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil
		}
		files = append(files, f)
	}
	return filesDocs(fset, files, importPath)
}

// filesDocs returns the documents of the package made of files, or none if
// they do not form one package.
func filesDocs(fset *token.FileSet, files []*ast.File, importPath string) []Doc {
	var mode doc.Mode
	if importPath == "builtin" {
		// builtin documents the predeclared identifiers (append, len, error),
		// which are lower-case; pkg.go.dev shows them all, and so do we.
		mode = doc.AllDecls
	}
	pkg, err := doc.NewFromFiles(fset, files, importPath, mode)
	if err != nil {
		return nil
	}
	return collect(fset, pkg)
}

// collect turns a package's documentation into corpus documents.
func collect(fset *token.FileSet, pkg *doc.Package) []Doc {
	var docs []Doc
	if text := docText(pkg, pkg.Doc, maxPackageText); text != "" {
		docs = append(docs, Doc{
			ID:    pkg.ImportPath,
			Title: fmt.Sprintf("package %s (%s)", pkg.Name, pkg.ImportPath),
			Text:  text,
		})
	}
	addFunc := func(id string, f *doc.Func) {
		if text := docText(pkg, f.Doc, maxDeclText); text != "" {
			docs = append(docs, Doc{ID: id, Title: funcSignature(fset, f.Decl), Text: text})
		}
	}
	for _, f := range pkg.Funcs {
		addFunc(pkg.ImportPath+"."+f.Name, f)
	}
	for _, t := range pkg.Types {
		if text := docText(pkg, t.Doc, maxDeclText); text != "" {
			docs = append(docs, Doc{
				ID:    pkg.ImportPath + "." + t.Name,
				Title: typeSignature(fset, t),
				Text:  text,
			})
		}
		// go/doc files constructors such as strings.NewReader under the type
		// they return; they are package functions all the same.
		for _, f := range t.Funcs {
			addFunc(pkg.ImportPath+"."+f.Name, f)
		}
		for _, m := range t.Methods {
			addFunc(pkg.ImportPath+"."+t.Name+"."+m.Name, m)
		}
	}
	return docs
}

// docText renders a doc comment as plain text (doc links become their
// names, code blocks stay inline) on a single line, cut to at most limit
// runes. It is "" if the comment is empty or marks its package or
// declaration deprecated: the demo should not recommend what Go advises
// against.
func docText(pkg *doc.Package, comment string, limit int) string {
	if strings.TrimSpace(comment) == "" || deprecated(comment) {
		return ""
	}
	return truncate(strings.Join(strings.Fields(string(pkg.Text(comment))), " "), limit)
}

// deprecated follows the Go convention that a paragraph starting with
// "Deprecated:" anywhere in the comment marks the declaration deprecated,
// as pkgsite and gopls read it.
func deprecated(comment string) bool {
	return strings.HasPrefix(comment, "Deprecated:") || strings.Contains(comment, "\n\nDeprecated:")
}

// truncate cuts s to at most limit runes, at the last space if there is one
// in the kept part, so that no word is split.
func truncate(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	cut := 0
	for range limit {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
	}
	if space := strings.LastIndexFunc(s[:cut], unicode.IsSpace); space > 0 {
		cut = space
	}
	return strings.TrimRightFunc(s[:cut], unicode.IsSpace)
}

// funcSignature prints a function or method declaration without its body
// on one line, e.g. "func (c *Client) Do(req *Request) (*Response, error)".
func funcSignature(fset *token.FileSet, decl *ast.FuncDecl) string {
	sig := *decl
	sig.Doc = nil
	sig.Body = nil
	return printNode(fset, &sig)
}

// typeSignature prints a type declaration on one line. Struct and interface
// bodies are replaced by their keyword ("type Reader struct"): the fields
// and methods have documents of their own or are unexported. Truly empty
// ones stay, as "struct{}" says more than "struct". Incomplete means go/doc
// removed unexported fields, so the body was not empty.
func typeSignature(fset *token.FileSet, t *doc.Type) string {
	spec := typeSpec(t)
	if spec == nil {
		return "type " + t.Name
	}
	short := *spec
	short.Doc = nil
	short.Comment = nil
	switch typ := spec.Type.(type) {
	case *ast.StructType:
		if typ.Fields.NumFields() > 0 || typ.Incomplete {
			short.Type = ast.NewIdent("struct")
		}
	case *ast.InterfaceType:
		if typ.Methods.NumFields() > 0 || typ.Incomplete {
			short.Type = ast.NewIdent("interface")
		}
	}
	return printNode(fset, &ast.GenDecl{Tok: token.TYPE, Specs: []ast.Spec{&short}})
}

// typeSpec finds the spec of t in its declaration, which may be a group.
func typeSpec(t *doc.Type) *ast.TypeSpec {
	for _, s := range t.Decl.Specs {
		if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.Name == t.Name {
			return ts
		}
	}
	return nil
}

// printNode prints node with go/printer and joins the lines that the
// source's layout carried over, e.g. parameter lists split across lines.
func printNode(fset *token.FileSet, node ast.Node) string {
	var b strings.Builder
	if err := printer.Fprint(&b, fset, node); err != nil {
		// printer only fails on writer errors or unsupported nodes, neither
		// of which happens for a strings.Builder and a declaration.
		return ""
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	s = strings.ReplaceAll(s, "( ", "(")
	s = strings.ReplaceAll(s, ", )", ")")
	return strings.ReplaceAll(s, " )", ")")
}

// sortUnique sorts docs by ID and keeps the first of any documents sharing
// an ID; ties are broken by title and text so the survivor is deterministic.
func sortUnique(docs []Doc) []Doc {
	slices.SortFunc(docs, func(a, b Doc) int {
		return cmp.Or(strings.Compare(a.ID, b.ID), strings.Compare(a.Title, b.Title), strings.Compare(a.Text, b.Text))
	})
	return slices.CompactFunc(docs, func(a, b Doc) bool { return a.ID == b.ID })
}
