package core_test

import (
	"context"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

type benchIn struct {
	Message string `json:"message" jsonschema:"text"`
}

// BenchmarkToolCall measures one tools/call through the whole in-memory
// stack: core's typed path against go-sdk's own mcp.AddTool on the same
// transport.
func BenchmarkToolCall(b *testing.B) {
	args := map[string]any{"message": "hello, fleet"}
	b.Run("core", func(b *testing.B) {
		h := coretest.Start(b, coretest.Options{Modules: demoApp().Options})
		cs := h.Connect(b, nil)
		benchCalls(b, cs, "echo", args)
	})
	b.Run("gosdk", func(b *testing.B) {
		s := mcp.NewServer(&mcp.Implementation{Name: "bare", Version: "1"}, nil)
		mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "echo"}, func(_ context.Context, _ *mcp.CallToolRequest, in benchIn) (*mcp.CallToolResult, greetOut, error) {
			return nil, greetOut{Text: in.Message}, nil
		})
		ct, st := mcp.NewInMemoryTransports()
		ss, err := s.Connect(context.Background(), st, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer ss.Close()
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil).Connect(context.Background(), ct, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer cs.Close()
		benchCalls(b, cs, "echo", args)
	})
}

func benchCalls(b *testing.B, cs *mcp.ClientSession, name string, args any) {
	b.ReportAllocs()
	ctx := context.Background()
	params := &mcp.CallToolParams{Name: name, Arguments: args}
	for b.Loop() {
		res, err := cs.CallTool(ctx, params)
		if err != nil || res.IsError {
			b.Fatalf("call: %v %+v", err, res)
		}
	}
}
