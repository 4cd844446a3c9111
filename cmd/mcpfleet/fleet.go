package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
	"github.com/mcpfleet/mcpfleet/pkg/policy"
	"github.com/mcpfleet/mcpfleet/servers/crm"
	"github.com/mcpfleet/mcpfleet/servers/github"
)

// fleetServer is one server `mcpfleet run` can start in-process.
type fleetServer struct {
	name string
	app  core.App
	// env are the config overrides for the local run.
	env map[string]string
	// enabled reports whether the server can run here, and why not.
	enabled func(getenv func(string) string) (bool, string)
}

// localFleet is the fleet `mcpfleet run` starts: every server that needs no
// account runs; the others run when their credentials are in the
// environment.
func localFleet(dataDir string, demo bool) []fleetServer {
	modules := func(domain fx.Option) []fx.Option {
		return []fx.Option{observability.Module, policy.Module, domain}
	}
	return []fleetServer{{
		name: "crm",
		app:  core.App{Name: "mcp-crm", Version: version, Defaults: crm.DefaultConfig, Options: modules(crm.Module)},
		env: map[string]string{
			"MCPFLEET_CRM_DATA_DIR":       dataDir,
			"MCPFLEET_CRM_LOAD_DEMO_DATA": strconv.FormatBool(demo),
		},
		enabled: func(func(string) string) (bool, string) { return true, "" },
	}, {
		name: "github",
		app:  core.App{Name: "mcp-github", Version: version, Defaults: github.DefaultConfig, Options: modules(github.Module)},
		env:  map[string]string{},
		enabled: func(getenv func(string) string) (bool, string) {
			if getenv("MCPFLEET_GITHUB_TOKEN") != "" {
				return true, ""
			}
			if getenv("GITHUB_TOKEN") != "" {
				return true, ""
			}
			return false, "set GITHUB_TOKEN (a personal access token) to include it"
		},
	}}
}

// fleetRun runs the local fleet over HTTP on loopback until interrupted.
func fleetRun(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "mcpfleet run", "[flags]")
	addr := fs.String("addr", "127.0.0.1:8080", "address of the first server; the next ones take the following ports")
	dataDir := fs.String("data-dir", ".data", "where servers with local storage keep it")
	demo := fs.Bool("demo", true, "load demo data into empty local databases")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	host, portText, err := net.SplitHostPort(*addr)
	port, perr := strconv.Atoi(portText)
	if err != nil || perr != nil || port <= 0 {
		fmt.Fprintf(e.stderr, "mcpfleet run: --addr %q must be host:port with a fixed port\n", *addr)
		return 2
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		// The local fleet runs without authentication, which core allows
		// only on loopback; deploy servers individually to expose them.
		fmt.Fprintf(e.stderr, "mcpfleet run: --addr %q is not a loopback address; the local fleet runs without auth\n", *addr)
		return 2
	}
	abs, err := filepath.Abs(*dataDir)
	if err != nil {
		fmt.Fprintf(e.stderr, "mcpfleet run: %v\n", err)
		return 1
	}

	type running struct {
		name, url string
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		codes   = map[string]int{}
		started []running
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, s := range localFleet(abs, *demo) {
		if ok, why := s.enabled(e.getenv); !ok {
			fmt.Fprintf(e.stderr, "mcpfleet run: skipping %s: %s\n", s.name, why)
			continue
		}
		serverAddr := net.JoinHostPort(host, strconv.Itoa(port))
		port++
		lookup := func(k string) (string, bool) {
			if v, ok := s.env[k]; ok {
				return v, true
			}
			switch k {
			case "MCPFLEET_AUTH_DISABLED":
				return "true", true
			case "MCPFLEET_GITHUB_TOKEN":
				// The usual variable works too.
				if v, ok := os.LookupEnv(k); ok {
					return v, true
				}
				if e.getenv("GITHUB_TOKEN") != "" {
					return "env:GITHUB_TOKEN", true
				}
			}
			return os.LookupEnv(k)
		}
		started = append(started, running{s.name, "http://" + serverAddr + "/mcp"})
		wg.Go(func() {
			code := core.Run(ctx, s.app, []string{"--transport", "http", "--addr", serverAddr},
				core.Streams{In: strings.NewReader(""), Out: io.Discard, Err: e.stderr}, lookup)
			mu.Lock()
			codes[s.name] = code
			mu.Unlock()
			// One server failing stops the fleet rather than leaving half
			// of it running.
			cancel()
		})
	}
	if len(started) == 0 {
		fmt.Fprintln(e.stderr, "mcpfleet run: no server can run here")
		return 1
	}
	fmt.Fprintln(e.stdout, "mcpfleet: local fleet (no authentication, loopback only; Ctrl-C stops it)")
	for _, r := range started {
		fmt.Fprintf(e.stdout, "  %-8s %s\n", r.name, r.url)
	}
	fmt.Fprintln(e.stdout, "add to Claude Code:")
	for _, r := range started {
		fmt.Fprintf(e.stdout, "  claude mcp add --transport http %s %s\n", r.name, r.url)
	}
	wg.Wait()
	exit := 0
	for name, code := range codes {
		if code != 0 {
			fmt.Fprintf(e.stderr, "mcpfleet run: %s exited with %d\n", name, code)
			exit = 1
		}
	}
	return exit
}
