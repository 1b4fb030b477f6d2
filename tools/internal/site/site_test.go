package site

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// write makes a site in a temporary folder from file name → content.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const guide = `<!doctype html><html lang="en"><head><title>Install · Docs</title><style>p{}</style></head>
<body><header><h1>Site name</h1><nav><a href="/">Home</a></nav></header>
<main>
  <h1>Installing</h1>
  <p>Get the   tool
  from the releases page.</p>
  <nav class="toc"><a href="#linux">Linux</a></nav>
  <h2 id="linux">On Linux</h2>
  <p>Unpack the archive.<br>Put it on your PATH.</p>
  <pre>tar xf tool.tgz
mv tool /usr/local/bin</pre>
  <h3>Without an id</h3>
  <p>Still Linux.</p>
  <div data-sbmoe-ignore><p>Advertisement</p></div>
  <h2><a id="mac-os"></a>On macOS</h2>
  <p hidden>secret</p>
  <p>Use the package, <em>or</em> build it.</p>
  <h2 id="linux">Linux again</h2>
  <p>More on Linux.</p>
  <script>var x = "not text";</script>
</main>
<footer>© 2026</footer></body></html>`

func TestPageSections(t *testing.T) {
	secs, marked, warnings, err := Page([]byte(guide), "guide/install.html", "/guide/install.html")
	if err != nil || marked {
		t.Fatalf("err %v, marked %v", err, marked)
	}
	want := []Section{
		{URL: "/guide/install.html", File: "guide/install.html", Title: "Installing", Text: "Get the tool from the releases page."},
		{URL: "/guide/install.html#linux", File: "guide/install.html", Title: "Installing", Heading: "On Linux",
			Text: "Unpack the archive.\nPut it on your PATH.\ntar xf tool.tgz\nmv tool /usr/local/bin\nWithout an id\nStill Linux."},
		{URL: "/guide/install.html#mac-os", File: "guide/install.html", Title: "Installing", Heading: "On macOS",
			Text: "Use the package, or build it.\nLinux again\nMore on Linux."},
	}
	if !reflect.DeepEqual(secs, want) {
		t.Errorf("sections:\n got %#v\nwant %#v", secs, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `two headings have the id "linux"`) {
		t.Errorf("warnings %q", warnings)
	}
}

func TestPageContentRoots(t *testing.T) {
	for _, c := range []struct {
		name, page, title, text string
	}{
		{"articles when there is no main", `<html><body><div>menu</div><article><p>one</p></article><article><p>two</p></article></body></html>`, "x", "one\ntwo"},
		{"body when there is neither", `<html><head><title> The  title </title></head><body><nav>menu</nav><p>text</p><footer>f</footer></body></html>`, "The title", "text"},
		{"title from the file name", `<p>only text</p>`, "x", "only text"},
		{"windows-1252", "<html><head><meta charset=\"windows-1252\"></head><body><p>caf\xe9</p></body></html>", "x", "café"},
	} {
		secs, _, _, err := Page([]byte(c.page), "dir/x.html", "/dir/x.html")
		if err != nil || len(secs) != 1 || secs[0].Title != c.title || secs[0].Text != c.text {
			t.Errorf("%s: %#v, %v", c.name, secs, err)
		}
	}
}

func TestPageRefused(t *testing.T) {
	for _, c := range []struct{ name, page, err string }{
		{"empty", "", "empty"},
		{"binary", "\x89PNG\x00\x00\x00", "NUL bytes"},
	} {
		if _, _, _, err := Page([]byte(c.page), "x.html", "/x.html"); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.err)
		}
	}
	// Bytes that are not UTF-8, with no charset declared, are windows-1252, as HTML says.
	secs, _, warnings, err := Page([]byte("<p>caf\xe9 au lait</p>"), "x.html", "/x.html")
	if err != nil || len(secs) != 1 || secs[0].Text != "café au lait" || len(warnings) != 0 {
		t.Errorf("undeclared windows-1252: %#v %q %v", secs, warnings, err)
	}
	secs, _, _, err = Page([]byte(`<html data-sbmoe-ignore><body><p>x</p></body></html>`), "x.html", "/x.html")
	if err != nil || len(secs) != 0 {
		t.Errorf("an ignored page gave %#v, %v", secs, err)
	}
}

func TestRead(t *testing.T) {
	root := write(t, map[string]string{
		"index.html":          `<main><h1>Home</h1><p>Welcome.</p></main>`,
		"index.htm":           `<main><p>The same URL.</p></main>`,
		"guide/index.html":    `<main><h1>Guide</h1><p>Start here.</p><h2 id="more">More</h2><p>Details.</p></main>`,
		"guide/a b.html":      `<main><p>Spaces in the name.</p></main>`,
		"broken.html":         "\x00\x01\x02",
		".git/x.html":         `<p>never read</p>`,
		"_sbmoe/index.html":   `<p>the bundle's own page</p>`,
		"style.css":           `p {}`,
		"posts/empty.html":    `<main><nav>only navigation</nav></main>`,
		"posts/ignored.html":  `<html><body data-sbmoe-ignore><p>x</p></body></html>`,
		"posts/upper.HTML":    `<main><p>Upper-case extension.</p></main>`,
		"posts/nested/x.html": `<main><p>Nested.</p></main>`,
	})
	var calls int
	res, err := Read(root, Options{Exclude: []string{filepath.Join(root, "_sbmoe")}, Progress: func(done, total int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, s := range res.Sections {
		urls = append(urls, s.URL)
	}
	// broken.html is left out, and index.htm, first in file order, keeps the URL /.
	want := []string{"/guide/a%20b.html", "/guide/", "/guide/#more", "/", "/posts/nested/x.html", "/posts/upper.HTML"}
	if !reflect.DeepEqual(urls, want) {
		t.Errorf("URLs %q, want %q", urls, want)
	}
	if res.Files != 9 || res.Pages != 5 || calls != 10 {
		t.Errorf("files %d pages %d progress calls %d", res.Files, res.Pages, calls)
	}
	joined := strings.Join(res.Warnings, "\n")
	for _, w := range []string{"broken.html: left out: not text", "index.html: left out: its URL / is index.htm's too"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings %q lack %q", res.Warnings, w)
		}
	}
}

func TestReadMarkedBodies(t *testing.T) {
	root := write(t, map[string]string{
		"a.html": `<main><div data-sbmoe-body><p>Marked.</p></div><p>Outside.</p></main>`,
		"b.html": `<main><p>A list page without the mark.</p></main>`,
	})
	res, err := Read(root, Options{BaseURL: "/docs"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sections) != 1 || res.Sections[0].Text != "Marked." || res.Sections[0].URL != "/docs/a.html" {
		t.Errorf("sections %#v", res.Sections)
	}
}

func TestReadNothing(t *testing.T) {
	for _, c := range []struct {
		files map[string]string
		want  string
	}{
		{map[string]string{"a.css": "p{}"}, "no .html or .htm files"},
		{map[string]string{"a.html": "<main><nav>menu</nav></main>"}, "1 HTML files"},
		{map[string]string{"a.html": "<div data-sbmoe-body></div>"}, "marked data-sbmoe-body hold no text"},
	} {
		_, err := Read(write(t, c.files), Options{})
		if !errors.Is(err, ErrNoPages) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one saying %q", c.files, err, c.want)
		}
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Error("a missing folder gave no error")
	}
	if _, err := Read(t.TempDir(), Options{BaseURL: "docs/"}); err == nil || !strings.Contains(err.Error(), "base URL") {
		t.Errorf("a relative base URL gave %v", err)
	}
}
