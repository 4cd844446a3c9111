package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

// post26 sends one sessionless (2026-07-28) request with the headers that
// revision requires; header overrides them ("" removes one).
func post26(t *testing.T, url, token, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Mcp-Protocol-Version", core.ProtocolSessionless)
	var msg struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	_ = json.Unmarshal([]byte(body), &msg)
	req.Header.Set("Mcp-Method", msg.Method)
	if msg.Params.Name != "" {
		req.Header.Set("Mcp-Name", msg.Params.Name)
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// meta26 is the per-request _meta of a 2026-07-28 request.
const meta26 = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"}}`

// rpcBody returns the JSON-RPC message of a response written as JSON or as
// one SSE event.
func rpcBody(t *testing.T, body string) map[string]any {
	t.Helper()
	if i := strings.Index(body, "data: "); i >= 0 && !strings.HasPrefix(strings.TrimSpace(body), "{") {
		body = body[i+len("data: "):]
		body, _, _ = strings.Cut(body, "\n")
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("response is not JSON-RPC: %v: %q", err, body)
	}
	return m
}

func TestBothRevisionsOnOneEndpoint(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		name := "stateful"
		if stateless {
			name = "stateless"
		}
		t.Run(name, func(t *testing.T) {
			var seen atomic.Int64
			h := startPaths(t, &seen, func(c *config.Config) { c.HTTP.Stateless = stateless })

			// 2025-11-25: initialize, and a session unless stateless.
			old := h.ConnectHTTP(t, coretest.BearerClient(keyA))
			if v := old.InitializeResult().ProtocolVersion; v != core.ProtocolStateful {
				t.Fatalf("2025-11-25 client negotiated %q", v)
			}
			if (old.ID() == "") != stateless {
				t.Errorf("session id %q with stateless=%t", old.ID(), stateless)
			}
			if p := pathOf(t, call(t, old, "read", nil)); p.Reachable == stateless || p.Caller != "alice" {
				t.Errorf("2025-11-25 call: %+v", p)
			}

			// 2026-07-28 on the same URL: discovered, no session.
			cur := h.ConnectHTTPVersion(t, coretest.BearerClient(keyA), core.ProtocolSessionless)
			if v := cur.InitializeResult().ProtocolVersion; v != core.ProtocolSessionless {
				t.Fatalf("2026-07-28 client got %q", v)
			}
			if p := pathOf(t, call(t, cur, "read", nil)); p.Reachable || p.Caller != "alice" {
				t.Errorf("2026-07-28 call: %+v, want unreachable (no session), as alice", p)
			}

			// What discover reports is exactly what is served.
			status, _, body := post26(t, h.URL(), keyA, `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{`+meta26+`}}`, nil)
			var disc struct {
				Result struct {
					SupportedVersions []string `json:"supportedVersions"`
					TTLMs             *int     `json:"ttlMs"`
					CacheScope        string   `json:"cacheScope"`
				} `json:"result"`
			}
			raw, _ := json.Marshal(rpcBody(t, body))
			_ = json.Unmarshal(raw, &disc)
			if status != 200 || !slices.Equal(disc.Result.SupportedVersions, mcp.SupportedProtocolVersions()) {
				t.Errorf("discover: %d %s, want every version go-sdk serves", status, body)
			}

			// A sessionless call carries resultType and names its method.
			status, _, body = post26(t, h.URL(), keyA, `{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"read",`+meta26+`}}`, nil)
			if m := rpcBody(t, body); status != 200 || m["result"].(map[string]any)["resultType"] != "complete" {
				t.Errorf("2026 tools/call: %d %s", status, body)
			}
			// Headers must match the body.
			status, _, body = post26(t, h.URL(), keyA, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read",`+meta26+`}}`, map[string]string{"Mcp-Name": "write"})
			if m := rpcBody(t, body); status != 400 || m["error"].(map[string]any)["code"] != float64(-32020) {
				t.Errorf("Mcp-Name mismatch: %d %s, want 400 -32020", status, body)
			}
			// A per-request version without the header is refused, not served
			// as a session request.
			status, _, body = post26(t, h.URL(), keyA, `{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{`+meta26+`}}`, map[string]string{"Mcp-Protocol-Version": "", "Mcp-Method": ""})
			if m := rpcBody(t, body); status != 400 || m["error"].(map[string]any)["code"] != float64(-32020) {
				t.Errorf("missing version header: %d %s, want 400 -32020", status, body)
			}
			// Removed methods are answered as errors.
			_, _, body = post26(t, h.URL(), keyA, `{"jsonrpc":"2.0","id":4,"method":"ping","params":{`+meta26+`}}`, nil)
			if m := rpcBody(t, body); m["error"] == nil {
				t.Errorf("ping under 2026-07-28: %s, want an error", body)
			}
			if got := seen.Load(); got != 3 {
				t.Errorf("middleware saw %d calls, want 3", got)
			}
		})
	}
}

func TestListsAreCachedPrivately(t *testing.T) {
	var seen atomic.Int64
	h := startPaths(t, &seen, nil)
	for _, method := range []string{"tools/list", "prompts/list", "resources/list", "resources/templates/list"} {
		_, _, body := post26(t, h.URL(), keyA, `{"jsonrpc":"2.0","id":1,"method":"`+method+`","params":{`+meta26+`}}`, nil)
		res, _ := rpcBody(t, body)["result"].(map[string]any)
		if res == nil || res["cacheScope"] != "private" || res["ttlMs"] == nil {
			t.Errorf("%s: %s, want cacheScope private (the list depends on the caller) and a ttlMs", method, body)
		}
	}
}

func TestCancellationReachesEveryCall(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stateless bool
		version   string
	}{
		{"stateful 2025-11-25", false, core.ProtocolStateful},
		{"stateful 2026-07-28", false, core.ProtocolSessionless},
		{"stateless 2025-11-25", true, core.ProtocolStateful},
		{"stateless 2026-07-28", true, core.ProtocolSessionless},
	} {
		for _, direct := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s direct=%v", tc.name, direct), func(t *testing.T) {
				var seen atomic.Int64
				cancelled := make(chan string, 4)
				h := startHTTP(t, pathModulesWithCancel(&seen, cancelled), func(c *config.Config) {
					c.HTTP.Stateless, c.HTTP.InlineToolCalls = tc.stateless, direct
				})
				// The direct path serves both revisions, 2025-11-25 on a session.
				wantDirect := int64(0)
				if direct && !(tc.stateless && tc.version == core.ProtocolStateful) {
					wantDirect = 2
				}
				defer func() {
					if got := h.Server.DirectCalls(); got != wantDirect {
						t.Errorf("direct path answered %d calls, want %d", got, wantDirect)
					}
				}()
				cs := h.ConnectHTTPVersion(t, coretest.BearerClient(keyA), tc.version)
				for _, name := range []string{"read", "write"} {
					ctx, cancel := context.WithCancel(context.Background())
					done := make(chan error, 1)
					go func() {
						_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: map[string]any{"wait": true}})
						done <- err
					}()
					// Cancel once the call is running.
					for h.Server.InFlight() == 0 {
						time.Sleep(time.Millisecond)
					}
					cancel()
					if err := <-done; !errors.Is(err, context.Canceled) {
						t.Errorf("%s: client got %v, want context.Canceled", name, err)
					}
					select {
					case got := <-cancelled:
						if got != name {
							t.Errorf("cancelled %q, want %q", got, name)
						}
					case <-time.After(10 * time.Second):
						t.Fatalf("%s: the tool never saw the cancellation", name)
					}
					for h.Server.InFlight() != 0 {
						time.Sleep(time.Millisecond)
					}
				}
			})
		}
	}
}

// TestRequestWithoutSessionOnAStatefulServer: on a stateful server, a
// request of a session revision that has no session id (other than
// initialize) is answered 400 with an invalid-request error saying how to
// get one, and opens no session. (go-sdk alone answers HTTP 200 with the
// invalid JSON-RPC code 0 and keeps a session for it.)
func TestRequestWithoutSessionOnAStatefulServer(t *testing.T) {
	var seen atomic.Int64
	h := startPaths(t, &seen, nil)
	sessions := func() int {
		n := 0
		for range h.Server.MCP.Sessions() {
			n++
		}
		return n
	}
	before := sessions()
	for _, c := range []struct{ body, id string }{
		{`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read"}}`, `7`},
		{`{"jsonrpc":"2.0","id":"x","method":"tools/list"}`, `"x"`},
		{`{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`, `null`},
		{`{"jsonrpc":"2.0","method":"notifications/initialized"}`, `null`},
	} {
		resp, body := rawPost(t, h.URL(), keyA, "", c.body)
		var msg struct {
			ID    json.RawMessage `json:"id"`
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(body), &msg); err != nil || resp.StatusCode != http.StatusBadRequest ||
			msg.Error.Code != -32600 || string(msg.ID) != c.id || !strings.Contains(msg.Error.Message, "initialize") {
			t.Errorf("%s: %d %s", c.body, resp.StatusCode, body)
		}
	}
	if n := sessions(); n != before {
		t.Errorf("requests without a session opened %d sessions", n-before)
	}
	if seen.Load() != 0 {
		t.Errorf("a tool ran for a request without a session")
	}
	// initialize still opens one, and the session then serves calls.
	id := openSession(t, h.URL(), keyA)
	if resp, body := rawPost(t, h.URL(), keyA, id, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read"}}`); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"result"`) {
		t.Errorf("call on the session: %d %s", resp.StatusCode, body)
	}
}
