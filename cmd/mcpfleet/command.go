package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
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
	for _, s := range c.subs {
		name := s.name
		if s.args != "" {
			name += " " + s.args
		}
		fmt.Fprintf(w, "  %-40s %s\n", name, s.summary)
	}
}

// newFlags returns a flag set for a leaf command whose errors and usage go
// to stderr.
func newFlags(e *env, name, args string) *flag.FlagSet {
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
