package core_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
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

// BenchmarkHTTPToolCall measures one tools/call over HTTP with API-key auth
// (no policy module), answered by the direct path and by go-sdk's handler,
// in both revisions: compare direct=true with direct=false of one run.
// (The figures include the in-process client's own work.)
func BenchmarkHTTPToolCall(b *testing.B) {
	for _, rev := range []string{core.ProtocolStateful, core.ProtocolSessionless} {
		for _, direct := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/direct=%v", rev, direct), func(b *testing.B) {
				h := coretest.Start(b, coretest.Options{Modules: pathModules(new(atomic.Int64)), Config: func(c *config.Config) {
					c.Transport, c.HTTP.Addr, c.HTTP.InlineToolCalls = "http", "127.0.0.1:0", direct
					c.Auth.APIKeys = []config.APIKey{{ID: "alice", SHA256: authn.HashAPIKey(keyA)}}
				}})
				headers := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"},
					"Authorization": {"Bearer " + keyA}, "Mcp-Protocol-Version": {rev}}
				body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","arguments":{}}}`
				if rev == core.ProtocolSessionless {
					headers.Set("Mcp-Method", "tools/call")
					headers.Set("Mcp-Name", "read")
					body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read","arguments":{},` + meta26 + `}}`
				} else {
					headers.Set("Mcp-Session-Id", benchSession(b, h.URL(), headers))
				}
				client := &http.Client{}
				b.ReportAllocs()
				for b.Loop() {
					req, _ := http.NewRequest(http.MethodPost, h.URL(), strings.NewReader(body))
					req.Header = headers.Clone()
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					out, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || !strings.Contains(string(out), `"result"`) {
						b.Fatalf("%d %s", resp.StatusCode, out)
					}
				}
				if got := h.Server.DirectCalls(); (got > 0) != direct {
					b.Fatalf("direct path answered %d calls, direct=%v", got, direct)
				}
			})
		}
	}
}

// benchSession opens a 2025-11-25 session and returns its id.
func benchSession(b *testing.B, url string, headers http.Header) string {
	b.Helper()
	post := func(session, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header = headers.Clone()
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := post("", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`)
	id := resp.Header.Get("Mcp-Session-Id")
	if id == "" {
		b.Fatalf("initialize: %d", resp.StatusCode)
	}
	post(id, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return id
}
