// Package render writes data sets as static sites for sbmoe site to index: the Go standard
// library's documentation (make demo; the Chromium tests use a few of its packages) and a
// BEIR corpus, one page per document (make bench-site).
package render

import (
	"cmp"
	"fmt"
	"html/template"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/tools/internal/godoc"
)

// page is one page of a rendered site.
type page struct {
	Site     string // the site's name, in the header
	Title    string // <title>
	H1       string
	Lead     string // a line under the heading
	Text     string // the page's own text, before its sections
	Sections []section
	Links    []link // a list of links (the home page's packages)
	Widget   bool   // the header carries the search widget
	Home     bool
}

type section struct{ ID, Heading, Text string }

type link struct{ URL, Text, Note string }

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/style.css">
{{- if .Widget}}
<script type="module" src="/_sbmoe/widget.js"></script>
{{- end}}
</head>
<body>
{{- if .Widget}}
<header class="top"><a class="brand" href="/">{{.Site}}</a><div class="search" data-sbmoe-search data-placeholder="Search {{.Site}}"></div></header>
{{- end}}
<main data-pagefind-body>
<h1>{{.H1}}</h1>
{{- if .Lead}}
<p class="lead">{{.Lead}}</p>
{{- end}}
{{- if .Text}}
<p>{{.Text}}</p>
{{- end}}
{{- range .Sections}}
<section>
<h2 id="{{.ID}}">{{.Heading}}</h2>
<p>{{.Text}}</p>
</section>
{{- end}}
{{- if .Links}}
<ul class="index">
{{- range .Links}}
<li><a href="{{.URL}}">{{.Text}}</a>{{if .Note}} <span>{{.Note}}</span>{{end}}</li>
{{- end}}
</ul>
{{- end}}
</main>
{{- if .Widget}}
<footer>Rendered by sbmoe-benchsite · search by <code>sbmoe site</code>, in your browser</footer>
{{- end}}
</body>
</html>
`))

// style is the sites' stylesheet: a plain documentation look, light or dark as the
// visitor prefers.
const style = `:root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --line: #d1d9e0; --link: #0b63ce; --top: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --line: #30363d; --link: #7cb4ff; --top: #161b22; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
header.top { display: flex; gap: 2rem; align-items: center; padding: .9rem 2rem; background: var(--top); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 10; }
header.top .brand { font-weight: 700; font-size: 1.05rem; color: var(--fg); text-decoration: none; white-space: nowrap; }
header.top .search { flex: 1; max-width: 40rem; }
main { max-width: 52rem; margin: 0 auto; padding: 2rem 2rem 4rem; }
h1 { font-size: 1.9rem; margin: .5rem 0 .25rem; letter-spacing: -.01em; }
h2 { font-size: 1.05rem; margin: 2rem 0 .4rem; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-weight: 600; }
p.lead { color: var(--muted); margin-top: 0; }
section { border-top: 1px solid var(--line); }
ul.index { columns: 2; padding-left: 1.2rem; }
ul.index span { color: var(--muted); font-size: .85rem; }
footer { max-width: 52rem; margin: 0 auto; padding: 1rem 2rem 3rem; color: var(--muted); font-size: .85rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
`

func writePage(dir, rel string, p page) error {
	file := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := pageTmpl.Execute(f, p); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", rel, err)
	}
	return f.Close()
}

// Godoc writes the Go standard library's documentation in goroot as a site: one page per
// package (pkg/PATH/) for which keep holds (nil keeps all), a section per documented
// function, type and method (its name as the heading's id), a home page listing the
// packages, and the search widget in every page's header. It returns the number of pages
// and of sections.
func Godoc(goroot, out string, keep func(importPath string) bool) (pages, sections int, err error) {
	docs, err := godoc.Corpus(goroot)
	if err != nil {
		return 0, 0, err
	}
	type pkg struct {
		path, text string
		decls      []section
	}
	pkgs := map[string]*pkg{}
	get := func(path string) *pkg {
		if pkgs[path] == nil {
			pkgs[path] = &pkg{path: path}
		}
		return pkgs[path]
	}
	for _, d := range docs {
		slash := strings.LastIndexByte(d.ID, '/')
		dot := strings.IndexByte(d.ID[slash+1:], '.')
		if dot < 0 { // the package itself
			if keep != nil && !keep(d.ID) {
				continue
			}
			get(d.ID).text = d.Text
			continue
		}
		path, name := d.ID[:slash+1+dot], d.ID[slash+2+dot:]
		if keep != nil && !keep(path) {
			continue
		}
		get(path).decls = append(get(path).decls, section{ID: name, Heading: d.Title, Text: d.Text})
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, 0, err
	}
	if err := os.WriteFile(filepath.Join(out, "style.css"), []byte(style), 0o644); err != nil {
		return 0, 0, err
	}
	const site = "Go standard library"
	var links []link
	for _, path := range slices.Sorted(func(yield func(string) bool) {
		for p := range pkgs {
			if !yield(p) {
				return
			}
		}
	}) {
		p := pkgs[path]
		slices.SortFunc(p.decls, func(a, b section) int { return cmp.Compare(a.ID, b.ID) })
		name := path[strings.LastIndexByte(path, '/')+1:]
		if err := writePage(out, "pkg/"+path+"/index.html", page{Site: site, Title: path + " — " + site, H1: path,
			Lead: "package " + name + ` · import "` + path + `"`, Text: p.text, Sections: p.decls, Widget: true}); err != nil {
			return 0, 0, err
		}
		pages++
		sections += len(p.decls)
		if p.text != "" {
			sections++
		}
		links = append(links, link{URL: "/pkg/" + path + "/", Text: path, Note: fmt.Sprintf("%d", len(p.decls))})
	}
	err = writePage(out, "index.html", page{Site: site, Title: site, H1: site, Home: true, Widget: true,
		Lead:  fmt.Sprintf("The documentation of the %d packages in %s, as a static site. Ask the search box in your own words.", pages, goroot),
		Links: links})
	return pages + 1, sections, err
}

// BEIR writes a BEIR corpus as a site: one page per document (doc/ID.html, its title
// as the heading, its text as one paragraph), and a home page with the search widget. The
// document pages carry no header, navigation or widget, so that what every search tool
// indexes of them is the document.
func BEIR(corpus []beir.Doc, name, out string) error {
	if err := os.MkdirAll(filepath.Join(out, "doc"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "style.css"), []byte(style), 0o644); err != nil {
		return err
	}
	for _, d := range corpus {
		title := d.Title
		if title == "" {
			title = d.ID
		}
		if err := writePage(out, DocPath(d.ID), page{Title: title, H1: d.Title, Text: d.Text}); err != nil {
			return err
		}
	}
	return writePage(out, "index.html", page{Site: name, Title: name, H1: name, Home: true, Widget: true,
		Lead: fmt.Sprintf("%d documents, one page each.", len(corpus))})
}

// DocPath is the page of a BEIR document, and DocID reads the document back from a URL.
func DocPath(id string) string { return "doc/" + neturl.PathEscape(id) + ".html" }

// DocID is the document a URL of BEIR's site shows.
func DocID(url string) (string, bool) {
	if i := strings.IndexAny(url, "#?"); i >= 0 {
		url = url[:i]
	}
	i := strings.LastIndex(url, "/doc/")
	if i < 0 || !strings.HasSuffix(url, ".html") {
		return "", false
	}
	id, err := neturl.PathUnescape(url[i+len("/doc/") : len(url)-len(".html")])
	return id, err == nil
}
