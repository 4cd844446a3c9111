package otlp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/mcpfleet/mcpfleet/pkg/observability/otlp"
)

// batchSize is the batch span processor's default maximum export batch.
const batchSize = 512

// mcpSpans returns n spans shaped like the MCP middleware's: a SERVER span
// per tools/call with the semantic-convention attributes, under a remote
// parent, one in ten an error.
func mcpSpans(b *testing.B, n int) []sdktrace.ReadOnlySpan {
	b.Helper()
	exp := tracetest.NewInMemoryExporter()
	res := sdkresource.NewSchemaless(attribute.String("service.name", "mcp-crm"), attribute.String("service.version", "1.4.2"),
		attribute.String("telemetry.sdk.language", "go"), attribute.String("telemetry.sdk.name", "opentelemetry"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := tp.Tracer("github.com/mcpfleet/mcpfleet/pkg/observability", trace.WithInstrumentationVersion("1.0.0"))
	for i := range n {
		parent := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{byte(i), byte(i >> 8), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
			SpanID:  trace.SpanID{1, 2, 3, 4, 5, 6, 7, byte(i)}, TraceFlags: trace.FlagsSampled, Remote: true,
		})
		ctx := trace.ContextWithRemoteSpanContext(context.Background(), parent)
		_, s := tracer.Start(ctx, "tools/call search_contacts", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("mcp.method.name", "tools/call"),
			attribute.String("gen_ai.tool.name", "search_contacts"),
			attribute.String("gen_ai.operation.name", "execute_tool"),
			attribute.String("mcp.session.id", fmt.Sprintf("session-%08d", i%16)),
			attribute.String("mcp.protocol.version", "2025-06-18"),
			attribute.String("network.transport", "tcp"),
			attribute.String("network.protocol.name", "http"),
		))
		if i%10 == 0 {
			s.SetAttributes(attribute.String("error.type", "tool_error"))
			s.SetStatus(codes.Error, "")
		}
		s.End()
	}
	return exp.GetSpans().Snapshots()
}

// discardServer is a receiver that reads and drops every request.
func discardServer(b *testing.B) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkTraceEncoder512 is the encoding of one full batch alone.
func BenchmarkTraceEncoder512(b *testing.B) {
	spans := mcpSpans(b, batchSize)
	var enc otlp.TraceEncoder
	buf := enc.AppendRequest(nil, spans)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = enc.AppendRequest(buf[:0], spans)
	}
}

// BenchmarkExportSpans512 exports one full batch over loopback HTTP per
// iteration: encoding, the request and the receiver's answer.
func BenchmarkExportSpans512(b *testing.B) {
	for _, tc := range []struct {
		name string
		new  func(endpoint string) (sdktrace.SpanExporter, error)
	}{
		{"mcpfleet", func(endpoint string) (sdktrace.SpanExporter, error) {
			cfg := otlp.NewDefaultConfig()
			cfg.Endpoint = endpoint
			return otlp.NewSpanExporter(cfg)
		}},
		{"mcpfleet-gzip", func(endpoint string) (sdktrace.SpanExporter, error) {
			cfg := otlp.NewDefaultConfig()
			cfg.Endpoint = endpoint
			cfg.Compression = otlp.CompressionGzip
			return otlp.NewSpanExporter(cfg)
		}},
		// The official exporter this package replaces, for comparison.
		{"otlptracehttp", func(endpoint string) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(endpoint))
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			spans := mcpSpans(b, batchSize)
			srv := discardServer(b)
			exp, err := tc.new(srv.URL + "/v1/traces")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := exp.ExportSpans(ctx, spans); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
