package headtrain

import (
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		n        int
		fraction float64
		val      int
	}{{100, 0.05, 5}, {40, 0.05, 2}, {20, 0.05, 0}, {3, 0, 0}, {3, 0.9, 2}, {2, 0.9, 0}} {
		tr, val := split(tc.n, tc.fraction, 42)
		all := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(tr), val...))))
		if len(val) != tc.val || len(all) != tc.n || all[0] != 0 || all[tc.n-1] != tc.n-1 {
			t.Errorf("split(%d, %g): train %v, val %v", tc.n, tc.fraction, tr, val)
		}
	}
}
