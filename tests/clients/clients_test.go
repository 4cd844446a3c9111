// Package clients_test drives the fixture server (and, when present, the CRM
// server) with real MCP clients: the TypeScript SDK over Streamable HTTP and
// the MCP Inspector CLI over stdio and HTTP. The npm packages are pinned in
// package-lock.json here and installed with `npm ci` into node_modules; the
// tests skip without them, except in CI (CI=true), where they fail.
package clients_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mcpfleet-clients-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// requireClients skips the test when the npm packages or node are missing,
// or fails it in CI, where they must be installed.
func requireClients(t *testing.T) {
	t.Helper()
	missing := ""
	if _, err := os.Stat("node_modules/@modelcontextprotocol/sdk/package.json"); err != nil {
		missing = "tests/clients/node_modules is missing: run `npm ci` in tests/clients (make client-deps)"
	} else if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not on PATH"
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(missing)
	}
	t.Skip(missing)
}

// runNode runs a node command in this directory and returns its stdout; env
// is added to the environment.
func runNode(t *testing.T, env []string, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// step is one action of mcp-client.mjs.
type step map[string]any

// clientRun is what mcp-client.mjs prints.
type clientRun struct {
	Server struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"server"`
	ProtocolVersion string            `json:"protocolVersion"`
	SessionID       string            `json:"sessionId"`
	Results         []json.RawMessage `json:"results"`
	Notifications   []struct {
		Method   string  `json:"method"`
		Data     any     `json:"data"`
		Progress float64 `json:"progress"`
	} `json:"notifications"`
	HTTP []struct {
		Method          string `json:"method"`
		Status          int    `json:"status"`
		WWWAuthenticate string `json:"wwwAuthenticate"`
	} `json:"http"`
	Error *struct {
		Name    string `json:"name"`
		Message string `json:"message"`
		Code    any    `json:"code"`
	} `json:"error"`
}

// tsClient runs mcp-client.mjs against url with token (none when empty).
func tsClient(t *testing.T, url, token string, steps ...step) clientRun {
	t.Helper()
	requireClients(t)
	plan, err := json.Marshal(steps)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	if token != "" {
		env = append(env, "MCP_TOKEN="+token)
	}
	out := runNode(t, env, "node", "mcp-client.mjs", url, string(plan))
	var run clientRun
	if err := json.Unmarshal(out, &run); err != nil {
		t.Fatalf("mcp-client.mjs printed %q: %v", out, err)
	}
	return run
}

// result decodes the i-th step's result, failing on a step error.
func result[T any](t *testing.T, run clientRun, i int) T {
	t.Helper()
	var failed struct {
		Error *struct{ Message string } `json:"error"`
	}
	if err := json.Unmarshal(run.Results[i], &failed); err == nil && failed.Error != nil {
		t.Fatalf("step %d failed: %s", i, failed.Error.Message)
	}
	var v T
	if err := json.Unmarshal(run.Results[i], &v); err != nil {
		t.Fatalf("step %d: %v in %s", i, err, run.Results[i])
	}
	return v
}

// toolResult is a tools/call result as JSON.
type toolResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent map[string]any `json:"structuredContent"`
	IsError           bool           `json:"isError"`
}

func (r toolResult) text() string {
	var parts []string
	for _, c := range r.Content {
		parts = append(parts, c.Text)
	}
	return strings.Join(parts, "\n")
}

var (
	buildOnce  sync.Once
	fixtureBin string
	buildErr   error
)

// fixtureBinary builds tests/cmd/fixture once per test run.
func fixtureBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		fixtureBin = filepath.Join(binDir, "mcp-fixture")
		out, err := exec.Command("go", "build", "-o", fixtureBin, "github.com/mcpfleet/mcpfleet/tests/cmd/fixture").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return fixtureBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "building the fixture: " + e.err.Error() + "\n" + e.out }
