package lexical

import (
	"math"
	"testing"
)

func TestCombine(t *testing.T) {
	dense := []Ranked{{Index: 3, Score: 0.9}, {Index: 1, Score: 0.5}, {Index: 2, Score: 0.1}}
	lex := []Ranked{{Index: 2, Score: 12}, {Index: 1, Score: 10}, {Index: 4, Score: 2}}
	// 3: 0.5·1; 1: 0.5·0.5 + 0.5·0.8; 2: 0.5·0 + 0.5·1; 4: 0.5·0.
	got := Combine(10, dense, lex)
	want := []FusedHit{{1, 0.65}, {3, 0.5}, {2, 0.5}, {4, 0}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].Index != want[i].Index || math.Abs(got[i].Score-want[i].Score) > 1e-6 {
			t.Errorf("hit %d: %v, want %v", i, got[i], want[i])
		}
	}
	if got := Combine(1, []Ranked{{Index: 7, Score: 1}}, nil); len(got) != 1 || got[0] != (FusedHit{7, 0.5}) {
		t.Errorf("one list of one: %v", got)
	}
	if got := Combine(5, nil, nil); len(got) != 0 {
		t.Errorf("no lists: %v", got)
	}
}
