package research

import (
	"slices"
	"strconv"
	"testing"
)

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  string
	}{
		{"3, 6,9", []int{3, 6, 9}, ""},
		{"6,6", nil, "6 appears twice"},
		{"6,x", nil, `strconv.Atoi: parsing "x": invalid syntax`},
	} {
		got, err := ParseList(tc.in, strconv.Atoi)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if msg != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, error %q; want %v, error %q", tc.in, got, msg, tc.want, tc.err)
		}
	}
	if _, err := ParseList("cisi,msmarco", OneOf("collection", []string{"scifact", "cisi"})); err == nil ||
		err.Error() != `unknown collection "msmarco" (want some of scifact, cisi)` {
		t.Errorf("OneOf: %v", err)
	}
}

func TestSubsets(t *testing.T) {
	zero := Scores{NDCG: map[string]float64{"q2": 1, "q1": 0}}
	got := Subsets(zero, []string{"q2"})
	if len(got) != 2 || got[0].Name != "all" || !slices.Equal(got[0].Queries, []string{"q1", "q2"}) ||
		got[1].Name != "unseen" || !slices.Equal(got[1].Queries, []string{"q2"}) {
		t.Errorf("Subsets = %+v", got)
	}
	if got := Subsets(zero, nil); len(got) != 1 {
		t.Errorf("without unseen queries: %+v", got)
	}
}
