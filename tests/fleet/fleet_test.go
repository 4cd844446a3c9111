// Package fleet tests the local fleet as a user runs it: mcpfleet up (and
// make run) starting every server as its own process from built binaries,
// a real MCP client using the CRM, and a stop by SIGTERM or Ctrl-C that
// leaves no process and no listener behind.
package fleet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// repoRoot is the repository root (tests/fleet is two levels down).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds mcpfleet and every server once per test run, the way
// make bin does.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mcpfleet-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		root := repoRoot(t)
		build := exec.Command("go", "build", "-o", dir+"/", "./cmd/mcpfleet")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build mcpfleet: %v\n%s", err, out)
			return
		}
		install := exec.Command(filepath.Join(dir, "mcpfleet"), "install", "--dir", dir)
		install.Dir = root
		if out, err := install.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("mcpfleet install: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// freeBase returns a loopback port p with p..p+3 free (the fleet's four
// servers keep fixed distances from the first).
func freeBase(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if p > 65000 {
			continue
		}
		ok := true
		for i := 1; i < 4; i++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+i))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no four free consecutive ports")
	return 0
}

// fleetEnv is the environment of a fleet run: no upstream credentials (so
// GitHub, Slack and AWS stay out, each with its line; HOME is a temp dir so
// ~/.aws is absent), data in a temp dir.
func fleetEnv(t *testing.T) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GITHUB_TOKEN", "MCPFLEET_GITHUB_TOKEN", "SLACK_TOKEN", "MCPFLEET_SLACK_TOKEN", "XDG_DATA_HOME", "MCPFLEET_CONFIG",
			"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
			// make test runs these tests: the make run inside must not join
			// the outer make's jobserver.
			"MAKEFLAGS", "MFLAGS", "MAKELEVEL":
			continue
		}
		env = append(env, kv)
	}
	home := t.TempDir()
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "HOME=") {
			out = append(out, kv)
		}
	}
	// The go tool keeps its caches where it had them (make run builds).
	goenv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	vals := strings.Split(strings.TrimSpace(string(goenv)), "\n")
	if len(vals) != 3 {
		t.Fatalf("go env: %q", goenv)
	}
	return append(out, "XDG_DATA_HOME="+t.TempDir(), "HOME="+home,
		"GOCACHE="+vals[0], "GOMODCACHE="+vals[1], "GOPATH="+vals[2])
}

// running is a started fleet: the process we signal, the banner's servers.
type running struct {
	cmd    *exec.Cmd
	urls   map[string]string
	pids   map[string]int
	output *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var bannerLine = regexp.MustCompile(`^\s+(\w+)\s+(http://\S+/mcp)\s+pid (\d+)$`)

// start runs cmd (mcpfleet up, or make run) and waits for the banner that
// up prints once every server answered /readyz.
func start(t *testing.T, cmd *exec.Cmd) *running {
	t.Helper()
	r := &running{cmd: cmd, urls: map[string]string{}, pids: map[string]int{}, output: &syncBuffer{}, done: make(chan error, 1)}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = r.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Never leave a fleet behind, whatever the test did.
		_ = cmd.Process.Kill()
		for _, pid := range r.pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	banner := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		seen := false
		for sc.Scan() {
			line := sc.Text()
			r.output.Write([]byte(line + "\n"))
			if m := bannerLine.FindStringSubmatch(line); m != nil {
				pid, _ := strconv.Atoi(m[3])
				r.urls[m[1]], r.pids[m[1]] = m[2], pid
			}
			if strings.HasPrefix(line, "connect a host") && !seen {
				seen = true
				close(banner)
			}
		}
		if !seen {
			close(banner)
		}
		_, _ = io.Copy(io.Discard, stdout)
		r.done <- cmd.Wait()
	}()
	select {
	case <-banner:
	case <-time.After(5 * time.Minute):
		t.Fatalf("no banner:\n%s", r.output.String())
	}
	if len(r.urls) == 0 {
		t.Fatalf("fleet did not come up:\n%s", r.output.String())
	}
	return r
}

// useCRM connects the official go-sdk client to the CRM and reads data.
func useCRM(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "fleet-test", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tools.Tools) < 10 {
		t.Errorf("CRM lists %d tools", len(tools.Tools))
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search_records", Arguments: map[string]any{"type": "companies"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError || res.StructuredContent == nil {
		t.Fatalf("search_records: %+v", res.Content)
	}
	if !strings.Contains(fmt.Sprint(res.StructuredContent), "name") {
		t.Errorf("no demo companies: %v", res.StructuredContent)
	}
}

// waitExit waits for the signalled process and returns its wait error.
func waitExit(t *testing.T, r *running) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(2 * time.Minute):
		t.Fatalf("did not stop:\n%s", r.output.String())
		return nil
	}
}

// assertGone checks that no server process and no listener remain.
func assertGone(t *testing.T, r *running) {
	t.Helper()
	for name, pid := range r.pids {
		// The servers are children of mcpfleet, which reaps them; a
		// pid that still answers signal 0 is a leftover (or a zombie
		// nobody waited for).
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) is still there: %v", name, pid, err)
		}
	}
	for name, url := range r.urls {
		host := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/mcp")
		if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still listens on %s", name, host)
		}
	}
}

func upCommand(t *testing.T, base int) *exec.Cmd {
	bin := binaries(t)
	cmd := exec.Command(filepath.Join(bin, "mcpfleet"), "up", "--bin-dir", bin, "--addr", "127.0.0.1:"+strconv.Itoa(base))
	cmd.Env = fleetEnv(t)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// TestUpSIGTERM: SIGTERM to mcpfleet stops every server, exit 0.
func TestUpSIGTERM(t *testing.T) {
	r := start(t, upCommand(t, freeBase(t)))
	if _, ok := r.urls["crm"]; !ok {
		t.Fatalf("no CRM:\n%s", r.output.String())
	}
	for _, want := range []string{"skipping github: set GITHUB_TOKEN", "skipping slack: set SLACK_TOKEN"} {
		if !strings.Contains(r.output.String(), want) {
			t.Errorf("no line %q:\n%s", want, r.output.String())
		}
	}
	useCRM(t, r.urls["crm"])
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, r); err != nil {
		t.Errorf("exit: %v\n%s", err, r.output.String())
	}
	assertGone(t, r)
}

// TestUpCtrlC: the terminal's Ctrl-C sends SIGINT to the whole foreground
// process group (mcpfleet and its servers at once); still exit 0.
func TestUpCtrlC(t *testing.T) {
	r := start(t, upCommand(t, freeBase(t)))
	useCRM(t, r.urls["crm"])
	if err := syscall.Kill(-r.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, r); err != nil {
		t.Errorf("exit: %v\n%s", err, r.output.String())
	}
	assertGone(t, r)
}

// makeRun starts `make run` the way a user does, with the binaries in a
// temp BIN_DIR.
func makeRun(t *testing.T, base int) *exec.Cmd {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	bin := t.TempDir()
	cmd := exec.Command("make", "--no-print-directory", "run", "RUN_ADDR=127.0.0.1:"+strconv.Itoa(base), "BIN_DIR="+bin)
	cmd.Dir = repoRoot(t)
	cmd.Env = fleetEnv(t)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// makeStopped checks how make ended after a signal. mcpfleet (make's
// direct child, through exec) stopped the fleet and exited 0: it says so,
// and make reports no "Error". GNU make itself then re-raises the fatal
// signal it received (its documented cleanup), so its own status is that
// signal, not an exit code.
func makeStopped(t *testing.T, r *running, err error, sig syscall.Signal) {
	t.Helper()
	out := r.output.String()
	if !strings.Contains(out, "mcpfleet: every server stopped; exit 0") {
		t.Errorf("mcpfleet did not stop cleanly:\n%s", out)
	}
	if strings.Contains(out, "Error ") {
		t.Errorf("make reports a failed recipe:\n%s", out)
	}
	var exit *exec.ExitError
	if err != nil && errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == sig {
			return
		}
	}
	if err != nil {
		t.Errorf("make: %v", err)
	}
}

func TestMakeRunSIGTERM(t *testing.T) {
	r := start(t, makeRun(t, freeBase(t)))
	useCRM(t, r.urls["crm"])
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	makeStopped(t, r, waitExit(t, r), syscall.SIGTERM)
	assertGone(t, r)
}

func TestMakeRunCtrlC(t *testing.T) {
	r := start(t, makeRun(t, freeBase(t)))
	useCRM(t, r.urls["crm"])
	if err := syscall.Kill(-r.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	makeStopped(t, r, waitExit(t, r), syscall.SIGINT)
	assertGone(t, r)
}
