package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// child is one server process of the local fleet.
type child struct {
	server fleetServer
	addr   string
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has been waited for
	err    error         // its exit, valid after done
}

func (c *child) url() string { return "http://" + c.addr + "/mcp" }

// readyTimeout bounds how long up waits for one server's /readyz.
const readyTimeout = 60 * time.Second

// stopTimeout bounds how long a child may take to drain after SIGTERM
// before it is killed.
const stopTimeout = 15 * time.Second

// fleetUp runs the local fleet: every server its own process on loopback,
// started from installed binaries or built once from the source tree, until
// SIGINT or SIGTERM; then it stops every child and exits 0.
func fleetUp(name string) func(ctx context.Context, e *env, args []string) int {
	return func(ctx context.Context, e *env, args []string) int { return fleetUpAs(ctx, e, name, args) }
}

func fleetUpAs(ctx context.Context, e *env, name string, args []string) int {
	say := func(format string, a ...any) { fmt.Fprintf(e.stderr, "mcpfleet "+name+": "+format+"\n", a...) }
	fs := newFlags(e, name, "[--addr 127.0.0.1:8080] [--servers crm,github] [--bin-dir DIR] [--data-dir DIR] [--demo=false]")
	addr := fs.String("addr", "127.0.0.1:8080", "the CRM's address; the other servers keep their distance from it (github +1, slack +2, aws +3)")
	only := fs.String("servers", "", "comma-separated servers to run (default: every server that can run here)")
	binDir := fs.String("bin-dir", "", "directory with installed mcp-<server> binaries (default: next to mcpfleet, else build from the source tree into .bin)")
	dataDir := fs.String("data-dir", "", "where servers with local storage keep it (default: the per-user data directory, e.g. ~/.local/share/mcpfleet/<server>)")
	demo := fs.Bool("demo", true, "load demo data into empty local databases")
	if _, code, ok := parse(fs, args); !ok {
		return code
	} else if fs.NArg() > 0 {
		return usageError(e, fs, "unexpected argument %q", fs.Arg(0))
	}
	host, portText, err := net.SplitHostPort(*addr)
	port, perr := strconv.Atoi(portText)
	if err != nil || perr != nil || port <= 0 || port > 65535 {
		return usageError(e, fs, "--addr %q must be host:port with a fixed port", *addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		// The local fleet runs without authentication, which core allows
		// only on loopback; deploy servers individually to expose them.
		return usageError(e, fs, "--addr %q is not a loopback address; the local fleet runs without auth", *addr)
	}
	servers, unknown := selectServers(*only)
	if len(unknown) > 0 {
		return usageError(e, fs, "unknown servers %v", unknown)
	}

	// Credentials first: a server without them stays out, with one line
	// naming the variable to set (the same rule for every server).
	var want []fleetServer
	for _, s := range servers {
		if miss := s.missingCreds(e.getenv); len(miss) > 0 {
			fmt.Fprintf(e.stderr, "mcpfleet: skipping %s: set %s (%s) to include it\n", s.name, miss[0].alias, miss[0].what)
			continue
		}
		want = append(want, s)
	}

	dir := *binDir
	if dir == "" {
		if d := defaultBinDir(); d != "" && len(installed(d, want, discard{})) > 0 {
			dir = d
		}
	}
	var runnable []fleetServer
	if dir != "" {
		runnable = installed(dir, want, e.stderr)
	} else {
		root, err := findRepoRoot(".")
		if err != nil {
			say("%v", err)
			return 1
		}
		dir = filepath.Join(root, ".bin")
		fmt.Fprintf(e.stderr, "mcpfleet: building servers into %s\n", dir)
		if runnable, err = buildServers(ctx, root, dir, want, false, e.stderr); err != nil {
			say("%v", err)
			return 1
		}
	}
	if len(runnable) == 0 {
		fmt.Fprintln(e.stderr, "mcpfleet up: no server can run here")
		return 1
	}
	if ctx.Err() != nil {
		return 0
	}

	var children []*child
	stopAll := func() int {
		return stopChildren(children)
	}
	// Each server keeps its own port (the table's, shifted with --addr) so
	// host configs stay valid whichever servers run.
	offset := port - fleetTable[0].port
	for _, s := range runnable {
		c, err := startChild(e, dir, s, net.JoinHostPort(host, strconv.Itoa(s.port+offset)), *dataDir, *demo)
		if err != nil {
			say("start %s: %v", s.name, err)
			stopAll()
			return 1
		}
		children = append(children, c)
	}
	for _, c := range children {
		notReady, err := waitReady(ctx, c)
		if notReady != "" {
			fmt.Fprintf(e.stderr, "mcpfleet: %s is serving but its upstream is not ready (its tools answer with the reason): %s\n", c.server.name, notReady)
		}
		if err != nil {
			if ctx.Err() != nil {
				// Interrupted while starting: a clean stop.
				return stopAll()
			}
			say("%s did not become ready: %v", c.server.name, err)
			stopAll()
			return 1
		}
	}
	printBanner(e, children, host, offset)

	// Run until a signal, or until a child dies (then the fleet stops
	// rather than leaving half of it running).
	died := make(chan *child, len(children))
	for _, c := range children {
		go func() { <-c.done; died <- c }()
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(e.stderr, "mcpfleet: stopping the fleet")
		code := stopAll()
		if code == 0 {
			fmt.Fprintln(e.stderr, "mcpfleet: every server stopped; exit 0")
		}
		return code
	case c := <-died:
		say("%s exited: %v; stopping the fleet", c.server.name, c.err)
		stopAll()
		return 1
	}
}

// startChild starts one server over HTTP on addr without authentication
// (loopback only), with its data in a per-server directory.
func startChild(e *env, dir string, s fleetServer, addr, dataDir string, demo bool) (*child, error) {
	cmd := exec.Command(filepath.Join(dir, s.binaryName()), "--transport", "http", "--addr", addr)
	cmd.Env = append(os.Environ(), "MCPFLEET_AUTH_DISABLED=true")
	cmd.Env = append(cmd.Env, s.credEnv(e.getenv)...)
	if s.dataDirEnv != "" {
		d := filepath.Join(dataDir, s.name)
		if dataDir == "" {
			var err error
			if d, err = userDataDir(s.name); err != nil {
				return nil, err
			}
		}
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		cmd.Env = append(cmd.Env, s.dataDirEnv+"="+d)
		if s.name == "crm" {
			cmd.Env = append(cmd.Env, "MCPFLEET_CRM_LOAD_DEMO_DATA="+strconv.FormatBool(demo))
		}
	}
	cmd.Stdout = e.stderr
	cmd.Stderr = e.stderr
	cmd.SysProcAttr = childAttrs()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{server: s, addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// waitReady polls the child's /readyz until it answers 200, the child
// exits, or ctx ends. A remote server (Slack, GitHub, AWS) whose only
// failing checks are its upstream's (<name>_...) is serving: an
// unreachable upstream or a rejected token is a state the server reports
// in its tool errors and /readyz, not a reason to stop the local fleet,
// so waitReady returns with notReady naming them.
func waitReady(ctx context.Context, c *child) (notReady string, err error) {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get("http://" + c.addr + "/readyz")
		if err == nil {
			var rep struct {
				Checks map[string]struct {
					Status string `json:"status"`
					Error  string `json:"error"`
				} `json:"checks"`
			}
			decErr := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rep)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "", nil
			}
			if c.server.remote && resp.StatusCode == http.StatusServiceUnavailable && decErr == nil {
				var failing []string
				upstreamOnly := true
				for name, r := range rep.Checks {
					if r.Status == "ok" {
						continue
					}
					upstreamOnly = upstreamOnly && strings.HasPrefix(name, c.server.name+"_")
					failing = append(failing, name+": "+r.Error)
				}
				if upstreamOnly && len(failing) > 0 {
					slices.Sort(failing)
					return strings.Join(failing, "; "), nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-c.done:
			return "", fmt.Errorf("exited: %v", c.err)
		case <-deadline.C:
			return "", fmt.Errorf("no 200 from /readyz within %s", readyTimeout)
		case <-tick.C:
		}
	}
}

// stopChildren sends SIGTERM to every running child, waits for each (killing
// one that does not drain in time) and returns 0 when all stopped cleanly.
func stopChildren(children []*child) int {
	for _, c := range children {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	code := 0
	for _, c := range children {
		select {
		case <-c.done:
		case <-time.After(stopTimeout):
			_ = c.cmd.Process.Kill()
			<-c.done
			code = 1
		}
		var exit *exec.ExitError
		if c.err != nil && !(errors.As(c.err, &exit) && exit.Exited() && exit.ExitCode() == 0) {
			// A server interrupted by the same Ctrl-C (it shares our
			// process group) ends by its own signal handling with 0;
			// anything else is a failure worth the exit code.
			code = 1
		}
	}
	return code
}

// printBanner prints the endpoints and how to connect each host.
func printBanner(e *env, children []*child, host string, offset int) {
	fmt.Fprintln(e.stdout, "mcpfleet: local fleet is up (no authentication, loopback only; Ctrl-C stops it)")
	w := newTable(e.stdout)
	var names []string
	for _, c := range children {
		fmt.Fprintf(w, "  %s\t%s\tpid %d\n", c.server.name, c.url(), c.cmd.Process.Pid)
		names = append(names, c.server.name)
	}
	w.Flush()
	fmt.Fprintln(e.stdout, "\nconnect a host (hostconfig prints the config; --write merges it into the host's file, with a backup):")
	remote := fmt.Sprintf("--servers %s --url 'http://%s/mcp'", strings.Join(names, ","), net.JoinHostPort(host, "{port}"))
	if offset != 0 {
		remote += fmt.Sprintf(" --port-offset %d", offset)
	}
	for _, c := range children {
		fmt.Fprintf(w, "  Claude Code\tclaude mcp add --transport http %s %s\n", c.server.name, c.url())
	}
	for _, h := range []struct{ label, client string }{
		{"Claude Code", "claude-code"}, {"VS Code", "vscode"}, {"Cursor", "cursor"}, {"Codex", "codex"},
	} {
		fmt.Fprintf(w, "  %s\tmcpfleet hostconfig --client %s %s\n", h.label, h.client, remote)
	}
	fmt.Fprintf(w, "  Claude Desktop\tmcpfleet hostconfig --client claude-desktop --servers %s (stdio only: Desktop starts its own copies)\n", strings.Join(names, ","))
	w.Flush()
}

// discard is an io.Writer that drops everything.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
