// Command mcp-crm serves the CRM over MCP (stdio or Streamable HTTP), and
// imports, exports or seeds its data:
//
//	mcp-crm [--config FILE] [--transport stdio|http] [--addr HOST:PORT] ...
//	mcp-crm import --type contacts|companies|deals|all [--skip-errors] [--config FILE] FILE
//	mcp-crm export --type contacts|companies|deals|all [--config FILE] [FILE]
//	mcp-crm demo [--config FILE]
//
// --type all is a full export (every object type, ids kept, JSON Lines)
// that imports into a fresh database.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
	"github.com/mcpfleet/mcpfleet/pkg/policy"
	"github.com/mcpfleet/mcpfleet/servers/crm"
	"github.com/mcpfleet/mcpfleet/servers/crm/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "import", "export", "demo":
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := runCommandEnv(ctx, os.Args[1], os.Args[2:], os.Stdin, os.Stdout, os.Stderr, os.Environ())
			stop()
			os.Exit(code)
		}
	}
	core.Main(app())
}

func app() core.App {
	return core.App{Name: "mcp-crm", Version: version, Defaults: crm.DefaultConfig, Options: []fx.Option{observability.Module, policy.Module, crm.Module}}
}

// runCommandEnv runs a data subcommand with the whole environment
// (os.Environ's form), so that a misspelt MCPFLEET_CRM_* variable (say,
// MCPFLEET_CRM_DRVER=postgres) stops it instead of exporting from or
// importing into the wrong database.
func runCommandEnv(ctx context.Context, name string, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return command(ctx, name, args, stdin, stdout, stderr, func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, environ)
}

// runCommand runs a data subcommand with variables read through lookup and
// returns the exit code.
func runCommand(ctx context.Context, name string, args []string, stdin io.Reader, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	return command(ctx, name, args, stdin, stdout, stderr, lookup, nil)
}

func command(ctx context.Context, name string, args []string, stdin io.Reader, stdout, stderr io.Writer, lookup func(string) (string, bool), environ []string) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "mcp-crm %s: %v\n", name, err)
		return 1
	}
	fs := flag.NewFlagSet("mcp-crm "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	defaultPath, _ := lookup("MCPFLEET_CONFIG")
	configPath := fs.String("config", defaultPath, "YAML config file (default $MCPFLEET_CONFIG)")
	var kind *string
	var skip *bool
	if name != "demo" {
		kind = fs.String("type", "", "object type: contacts, companies or deals (CSV), or all (every type, ids kept, JSON Lines)")
	}
	if name == "import" {
		skip = fs.Bool("skip-errors", false, "import the good rows of a file with bad ones (default: import nothing)")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	svc, err := openService(ctx, *configPath, lookup, environ, stderr)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = svc.Stop(context.Background()) }()

	switch name {
	case "demo":
		loaded, err := svc.LoadDemoIfEmpty(ctx)
		if err != nil {
			return fail(err)
		}
		if !loaded {
			fmt.Fprintln(stdout, "database is not empty; demo data not loaded")
			return 0
		}
		fmt.Fprintln(stdout, "demo data loaded")
		return 0
	case "import":
		if fs.NArg() != 1 {
			return fail(errors.New("usage: mcp-crm import --type contacts|companies|deals|all [--skip-errors] FILE (- for stdin)"))
		}
		in := stdin
		if path := fs.Arg(0); path != "-" {
			f, err := os.Open(path)
			if err != nil {
				return fail(err)
			}
			defer f.Close()
			in = f
		}
		if *kind == "all" {
			counts, err := svc.ImportAll(ctx, in)
			if err != nil {
				return fail(err)
			}
			fmt.Fprintf(stdout, "imported %s\n", countsLine(counts))
			return 0
		}
		rep, err := svc.Import(ctx, store.Kind(*kind), in, crm.ImportOptions{SkipErrors: *skip})
		for _, e := range rep.Errors {
			fmt.Fprintln(stderr, e)
		}
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "imported %d of %d %s (%d bad rows skipped)\n", rep.Imported, rep.Rows, rep.Kind, rep.Rows-rep.Imported)
		if len(rep.Errors) > 0 {
			return 3
		}
		return 0
	default: // export
		if fs.NArg() > 1 {
			return fail(errors.New("usage: mcp-crm export --type contacts|companies|deals|all [FILE]"))
		}
		out := stdout
		var f *os.File
		if fs.NArg() == 1 && fs.Arg(0) != "-" {
			if f, err = os.Create(fs.Arg(0)); err != nil {
				return fail(err)
			}
			out = f
		}
		if *kind == "all" {
			counts, err := svc.ExportAll(ctx, out)
			if f != nil {
				err = errors.Join(err, f.Close())
			}
			if err != nil {
				return fail(err)
			}
			fmt.Fprintf(stderr, "exported %s\n", countsLine(counts))
			return 0
		}
		n, err := svc.Export(ctx, store.Kind(*kind), out)
		if f != nil {
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stderr, "exported %d %s\n", n, *kind)
		return 0
	}
}

// openService reads the crm section of the config (defaults < file <
// environment) and opens the database without serving.
func openService(ctx context.Context, path string, lookup func(string) (string, bool), environ []string, stderr io.Writer) (*crm.Service, error) {
	doc, err := config.Load(path, crm.DefaultConfig, lookup)
	if err != nil {
		return nil, err
	}
	cfg := crm.NewDefaultConfig()
	if err := doc.Section("crm", &cfg); err != nil {
		return nil, err
	}
	if environ != nil {
		// Only the crm section is decoded here: other sections' variables
		// pass unless they are near misses of a crm key.
		if err := doc.CheckEnv(environ); err != nil {
			return nil, err
		}
	}
	// Data commands never seed demo data implicitly; "demo" does it on purpose.
	cfg.LoadDemoData = false
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := crm.NewService(cfg, logger)
	if err != nil {
		return nil, err
	}
	if err := svc.Start(ctx); err != nil {
		return nil, err
	}
	return svc, nil
}

// countsLine renders per-table counts in export order.
func countsLine(counts map[string]int) string {
	var parts []string
	for _, t := range []string{"owners", "companies", "contacts", "deals", "deal_contacts", "activities"} {
		parts = append(parts, fmt.Sprintf("%d %s", counts[t], t))
	}
	return strings.Join(parts, ", ")
}
