//go:build js && wasm

package main

import (
	"errors"
	"syscall/js"
	"time"
)

// jsBackend is the retriever behind sbmoe.js, reached through the object widget.js sets
// on globalThis.sbmoeWidget: open(onProgress) resolves to sbmoe.js's Retriever once
// keyword search works.
type jsBackend struct {
	bridge  js.Value
	r       js.Value // the Retriever, once open
	learned bool
}

func newJSBackend(bridge js.Value) *jsBackend { return &jsBackend{bridge: bridge} }

// await waits for a promise, at most limit (0: no limit).
func await(p js.Value, limit time.Duration) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, args []js.Value) any {
		v := js.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- result{v: v}
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "failed"
		if len(args) > 0 {
			if m := args[0].Get("message"); m.Type() == js.TypeString {
				msg = m.String()
			} else {
				msg = args[0].Call("toString").String()
			}
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	p.Call("then", then, catch)
	var timeout <-chan time.Time
	if limit > 0 {
		timeout = time.After(limit)
	}
	select {
	case r := <-ch:
		then.Release()
		catch.Release()
		return r.v, r.err
	case <-timeout:
		return js.Undefined(), errors.New("no answer in time")
	}
}

func (b *jsBackend) Open(progress func(Progress)) (Info, error) {
	cb := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) > 0 {
			p := Progress{Loaded: int64(args[0].Get("loaded").Float()), Total: int64(args[0].Get("total").Float())}
			go progress(p)
		}
		return nil
	}) // kept for the page's life: progress arrives until the model has loaded
	r, err := await(b.bridge.Call("open", cb), 0)
	if err != nil {
		return Info{}, err
	}
	b.r = r
	return b.info(), nil
}

func (b *jsBackend) info() Info {
	info := b.r.Get("info")
	in := Info{Mode: b.r.Get("mode").String()}
	if info.Truthy() {
		in.Documents = num(info, "documents")
		in.Feedback, in.Trained = num(info, "feedback"), num(info, "trained")
		in.Learned = info.Get("learned").Truthy()
		b.learned = in.Learned
	}
	return in
}

func num(v js.Value, k string) int {
	if f := v.Get(k); f.Type() == js.TypeNumber {
		return f.Int()
	}
	return 0
}

func (b *jsBackend) LoadModel() error {
	_, err := await(b.r.Call("loadModel"), 0)
	return err
}

func (b *jsBackend) WaitModel() (Info, error) {
	if _, err := await(b.r.Get("ready"), 0); err != nil {
		return Info{}, err
	}
	return b.info(), nil
}

func (b *jsBackend) Search(query string, k int) (Results, error) {
	opts := js.Global().Get("Object").New()
	opts.Set("k", k)
	opts.Set("highlight", true)
	v, err := await(b.r.Call("search", query, opts), 0)
	if err != nil {
		return Results{}, err
	}
	res := Results{Mode: b.r.Get("mode").String()}
	for i := range v.Length() {
		h := v.Index(i)
		hit := Hit{ID: str(h, "id"), Title: str(h, "title"), Heading: str(h, "heading"), URL: str(h, "url")}
		if hit.Title == "" {
			hit.Title = hit.ID
		}
		if segs := h.Get("highlight"); segs.Truthy() {
			for j := range segs.Length() {
				s := segs.Index(j)
				hit.Snippet = append(hit.Snippet, Segment{Text: str(s, "text"), Mark: s.Get("mark").Truthy()})
			}
		} else if snip := str(h, "snippet"); snip != "" {
			hit.Snippet = []Segment{{Text: snip}}
		}
		res.Hits = append(res.Hits, hit)
	}
	return res, nil
}

func str(v js.Value, k string) string {
	if f := v.Get(k); f.Type() == js.TypeString {
		return f.String()
	}
	return ""
}

// learning reads what feedback, trainHead and resetHead answer.
func (b *jsBackend) learning(v js.Value) Learning {
	l := Learning{Feedback: num(v, "feedback"), Trained: num(v, "trained"), Learned: b.learned}
	if x := v.Get("learned"); x.Type() == js.TypeBoolean {
		l.Learned = x.Bool()
		b.learned = l.Learned
	}
	return l
}

// feedbackWait bounds how long a click waits for its feedback to be stored before the
// browser follows the link (the worker may be busy learning).
const feedbackWait = 800 * time.Millisecond

func (b *jsBackend) Feedback(query, id string) (Learning, error) {
	v, err := await(b.r.Call("feedback", query, id), feedbackWait)
	if err != nil {
		return Learning{}, err
	}
	return b.learning(v), nil
}

func (b *jsBackend) Train() (Learning, error) {
	v, err := await(b.r.Call("trainHead"), 0)
	if err != nil {
		return Learning{}, err
	}
	return b.learning(v), nil
}

func (b *jsBackend) Reset() (Learning, error) {
	opts := js.Global().Get("Object").New()
	opts.Set("forgetFeedback", true)
	v, err := await(b.r.Call("resetHead", opts), 0)
	if err != nil {
		return Learning{}, err
	}
	b.learned = false
	return b.learning(v), nil
}

func (b *jsBackend) Navigate(url string) {
	js.Global().Get("location").Call("assign", url)
}

func (b *jsBackend) WhenIdle(f func()) {
	var cb js.Func
	cb = js.FuncOf(func(js.Value, []js.Value) any {
		cb.Release()
		go f()
		return nil
	})
	if ric := js.Global().Get("requestIdleCallback"); ric.Type() == js.TypeFunction {
		opts := js.Global().Get("Object").New()
		opts.Set("timeout", 10000)
		ric.Invoke(cb, opts)
		return
	}
	js.Global().Call("setTimeout", cb, 1000)
}
