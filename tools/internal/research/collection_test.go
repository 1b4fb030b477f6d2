package research

import (
	"slices"
	"testing"

	"github.com/sbmoe/sbmoe/core/beir"
)

func TestUnseenQueries(t *testing.T) {
	train := beir.Qrels{"t1": {"d1": 1, "d2": 0}, "t2": {"d3": 2}}
	test := beir.Qrels{
		"a": {"d1": 1},          // shares d1
		"b": {"d2": 1, "d4": 1}, // d2 is only judged non-relevant in train
		"c": {"d4": 1, "d3": 1}, // shares d3
		"d": {"d5": 0},          // nothing relevant: left out
		"e": {"d6": 1, "d1": 0}, // d1 non-relevant here
	}
	if got, want := UnseenQueries(test, train), []string{"b", "e"}; !slices.Equal(got, want) {
		t.Errorf("UnseenQueries = %v, want %v", got, want)
	}
}
