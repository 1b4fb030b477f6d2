package metrics

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/sbmoe/sbmoe/internal/readbound"
)

func TestWriteTREC(t *testing.T) {
	run := Run{
		"q2": {"9": 1, "10": 1, "100": 1, "x": 2.5},
		"q1": {"a": 0.1, "b": 1e-30, "c": math.Inf(-1)},
	}
	tests := []struct {
		depth int
		want  string
	}{
		{0, "q1 Q0 a 1 0.1 t\nq1 Q0 b 2 1e-30 t\nq1 Q0 c 3 -Inf t\n" +
			"q2 Q0 x 1 2.5 t\nq2 Q0 9 2 1 t\nq2 Q0 100 3 1 t\nq2 Q0 10 4 1 t\n"},
		{2, "q1 Q0 a 1 0.1 t\nq1 Q0 b 2 1e-30 t\nq2 Q0 x 1 2.5 t\nq2 Q0 9 2 1 t\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := WriteTREC(&buf, run, "t", tt.depth); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tt.want {
			t.Errorf("depth %d:\n%s\nwant\n%s", tt.depth, buf.String(), tt.want)
		}
	}
}

func TestTRECRoundTrip(t *testing.T) {
	run := Run{"q1": {"a": 0.1 + 0.2, "b": -1.0 / 3, "c": math.Inf(1)}, "7": {"d": 123456789.123456789, "e": 5e-324}}
	var buf bytes.Buffer
	if err := WriteTREC(&buf, run, "sbmoe", 0); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTREC(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, run) {
		t.Errorf("round trip = %v, want %v", got, run)
	}
}

func TestWriteTRECErrors(t *testing.T) {
	tests := []struct {
		name    string
		run     Run
		tag     string
		wantErr string
	}{
		{"empty tag", Run{"q": {"d": 1}}, "", "write trec run: tag: empty"},
		{"spaced tag", Run{"q": {"d": 1}}, "my run", `write trec run: tag "my run": contains whitespace`},
		{"spaced query", Run{"q 1": {"d": 1}}, "t", `write trec run: query id "q 1": contains whitespace`},
		{"tab in doc", Run{"q": {"d\t1": 1}}, "t", `write trec run: query "q": doc id "d\t1": contains whitespace`},
		{"NaN", Run{"q": {"d": math.NaN()}}, "t", `write trec run: query "q": doc "d": score is NaN`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteTREC(&bytes.Buffer{}, tt.run, tt.tag, 0)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteTRECWriterError(t *testing.T) {
	err := WriteTREC(failingWriter{}, Run{"q": {"d": 1}}, "t", 0)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("err = %v, want the writer's error", err)
	}
}

func TestReadTREC(t *testing.T) {
	input := "q1 Q0 d1 1 2.5 run\r\n\n  q1\tQ0\td2   7 -1 run  \nq2 0 d1 1 3 other"
	want := Run{"q1": {"d1": 2.5, "d2": -1}, "q2": {"d1": 3}}
	got, err := ReadTREC(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadTREC = %v, want %v", got, want)
	}
}

func TestReadTRECErrors(t *testing.T) {
	tests := []struct{ name, input, wantErr string }{
		{"five fields", "q Q0 d 1 2.5\n", "read trec run: line 1: want 6 fields (qid Q0 docid rank score tag), got 5"},
		{"bad rank", "q Q0 d 1 1 t\nq Q0 e one 1 t\n", `read trec run: line 2: field rank: "one" is not an integer`},
		{"bad score", "q Q0 d 1 high t\n", `read trec run: line 1: field score: "high" is not a number`},
		{"NaN score", "q Q0 d 1 NaN t\n", `read trec run: line 1: field score: "NaN" is not a number`},
		{"duplicate", "q Q0 d 1 1 t\n\nq Q0 d 2 0.5 t\n", `read trec run: line 3: duplicate doc "d" for query "q"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadTREC(strings.NewReader(tt.input))
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzReadTREC checks that the parser never panics and that whatever it
// accepts survives a WriteTREC/ReadTREC round trip unchanged.
func FuzzReadTREC(f *testing.F) {
	for _, seed := range []string{
		"q1 Q0 d1 1 2.5 run\nq1 Q0 d2 2 1 run\n",
		"q1 Q0 d1 1 +Inf run\r\n\r\nq2 Q0 d1 1 -0 run",
		"q Q0 d 1 1e400 t\n",
		"q Q0 d 1 0x1p-2 t\n",
		"q Q0 d x 1 t\n",
		"q Q0 d 1 1 t\nq Q0 d 1 1 t\n",
		"\xff Q0 d 1 1 t\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		var run Run
		var err error
		readbound.Check(t, len(input), trecBound, func() { run, err = ReadTREC(strings.NewReader(input)) })
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteTREC(&buf, run, "fuzz", 0); err != nil {
			t.Fatalf("WriteTREC of an accepted run: %v", err)
		}
		again, err := ReadTREC(&buf)
		if err != nil {
			t.Fatalf("re-reading written run: %v\n%s", err, buf.String())
		}
		if !reflect.DeepEqual(run, again) {
			t.Fatalf("round trip changed the run: %v -> %v", run, again)
		}
	})
}
