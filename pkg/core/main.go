package core

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/dig"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
)

// App describes a server binary for [Main].
type App struct {
	// Name is the binary name, e.g. "mcp-crm".
	Name    string
	Version string
	// Defaults is the embedded default config (YAML), layered under the
	// config file.
	Defaults []byte
	// Options are the modules the server runs with: its domain module and
	// usually observability.Module and policy.Module.
	Options []fx.Option
}

// Main runs the server and exits. A start error prints one line and exits 1.
func Main(app App) {
	os.Exit(RunEnv(context.Background(), app, os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Environ()))
}

// RunEnv is Main without the exit, for tests: environ is the whole
// environment (os.Environ's form), so that an MCPFLEET_* variable that sets
// nothing (a typo) stops the start with the nearest valid name.
func RunEnv(ctx context.Context, app App, args []string, streams Streams, environ []string) int {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return run(ctx, app, args, streams, func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, environ)
}

// Run is Main without the exit and with variables read through lookup, for
// callers that run several servers in one process with their own overrides
// (mcpfleet run): no environment is checked for typos. It returns the exit
// code.
func Run(ctx context.Context, app App, args []string, streams Streams, lookup func(string) (string, bool)) int {
	return run(ctx, app, args, streams, lookup, nil)
}

func run(ctx context.Context, app App, args []string, streams Streams, lookup func(string) (string, bool), environ []string) int {
	fail := func(err error) int {
		fmt.Fprintf(streams.Err, "%s: %s\n", app.Name, oneLineError(err))
		return 1
	}
	fs := flag.NewFlagSet(app.Name, flag.ContinueOnError)
	fs.SetOutput(streams.Err)
	var (
		flags       config.Flags
		configPath  string
		printConfig bool
		listTools   bool
		version     bool
	)
	defaultPath, _ := lookup("MCPFLEET_CONFIG")
	fs.StringVar(&configPath, "config", defaultPath, "YAML config file (default $MCPFLEET_CONFIG)")
	fs.StringVar(&flags.Transport, "transport", "", "transport: stdio or http")
	fs.StringVar(&flags.Addr, "addr", "", "HTTP listen address, e.g. 127.0.0.1:8080")
	fs.BoolVar(&flags.ReadOnly, "read-only", false, "expose only read-only tools")
	fs.StringVar(&flags.Toolsets, "toolsets", "", "comma-separated toolsets to enable (\"all\" for every toolset)")
	fs.StringVar(&flags.LogLevel, "log-level", "", "debug, info, warn or error")
	fs.BoolVar(&printConfig, "print-config", false, "print the effective config (secrets redacted) and exit")
	fs.BoolVar(&listTools, "list-tools", false, "print the selected tools as JSON and exit")
	fs.BoolVar(&version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		return fail(fmt.Errorf("unexpected argument %q (see -help)", fs.Arg(0)))
	}
	if version {
		fmt.Fprintf(streams.Out, "%s %s\n", app.Name, app.Version)
		return 0
	}

	doc, err := config.Load(configPath, app.Defaults, lookup)
	if err != nil {
		return fail(err)
	}
	// Every module decodes its own section while the graph is built; the
	// document keeps their problems so that one start reports all of them.
	doc.CollectErrors()
	cfg := config.NewDefaultConfig()
	// With CollectErrors the sections' problems are kept in doc; what
	// Decode returns is about what the sections hold (api_keys_from).
	decodeErr := cfg.Decode(doc)
	flags.Apply(&cfg)
	if err := errors.Join(decodeErr, cfg.Validate()); err != nil {
		return fail(errors.Join(doc.Err(), err))
	}
	// For --print-config and --list-tools the graph is built (which decodes
	// every module's section) but never started: nothing listens.
	prebound, err := ReserveAddr(&cfg)
	if err != nil {
		return fail(err)
	}
	if prebound != nil {
		// Served by the app once started; closed here if it never is.
		defer prebound.Listener.Close()
	}
	var catalog *Catalog
	opts := append([]fx.Option{
		fx.Supply(cfg, doc, BuildInfo{Name: app.Name, Version: app.Version}, streams),
		fx.Supply(prebound),
		Module,
		fx.Populate(&catalog),
		fx.NopLogger,
		fx.StopTimeout(cfg.HTTP.ShutdownTimeout + 5*time.Second),
	}, app.Options...)
	fxApp := fx.New(opts...)
	// Problems in the config (every section's, and misspelt variables)
	// come first: a module that failed to build may have failed because of
	// them.
	problems := doc.Err()
	if environ != nil {
		problems = errors.Join(problems, doc.CheckEnv(environ))
	}
	if err := fxApp.Err(); err != nil {
		if problems != nil {
			return fail(errors.Join(problems, errors.New(oneLineError(err))))
		}
		return fail(err)
	}
	if problems != nil {
		return fail(problems)
	}
	if unused := doc.Unused(); len(unused) > 0 {
		return fail(fmt.Errorf("config has unknown sections: %s", strings.Join(unused, ", ")))
	}
	switch {
	case printConfig:
		out, err := doc.Effective()
		if err != nil {
			return fail(err)
		}
		_, _ = streams.Out.Write(out)
		return 0
	case listTools:
		return printTools(streams.Out, catalog)
	}

	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := fxApp.Start(startCtx); err != nil {
		// Told to stop while starting (the hooks see a cancelled context):
		// stop what had started (fx does not roll back a start its context
		// cut short), and a stop asked for is not a failure.
		if ctx.Err() != nil {
			stopCtx, cancelStop := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
			defer cancelStop()
			_ = fxApp.Stop(stopCtx)
			return 0
		}
		return fail(err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	code := 0
	select {
	case <-sigs:
	case sig := <-fxApp.Wait():
		code = sig.ExitCode
	case <-ctx.Done():
	}
	stopCtx, cancelStop := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancelStop()
	if err := fxApp.Stop(stopCtx); err != nil {
		fmt.Fprintf(streams.Err, "%s: shutdown: %s\n", app.Name, oneLineError(err))
		return 1
	}
	return code
}

// oneLineError reduces an fx/dig error chain to its root cause on one line.
func oneLineError(err error) string {
	root := dig.RootCause(err)
	if root == nil {
		root = err
	}
	return strings.ReplaceAll(strings.TrimSpace(root.Error()), "\n", "; ")
}

// ToolInfo is one line of --list-tools output.
type ToolInfo struct {
	Name           string   `json:"name"`
	Title          string   `json:"title"`
	Toolset        string   `json:"toolset"`
	Effect         string   `json:"effect"`
	Classification string   `json:"classification"`
	Permissions    []string `json:"permissions"`
}

func printTools(w io.Writer, c *Catalog) int {
	var out []ToolInfo
	for _, td := range c.Tools() {
		s := td.Spec()
		out = append(out, ToolInfo{Name: s.Name, Title: s.Title, Toolset: s.Toolset, Effect: s.Effect.String(),
			Classification: string(s.Classification), Permissions: s.Permissions})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return 1
	}
	return 0
}
