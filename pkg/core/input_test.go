package core_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
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
