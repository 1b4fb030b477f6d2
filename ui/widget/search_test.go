package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/staticrender"
)

// fakeBackend answers at once and records what the widget asked.
type fakeBackend struct {
	mu         sync.Mutex
	openErr    error
	searched   []string
	feedback   []string // query → id
	visited    []string
	trained    int
	resets     int
	learning   Learning
	modelLoads int
}

var hits = []Hit{
	{ID: "/pkg/strings/#Split", Title: "package strings", Heading: "func Split(s, sep string) []string", URL: "/pkg/strings/#Split",
		Snippet: []Segment{{Text: "Split slices s into all substrings separated by sep.", Mark: true}, {Text: " If s does not contain sep …"}}},
	{ID: "/pkg/strings/#Fields", Title: "package strings", Heading: "func Fields(s string) []string", URL: "/pkg/strings/#Fields"},
	{ID: "/pkg/bytes/#Split", Title: "package bytes", URL: "/pkg/bytes/#Split"},
}

func (f *fakeBackend) Open(progress func(Progress)) (Info, error) {
	if f.openErr != nil {
		return Info{}, f.openErr
	}
	progress(Progress{Loaded: 10, Total: 40})
	return Info{Documents: 3, Mode: "lexical"}, nil
}

func (f *fakeBackend) LoadModel() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.modelLoads++
	return nil
}

func (f *fakeBackend) WaitModel() (Info, error) {
	return Info{Documents: 3, Mode: "hybrid", Learning: f.learn()}, nil
}

func (f *fakeBackend) learn() Learning {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.learning
}

func (f *fakeBackend) Search(q string, k int) (Results, error) {
	f.mu.Lock()
	f.searched = append(f.searched, q)
	f.mu.Unlock()
	if q == "nothing" {
		return Results{Mode: "hybrid"}, nil
	}
	return Results{Hits: hits[:min(k, len(hits))], Mode: "hybrid"}, nil
}

func (f *fakeBackend) Feedback(q, id string) (Learning, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.feedback = append(f.feedback, q+" → "+id)
	f.learning.Feedback++
	return f.learning, nil
}

func (f *fakeBackend) Train() (Learning, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.trained++
	f.learning.Trained, f.learning.Learned = f.learning.Feedback, true
	return f.learning, nil
}

func (f *fakeBackend) Reset() (Learning, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resets++
	f.learning = Learning{}
	return f.learning, nil
}

func (f *fakeBackend) Navigate(url string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.visited = append(f.visited, url)
}

func (f *fakeBackend) WhenIdle(fn func()) { go fn() }

// env is the render lock the widget's goroutines take, as vugu's renderer has it.
type env struct{ sync.Mutex }

func (e *env) UnlockOnly()   { e.Unlock() }
func (e *env) UnlockRender() { e.Unlock() }
func (e *env) RLock()        { e.Lock() }
func (e *env) RUnlock()      { e.Unlock() }

// widget makes a widget over a fake backend; do runs f with the lock held, and until
// waits (with it held while checking) for the widget's goroutines.
func widget(t *testing.T, b *fakeBackend) (c *Search, do func(func()), until func(string, func() bool)) {
	e := &env{}
	c = NewSearch(b, e, DefaultConfig())
	do = func(f func()) {
		e.Lock()
		defer e.Unlock()
		f()
	}
	until = func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			e.Lock()
			done := ok()
			e.Unlock()
			if done {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return c, do, until
}

// render is the widget's markup as vugu's static renderer writes it.
func render(t *testing.T, c *Search) string {
	t.Helper()
	var buf bytes.Buffer
	r := staticrender.New(&buf)
	build, err := vugu.NewBuildEnv(r.EventEnv())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Render(build.RunBuild(c)); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestTypeSearchAndNavigate(t *testing.T) {
	b := &fakeBackend{}
	c, do, until := widget(t, b)
	do(func() { c.SetQuery("split a string") })
	until("hybrid results", func() bool { return c.Phase == PhaseReady && c.Shown == "split a string" && c.Mode == "hybrid" })
	do(func() {
		if !c.ShowPanel() || len(c.Hits) != 3 || c.Status() != "3 results" || c.Active != -1 {
			t.Errorf("after typing: panel %v, %d hits, status %q, active %d", c.ShowPanel(), len(c.Hits), c.Status(), c.Active)
		}
		// Arrows move through the results and wrap.
		for _, k := range []struct {
			key    string
			active int
		}{{"ArrowDown", 0}, {"ArrowDown", 1}, {"ArrowUp", 0}, {"ArrowUp", 2}, {"ArrowDown", 0}} {
			if !c.Key(k.key) || c.Active != k.active {
				t.Errorf("%s: active %d, want %d", k.key, c.Active, k.active)
			}
		}
		c.Key("ArrowDown")
		if id := c.ActiveID(); id != "sbmoe-option-1" {
			t.Errorf("aria-activedescendant %v", id)
		}
		// Enter opens the highlighted result and records the choice.
		if !c.Key("Enter") || c.Open {
			t.Error("Enter did not choose")
		}
	})
	until("the choice is recorded and followed", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.visited) == 1
	})
	if b.feedback[0] != "split a string → /pkg/strings/#Fields" || b.visited[0] != "/pkg/strings/#Fields" {
		t.Errorf("feedback %q, visited %q", b.feedback, b.visited)
	}
	do(func() {
		c.Open = true
		if !c.Key("Escape") || c.Open {
			t.Error("the first Escape does not close the results")
		}
		if !c.Key("Escape") || c.Query != "" || len(c.Hits) != 0 {
			t.Error("the second Escape does not clear the box")
		}
		if c.Key("Escape") || c.Key("Enter") || c.Key("ArrowDown") {
			t.Error("keys with nothing to do are taken from the browser")
		}
	})
}

func TestLatestQueryWins(t *testing.T) {
	b := &fakeBackend{}
	c, do, until := widget(t, b)
	do(func() {
		c.Start()
		for _, q := range []string{"s", "sp", "spl", "split"} {
			c.SetQuery(q)
		}
	})
	until("the last query's results", func() bool { return c.Shown == "split" })
	b.mu.Lock()
	defer b.mu.Unlock()
	if last := b.searched[len(b.searched)-1]; last != "split" || len(b.searched) > 3 {
		t.Errorf("searched %q: want the queries typed while one ran skipped, the last one searched", b.searched)
	}
}

func TestLearnsAfterClicksAndResets(t *testing.T) {
	b := &fakeBackend{}
	c, do, until := widget(t, b)
	do(func() { c.SetQuery("split") })
	until("ready", func() bool { return c.Phase == PhaseReady && len(c.Hits) > 0 })
	for i := range 3 {
		do(func() { c.Choose(i, true) })
		until("the click is recorded", func() bool { return c.Learning.Feedback == i+1 })
	}
	until("the head learned", func() bool { return c.Learning.Learned && !c.Training })
	if b.trained != 1 || c.LearnText() != "Tuned to your 3 clicks" {
		t.Errorf("trained %d times; learn text %q", b.trained, c.LearnText())
	}
	if len(b.visited) != 0 {
		t.Errorf("a click the browser follows (a new tab) was followed again: %q", b.visited)
	}
	do(func() { c.OnReset(nil) })
	until("reset", func() bool { return !c.Learning.Learned && c.Learning.Feedback == 0 })
	if b.resets != 1 || c.LearnText() != "" {
		t.Errorf("resets %d, learn text %q", b.resets, c.LearnText())
	}
}

func TestOpenFails(t *testing.T) {
	c, do, until := widget(t, &fakeBackend{openErr: errors.New("manifest.json: HTTP 404 Not Found")})
	do(func() { c.SetQuery("x") })
	until("the error", func() bool { return c.Phase == PhaseError })
	do(func() {
		if want := "Search is unavailable: manifest.json: HTTP 404 Not Found"; c.Status() != want || !c.ShowNote() {
			t.Errorf("status %q (note %v), want %q", c.Status(), c.ShowNote(), want)
		}
		if html := render(t, c); !strings.Contains(html, `data-error`) || !strings.Contains(html, "HTTP 404") {
			t.Errorf("the error is not shown:\n%s", html)
		}
	})
}

func TestMarkup(t *testing.T) {
	b := &fakeBackend{}
	c, do, until := widget(t, b)
	do(func() {
		if html := render(t, c); strings.Contains(html, `role="listbox"`) || !strings.Contains(html, `aria-expanded="false"`) {
			t.Errorf("an idle widget shows results:\n%s", html)
		}
		c.SetQuery("split")
	})
	until("results", func() bool { return c.Phase == PhaseReady && len(c.Hits) == 3 })
	do(func() {
		c.Key("ArrowDown")
		html := render(t, c)
		for _, want := range []string{
			`<label class="sbmoe-sr" for="sbmoe-input">Search this site</label>`,
			`role="combobox"`, `aria-autocomplete="list"`, `aria-controls="sbmoe-results"`, `aria-expanded="true"`,
			`aria-activedescendant="sbmoe-option-0"`, `aria-describedby="sbmoe-status"`,
			`role="status" aria-live="polite" id="sbmoe-status">3 results</div>`,
			`role="listbox" aria-label="Search results" id="sbmoe-results"`,
			`aria-selected="true" id="sbmoe-option-0"`, `aria-selected="false" id="sbmoe-option-1"`,
			`href="/pkg/strings/#Split"`, `<span class="sbmoe-heading">func Split(s, sep string) []string</span>`,
			`<mark>Split slices s into all substrings separated by sep.</mark><span> If s does not contain sep …</span>`,
			`data-phase="ready"`, `data-mode="hybrid"`, `Semantic + keyword search, in your browser`,
		} {
			if !strings.Contains(html, want) {
				t.Errorf("the markup lacks %s", want)
			}
		}
		if t.Failed() {
			t.Log(html)
		}
		c.SetQuery("nothing")
	})
	until("no results", func() bool { return c.Shown == "nothing" })
	do(func() {
		if html := render(t, c); !strings.Contains(html, "No results for “nothing”") {
			t.Errorf("no results shown as:\n%s", html)
		}
	})
}

func TestStatusWhileLoading(t *testing.T) {
	c := NewSearch(&fakeBackend{}, &env{}, DefaultConfig())
	c.Phase, c.Query, c.Open = PhaseLoading, "x", true
	if c.Status() != "Loading search…" || !c.Busy() {
		t.Errorf("loading: status %q busy %v", c.Status(), c.Busy())
	}
	c.Phase, c.Loaded, c.Total = PhaseLexical, 25, 100
	if c.ModeText() != "Keyword results · loading the semantic model, 25%" {
		t.Errorf("mode text %q", c.ModeText())
	}
	if Where(Hit{URL: "https://example.com/a/b.html#c"}) != "/a/b.html#c" {
		t.Error("Where keeps the host")
	}
}

// TestGeneratedIsCurrent runs go generate's steps (vugugen, gen_fix.go) on a copy of the
// component and compares the result with search_gen.go.
func TestGeneratedIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds vugugen")
	}
	tmp := t.TempDir()
	for _, name := range []string{"search.vugu", "search.go", "backend.go", "gen_fix.go"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, args := range [][]string{{"tool", "vugugen", "-skip-go-mod", "-skip-main", tmp}, {"run", filepath.Join(tmp, "gen_fix.go"), "search"}} {
		cmd := exec.Command(gobin, args...)
		if args[0] == "run" {
			cmd.Dir = tmp
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	got, err := os.ReadFile(filepath.Join(tmp, "search_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("search_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("search_gen.go is not what search.vugu generates: run go generate ./ui/widget")
	}
}
