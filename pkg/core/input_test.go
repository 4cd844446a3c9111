package core_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

type askOut struct {
	Answer string `json:"answer"`
	State  string `json:"state"`
}

// askModules is a tool that asks for a word with request state "asked-1".
func askModules() []fx.Option {
	return []fx.Option{
		core.AsToolset(core.Toolset{Name: "demo", Default: true}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(spec("ask", "demo", core.ReadOnly), func(_ context.Context, call *core.Call, _ pathIn) (askOut, error) {
				r, ok := call.InputResponses()["word"].(*mcp.ElicitResult)
				if !ok || call.RequestState() == "" {
					return askOut{}, &core.InputRequired{State: "asked-1", Requests: mcp.InputRequestMap{"word": &mcp.ElicitParams{
						Message: "A word?", RequestedSchema: json.RawMessage(`{"type":"object","properties":{"w":{"type":"string"}}}`)}}}
				}
				w, _ := r.Content["w"].(string)
				return askOut{Answer: w, State: call.RequestState()}, nil
			})
		}),
	}
}

func TestInputRequiredRoundTrip(t *testing.T) {
	h := startHTTP(t, askModules(), nil)
	first := result(t, rpc26(t, h, keyA, "tools/call", `"name":"ask",`+meta26))
	state, _ := first["requestState"].(string)
	if first["resultType"] != "input_required" || first["inputRequests"] == nil || state == "" || strings.Contains(state, `"`) {
		t.Fatalf("first round: %v", first)
	}
	answer := `"inputResponses":{"word":{"action":"accept","content":{"w":"blue"}}}`
	tampered := strings.Replace(state, "asked-1", "asked-2", 1)
	if c := errCode(rpc26(t, h, keyA, "tools/call", `"name":"ask",`+answer+`,"requestState":"`+tampered+`",`+meta26)); c != -32602 {
		t.Errorf("tampered state: code %v, want -32602", c)
	}
	done := result(t, rpc26(t, h, keyA, "tools/call", `"name":"ask",`+answer+`,"requestState":"`+state+`",`+meta26))
	sc, _ := done["structuredContent"].(map[string]any)
	if done["resultType"] != "complete" || sc["answer"] != "blue" || sc["state"] != "asked-1" {
		t.Errorf("second round: %v", done)
	}
	// The same tool on a 2025-11-25 session: go-sdk asks the client
	// mid-call and runs the tool again with the answer.
	c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, &mcp.ClientOptions{
		ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"w": "green"}}, nil
		},
	})
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: h.URL(), HTTPClient: coretest.BearerClient(keyA)}, &mcp.ClientSessionOptions{ProtocolVersion: core.ProtocolStateful})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "ask"})
	if err != nil || res.IsError {
		t.Fatalf("2025-11-25 call: %v %+v", err, res)
	}
	if !strings.Contains(text(res), `"answer":"green"`) {
		t.Errorf("2025-11-25 call: %s", text(res))
	}
}

// TestRequestStateAcrossReplicas: a 2026-07-28 client may send the second
// round of an input-required call to another replica. With the same
// http.request_state_key the state one replica signed is accepted by the
// other; with keys of their own it is refused, and a short key stops the
// start.
func TestRequestStateAcrossReplicas(t *testing.T) {
	key := func(k string) func(*config.Config) {
		return func(c *config.Config) { c.HTTP.RequestStateKey = config.NewSecret(k) }
	}
	shared := strings.Repeat("k", 32)
	a := startHTTP(t, askModules(), key(shared))
	b := startHTTP(t, askModules(), key(shared))
	other := startHTTP(t, askModules(), nil)

	first := result(t, rpc26(t, a, keyA, "tools/call", `"name":"ask",`+meta26))
	state, _ := first["requestState"].(string)
	if first["resultType"] != "input_required" || state == "" {
		t.Fatalf("first round: %v", first)
	}
	second := `"name":"ask","inputResponses":{"word":{"action":"accept","content":{"w":"blue"}}},"requestState":"` + state + `",` + meta26
	done := result(t, rpc26(t, b, keyA, "tools/call", second))
	if sc, _ := done["structuredContent"].(map[string]any); done["resultType"] != "complete" || sc["answer"] != "blue" {
		t.Errorf("second round on the replica with the same key: %v", done)
	}
	if c := errCode(rpc26(t, other, keyA, "tools/call", second)); c != -32602 {
		t.Errorf("second round on a replica with its own key: code %v, want -32602", c)
	}

	cfg := config.NewDefaultConfig()
	cfg.HTTP.RequestStateKey = config.NewSecret("short")
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "request_state_key") {
		t.Errorf("a short key: %v", err)
	}
}
