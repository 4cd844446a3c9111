package observability_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
)

// discardExporter drops spans, so that benchmarks measure the SDK pipeline
// (sampling, recording, batching) but no I/O.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// benchProviders are production providers (Prometheus reader on): with a
// batch span processor to a discarding exporter when sampled, and without
// any span processor (the default, OTEL_TRACES_EXPORTER unset) otherwise.
func benchProviders(b *testing.B, sampled bool) *observability.Providers {
	b.Helper()
	s := observability.Settings{Config: observability.NewDefaultConfig(), ServerName: "bench", Lookup: lookup(nil)}
	if sampled {
		s.SpanProcessors = []sdktrace.SpanProcessor{sdktrace.NewBatchSpanProcessor(discardExporter{})}
	}
	p, err := observability.NewProviders(s)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

func benchHandler(b *testing.B, p *observability.Providers, result mcp.Result) mcp.MethodHandler {
	b.Helper()
	next := func(context.Context, string, mcp.Request) (mcp.Result, error) { return result, nil }
	if p == nil {
		return next
	}
	in, err := observability.NewInstrumentation(observability.InstrumentationOptions{
		Tracers: p.Tracers, Meters: p.Meters, Propagator: p.Propagator,
		Tools: []string{"echo", "fail"}, Transport: "http",
	})
	if err != nil {
		b.Fatal(err)
	}
	return in.Middleware()(next)
}

// BenchmarkMiddleware measures the middleware alone around a handler that
// returns at once: the cost it adds to every tools/call.
func BenchmarkMiddleware(b *testing.B) {
	ok := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "hi"}}}
	toolErr := &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "no"}}}
	args := json.RawMessage(`{"text":"hi"}`)
	request := func(name string, header http.Header, meta mcp.Meta) *mcp.CallToolRequest {
		return &mcp.CallToolRequest{
			Params: &mcp.CallToolParamsRaw{Meta: meta, Name: name, Arguments: args},
			Extra:  &mcp.RequestExtra{Header: header},
		}
	}
	plain := http.Header{"Content-Type": {"application/json"}, "Mcp-Session-Id": {"abc"}}
	withParent := http.Header{"Content-Type": {"application/json"}, "Traceparent": {headerParent}}

	for _, bc := range []struct {
		name    string
		sampled *bool // nil: no middleware at all
		req     *mcp.CallToolRequest
		result  mcp.Result
	}{
		{"Bare", nil, request("echo", plain, nil), ok},
		{"Unsampled", new(false), request("echo", plain, nil), ok},
		{"UnsampledHeaderParent", new(false), request("echo", withParent, nil), ok},
		{"Sampled", new(true), request("echo", plain, nil), ok},
		{"SampledHeaderParent", new(true), request("echo", withParent, nil), ok},
		{"SampledMetaParent", new(true), request("echo", plain, mcp.Meta{"traceparent": callerParent}), ok},
		{"SampledToolError", new(true), request("fail", plain, nil), toolErr},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var p *observability.Providers
			if bc.sampled != nil {
				p = benchProviders(b, *bc.sampled)
			}
			h := benchHandler(b, p, bc.result)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h(ctx, "tools/call", bc.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMiddlewareParallel is the sampled case from every core, to show
// contention in the instruments and the batch processor.
func BenchmarkMiddlewareParallel(b *testing.B) {
	p := benchProviders(b, true)
	h := benchHandler(b, p, &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "hi"}}})
	req := &mcp.CallToolRequest{
		Params: &mcp.CallToolParamsRaw{Name: "echo", Arguments: json.RawMessage(`{"text":"hi"}`)},
		Extra:  &mcp.RequestExtra{Header: http.Header{}},
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := h(ctx, "tools/call", req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkMiddlewareServer calls a tool through a whole core server over an
// in-memory session: core alone, then with observability.Module (no span
// exporter, the default), then sampling every call into a discarding batch
// processor. The differences are what observability costs per call in
// context.
func BenchmarkMiddlewareServer(b *testing.B) {
	for _, bc := range []struct {
		name    string
		modules []fx.Option
	}{
		{"Core", nil},
		{"Observability", []fx.Option{observability.Module}},
		{"ObservabilitySampled", append([]fx.Option{observability.Module},
			observability.AsSpanProcessor(func() sdktrace.SpanProcessor { return sdktrace.NewBatchSpanProcessor(discardExporter{}) }))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			modules := append([]fx.Option{
				core.AsToolset(core.Toolset{Name: "test", Description: "Test tools.", Default: true}),
				core.AsTool(newEchoTool),
			}, bc.modules...)
			h := coretest.Start(b, coretest.Options{YAML: "log:\n  level: error\n", Modules: modules})
			cs := h.Connect(b, nil)
			params := &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cs.CallTool(ctx, params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
