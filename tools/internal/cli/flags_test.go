package cli

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestParseArgsInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		quiet bool
		k     int
		pos   []string
	}{
		{[]string{"a", "b"}, false, 10, []string{"a", "b"}},
		{[]string{"--quiet", "a"}, true, 10, []string{"a"}},
		{[]string{"a", "--quiet", "b", "--k", "3"}, true, 3, []string{"a", "b"}},
		{[]string{"a", "--", "--quiet", "-k"}, false, 10, []string{"a", "--quiet", "-k"}},
		{[]string{"--k=2", "--", "x"}, false, 2, []string{"x"}},
		{nil, false, 10, nil},
	} {
		var stderr bytes.Buffer
		f := NewFlags("sbmoe", "test", "", "", "sbmoe test a b\n  sbmoe test --k 3 a\n", &stderr)
		quiet := f.Bool("quiet", false, "")
		k := f.Int("k", 10, "")
		if code, ok := f.ParseArgs(tc.args, &stderr); !ok {
			t.Fatalf("%q: stopped with %d: %s", tc.args, code, stderr.String())
		}
		if *quiet != tc.quiet || *k != tc.k || !slices.Equal(f.Args(), tc.pos) || f.NArg() != len(tc.pos) {
			t.Errorf("%q: quiet %v, k %d, args %q; want %v %d %q", tc.args, *quiet, *k, f.Args(), tc.quiet, tc.k, tc.pos)
		}
		if len(f.Examples) != 2 || f.Arg(99) != "" {
			t.Errorf("examples %q", f.Examples)
		}
	}
}

func TestParseArgsErrorsOnce(t *testing.T) {
	var stdout, stderr bytes.Buffer
	f := NewFlags("sbmoe", "test", "SYNOPSIS", "ABOUT", "", &stderr)
	f.Int("k", 10, "results")
	code, ok := f.ParseArgs([]string{"--nope"}, &stdout)
	if ok || code != 2 || stdout.Len() != 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "sbmoe test --help") {
		t.Errorf("bad flag: code %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	stderr.Reset()
	code, ok = f.ParseArgs([]string{"--help"}, &stdout)
	if ok || code != 0 || !strings.Contains(stdout.String(), "Usage: sbmoe test SYNOPSIS") || stderr.Len() != 0 {
		t.Errorf("--help: code %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
