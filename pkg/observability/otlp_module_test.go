package observability_test

import (
	"context"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// callEcho makes one echo call on a server built with env. The exporters
// read OTEL_EXPORTER_OTLP_* and the resource variables from the process
// environment, so env is set there (t.Setenv: these tests are not parallel);
// the module reads the exporter selection through core's lookup, which in
// coretest sees only the map.
func callEcho(t *testing.T, env map[string]string) *testServer {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	ts := startServer(t, serverOptions{env: env})
	callTool(t, ts.Connect(t, nil), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
	return ts
}

// stop stops the server, which flushes its exporters.
func (ts *testServer) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ts.Stop(ctx); err != nil {
		t.Fatalf("stopping the server: %v", err)
	}
}

// callAndStop makes one echo call and stops the server.
func callAndStop(t *testing.T, env map[string]string) {
	t.Helper()
	callEcho(t, env).stop(t)
}

func attr(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// The official OTLP/HTTP exporter end to end, configured only by the
// standard variables: the span of an MCP call arrives at a receiver,
// decodes with the official types, and carries what the in-process exporter
// saw.
func TestModuleOTLPTraces(t *testing.T) {
	rcv := newOTLPReceiver(t)
	ts := callEcho(t, map[string]string{
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
		"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL + "/base",
		"OTEL_EXPORTER_OTLP_HEADERS":  "api-key=s%20ecret",
		// The signal's own variable wins.
		"OTEL_EXPORTER_OTLP_COMPRESSION":        "none",
		"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip",
	})
	// Taken before the stop, which empties the in-memory exporter.
	want := ts.spanNamed(t, "tools/call echo")
	ts.stop(t)

	reqs := rcv.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request reached the receiver")
	}
	for _, r := range reqs {
		if r.Path != "/base/v1/traces" || !r.Gzipped || r.Header.Get("Api-Key") != "s ecret" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("request to %s, gzip %v, headers %v", r.Path, r.Gzipped, r.Header)
		}
	}
	var got *tracepb.Span
	for _, req := range rcv.Traces(t) {
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					if s.GetName() == "tools/call echo" {
						got = s
						if name := attr(rs.GetResource().GetAttributes(), "service.name"); name != "test" {
							t.Errorf("service.name = %q, want the server's name", name)
						}
					}
				}
			}
		}
	}
	if got == nil {
		t.Fatalf("no tools/call echo span among %d received", len(rcv.Spans(t)))
	}
	if tid, sid := want.SpanContext.TraceID(), want.SpanContext.SpanID(); string(got.GetTraceId()) != string(tid[:]) || string(got.GetSpanId()) != string(sid[:]) {
		t.Errorf("span ids differ from the in-process span")
	}
	if got.GetKind() != tracepb.Span_SPAN_KIND_SERVER || attr(got.GetAttributes(), "gen_ai.tool.name") != "echo" || attr(got.GetAttributes(), "mcp.method.name") != "tools/call" {
		t.Errorf("span = %v", got)
	}
	if got.GetStartTimeUnixNano() == 0 || got.GetEndTimeUnixNano() < got.GetStartTimeUnixNano() {
		t.Errorf("span times %d..%d", got.GetStartTimeUnixNano(), got.GetEndTimeUnixNano())
	}
}

func TestModuleOTLPMetrics(t *testing.T) {
	rcv := newOTLPReceiver(t)
	callAndStop(t, map[string]string{
		"OTEL_METRICS_EXPORTER": "otlp",
		// A signal endpoint is used as is.
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT":               rcv.URL + "/tenant-a/v1/metrics",
		"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta",
	})
	for _, r := range rcv.Requests() {
		if r.Path != "/tenant-a/v1/metrics" || r.Gzipped {
			t.Errorf("request to %s, gzip %v", r.Path, r.Gzipped)
		}
	}
	m := rcv.MetricNamed(t, "mcp.server.operation.duration")
	if m == nil {
		t.Fatal("mcp.server.operation.duration not received")
	}
	h := m.GetHistogram()
	if h.GetAggregationTemporality() != metricpb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA {
		t.Errorf("temporality %v, want delta", h.GetAggregationTemporality())
	}
	var echo *metricpb.HistogramDataPoint
	for _, dp := range h.GetDataPoints() {
		if attr(dp.GetAttributes(), "gen_ai.tool.name") == "echo" {
			echo = dp
		}
	}
	if echo == nil || echo.GetCount() != 1 || len(echo.GetExplicitBounds()) == 0 || len(echo.GetBucketCounts()) != len(echo.GetExplicitBounds())+1 {
		t.Errorf("echo data point = %v, want one call in explicit buckets", echo)
	}
	if m.GetUnit() != "s" {
		t.Errorf("unit %q", m.GetUnit())
	}
}

// OTEL_EXPORTER_OTLP_CERTIFICATE adds the receiver's certificate to the
// trusted roots for an https endpoint.
func TestModuleOTLPOverTLS(t *testing.T) {
	rcv := newTLSOTLPReceiver(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rcv.Certificate.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	callAndStop(t, map[string]string{
		"OTEL_TRACES_EXPORTER":           "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT":    rcv.URL,
		"OTEL_EXPORTER_OTLP_CERTIFICATE": caFile,
	})
	if len(rcv.Spans(t)) == 0 {
		t.Fatal("no spans received over TLS")
	}
}
