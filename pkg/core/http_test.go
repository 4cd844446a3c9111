package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

type pathOut struct {
	// Reachable is what core.ClientReachable said inside the call.
	Reachable bool   `json:"reachable"`
	Caller    string `json:"caller"`
}

type pathIn struct {
	Fail string `json:"fail,omitempty" jsonschema:"tool (error) or protocol (error)"`
	// Wait makes the call block until it is cancelled.
	Wait bool `json:"wait,omitempty" jsonschema:"block until the call is cancelled"`
}

// pathModules are tools that report who called them and whether they could
// call the client back, a blocking tool that records its cancellation, and a
// middleware that counts every tools/call it sees.
func pathModules(seen *atomic.Int64) []fx.Option {
	return pathModulesWithCancel(seen, nil)
}

func pathModulesWithCancel(seen *atomic.Int64, cancelled chan<- string) []fx.Option {
	mk := func(name string, effect core.Effect) fx.Option {
		return core.AsTool(func() *core.ToolDef {
			return core.NewTool(spec(name, "demo", effect), func(ctx context.Context, _ *core.Call, in pathIn) (pathOut, error) {
				switch in.Fail {
				case "tool":
					return pathOut{}, errors.New("nothing to see")
				case "protocol":
					return pathOut{}, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "bad state"}
				}
				if in.Wait {
					<-ctx.Done()
					if cancelled != nil {
						cancelled <- name
					}
					return pathOut{}, ctx.Err()
				}
				return pathOut{Reachable: core.ClientReachable(ctx), Caller: authn.FromContext(ctx).Subject}, nil
			})
		})
	}
	return []fx.Option{
		core.AsToolset(core.Toolset{Name: "demo", Default: true}),
		mk("read", core.ReadOnly),
		mk("write", core.Additive),
		core.AsMiddleware(func() core.Middleware {
			return core.Middleware{Name: "count", Order: 1, Func: func(next mcp.MethodHandler) mcp.MethodHandler {
				return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
					if method == "tools/call" {
						seen.Add(1)
					}
					return next(ctx, method, req)
				}
			}}
		}),
	}
}

const keyA, keyB = "mcpk_alice_key_0123456789", "mcpk_bob_key_0123456789"

func startHTTP(t *testing.T, modules []fx.Option, mutate func(*config.Config)) *coretest.Harness {
	return coretest.Start(t, coretest.Options{Modules: modules, Config: func(c *config.Config) {
		c.Transport = "http"
		c.HTTP.Addr = "127.0.0.1:0"
		c.Auth.APIKeys = []config.APIKey{{ID: "alice", SHA256: authn.HashAPIKey(keyA)}, {ID: "bob", SHA256: authn.HashAPIKey(keyB)}}
		if mutate != nil {
			mutate(c)
		}
	}})
}

func startPaths(t *testing.T, seen *atomic.Int64, mutate func(*config.Config)) *coretest.Harness {
	return startHTTP(t, pathModules(seen), mutate)
}

func pathOf(t *testing.T, res *mcp.CallToolResult) pathOut {
	t.Helper()
	var out pathOut
	if res.IsError {
		t.Fatalf("tool error: %s", text(res))
	}
	if err := json.Unmarshal([]byte(text(res)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEveryCallRunsTheChain(t *testing.T) {
	var seen atomic.Int64
	h := startPaths(t, &seen, nil)
	cs := h.ConnectHTTP(t, coretest.BearerClient(keyA))

	for _, name := range []string{"read", "write"} {
		if p := pathOf(t, call(t, cs, name, nil)); !p.Reachable || p.Caller != "alice" {
			t.Errorf("%s on a session: %+v, want reachable, as alice", name, p)
		}
	}
	if got := seen.Load(); got != 2 {
		t.Errorf("middleware saw %d calls, want 2", got)
	}
	if res := call(t, cs, "read", map[string]any{"fail": "tool"}); !res.IsError || text(res) != "nothing to see" {
		t.Errorf("tool error: %+v", res)
	}
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "read", Arguments: map[string]any{"fail": "protocol"}})
	var wire *jsonrpc.Error
	if !errors.As(err, &wire) || wire.Code != jsonrpc.CodeInvalidParams {
		t.Errorf("protocol error: %v", err)
	}
	if res := call(t, cs, "read", map[string]any{"fail": 7}); !res.IsError || !strings.Contains(text(res), "invalid arguments") {
		t.Errorf("invalid arguments: %+v", res)
	}
}

// rawPost sends one JSON-RPC message on a session.
func rawPost(t *testing.T, url, token, session, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func openSession(t *testing.T, url, token string) string {
	t.Helper()
	return openSessionVersion(t, url, token, "2025-06-18")
}

// openSessionVersion opens a session that negotiates version.
func openSessionVersion(t *testing.T, url, token, version string) string {
	t.Helper()
	resp, body := rawPost(t, url, token, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"`+version+`","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	id := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("initialize: %d %s", resp.StatusCode, body)
	}
	if resp, body := rawPost(t, url, token, id, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("initialized: %d %s", resp.StatusCode, body)
	}
	return id
}

func TestSessionsBelongToTheirOwner(t *testing.T) {
	var seen atomic.Int64
	h := startPaths(t, &seen, nil)
	id := openSession(t, h.URL(), keyA)
	callBody := `{"jsonrpc":"2.0","id":"x-7","method":"tools/call","params":{"name":"read"}}`

	resp, body := rawPost(t, h.URL(), keyA, id, callBody)
	if resp.StatusCode != 200 || !strings.Contains(body, `"id":"x-7"`) {
		t.Fatalf("call: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// Another principal cannot use alice's session.
	before := seen.Load()
	if resp, body := rawPost(t, h.URL(), keyB, id, callBody); resp.StatusCode < 400 {
		t.Errorf("bob used alice's session: %d %s", resp.StatusCode, body)
	}
	if resp, _ := rawPost(t, h.URL(), keyA, "no-such-session", callBody); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown session: %d, want 404", resp.StatusCode)
	}
	// Malformed JSON goes to go-sdk, which answers a parse error.
	if resp, body := rawPost(t, h.URL(), keyA, id, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":`); !strings.Contains(body, "-32700") && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d %s", resp.StatusCode, body)
	}
	if seen.Load() != before {
		t.Errorf("refused requests reached the middleware")
	}
	// Batches are go-sdk's business too; the session still works after all that.
	if resp, body := rawPost(t, h.URL(), keyA, id, callBody); resp.StatusCode != 200 || !strings.Contains(body, `"id":"x-7"`) {
		t.Errorf("session broken after refusals: %d %s", resp.StatusCode, body)
	}
}

// fakeClock is a core.Clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestIdleSessionsExpire(t *testing.T) {
	var seen atomic.Int64
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	// The session clock is injected: the reaper checks every 10ms of real
	// time, but idleness is measured on clk, so no real delay decides the
	// outcome.
	h := startHTTP(t, append(pathModules(&seen), fx.Supply(fx.Annotate(clk, fx.As(new(core.Clock))))), func(c *config.Config) {
		c.HTTP.SessionTimeout = 40 * time.Millisecond
	})
	id := openSession(t, h.URL(), keyA)
	callBody := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read"}}`
	// Calls count as activity: the session outlives its timeout while in
	// use, each call coming 30ms (of the 40ms allowed) after the last.
	for range 8 {
		clk.Advance(30 * time.Millisecond)
		if resp, body := rawPost(t, h.URL(), keyA, id, callBody); resp.StatusCode != 200 {
			t.Fatalf("active session closed: %d %s", resp.StatusCode, body)
		}
	}
	// Left alone past the timeout, it is closed: wait for the reaper to
	// close it (watching the server's sessions without touching this one),
	// then check the client sees 404.
	clk.Advance(time.Hour)
	deadline := time.Now().Add(10 * time.Second)
	for open := true; open; {
		open = false
		for ss := range h.Server.MCP.Sessions() {
			open = open || ss.ID() == id
		}
		if time.Now().After(deadline) {
			t.Fatal("idle session never closed")
		}
		runtime.Gosched()
	}
	if resp, _ := rawPost(t, h.URL(), keyA, id, callBody); resp.StatusCode != http.StatusNotFound {
		t.Errorf("expired session: %d, want 404", resp.StatusCode)
	}
}

func TestResourceURLNamesTheBoundPort(t *testing.T) {
	var seen atomic.Int64
	h := startPaths(t, &seen, nil) // listens on 127.0.0.1:0
	resp, err := http.Get(h.BaseURL() + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var meta struct {
		Resource string `json:"resource"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil {
		t.Fatal(err)
	}
	if meta.Resource != h.URL() || strings.Contains(meta.Resource, ":0/") {
		t.Errorf("resource = %q, want %q", meta.Resource, h.URL())
	}
}
