package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"
	"go.uber.org/goleak"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type greetIn struct {
	Name     string `json:"name" jsonschema:"who to greet"`
	Times    int    `json:"times,omitempty" jsonschema:"how often (1-3)" `
	Greeting string `json:"greeting,omitempty" jsonschema:"word to use"`
}

type greetOut struct {
	Text string `json:"text"`
}

type bigIn struct {
	Bytes int `json:"bytes" jsonschema:"result size"`
}

type compact struct {
	N int `json:"n"`
}

func (c compact) Text() string { return "n is " + string(rune('0'+c.N)) }

// probe records entered tool calls and lets a test hold them.
type probe struct {
	mu      sync.Mutex
	entered int
	release chan struct{}
	started chan struct{}
}

func invokeModules(p *probe) []fx.Option {
	s := func(name string, effect core.Effect) core.ToolSpec { return spec(name, "demo", effect) }
	return []fx.Option{
		core.AsToolset(core.Toolset{Name: "demo", Default: true}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(s("greet", core.ReadOnly), func(_ context.Context, _ *core.Call, in greetIn) (greetOut, error) {
				p.mu.Lock()
				p.entered++
				p.mu.Unlock()
				g := in.Greeting
				if g == "" {
					g = "hello"
				}
				return greetOut{Text: strings.Repeat(g+" "+in.Name+"!", max(in.Times, 1))}, nil
			})
		}),
		core.AsTool(func() *core.ToolDef {
			sp := s("hold", core.ReadOnly)
			sp.Timeout = 50 * time.Millisecond
			return core.NewTool(sp, func(ctx context.Context, _ *core.Call, _ noInput) (okOutput, error) {
				p.started <- struct{}{}
				select {
				case <-p.release:
					return okOutput{OK: true}, nil
				case <-ctx.Done():
					return okOutput{}, ctx.Err()
				}
			})
		}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(s("wait", core.ReadOnly), func(ctx context.Context, _ *core.Call, _ noInput) (okOutput, error) {
				p.started <- struct{}{}
				<-p.release
				return okOutput{OK: true}, nil
			})
		}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(s("explode", core.ReadOnly), func(context.Context, *core.Call, noInput) (okOutput, error) {
				panic(errors.New("a bug in the tool"))
			})
		}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(s("big", core.ReadOnly), func(_ context.Context, _ *core.Call, in bigIn) (greetOut, error) {
				return greetOut{Text: strings.Repeat("x", in.Bytes)}, nil
			})
		}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(s("fail", core.ReadOnly), func(context.Context, *core.Call, noInput) (okOutput, error) {
				return okOutput{}, errors.New("record 7 not found; list records to find valid ids")
			})
		}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(s("wire_fail", core.ReadOnly), func(context.Context, *core.Call, noInput) (okOutput, error) {
				return okOutput{}, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "not in this state"}
			})
		}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(s("wrapped_wire_fail", core.ReadOnly), func(context.Context, *core.Call, noInput) (okOutput, error) {
				return okOutput{}, fmt.Errorf("upstream said: %w", &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "not in this state"})
			})
		}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(s("picture", core.ReadOnly), func(context.Context, *core.Call, noInput) (core.Content, error) {
				return core.Content{&mcp.ImageContent{Data: []byte{1, 2, 3}, MIMEType: "image/png"}}, nil
			})
		}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(s("compact", core.ReadOnly), func(context.Context, *core.Call, noInput) (compact, error) {
				return compact{N: 7}, nil
			})
		}),
		core.AsTool(func() *core.ToolDef {
			return core.NewTool(s("nil_out", core.ReadOnly), func(context.Context, *core.Call, noInput) (*greetOut, error) {
				return nil, nil
			})
		}),
	}
}

func newProbe() *probe { return &probe{release: make(chan struct{}), started: make(chan struct{}, 16)} }

func call(t *testing.T, cs *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error %v", name, err)
	}
	return res
}

// text is the shared result helper under the name these tests use.
var text = coretest.Text

func TestTypedToolPath(t *testing.T) {
	p := newProbe()
	h := coretest.Start(t, coretest.Options{Modules: invokeModules(p), Config: func(c *config.Config) { c.Limits.MaxResultBytes = 1000 }})
	cs := h.Connect(t, nil)

	res := call(t, cs, "greet", map[string]any{"name": "Ada", "times": 2})
	if res.IsError || text(res) != `{"text":"hello Ada!hello Ada!"}` {
		t.Errorf("greet: %v %s", res.IsError, text(res))
	}
	if sc, _ := json.Marshal(res.StructuredContent); string(sc) != `{"text":"hello Ada!hello Ada!"}` {
		t.Errorf("structured content = %s", sc)
	}

	bad := []struct {
		name string
		args any
		want string
	}{
		{"missing required", map[string]any{}, "name"},
		{"wrong type", map[string]any{"name": 5}, "name"},
		{"unknown key (even case-folded)", map[string]any{"name": "a", "Name": "b"}, "Name"},
		{"hostile key", map[string]any{"name": "a", "__proto__": map[string]any{"x": 1}}, "__proto__"},
		{"array instead of object", []any{1, 2}, "object"},
		{"wrong nested type", map[string]any{"name": "a", "times": "3"}, "times"},
	}
	for _, tc := range bad {
		res := call(t, cs, "greet", tc.args)
		if !res.IsError || !strings.Contains(text(res), "invalid arguments") || !strings.Contains(text(res), tc.want) {
			t.Errorf("%s: isError=%v text=%q", tc.name, res.IsError, text(res))
		}
	}
	if p.entered != 1 {
		t.Errorf("handler ran %d times; invalid arguments must never reach it", p.entered)
	}

	if res := call(t, cs, "fail", nil); !res.IsError || text(res) != "record 7 not found; list records to find valid ids" {
		t.Errorf("tool error: %v %q", res.IsError, text(res))
	}
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "wire_fail"}); err == nil || !strings.Contains(err.Error(), "not in this state") {
		t.Errorf("jsonrpc error should be a protocol error, got %v", err)
	}
	if res := call(t, cs, "wrapped_wire_fail", nil); !res.IsError || !strings.Contains(text(res), "upstream said: not in this state") {
		t.Errorf("a wrapped jsonrpc error is the tool's failure, got %+v", res)
	}
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "explode"}); err == nil || !strings.Contains(err.Error(), "internal error in tool explode") {
		t.Errorf("panic should be an internal protocol error, got %v", err)
	}
	if !strings.Contains(h.Logs(), "tool panicked") {
		t.Error("panic was not logged")
	}
	if res := call(t, cs, "big", map[string]any{"bytes": 5000}); !res.IsError || !strings.Contains(text(res), "over the 1000-byte limit") {
		t.Errorf("oversized result: %v %q", res.IsError, text(res))
	}
	if res := call(t, cs, "picture", nil); res.IsError || len(res.Content) != 1 || res.StructuredContent != nil {
		t.Errorf("content tool: %+v", res)
	} else if img, ok := res.Content[0].(*mcp.ImageContent); !ok || img.MIMEType != "image/png" {
		t.Errorf("content tool returned %T", res.Content[0])
	}
	if res := call(t, cs, "compact", nil); text(res) != "n is 7" {
		t.Errorf("Texter rendering: %q", text(res))
	}
	if res := call(t, cs, "nil_out", nil); res.IsError || text(res) != `{"text":""}` {
		t.Errorf("nil pointer result: %v %q", res.IsError, text(res))
	}
	if res := call(t, cs, "greet", map[string]any{"name": "<b>Tom & Jerry</b>"}); text(res) != `{"text":"hello <b>Tom & Jerry</b>!"}` {
		t.Errorf("text is HTML-escaped for the model: %s", text(res))
	}
	// Still serving after all of the above.
	if res := call(t, cs, "greet", map[string]any{"name": "again"}); res.IsError {
		t.Errorf("server stopped serving: %q", text(res))
	}
}

func TestOutputSchemasCanBeLeftOut(t *testing.T) {
	for _, advertise := range []bool{true, false} {
		h := coretest.Start(t, coretest.Options{Modules: invokeModules(newProbe()), Config: func(c *config.Config) { c.Tools.OutputSchemas = advertise }})
		cs := h.Connect(t, nil)
		list, err := cs.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tool := range list.Tools {
			if tool.Name == "greet" && (tool.OutputSchema != nil) != advertise {
				t.Errorf("output_schemas=%v: greet's output schema = %v", advertise, tool.OutputSchema)
			}
		}
		if res := call(t, cs, "greet", map[string]any{"name": "x"}); res.StructuredContent == nil {
			t.Errorf("output_schemas=%v: no structured content", advertise)
		}
	}
}

func TestPerToolTimeout(t *testing.T) {
	p := newProbe()
	h := coretest.Start(t, coretest.Options{Modules: invokeModules(p)})
	cs := h.Connect(t, nil)
	res := call(t, cs, "hold", nil) // never released: its 50ms timeout fires
	<-p.started
	if !res.IsError || !strings.Contains(text(res), "timed out after 50ms") {
		t.Errorf("timeout: %v %q", res.IsError, text(res))
	}
}

// TestPerToolTimeoutOverHTTP: the tool's timeout holds on both paths and
// in both revisions (the direct path sets it with the call's context).
func TestPerToolTimeoutOverHTTP(t *testing.T) {
	for _, inline := range []bool{true, false} {
		p := newProbe()
		h := startHTTP(t, invokeModules(p), func(c *config.Config) { c.HTTP.InlineToolCalls = inline })
		session := openSessionVersion(t, h.URL(), keyA, v25)
		for _, pr := range []dprobe{
			{name: "2025-11-25 session", body: call25("1", "hold", "{}"), session: true,
				headers: map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "Mcp-Protocol-Version": v25}},
			{name: "2026-07-28", body: call26("2", "hold", "{}"),
				headers: map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "Mcp-Protocol-Version": v26,
					"Mcp-Method": "tools/call", "Mcp-Name": "hold"}},
		} {
			before := h.Server.DirectCalls()
			a := send(t, h.URL(), session, pr)
			<-p.started
			if n := len(a.Messages); n == 0 || !strings.Contains(a.Messages[n-1], `"isError":true`) || !strings.Contains(a.Messages[n-1], "timed out after 50ms") {
				t.Errorf("inline=%v, %s: %d %+v", inline, pr.name, a.Status, a.Messages)
			}
			if direct := h.Server.DirectCalls() > before; direct != inline {
				t.Errorf("inline=%v, %s: served by the direct path: %v", inline, pr.name, direct)
			}
		}
	}
}

func TestConcurrencyCapRefusesInsteadOfQueueing(t *testing.T) {
	p := newProbe()
	h := coretest.Start(t, coretest.Options{Modules: invokeModules(p), Config: func(c *config.Config) { c.Limits.MaxConcurrentCalls = 2 }})
	cs := h.Connect(t, nil)

	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { call(t, cs, "wait", nil) })
	}
	<-p.started
	<-p.started
	if got := h.Server.InFlight(); got != 2 {
		t.Errorf("in flight = %d", got)
	}
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "greet", Arguments: map[string]any{"name": "x"}})
	var wire *jsonrpc.Error
	if !errors.As(err, &wire) || wire.Code != core.CodeServerBusy || !strings.Contains(wire.Message, "retry after") {
		t.Errorf("third call: %v", err)
	}
	close(p.release)
	wg.Wait()
	if res := call(t, cs, "greet", map[string]any{"name": "x"}); res.IsError {
		t.Errorf("after the burst: %q", text(res))
	}
}
