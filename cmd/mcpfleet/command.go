package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// command is a node of the command tree: a group with subcommands, or a
// leaf with run.
type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
	subs    []*command
}

func (c *command) dispatch(ctx context.Context, e *env, path []string, args []string) int {
	path = append(path, c.name)
	if c.run != nil {
		if wantsHelp(args) {
			// Asked-for help is output, not an error: it goes to stdout
			// and the flag parser's ErrHelp becomes exit 0.
			help := *e
			help.stderr = e.stdout
			return c.run(ctx, &help, args)
		}
		return c.run(ctx, e, args)
	}
	if len(args) == 0 {
		c.usage(e.stderr, path)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		c.usage(e.stdout, path)
		return 0
	}
	for _, s := range c.subs {
		if s.name == args[0] {
			return s.dispatch(ctx, e, path, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "%s: unknown command %q\n\n", strings.Join(path, " "), args[0])
	c.usage(e.stderr, path)
	return 2
}

func (c *command) usage(w io.Writer, path []string) {
	fmt.Fprintf(w, "usage: %s <command> [arguments]\n\ncommands:\n", strings.Join(path, " "))
	tw := newTable(w)
	for _, s := range c.subs {
		name := s.name
		if s.args != "" {
			name += " " + s.args
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, s.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nrun '%s <command> --help' for a command's arguments and flags\n", strings.Join(path, " "))
}

// newTable returns a writer that aligns tab-separated columns.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
}

// wantsHelp reports whether a leaf's arguments ask for help before any
// "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// newFlags returns a flag set for a leaf command whose errors and usage go
// to stderr. name is the command path after "mcpfleet", e.g. "policy check".
func newFlags(e *env, name, args string) *flag.FlagSet {
	name = strings.TrimPrefix(name, "mcpfleet ")
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: mcpfleet %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags that may come before, between or after positional
// arguments, and returns the positional ones. It returns the exit code to
// use when parsing stops (help: 0, error: 2) and ok false.
func parse(fs *flag.FlagSet, args []string) (positional []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, 0, true
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), 0, true
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// usageError reports a misuse and returns exit code 2.
func usageError(e *env, fs *flag.FlagSet, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "mcpfleet %s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return 2
}
