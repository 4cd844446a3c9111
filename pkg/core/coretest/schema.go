package coretest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// resultOrder places the result check innermost, next to the tool handler,
// so it sees what the tool produced before any redaction.
const resultOrder = math.MaxInt32

// resultChecker validates every structured tool result against the tool's
// declared output schema, so every tool test of every server checks its
// results without asking. report receives each mismatch.
type resultChecker struct {
	catalog *core.Catalog
	report  func(format string, args ...any)

	mu       sync.Mutex
	resolved map[string]*jsonschema.Resolved
}

func (c *resultChecker) schema(name string) (*jsonschema.Resolved, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.resolved[name]; ok {
		return r, nil
	}
	var r *jsonschema.Resolved
	for _, td := range c.catalog.AllTools() {
		if td.Spec().Name != name {
			continue
		}
		if s, ok := td.Tool().OutputSchema.(*jsonschema.Schema); ok && s != nil {
			var err error
			if r, err = s.Resolve(nil); err != nil {
				return nil, err
			}
		}
	}
	c.resolved[name] = r
	return r, nil
}

func (c *resultChecker) middleware() core.Middleware {
	return core.Middleware{Name: "coretest.results", Order: resultOrder, Func: func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			res, err := next(ctx, method, req)
			call, ok := req.(*mcp.CallToolRequest)
			tr, isTool := res.(*mcp.CallToolResult)
			if err != nil || !ok || !isTool || tr == nil || tr.IsError || tr.StructuredContent == nil {
				return res, err
			}
			if problem := c.check(call.Params.Name, tr.StructuredContent); problem != "" {
				c.report("tool %s: structured result does not match its output schema: %s", call.Params.Name, problem)
			}
			return res, err
		}
	}}
}

// check returns what is wrong with content for tool name, or "".
func (c *resultChecker) check(name string, content any) string {
	schema, err := c.schema(name)
	if err != nil {
		return "resolving the output schema: " + err.Error()
	}
	if schema == nil {
		return "" // the tool declares no output schema
	}
	raw, err := json.Marshal(content)
	if err != nil {
		return "encoding: " + err.Error()
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "decoding: " + err.Error()
	}
	if err := schema.Validate(v); err != nil {
		return fmt.Sprintf("%v (result %s)", err, truncate(raw, 300))
	}
	return ""
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
