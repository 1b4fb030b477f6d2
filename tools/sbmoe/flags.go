package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// newFlags makes a command's flag set with a usage text that teaches: synopsis, what
// the command does, its flags and examples.
func newFlags(name, synopsis, about, examples string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sbmoe "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: sbmoe %s %s\n\n%s\n\nFlags:\n", name, synopsis, about)
		fs.PrintDefaults()
		if examples != "" {
			fmt.Fprintf(w, "\nExamples:\n%s\n", examples)
		}
	}
	return fs
}

// parse parses flags; it returns (exit code, false) when the command must stop: 0 after
// --help, 2 after a usage error.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) (int, bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return 0, false
	case err != nil:
		return 2, false
	}
	return 0, true
}

// usageError returns a command's reporter of bad flags: it prints the message with a
// pointer to the command's help and returns exit code 2.
func usageError(stderr io.Writer, cmd string) func(format string, a ...any) int {
	return func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sbmoe "+cmd+": "+format+" (see sbmoe help "+cmd+")\n", a...)
		return 2
	}
}
