package core_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

func runApp(t *testing.T, app core.App, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := core.Run(ctx, app, args, core.Streams{In: strings.NewReader(""), Out: &out, Err: &errs},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return code, out.String(), errs.String()
}

func demoApp(extra ...fx.Option) core.App {
	return core.App{
		Name: "mcp-demo", Version: "1.0.0",
		Defaults: []byte("server: {name: demo}\n"),
		Options:  append([]fx.Option{core.AsToolset(core.Toolset{Name: "demo", Default: true}), core.AsTool(newEchoTool)}, extra...),
	}
}

type echoIn struct {
	Message string `json:"message" jsonschema:"text to echo"`
}

func newEchoTool() *core.ToolDef {
	return core.NewTool(spec("echo", "demo", core.ReadOnly), func(_ context.Context, _ *core.Call, in echoIn) (greetOut, error) {
		return greetOut{Text: in.Message}, nil
	})
}

func TestRunStartErrorsAreOneLine(t *testing.T) {
	bad := spec("Bad-Name", "demo", core.ReadOnly)
	for _, tc := range []struct {
		name string
		app  core.App
		args []string
		env  map[string]string
		want string
	}{
		{"invalid config", demoApp(), []string{"--transport", "http", "--addr", "0.0.0.0:1"}, nil, "allowed_hosts"},
		{"bad tool", demoApp(core.AsTool(func() *core.ToolDef { return tool(bad) })), nil, nil, "not snake_case"},
		{"unknown section", demoApp(), []string{"--config", writeFile(t, "crmm: {}\n")}, nil, "unknown sections: crmm"},
		{"missing file", demoApp(), []string{"--config", "/nonexistent.yaml"}, nil, "reading config"},
		{"unknown toolset flag", demoApp(), []string{"--toolsets", "nope"}, nil, `unknown toolset "nope"`},
		{"env override type", demoApp(), nil, map[string]string{"MCPFLEET_LIMITS_MAX_CONCURRENT_CALLS": "many"}, "MCPFLEET_LIMITS_MAX_CONCURRENT_CALLS"},
		{"port in use", demoApp(), []string{"--transport", "http", "--addr", busyPort(t)}, map[string]string{"MCPFLEET_AUTH_DISABLED": "true"}, "address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runApp(t, tc.app, tc.env, tc.args...)
			if code == 0 {
				t.Fatal("exit 0")
			}
			line := strings.TrimSuffix(stderr, "\n")
			if strings.Contains(line, "\n") || !strings.HasPrefix(line, "mcp-demo: ") || !strings.Contains(line, tc.want) {
				t.Errorf("stderr = %q, want one line mentioning %q", stderr, tc.want)
			}
		})
	}
}

func writeFile(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func busyPort(t *testing.T) string {
	srv := &http.Server{}
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func TestPrintConfigAndListTools(t *testing.T) {
	cfg := writeFile(t, "cache: {backend: redis, redis_url: env:REDIS_URL}\nauth: {api_keys: [{id: ci, sha256: "+strings.Repeat("0", 64)+"}]}\n")
	env := map[string]string{"REDIS_URL": "redis://:hunter2@127.0.0.1:6379"}
	// With the cache module, the graph holds a Redis cache; --print-config
	// builds the graph but never starts it, so no client is opened (goleak
	// in TestMain has no rule for it).
	code, out, stderr := runApp(t, demoApp(core.CacheModule), env, "--config", cfg, "--print-config", "--read-only")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(out, "hunter2") || !strings.Contains(out, "env:REDIS_URL") || !strings.Contains(out, "read_only: true") {
		t.Errorf("print-config output:\n%s", out)
	}
	code, out, stderr = runApp(t, demoApp(), nil, "--list-tools")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var tools []core.ToolInfo
	if err := json.Unmarshal([]byte(out), &tools); err != nil || len(tools) != 1 || tools[0].Name != "echo" || tools[0].Effect != "read_only" {
		t.Errorf("list-tools: %v %s", err, out)
	}
	if code, out, _ := runApp(t, demoApp(), nil, "--version"); code != 0 || out != "mcp-demo 1.0.0\n" {
		t.Errorf("version: %d %q", code, out)
	}
}

// signalWriter collects what is written to it and closes seen once want
// has appeared: a readiness signal taken from the server's own log.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestRunServesUntilCancelled(t *testing.T) {
	var out bytes.Buffer
	errs := &signalWriter{want: `"msg":"listening"`, seen: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- core.Run(ctx, demoApp(), []string{"--transport", "http", "--addr", "127.0.0.1:0"},
			core.Streams{In: strings.NewReader(""), Out: &out, Err: errs},
			func(k string) (string, bool) {
				return map[string]string{"MCPFLEET_AUTH_DISABLED": "true"}[k], k == "MCPFLEET_AUTH_DISABLED"
			})
	}()
	// Cancel once the server says it listens, not after a guessed delay.
	select {
	case <-errs.seen:
	case code := <-done:
		t.Fatalf("exit %d before listening: %s", code, errs.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, errs.String())
	}
	if !strings.Contains(errs.String(), `"msg":"listening"`) {
		t.Errorf("no listening log: %s", errs.String())
	}
}

func TestStdioEndsWhenClientHangsUp(t *testing.T) {
	var errs bytes.Buffer
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan int)
	go func() {
		done <- core.Run(context.Background(), demoApp(), nil, core.Streams{In: inR, Out: outW, Err: &errs}, func(string) (string, bool) { return "", false })
	}()
	go func() {
		_, _ = io.WriteString(inW, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`+"\n")
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(line, `"serverInfo":{"name":"demo"`) || strings.Contains(line, `"level"`) {
		t.Errorf("stdout line = %s", line)
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	inW.Close() // the client hangs up
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d: %s", code, errs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server kept running after stdin closed")
	}
	outR.Close()
}

func TestGracefulDrain(t *testing.T) {
	p := newProbe()
	h := coretest.Start(t, coretest.Options{Modules: invokeModules(p), Config: func(c *config.Config) {
		c.Transport = "http"
		c.HTTP.Addr = "127.0.0.1:0"
		c.Auth.Disabled = true
	}})
	cs := h.ConnectHTTP(t, nil)
	var wg sync.WaitGroup
	var res string
	wg.Go(func() { res = text(call(t, cs, "wait", nil)) })
	<-p.started

	stopped := make(chan error)
	go func() { stopped <- h.Stop(context.Background()) }()
	// Readiness turns false while the call is still running.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(h.BaseURL() + "/readyz")
		if err != nil || resp.StatusCode == http.StatusServiceUnavailable {
			if resp != nil {
				resp.Body.Close()
			}
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("readiness never turned false during drain")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-stopped:
		t.Fatal("server stopped with a call in flight")
	default:
	}
	close(p.release)
	wg.Wait()
	if err := <-stopped; err != nil {
		t.Errorf("stop: %v", err)
	}
	if res != `{"ok":true}` {
		t.Errorf("in-flight call result = %q", res)
	}
}
