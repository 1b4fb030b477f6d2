package main

import (
	"fmt"
	"strings"

	"github.com/vugu/vugu"
	js "github.com/vugu/vugu/js"
)

// Phases of the widget, as its root's data-phase attribute shows them.
const (
	PhaseIdle    = "idle"    // nothing loaded yet (see Config.Preload)
	PhaseLoading = "loading" // the module, documents and keyword index are downloading
	PhaseLexical = "lexical" // keyword search works; the model is downloading
	PhaseReady   = "ready"   // the model has loaded: hybrid search
	PhaseError   = "error"   // the retriever could not open
)

// Config is what the page sets on the widget's element (data-placeholder, data-k,
// data-learn-after, data-preload).
type Config struct {
	Placeholder string
	K           int // results shown
	LearnAfter  int // new clicks before the head learns again
	// Preload is when the retriever opens: PreloadIdle (the default) fetches the keyword
	// step (the module, the documents, the keyword index: a few MB, kept in the browser's
	// cache) once the page is idle and the model when the box first has focus;
	// PreloadNone waits for the focus for both; PreloadLoad fetches both at once.
	Preload string
}

// Preload settings.
const (
	PreloadIdle = "idle"
	PreloadNone = "none"
	PreloadLoad = "load"
)

// DefaultConfig is the widget's configuration when the element sets nothing.
func DefaultConfig() Config {
	return Config{Placeholder: "Search", K: 8, LearnAfter: 3, Preload: PreloadIdle}
}

// Search is the search box and its results: the widget's root component. Its fields are
// what it shows; event handlers run with the render lock held (vugu's rule), and the
// goroutines that wait on the retriever take it (Env.Lock) before they change anything.
type Search struct {
	Backend Backend
	Env     vugu.EventEnv
	Config  Config

	Phase    string
	Err      string // why the retriever could not open, or the last search failed
	Query    string // what is in the box
	Shown    string // the query Hits answer
	Hits     []Hit
	Mode     string // how Hits were ranked: "lexical", "hybrid" or "dense"
	Active   int    // the highlighted result, -1 for none
	Open     bool   // the results panel is shown
	Loaded   int64  // bytes downloaded of Total
	Total    int64
	Learning Learning
	Training bool
	Dark     bool   // the page around the widget is dark
	PageBG   string // the page's background colour, for the panel

	inflight    bool   // a search is running in the worker
	want        string // the query to search when it returns
	modelWanted bool   // the visitor showed interest: load the model
}

// NewSearch makes the widget in its idle phase.
func NewSearch(b Backend, env vugu.EventEnv, cfg Config) *Search {
	return &Search{Backend: b, Env: env, Config: cfg, Phase: PhaseIdle, Active: -1}
}

// Start opens the retriever (its keyword step) unless it is open or opening. The lock
// must be held.
func (c *Search) Start() {
	if c.Phase != PhaseIdle {
		return
	}
	c.Phase = PhaseLoading
	go c.open()
}

// WantModel opens the retriever and asks for the model, once. The lock must be held.
func (c *Search) WantModel() {
	if c.modelWanted {
		return
	}
	c.modelWanted = true
	if c.Phase == PhaseLexical {
		go c.Backend.LoadModel()
	}
	c.Start()
}

func (c *Search) open() {
	info, err := c.Backend.Open(func(p Progress) {
		c.Env.Lock()
		c.Loaded, c.Total = p.Loaded, p.Total
		c.Env.UnlockRender()
	})
	c.Env.Lock()
	if err != nil {
		c.Phase, c.Err = PhaseError, err.Error()
		c.Env.UnlockRender()
		return
	}
	c.Phase, c.Mode, c.Learning = PhaseLexical, info.Mode, info.Learning
	if info.Mode != PhaseLexical {
		c.Phase = PhaseReady
	}
	if c.modelWanted {
		go c.Backend.LoadModel()
	}
	c.searchCurrent()
	c.Env.UnlockRender()

	info, err = c.Backend.WaitModel()
	c.Env.Lock()
	if err != nil {
		// Keyword search still works: say so, and keep it.
		c.Err = "the semantic model could not load (" + err.Error() + "); keyword results only"
		c.Env.UnlockRender()
		return
	}
	c.Phase, c.Mode, c.Learning = PhaseReady, info.Mode, info.Learning
	c.searchCurrent()
	c.Env.UnlockRender()
	c.maybeLearn()
}

// searchCurrent searches what the box holds, if anything. The lock must be held.
func (c *Search) searchCurrent() {
	if strings.TrimSpace(c.Query) != "" {
		c.search(c.Query)
	}
}

// search asks for q's results: at once when no search is running, else when it returns
// (only the latest query waits). The lock must be held.
func (c *Search) search(q string) {
	c.want = q
	if c.inflight || (c.Phase != PhaseLexical && c.Phase != PhaseReady) {
		return
	}
	c.inflight = true
	go c.searchLoop()
}

func (c *Search) searchLoop() {
	for {
		c.Env.Lock()
		q := c.want
		c.want = ""
		if q == "" {
			c.inflight = false
			c.Env.UnlockOnly()
			return
		}
		c.Env.UnlockOnly()
		res, err := c.Backend.Search(q, c.Config.K)
		c.Env.Lock()
		if q == c.Query {
			if err != nil {
				c.Err, c.Hits, c.Shown = err.Error(), nil, q
			} else {
				if q != c.Shown {
					c.Active = -1
				}
				c.Err, c.Hits, c.Shown, c.Mode = "", res.Hits, q, res.Mode
			}
		}
		c.Env.UnlockRender()
	}
}

// OnFocus opens the retriever and loads the model on the first focus, and shows the
// results again.
func (c *Search) OnFocus(vugu.DOMEvent) {
	c.WantModel()
	c.Open = strings.TrimSpace(c.Query) != ""
}

// OnFocusOut hides the results when the focus leaves the widget.
func (c *Search) OnFocusOut(e vugu.DOMEvent) {
	if to := e.JSEvent().Get("relatedTarget"); to.Truthy() && e.JSEventCurrentTarget().Call("contains", to).Truthy() {
		return
	}
	c.Open, c.Active = false, -1
}

// OnInput searches as the visitor types.
func (c *Search) OnInput(e vugu.DOMEvent) {
	c.SetQuery(e.PropString("target", "value"))
}

// SetQuery is what typing q does. The lock must be held.
func (c *Search) SetQuery(q string) {
	c.Query = q
	if strings.TrimSpace(q) == "" {
		c.Open, c.Hits, c.Shown, c.Active = false, nil, "", -1
		return
	}
	c.Open = true
	c.WantModel()
	c.search(q)
}

// OnKey moves through the results with the arrow keys, opens one with Enter, and closes
// the results (then clears the box) with Escape.
func (c *Search) OnKey(e vugu.DOMEvent) {
	if c.Key(e.PropString("key")) {
		e.PreventDefault()
	}
}

// Key handles a key pressed in the box and reports whether it used it. The lock must be held.
func (c *Search) Key(key string) bool {
	n := len(c.Hits)
	switch key {
	case "ArrowDown", "ArrowUp":
		if n == 0 {
			return false
		}
		c.Open = true
		if key == "ArrowDown" {
			c.Active = (c.Active + 1) % n
		} else if c.Active <= 0 {
			c.Active = n - 1
		} else {
			c.Active--
		}
		return true
	case "Enter":
		if !c.Open || n == 0 {
			return false
		}
		c.Choose(max(c.Active, 0), false)
		return true
	case "Escape":
		if c.Open {
			c.Open, c.Active = false, -1
			return true
		}
		if c.Query != "" {
			c.SetQuery("")
			clearBox()
			return true
		}
	}
	return false
}

// OnResultClick records the choice, then follows the link (a click with a modifier, which
// opens a new tab or window, is left to the browser).
func (c *Search) OnResultClick(e vugu.DOMEvent, i int) {
	modified := e.PropBool("ctrlKey") || e.PropBool("metaKey") || e.PropBool("shiftKey") || e.PropFloat64("button") != 0
	if !modified {
		e.PreventDefault()
	}
	c.Choose(i, modified)
}

// OnResultHover highlights the result under the pointer.
func (c *Search) OnResultHover(i int) { c.Active = i }

// Choose records that the visitor chose result i for the query it answers, then opens
// it, unless the browser is opening it already. The lock must be held.
func (c *Search) Choose(i int, browserOpens bool) {
	if i < 0 || i >= len(c.Hits) {
		return
	}
	h, q := c.Hits[i], c.Shown
	if !browserOpens {
		c.Open, c.Active = false, -1
	}
	go func() {
		l, err := c.Backend.Feedback(q, h.ID)
		if err == nil {
			c.Env.Lock()
			c.Learning = l
			c.Env.UnlockRender()
		}
		if !browserOpens {
			c.Backend.Navigate(h.URL)
		}
		c.maybeLearn()
	}()
}

// maybeLearn trains the head, when the page is idle, once LearnAfter new choices are
// recorded since it last learned.
func (c *Search) maybeLearn() {
	c.Env.Lock()
	l := c.Learning
	ok := c.Phase == PhaseReady && !c.Training && c.Config.LearnAfter > 0 && l.Feedback-l.Trained >= c.Config.LearnAfter
	if ok {
		c.Training = true
	}
	c.Env.UnlockRender()
	if !ok {
		return
	}
	c.Backend.WhenIdle(func() {
		l, err := c.Backend.Train()
		c.Env.Lock()
		c.Training = false
		if err == nil {
			c.Learning = l
			c.searchCurrent()
		}
		c.Env.UnlockRender()
	})
}

// OnReset forgets what was learned from this visitor's clicks.
func (c *Search) OnReset(vugu.DOMEvent) {
	go func() {
		l, err := c.Backend.Reset()
		c.Env.Lock()
		if err == nil {
			c.Learning = l
			c.searchCurrent()
		}
		c.Env.UnlockRender()
	}()
}

// What the markup shows.

// Expanded is aria-expanded of the box.
func (c *Search) Expanded() string { return fmt.Sprint(c.ShowPanel()) }

// ShowPanel reports whether the results panel is shown.
func (c *Search) ShowPanel() bool { return c.Open && strings.TrimSpace(c.Query) != "" }

// OptionID is the element id of result i.
func (c *Search) OptionID(i int) string { return fmt.Sprintf(OptionFmt, i) }

// ActiveID is the id of the highlighted result, for aria-activedescendant (nil, which
// leaves the attribute out, when none is).
func (c *Search) ActiveID() any {
	if !c.ShowPanel() || c.Active < 0 || c.Active >= len(c.Hits) {
		return nil
	}
	return c.OptionID(c.Active)
}

// Selected is aria-selected of result i.
func (c *Search) Selected(i int) string { return fmt.Sprint(i == c.Active) }

// Busy reports whether the widget is waiting for results it has none of yet.
func (c *Search) Busy() bool {
	return c.Phase == PhaseLoading || c.ShowPanel() && c.Shown != c.Query && len(c.Hits) == 0 && c.Phase != PhaseError
}

// ShowNote reports whether the panel shows Status instead of results.
func (c *Search) ShowNote() bool {
	return c.Phase == PhaseError || len(c.Hits) == 0 && c.Status() != ""
}

// Status is the line a screen reader announces and the panel shows above the results.
func (c *Search) Status() string {
	switch {
	case c.Phase == PhaseError:
		return "Search is unavailable: " + c.Err
	case c.Phase == PhaseLoading || c.Phase == PhaseIdle:
		if c.ShowPanel() {
			return "Loading search…"
		}
		return ""
	case !c.ShowPanel():
		return ""
	case c.Shown != c.Query && len(c.Hits) == 0:
		return "Searching…"
	case c.Err != "" && c.Shown == c.Query && len(c.Hits) == 0:
		return "Search failed: " + c.Err
	case len(c.Hits) == 0:
		return fmt.Sprintf("No results for “%s”", c.Shown)
	case len(c.Hits) == 1:
		return "1 result"
	}
	return fmt.Sprintf("%d results", len(c.Hits))
}

// ModeText says how the results are ranked.
func (c *Search) ModeText() string {
	switch {
	case c.Phase == PhaseLexical && c.Total > 0:
		return fmt.Sprintf("Keyword results · loading the semantic model, %d%%", c.Percent())
	case c.Phase == PhaseLexical:
		return "Keyword results · loading the semantic model"
	case c.Mode == "hybrid":
		return "Semantic + keyword search, in your browser"
	case c.Mode == "dense":
		return "Semantic search, in your browser"
	}
	return "Keyword search, in your browser"
}

// Percent is how much of the bundle has downloaded.
func (c *Search) Percent() int {
	if c.Total <= 0 {
		return 0
	}
	return int(100 * c.Loaded / c.Total)
}

// LearnText says what was learned from this visitor's clicks, or "".
func (c *Search) LearnText() string {
	l := c.Learning
	switch {
	case c.Training:
		return "Learning from your clicks…"
	case l.Learned:
		return fmt.Sprintf("Tuned to your %s", plural(l.Trained, "click"))
	case l.Feedback > 0:
		return fmt.Sprintf("%s noted", plural(l.Feedback, "click"))
	}
	return ""
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Theme is the root's data-theme.
func (c *Search) Theme() string {
	if c.Dark {
		return "dark"
	}
	return "light"
}

// Style sets the panel's background to the page's (nil: the theme's).
func (c *Search) Style() any {
	if c.PageBG == "" {
		return nil
	}
	return "--sbmoe-bg: " + c.PageBG
}

// Where is what a result shows of its URL: the path and the section.
func Where(h Hit) string {
	u := h.URL
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			u = u[i+3+j:]
		}
	}
	return u
}

// clearBox empties the search box's text (the widget never sets the value while the
// visitor types, so that a render cannot undo a keystroke).
func clearBox() {
	doc := js.Global().Get("document")
	if !doc.Truthy() {
		return // not in a browser: the tests
	}
	if box := doc.Call("getElementById", InputID); box.Truthy() {
		box.Set("value", "")
	}
}

// Element ids of the widget (one widget per page).
const (
	InputID   = "sbmoe-input"
	ListID    = "sbmoe-results"
	StatusID  = "sbmoe-status"
	OptionFmt = "sbmoe-option-%d"
)
