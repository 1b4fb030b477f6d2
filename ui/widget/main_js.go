//go:build js && wasm

package main

import (
	"strconv"
	"strings"
	"syscall/js"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/domrender"
)

// mountPoint selects the element the widget renders into.
const mountPoint = "[data-sbmoe-search]"

func main() {
	doc := js.Global().Get("document")
	el := doc.Call("querySelector", mountPoint)
	bridge := js.Global().Get("sbmoeWidget")
	if !el.Truthy() || !bridge.Truthy() {
		js.Global().Get("console").Call("error", "sbmoe widget: no "+mountPoint+" element, or widget.js did not start this module")
		return
	}
	// widget.js shows a plain box until this module runs: keep what was typed into it.
	var typed string
	focused := false
	if box := el.Call("querySelector", "input"); box.Truthy() {
		typed = box.Get("value").String()
		focused = box.Equal(doc.Get("activeElement"))
	}
	renderer, err := domrender.New(mountPoint)
	if err != nil {
		panic(err)
	}
	defer renderer.Release()
	env := renderer.EventEnv()
	c := NewSearch(newJSBackend(bridge), env, configOf(el))
	c.Dark, c.PageBG = pageTheme(el)
	watchTheme(el, func(dark bool, bg string) {
		env.Lock()
		c.Dark, c.PageBG = dark, bg
		env.UnlockRender()
	})
	build, err := vugu.NewBuildEnv(env)
	if err != nil {
		panic(err)
	}
	first := true
	for ok := true; ok; ok = renderer.EventWait() {
		env.Lock()
		res := build.RunBuild(c)
		env.UnlockOnly()
		if err := renderer.Render(res); err != nil {
			panic(err)
		}
		if first {
			first = false
			bridge.Set("ready", true)
			box := doc.Call("getElementById", InputID)
			if typed != "" {
				box.Set("value", typed)
			}
			if focused {
				box.Call("focus")
			}
			env.Lock()
			switch {
			case focused || c.Config.Preload == PreloadLoad:
				c.WantModel()
			case c.Config.Preload == PreloadIdle:
				c.Backend.WhenIdle(func() {
					env.Lock()
					c.Start()
					env.UnlockRender()
				})
			}
			if strings.TrimSpace(typed) != "" {
				c.SetQuery(typed)
			}
			env.UnlockRender()
		}
	}
}

// configOf reads the widget's settings from its element's data- attributes.
func configOf(el js.Value) Config {
	cfg := DefaultConfig()
	ds := el.Get("dataset")
	str := func(k string) (string, bool) {
		v := ds.Get(k)
		if v.Type() != js.TypeString {
			return "", false
		}
		return v.String(), true
	}
	if v, ok := str("placeholder"); ok && v != "" {
		cfg.Placeholder = v
	}
	if v, ok := str("k"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 50 {
			cfg.K = n
		}
	}
	if v, ok := str("learnAfter"); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			cfg.LearnAfter = n
		}
	}
	if v, ok := str("preload"); ok {
		switch v {
		case "", "true", PreloadLoad:
			cfg.Preload = PreloadLoad
		case PreloadNone, PreloadIdle:
			cfg.Preload = v
		}
	}
	return cfg
}
