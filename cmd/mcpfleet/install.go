package main

import (
	"context"
	"fmt"
	"path/filepath"
)

// install builds mcpfleet and every server in the source tree into one
// directory, so that host configs can name absolute binary paths and `up`
// finds the servers next to mcpfleet.
func install(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "install", "--dir DIR [--servers crm,github]")
	dir := fs.String("dir", "", "directory to put the binaries in (e.g. ~/.local/bin)")
	only := fs.String("servers", "", "comma-separated servers to build (default: all in the source tree)")
	if _, code, ok := parse(fs, args); !ok {
		return code
	} else if fs.NArg() > 0 {
		return usageError(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	if *dir == "" {
		return usageError(e, fs, "name the target directory with --dir")
	}
	servers, unknown := selectServers(*only)
	if len(unknown) > 0 {
		return usageError(e, fs, "unknown servers %v", unknown)
	}
	root, err := findRepoRoot(".")
	if err != nil {
		fmt.Fprintf(e.stderr, "mcpfleet install: %v\n", err)
		return 1
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintf(e.stderr, "mcpfleet install: %v\n", err)
		return 1
	}
	built, err := buildServers(ctx, root, abs, servers, true, e.stderr)
	if err != nil {
		fmt.Fprintf(e.stderr, "mcpfleet install: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "installed into %s:\n  mcpfleet\n", abs)
	for _, s := range built {
		fmt.Fprintf(e.stdout, "  %s\n", s.binaryName())
	}
	return 0
}
