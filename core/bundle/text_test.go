package bundle

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/lexical"
)

func one(string) float64 { return 1 }

func TestSnippet(t *testing.T) {
	text := "Go is a language. It has goroutines, which are cheap threads. Channels connect them.\n" +
		"A WaitGroup waits for goroutines to finish. The end."
	for _, c := range []struct {
		name, query string
		n           int
		want        []Segment
	}{
		{"the best sentence, then the ones after and before it", "waiting for goroutines", 90, []Segment{
			{Text: "… Channels connect them. "}, {Text: "A WaitGroup waits for goroutines to finish.", Mark: true}, {Text: " The end."}}},
		{"the first of equals", "goroutines", 80, []Segment{
			{Text: "… "}, {Text: "It has goroutines, which are cheap threads.", Mark: true}, {Text: " Channels connect them. …"}}},
		{"no match: the start, unmarked", "python", 40, []Segment{{Text: "Go is a language. It has goroutines, …"}}},
		{"a long sentence cut around its match", "threads", 20, []Segment{{Text: "… cheap threads.", Mark: true}}},
	} {
		got := Snippet(text, lexical.Analyze(c.query), one, c.n)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", c.name, got, c.want)
		}
	}
	if got := Snippet("", []string{"x"}, one, 10); got != nil {
		t.Errorf("an empty text gave %#v", got)
	}
}

func TestSnippetWeighsRareTerms(t *testing.T) {
	text := "The cat sat on the mat. A zebra sat down."
	idf := func(term string) float64 {
		if term == "zebra" {
			return 5
		}
		return 1
	}
	got := Snippet(text, lexical.Analyze("cat zebra"), idf, 200)
	if len(got) < 2 || !got[1].Mark || !strings.Contains(got[1].Text, "zebra") {
		t.Errorf("the rare term's sentence is not marked: %#v", got)
	}
}

func TestSplitSentences(t *testing.T) {
	got := splitSentences("Use e.g. this one. Then 2 more! \"Quoted?\" (Aside.) end\nnext line")
	want := []string{"Use e.g. this one.", "Then 2 more!", "\"Quoted?\"", "(Aside.) end", "next line"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
