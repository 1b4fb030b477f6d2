// Package cli holds what the sbmoe commands share: flag sets whose usage teaches,
// the exit-code conventions, progress bars, and opening models and corpora with the
// hints a new user needs.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Flags is a command's flag set with a usage text that teaches: synopsis, what the
// command does, its flags and examples.
type Flags struct {
	*flag.FlagSet
	// Examples are the command lines the help shows, one per line, each starting with
	// the program's name; a test parses every one.
	Examples []string
	stderr   io.Writer
	args     []string // the positional arguments, wherever they stood
}

// NewFlags makes the flag set of command name of program prog ("sbmoe"). examples holds
// one command line per line.
func NewFlags(prog, name, synopsis, about, examples string, stderr io.Writer) *Flags {
	fs := flag.NewFlagSet(strings.TrimSpace(prog+" "+name), flag.ContinueOnError)
	fs.SetOutput(io.Discard) // ParseArgs reports errors itself, once, on stderr
	f := &Flags{FlagSet: fs, stderr: stderr}
	for _, line := range strings.Split(examples, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			f.Examples = append(f.Examples, line)
		}
	}
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s %s\n\n%s\n\nFlags:\n", fs.Name(), synopsis, about)
		fs.PrintDefaults()
		if len(f.Examples) > 0 {
			fmt.Fprintf(w, "\nExamples:\n")
			for _, e := range f.Examples {
				fmt.Fprintf(w, "  %s\n", e)
			}
		}
	}
	return f
}

// ParseOnly makes every ParseArgs stop its command after parsing, with exit code 0: a
// test sets it to check that the examples in the help parse.
var ParseOnly bool

// ParseArgs parses args; it returns (exit code, false) when the command must stop: 0
// after --help (the help goes to stdout), 2 after a usage error (one line on stderr that
// names the help).
//
// Flags may come before, between or after positional arguments ("sbmoe eval DIR --quiet");
// after "--" everything is positional.
func (f *Flags) ParseArgs(args []string, stdout io.Writer) (int, bool) {
	err := f.parseInterspersed(args)
	switch {
	case err == nil && ParseOnly:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		f.SetOutput(stdout)
		f.Usage()
		return 0, false
	case err != nil:
		fmt.Fprintf(f.stderr, "%s: %v (see %s --help)\n", f.Name(), err, f.Name())
		return 2, false
	}
	return 0, true
}

func (f *Flags) parseInterspersed(args []string) error {
	f.args = nil
	for {
		if err := f.Parse(args); err != nil {
			return err
		}
		rest := f.FlagSet.Args()
		if len(rest) == 0 {
			return nil
		}
		// Parse stops at the first positional argument, or after a "--" it consumed.
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			f.args = append(f.args, rest...)
			return nil
		}
		f.args = append(f.args, rest[0])
		args = rest[1:]
	}
}

// Args are the positional arguments.
func (f *Flags) Args() []string { return f.args }

// NArg is len(Args()).
func (f *Flags) NArg() int { return len(f.args) }

// Arg is the i-th positional argument, or "" when there are fewer.
func (f *Flags) Arg(i int) string {
	if i < 0 || i >= len(f.args) {
		return ""
	}
	return f.args[i]
}

// UsageError returns a command's reporter of bad arguments: it prints the message with a
// pointer to the command's help and returns exit code 2.
func UsageError(stderr io.Writer, cmd string) func(format string, a ...any) int {
	return func(format string, a ...any) int {
		fmt.Fprintf(stderr, cmd+": "+format+" (see "+cmd+" --help)\n", a...)
		return 2
	}
}

// Fail prints an error in the form every command uses and returns exit code 1.
func Fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", cmd, strings.TrimSpace(err.Error()))
	return 1
}

// PositiveK checks a result count given by --k: it must be at least 1 and at most max.
func PositiveK(k, max int) error {
	if k < 1 || k > max {
		return fmt.Errorf("--k must be between 1 and %d, not %d", max, k)
	}
	return nil
}
