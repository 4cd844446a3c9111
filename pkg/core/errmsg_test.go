package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

func TestQuote(t *testing.T) {
	if got := core.Quote("acme"); got != `"acme"` {
		t.Errorf("short value: %s", got)
	}
	long := strings.Repeat("é", 1<<19) // 1 MiB of two-byte runes
	got := core.Quote(long)
	if len(got) > 80 || !strings.HasSuffix(got, fmt.Sprintf("... (%d bytes)", len(long))) || !utf8.ValidString(got) {
		t.Errorf("long value quoted as %q", got)
	}
	if got := core.Quote("a\u200bb\n"); got != `"a\u200bb\n"` {
		t.Errorf("invisible characters must show as escapes: %s", got)
	}
}

func TestBoundMessage(t *testing.T) {
	msg := "repo " + strings.Repeat("x", 1_000_000) + " is bad; give owner and repo separately"
	got := core.BoundMessage(msg)
	if len(got) > core.MaxErrorBytes {
		t.Fatalf("bounded message is %d bytes", len(got))
	}
	if !strings.HasPrefix(got, "repo xxx") || !strings.HasSuffix(got, "give owner and repo separately") || !strings.Contains(got, "bytes cut") {
		t.Errorf("the head (what failed) and tail (what to do) must survive: %q", got)
	}
	if short := "fine"; core.BoundMessage(short) != short {
		t.Error("a short message must not change")
	}
	if got := core.BoundMessage(strings.Repeat("€", 2000)); !utf8.ValidString(got) || len(got) > core.MaxErrorBytes {
		t.Errorf("cut inside a rune: valid=%v len=%d", utf8.ValidString(got), len(got))
	}
}

type idsIn struct {
	IDs  *[]int64 `json:"ids,omitempty" jsonschema:"ids"`
	Kind string   `json:"kind,omitempty" jsonschema:"kind"`
	Name string   `json:"name,omitempty" jsonschema:"name"`
}

func errorModules() []fx.Option {
	s := func(name string) core.ToolSpec { return spec(name, "demo", core.ReadOnly) }
	return []fx.Option{
		core.AsToolset(core.Toolset{Name: "demo", Default: true}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(s("echo_fail"), func(_ context.Context, _ *core.Call, in idsIn) (okOutput, error) {
				// A careless handler that quotes its whole input.
				return okOutput{}, fmt.Errorf("name %q is not known; call list_names to see the valid ones", in.Name)
			})
		}),
		core.AsPrompt(func() *core.PromptDef {
			return &core.PromptDef{
				Prompt: &mcp.Prompt{Name: "brief", Description: "a brief", Arguments: []*mcp.PromptArgument{{Name: "id"}}},
				Handler: func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
					return nil, fmt.Errorf("company %s not found; search for companies to find ids", req.Params.Arguments["id"])
				},
			}
		}),
		core.AsPrompt(func() *core.PromptDef {
			return &core.PromptDef{
				Prompt: &mcp.Prompt{Name: "broken", Description: "fails inside"},
				Handler: func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
					return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "database down; try again later"}
				},
			}
		}),
	}
}

// TestErrorsAreBoundedAndCoded: whatever a tool, a prompt or go-sdk itself
// answers, a tool error's text and a JSON-RPC error's message are bounded,
// a JSON-RPC error carries a valid code, and the advice at the end survives.
func TestErrorsAreBoundedAndCoded(t *testing.T) {
	h := coretest.Start(t, coretest.Options{Modules: errorModules()})
	cs := h.Connect(t, nil)
	ctx := context.Background()
	huge := strings.Repeat("a", 1_000_000)

	res := call(t, cs, "echo_fail", map[string]any{"name": huge})
	if got := text(res); !res.IsError || len(got) > core.MaxErrorBytes || !strings.HasSuffix(got, "call list_names to see the valid ones") {
		t.Errorf("tool error of %d bytes: %.200q", len(got), got)
	}

	cases := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"ids": []any{nil}}, "ids[]: got null, want integer"},
		{map[string]any{"ids": []any{1.5}}, "ids[]: got number, want integer"},
		{map[string]any{"name": 5}, "name: got integer, want string"},
		{map[string]any{huge: 1}, "(check the tool's input schema and call again)"},
	}
	for _, tc := range cases {
		res := call(t, cs, "echo_fail", tc.args)
		got := text(res)
		if !res.IsError || !strings.Contains(got, tc.want) || len(got) > core.MaxErrorBytes || strings.Contains(got, "reflect") {
			t.Errorf("%.60v: %.300q", tc.args, got)
		}
	}

	// go-sdk's own error for an unknown tool echoes the name.
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: huge})
	var wire *jsonrpc.Error
	if !errors.As(err, &wire) || wire.Code != jsonrpc.CodeInvalidParams || len(wire.Message) > core.MaxErrorBytes {
		t.Errorf("unknown tool: %T code=%v len=%d", err, codeOf(wire), len(fmt.Sprint(err)))
	}

	_, err = cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "brief", Arguments: map[string]string{"id": "99"}})
	if !errors.As(err, &wire) || wire.Code != jsonrpc.CodeInvalidParams || !strings.Contains(wire.Message, "search for companies") {
		t.Errorf("prompt error must be invalid params (-32602) with its advice: %v", err)
	}
	_, err = cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "brief", Arguments: map[string]string{"id": huge}})
	if !errors.As(err, &wire) || wire.Code != jsonrpc.CodeInvalidParams || len(wire.Message) > core.MaxErrorBytes {
		t.Errorf("long prompt error: code=%v len=%d", codeOf(wire), len(fmt.Sprint(err)))
	}
	_, err = cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "broken"})
	if !errors.As(err, &wire) || wire.Code != jsonrpc.CodeInternalError {
		t.Errorf("a handler's own JSON-RPC code must be kept: %v", err)
	}
}

func codeOf(w *jsonrpc.Error) any {
	if w == nil {
		return nil
	}
	return w.Code
}
