package site

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
)

// Section is one searchable part of a page.
type Section struct {
	URL     string `json:"url"`               // "/guide/install.html#linux": the page's URL and the heading's id
	File    string `json:"file"`              // the page's file, slash-separated, relative to the site's root
	Title   string `json:"title"`             // the page's title
	Heading string `json:"heading,omitempty"` // the section's heading; "" for the page's own section
	Text    string `json:"text"`              // the section's text: blocks on lines of their own, spaces collapsed
}

// Attributes a site's templates put on elements.
const (
	BodyAttr   = "data-sbmoe-body"   // read only these elements (and only pages that have one)
	IgnoreAttr = "data-sbmoe-ignore" // skip this element; on <html> or <body>, the page
)

// Options tune Read.
type Options struct {
	// BaseURL is put before every page's path: "/" (the default) for a site at its host's
	// root, "/docs/" for one served below it.
	BaseURL string
	// Exclude lists folders (paths as given, or relative to the working directory) that are
	// not read: the folder the bundle is written to, when it is inside the site.
	Exclude []string
	// Progress is told of every page read.
	Progress func(done, total int)
}

// Result is what Read found.
type Result struct {
	Files    int // HTML files under the root
	Pages    int // pages with at least one section
	Sections []Section
	Warnings []string // files not read, or not wholly, and why
}

// ErrNoPages is wrapped by Read when the site gives no section to index.
var ErrNoPages = errors.New("nothing to index")

// Read reads every .html and .htm file under root (folders whose names start with "."
// left out) and returns their sections, in file order.
func Read(root string, opt Options) (*Result, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("read site: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("read site: %s is not a folder", root)
	}
	base, err := baseURL(opt.BaseURL)
	if err != nil {
		return nil, err
	}
	var exclude []string
	for _, e := range opt.Exclude {
		if abs, err := filepath.Abs(e); err == nil {
			exclude = append(exclude, abs)
		}
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if abs, err := filepath.Abs(p); err == nil && slices.Contains(exclude, abs) {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := strings.ToLower(filepath.Ext(p)); (ext == ".html" || ext == ".htm") && d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read site: %w", err)
	}
	res := &Result{Files: len(files)}
	if len(files) == 0 {
		return nil, fmt.Errorf("read site: %w: no .html or .htm files under %s (give the folder your site generator writes, such as public/ or _site/)", ErrNoPages, root)
	}
	type read struct {
		sections []Section
		marked   bool
	}
	pages := make([]read, len(files))
	byURL := map[string]string{}
	anyMarked := false
	for i, p := range files {
		if opt.Progress != nil {
			opt.Progress(i, len(files))
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		u := pageURL(base, rel)
		if other, dup := byURL[u]; dup {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: left out: its URL %s is %s's too", rel, u, other))
			continue
		}
		byURL[u] = rel
		data, err := os.ReadFile(p)
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: left out: %v", rel, err))
			continue
		}
		sections, marked, warnings, err := Page(data, rel, u)
		for _, w := range warnings {
			res.Warnings = append(res.Warnings, rel+": "+w)
		}
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: left out: %v", rel, err))
			continue
		}
		pages[i] = read{sections, marked}
		anyMarked = anyMarked || marked
	}
	if opt.Progress != nil {
		opt.Progress(len(files), len(files))
	}
	for _, p := range pages {
		if anyMarked && !p.marked || len(p.sections) == 0 {
			continue
		}
		res.Pages++
		res.Sections = append(res.Sections, p.sections...)
	}
	if len(res.Sections) == 0 {
		why := "none has text in <main>, <article> or <body> outside nav, header and footer"
		if anyMarked {
			why = "the elements marked " + BodyAttr + " hold no text"
		}
		return nil, fmt.Errorf("read site: %w: %d HTML files under %s, but %s", ErrNoPages, len(files), root, why)
	}
	return res, nil
}

// baseURL checks and normalises Options.BaseURL: it starts and ends with "/", or is an
// absolute http(s) URL ending with "/".
func baseURL(b string) (string, error) {
	if b == "" {
		return "/", nil
	}
	if !strings.HasSuffix(b, "/") {
		b += "/"
	}
	u, err := url.Parse(b)
	if err != nil || (u.Scheme == "" && !strings.HasPrefix(b, "/")) || (u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("read site: base URL %q: want a path such as /docs/ or an http(s) URL", b)
	}
	return b, nil
}

// pageURL is the URL of the page at rel (slash-separated, below the root): base + its
// path, each segment escaped, with index.html (or .htm) dropped.
func pageURL(base, rel string) string {
	dir, file := path.Split(rel)
	if f := strings.ToLower(file); f == "index.html" || f == "index.htm" {
		file = ""
	}
	var parts []string
	for _, s := range strings.Split(dir+file, "/") {
		parts = append(parts, url.PathEscape(s))
	}
	return base + strings.Join(parts, "/")
}

// maxPageBytes bounds one page; a bigger file is not a page a visitor reads.
const maxPageBytes = 32 << 20

// Page splits one page into sections. file names it in messages and sections; pageURL is
// its URL. marked reports whether it has elements with BodyAttr (and then only those were
// read). Warnings are about parts of the page; an error means the page is left out.
func Page(data []byte, file, pageURL string) (sections []Section, marked bool, warnings []string, err error) {
	switch {
	case len(data) == 0:
		return nil, false, nil, errors.New("the file is empty")
	case len(data) > maxPageBytes:
		return nil, false, nil, fmt.Errorf("%d bytes, more than a page should hold (%d)", len(data), maxPageBytes)
	case bytes.IndexByte(data[:min(len(data), 8192)], 0) >= 0:
		return nil, false, nil, errors.New("not text (it holds NUL bytes): is it really HTML?")
	}
	r, err := charset.NewReader(bytes.NewReader(data), "text/html")
	if err != nil {
		return nil, false, nil, fmt.Errorf("decode: %w", err)
	}
	decoded, err := io.ReadAll(r)
	if err != nil {
		return nil, false, nil, fmt.Errorf("decode: %w", err)
	}
	if !utf8.Valid(decoded) {
		warnings = append(warnings, "bytes that are not UTF-8 (and no <meta charset> saying otherwise) were replaced")
		decoded = bytes.ToValidUTF8(decoded, []byte("\uFFFD"))
	}
	doc, err := html.Parse(bytes.NewReader(decoded))
	if err != nil {
		return nil, false, nil, fmt.Errorf("parse: %w", err)
	}
	htmlEl := child(doc, atom.Html)
	body := child(htmlEl, atom.Body)
	if htmlEl == nil || body == nil {
		return nil, false, nil, errors.New("no <body>")
	}
	if hasAttr(htmlEl, IgnoreAttr) || hasAttr(body, IgnoreAttr) {
		return nil, false, nil, nil
	}
	roots := findMarked(body)
	marked = len(roots) > 0
	if !marked {
		roots = defaultRoots(body)
	}
	e := &extractor{page: Section{URL: pageURL, File: file}, seen: map[string]bool{}}
	var h1 *html.Node
	for _, root := range roots {
		if h1 = find(root, func(n *html.Node) bool { return n.DataAtom == atom.H1 && strings.TrimSpace(textOf(n)) != "" }); h1 != nil {
			break
		}
	}
	if h1 != nil {
		e.page.Title, e.titleNode = collapse(textOf(h1)), h1
	} else if t := find(htmlEl, func(n *html.Node) bool { return n.DataAtom == atom.Title }); t != nil && strings.TrimSpace(textOf(t)) != "" {
		e.page.Title = collapse(textOf(t))
	} else {
		e.page.Title = strings.TrimSuffix(path.Base(file), path.Ext(file))
	}
	e.start("", "")
	for _, root := range roots {
		e.walk(root)
		e.text.breakLine()
	}
	e.flush()
	return e.sections, marked, e.warnings, nil
}

// extractor walks the content of a page and cuts it into sections.
type extractor struct {
	page      Section // URL, File and Title of every section
	titleNode *html.Node
	seen      map[string]bool // heading ids already used
	sections  []Section
	warnings  []string
	heading   string
	id        string
	text      textBuilder
}

// start begins a new section at a heading (none for the page's own).
func (e *extractor) start(heading, id string) {
	e.heading, e.id = heading, id
	e.text = textBuilder{}
}

// flush ends the current section, keeping it if it has text.
func (e *extractor) flush() {
	text := e.text.String()
	if text == "" {
		return
	}
	s := e.page
	s.Heading, s.Text = e.heading, text
	if e.id != "" {
		s.URL += "#" + (&url.URL{Fragment: e.id}).EscapedFragment()
	}
	e.sections = append(e.sections, s)
}

func (e *extractor) walk(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		e.text.write(n.Data)
		return
	case html.ElementNode:
	default:
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			e.walk(c)
		}
		return
	}
	if skipped(n) || n == e.titleNode {
		return
	}
	if isHeading(n) {
		text := collapse(textOf(n))
		if id := headingID(n); id != "" && text != "" {
			if !e.seen[id] {
				e.seen[id] = true
				e.flush()
				e.start(text, id)
				return
			}
			e.warnings = append(e.warnings, fmt.Sprintf("two headings have the id %q: the second (%q) starts no section", id, text))
		}
	}
	block := isBlock(n)
	if block {
		e.text.breakLine()
	}
	if n.DataAtom == atom.Br {
		e.text.breakLine()
	}
	pre := n.DataAtom == atom.Pre
	if pre {
		e.text.pre++
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		e.walk(c)
	}
	if pre {
		e.text.pre--
	}
	if block {
		e.text.breakLine()
	}
}

// textBuilder collapses runs of white space to one space, and keeps one newline where a
// block ended (and at line ends inside <pre>).
type textBuilder struct {
	b              strings.Builder
	space, newline bool
	pre            int
}

func (t *textBuilder) write(s string) {
	for _, r := range s {
		if r == '\n' && t.pre > 0 {
			t.breakLine()
			continue
		}
		if unicode.IsSpace(r) || r == '\u00a0' {
			t.space = true
			continue
		}
		if t.b.Len() > 0 {
			switch {
			case t.newline:
				t.b.WriteByte('\n')
			case t.space:
				t.b.WriteByte(' ')
			}
		}
		t.space, t.newline = false, false
		t.b.WriteRune(r)
	}
}

func (t *textBuilder) breakLine() { t.newline = true }

func (t *textBuilder) String() string { return t.b.String() }

// skippedTags are never read: navigation and page chrome, code and media.
var skippedTags = map[atom.Atom]bool{
	atom.Nav: true, atom.Header: true, atom.Footer: true, atom.Script: true, atom.Style: true, atom.Noscript: true,
	atom.Template: true, atom.Svg: true, atom.Iframe: true, atom.Canvas: true, atom.Object: true, atom.Select: true,
	atom.Datalist: true, atom.Head: true,
}

func skipped(n *html.Node) bool {
	return skippedTags[n.DataAtom] || hasAttr(n, IgnoreAttr) || hasAttr(n, "hidden")
}

// blockTags end a line of text before and after them.
var blockTags = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true, atom.Dd: true, atom.Details: true,
	atom.Dialog: true, atom.Div: true, atom.Dl: true, atom.Dt: true, atom.Fieldset: true, atom.Figcaption: true,
	atom.Figure: true, atom.Form: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
	atom.H6: true, atom.Hr: true, atom.Li: true, atom.Main: true, atom.Ol: true, atom.P: true, atom.Pre: true,
	atom.Section: true, atom.Summary: true, atom.Table: true, atom.Tr: true, atom.Td: true, atom.Th: true,
	atom.Caption: true, atom.Ul: true, atom.Body: true,
}

func isBlock(n *html.Node) bool { return blockTags[n.DataAtom] }

func isHeading(n *html.Node) bool {
	switch n.DataAtom {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return true
	}
	return false
}

// headingID is the id a link to the heading uses: its own, or that (or the name) of the
// first element inside it that has one, as generators that put <a id> in headings write.
func headingID(n *html.Node) string {
	if id := strings.TrimSpace(attr(n, "id")); id != "" {
		return id
	}
	found := find(n, func(c *html.Node) bool {
		return c != n && (strings.TrimSpace(attr(c, "id")) != "" || c.DataAtom == atom.A && strings.TrimSpace(attr(c, "name")) != "")
	})
	if found == nil {
		return ""
	}
	if id := strings.TrimSpace(attr(found, "id")); id != "" {
		return id
	}
	return strings.TrimSpace(attr(found, "name"))
}

// findMarked returns the elements with BodyAttr, outermost only, in document order.
func findMarked(n *html.Node) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && hasAttr(n, BodyAttr) {
			out = append(out, n)
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

// defaultRoots is what a page without BodyAttr offers: its first <main>, else its
// <article> elements (outermost), else <body>.
func defaultRoots(body *html.Node) []*html.Node {
	if m := find(body, func(n *html.Node) bool { return n.DataAtom == atom.Main && !hasAttr(n, "hidden") }); m != nil {
		return []*html.Node{m}
	}
	var articles []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && skipped(n) {
			return
		}
		if n.DataAtom == atom.Article {
			articles = append(articles, n)
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(body)
	if len(articles) > 0 {
		return articles
	}
	return []*html.Node{body}
}

// find returns the first element under n (n included), depth first, for which ok holds,
// not looking inside skipped elements.
func find(n *html.Node, ok func(*html.Node) bool) *html.Node {
	if n == nil {
		return nil
	}
	if n.Type == html.ElementNode {
		if ok(n) {
			return n
		}
		if skippedTags[n.DataAtom] && n.DataAtom != atom.Head && n.DataAtom != atom.Header {
			return nil
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := find(c, ok); f != nil {
			return f
		}
	}
	return nil
}

// child is n's first child element of type a.
func child(n *html.Node, a atom.Atom) *html.Node {
	if n == nil {
		return nil
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.DataAtom == a {
			return c
		}
	}
	return nil
}

// textOf is the text under n, scripts and styles left out.
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			return
		}
		if n.Type == html.ElementNode && (n.DataAtom == atom.Script || n.DataAtom == atom.Style || hasAttr(n, IgnoreAttr)) {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// collapse joins the words of s with single spaces.
func collapse(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\u00a0' }), " ")
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return true
		}
	}
	return false
}
