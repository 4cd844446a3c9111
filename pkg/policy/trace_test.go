package policy

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
)

// TestAuditTraceID: the audit record carries the trace id of the span an
// outer (observability) middleware started.
func TestAuditTraceID(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	var last trace.TraceID
	tracing := core.AsMiddleware(func() core.Middleware {
		return core.Middleware{Name: "test-tracing", Order: core.OrderObservability, Func: func(next mcp.MethodHandler) mcp.MethodHandler {
			return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
				ctx, span := tp.Tracer("test").Start(ctx, method)
				defer span.End()
				last = span.SpanContext().TraceID()
				return next(ctx, method, req)
			}
		}}
	})
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	h := coretest.Start(t, coretest.Options{
		YAML:    "policy:\n  audit:\n    sinks: [{type: file, path: " + auditPath + "}]\n",
		Modules: []fx.Option{toolsModule(&notes{}), Module, tracing},
	})
	res := call(t, h.Connect(t, nil), "read_note", map[string]any{"id": "1"})
	if res.IsError {
		t.Fatal(text(res))
	}
	s := &testServer{audit: auditPath}
	r := s.records(t, 1)[0]
	if !last.IsValid() || r.TraceID != last.String() || r.Rule != RuleDefault || r.Policy != Default().Hash() {
		t.Fatalf("record %+v, trace %s", r, last)
	}
}
