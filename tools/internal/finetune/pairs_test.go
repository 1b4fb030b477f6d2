package finetune

import (
	"slices"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/core/beir"
)

func TestFromQrels(t *testing.T) {
	ds := &beir.Dataset{Dir: "toy",
		Corpus: []beir.Doc{{ID: "d1", Title: "Vitamin D", Text: "Bones NEED it."}, {ID: "d2", Text: "Fish oil"}, {ID: "d3", Title: "Sun", Text: "Light"}},
		Queries: []beir.Query{{ID: "q1", Text: "What about BONES?"}, {ID: "q2", Text: "only negatives"},
			{ID: "q3", Text: "Sun and fish"}, {ID: "q4", Text: "unjudged"}},
		Qrels: beir.Qrels{"q1": {"d1": 1}, "q2": {"d2": 0}, "q3": {"d3": 2, "d2": 1}},
	}
	p, err := FromQrels(ds)
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{{ID: "q1", Query: "What about BONES?", Positives: []int{0}}, {ID: "q3", Query: "Sun and fish", Positives: []int{1, 2}}}
	if len(p.Examples) != len(want) {
		t.Fatalf("examples %+v, want %+v", p.Examples, want)
	}
	for i, ex := range p.Examples {
		if ex.ID != want[i].ID || ex.Query != want[i].Query || !slices.Equal(ex.Positives, want[i].Positives) {
			t.Errorf("example %d: %+v, want %+v", i, ex, want[i])
		}
	}
	if !slices.Equal(p.Docs, []string{"Vitamin D Bones NEED it.", "Fish oil", "Sun Light"}) {
		t.Errorf("docs %q", p.Docs)
	}

	ds.Qrels = beir.Qrels{"q1": {"d1": 0}}
	if _, err := FromQrels(ds); err == nil || !strings.Contains(err.Error(), "no query has a relevant document") {
		t.Errorf("all negative: %v", err)
	}
	ds.Qrels = beir.Qrels{"q1": {"d9": 1}}
	if _, err := FromQrels(ds); err == nil || !strings.Contains(err.Error(), `"d9"`) {
		t.Errorf("unknown doc: %v", err)
	}
}

func TestSelfSupervised(t *testing.T) {
	docs := []beir.Doc{
		{ID: "a", Title: "Go Maps", Text: "A map is an unordered group of elements of one type indexed by keys of another type"},
		{ID: "b", Title: "", Text: "no title here but plenty of words to crop from this text"},
		{ID: "c", Title: "Empty", Text: " "},
		{ID: "d", Text: "one"},
	}
	p, err := SelfSupervised(docs, SelfTitle, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Examples) != 1 || p.Examples[0].Query != "Go Maps" || p.Docs[0] != docs[0].Text {
		t.Errorf("title pairs %+v %q", p.Examples, p.Docs)
	}

	p, err = SelfSupervised(docs, SelfCrops, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Examples) != 2 { // c and d have a single word each
		t.Fatalf("crops of %d documents, want 2: %+v", len(p.Examples), p.Examples)
	}
	for i, ex := range p.Examples {
		src := beir.DocText(docs[i])
		n := len(strings.Fields(src))
		for _, c := range []string{ex.Query, p.Docs[ex.Positives[0]]} {
			k := len(strings.Fields(c))
			if !strings.Contains(src, c) || k < 1 || k > max(1, n/2) {
				t.Errorf("crop %q of %q: %d of %d words", c, src, k, n)
			}
		}
	}
	again, _ := SelfSupervised(docs, SelfCrops, 1)
	other, _ := SelfSupervised(docs, SelfCrops, 2)
	if !slices.Equal(again.Docs, p.Docs) || slices.Equal(other.Docs, p.Docs) {
		t.Errorf("crops are not a function of the seed: %q %q %q", p.Docs, again.Docs, other.Docs)
	}

	for _, tc := range []struct{ mode, want string }{
		{"titles", "unknown mode"}, {SelfTitle, "no document has both"}, {SelfCrops, "two words"},
	} {
		if _, err := SelfSupervised([]beir.Doc{{ID: "x", Text: "one"}}, tc.mode, 1); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.mode, err, tc.want)
		}
	}
}
