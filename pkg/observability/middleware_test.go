package observability_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
)

// W3C trace contexts a caller might send.
const (
	callerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpanID  = "00f067aa0ba902b7"
	callerParent  = "00-" + callerTraceID + "-" + callerSpanID + "-01"
	headerTraceID = "0af7651916cd43dd8448eb211c80319c"
	headerSpanID  = "b7ad6b7169203331"
	headerParent  = "00-" + headerTraceID + "-" + headerSpanID + "-01"
)

func attrs(s tracetest.SpanStub) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

func wantAttrs(t *testing.T, s tracetest.SpanStub, want map[string]string) {
	t.Helper()
	got := attrs(s)
	for k, v := range want {
		if got[attribute.Key(k)] != v {
			t.Errorf("span %q: %s = %q, want %q (all: %v)", s.Name, k, got[attribute.Key(k)], v, got)
		}
	}
}

func noAttr(t *testing.T, s tracetest.SpanStub, keys ...string) {
	t.Helper()
	got := attrs(s)
	for _, k := range keys {
		if v, ok := got[attribute.Key(k)]; ok {
			t.Errorf("span %q has %s = %q, want none", s.Name, k, v)
		}
	}
}

func callTool(t *testing.T, cs *mcp.ClientSession, params *mcp.CallToolParams) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), params)
	if err != nil {
		t.Fatalf("calling %s: %v", params.Name, err)
	}
	return res
}

func TestToolCallSpan(t *testing.T) {
	ts := startServer(t, serverOptions{})
	cs := ts.Connect(t, nil)
	callTool(t, cs, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})

	s := ts.spanNamed(t, "tools/call echo")
	if s.SpanKind != trace.SpanKindServer {
		t.Errorf("span kind = %v, want server", s.SpanKind)
	}
	wantAttrs(t, s, map[string]string{
		"mcp.method.name":       "tools/call",
		"gen_ai.tool.name":      "echo",
		"gen_ai.operation.name": "execute_tool",
		"mcp.protocol.version":  cs.InitializeResult().ProtocolVersion,
		"network.transport":     "pipe",
	})
	noAttr(t, s, "error.type", "mcp.session.id") // in-memory sessions have no id
	if s.Status.Code != codes.Unset {
		t.Errorf("status = %v, want unset", s.Status)
	}
	if s.Parent.IsValid() {
		t.Errorf("span has parent %v without any trace context sent", s.Parent)
	}
}

func TestToolErrorSpanAndMetric(t *testing.T) {
	ts := startServer(t, serverOptions{})
	cs := ts.Connect(t, nil)
	res := callTool(t, cs, &mcp.CallToolParams{Name: "fail", Arguments: map[string]any{"text": "x"}})
	if !res.IsError {
		t.Fatalf("fail tool result is not an error: %+v", res)
	}
	s := ts.spanNamed(t, "tools/call fail")
	wantAttrs(t, s, map[string]string{"error.type": "tool_error", "gen_ai.tool.name": "fail"})
	if s.Status.Code != codes.Error {
		t.Errorf("status = %v, want error", s.Status)
	}
	// The tool's message may carry data: it stays out of the span.
	if strings.Contains(s.Status.Description, "upstream") {
		t.Errorf("status description %q leaks the tool error text", s.Status.Description)
	}

	point := durationPoint(t, ts.collect(t), map[string]string{"mcp.method.name": "tools/call", "gen_ai.tool.name": "fail"})
	if got := attrValue(point.Attributes, "error.type"); got != "tool_error" {
		t.Errorf("metric error.type = %q, want tool_error", got)
	}
}

func TestProtocolErrorSpanAndMetric(t *testing.T) {
	ts := startServer(t, serverOptions{})
	cs := ts.Connect(t, nil)
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "no_such_tool"})
	if err == nil {
		t.Fatal("calling an unknown tool succeeded")
	}
	s := ts.spanNamed(t, "tools/call no_such_tool")
	wantAttrs(t, s, map[string]string{
		"gen_ai.tool.name":         "no_such_tool",
		"error.type":               "-32602",
		"rpc.response.status_code": "-32602",
	})
	if s.Status.Code != codes.Error || s.Status.Description == "" {
		t.Errorf("status = %+v, want error with the JSON-RPC message", s.Status)
	}
	// A name the server does not serve must not become a metric series.
	point := durationPoint(t, ts.collect(t), map[string]string{"mcp.method.name": "tools/call", "error.type": "-32602"})
	if got := attrValue(point.Attributes, "gen_ai.tool.name"); got != "_OTHER" {
		t.Errorf("metric gen_ai.tool.name = %q, want _OTHER", got)
	}
}

func TestUnservedToolNameIsBounded(t *testing.T) {
	ts := startServer(t, serverOptions{})
	cs := ts.Connect(t, nil)
	long := "a" + strings.Repeat("é", 100) // 201 bytes; byte 128 is inside an é
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: long}); err == nil {
		t.Fatal("calling an unknown tool succeeded")
	}
	want := "a" + strings.Repeat("é", 63) // 127 bytes: the split rune is dropped
	s := ts.spanNamed(t, "tools/call "+want)
	wantAttrs(t, s, map[string]string{"gen_ai.tool.name": want})
}

func TestNotificationsAndOtherMethods(t *testing.T) {
	ts := startServer(t, serverOptions{})
	// A session-based protocol version, so that the client sends the
	// initialized notification (2026-07-28 has no initialize).
	cs := connectVersion(t, ts, "2025-11-25")
	ctx := context.Background()
	if _, err := cs.ListTools(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "greet"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: testResourceURI}); err != nil {
		t.Fatal(err)
	}
	if err := cs.Ping(ctx, nil); err != nil {
		t.Fatal(err)
	}

	ts.spanNamed(t, "initialize")
	// The initialized notification has no result: it is a span like any
	// other, without an error.
	n := ts.spanNamed(t, "notifications/initialized")
	noAttr(t, n, "error.type")
	if n.Status.Code != codes.Unset {
		t.Errorf("notification status = %v", n.Status)
	}
	ts.spanNamed(t, "tools/list")
	ts.spanNamed(t, "ping")
	wantAttrs(t, ts.spanNamed(t, "prompts/get greet"), map[string]string{"gen_ai.prompt.name": "greet"})
	r := ts.spanNamed(t, "resources/read") // URIs stay out of span names by default
	wantAttrs(t, r, map[string]string{"mcp.resource.uri": testResourceURI})
	noAttr(t, r, "gen_ai.operation.name", "gen_ai.tool.name")

	rm := ts.collect(t)
	durationPoint(t, rm, map[string]string{"mcp.method.name": "notifications/initialized"})
	durationPoint(t, rm, map[string]string{"mcp.method.name": "prompts/get", "gen_ai.prompt.name": "greet"})
	// Nothing is in flight once every response has arrived.
	for _, m := range metricsNamed(rm, "mcp.server.active_requests") {
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			if dp.Value != 0 {
				t.Errorf("active requests for %v = %d, want 0", dp.Attributes.ToSlice(), dp.Value)
			}
		}
	}
}

func TestResourceURIInSpanNameOptIn(t *testing.T) {
	ts := startServer(t, serverOptions{yaml: "observability:\n  tracing:\n    resource_uri_in_span_name: true\n"})
	cs := ts.Connect(t, nil)
	if _, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: testResourceURI}); err != nil {
		t.Fatal(err)
	}
	ts.spanNamed(t, "resources/read "+testResourceURI)
}

func TestParentFromMeta(t *testing.T) {
	ts := startServer(t, serverOptions{})
	cs := ts.Connect(t, nil)
	params := &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}}
	params.SetMeta(map[string]any{"traceparent": callerParent, "tracestate": "rojo=00f067aa0ba902b7"})
	callTool(t, cs, params)

	s := ts.spanNamed(t, "tools/call echo")
	if got := s.SpanContext.TraceID().String(); got != callerTraceID {
		t.Errorf("trace id = %s, want the caller's %s", got, callerTraceID)
	}
	if got := s.Parent.SpanID().String(); got != callerSpanID || !s.Parent.IsRemote() {
		t.Errorf("parent = %s (remote %v), want remote %s", got, s.Parent.IsRemote(), callerSpanID)
	}
	if got := s.Parent.TraceState().Get("rojo"); got != callerSpanID {
		t.Errorf("tracestate rojo = %q", got)
	}
}

func TestParentFromHTTPHeader(t *testing.T) {
	ts := startServer(t, serverOptions{http: true})
	client := &http.Client{Transport: headerClient{headers: http.Header{"Traceparent": {headerParent}}}}
	cs := ts.ConnectHTTP(t, client)

	callTool(t, cs, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
	s := ts.spanNamed(t, "tools/call echo")
	if got := s.Parent.SpanID().String(); got != headerSpanID || s.SpanContext.TraceID().String() != headerTraceID {
		t.Errorf("parent = %s in trace %s, want %s in %s", got, s.SpanContext.TraceID(), headerSpanID, headerTraceID)
	}
	if cs.ID() == "" {
		t.Fatal("the HTTP session has no id")
	}
	wantAttrs(t, s, map[string]string{"mcp.session.id": cs.ID(), "network.transport": "tcp", "network.protocol.name": "http"})
	if len(s.Links) != 0 {
		t.Errorf("links = %v, want none without _meta trace context", s.Links)
	}

	// With both, _meta is the parent and the HTTP context is linked.
	params := &mcp.CallToolParams{Name: "fail", Arguments: map[string]any{"text": "x"}}
	params.SetMeta(map[string]any{"traceparent": callerParent})
	callTool(t, cs, params)
	s = ts.spanNamed(t, "tools/call fail")
	if got := s.Parent.SpanID().String(); got != callerSpanID {
		t.Errorf("parent = %s, want the _meta parent %s", got, callerSpanID)
	}
	if len(s.Links) != 1 || s.Links[0].SpanContext.SpanID().String() != headerSpanID {
		t.Errorf("links = %+v, want one to the HTTP context %s", s.Links, headerSpanID)
	}
}

func TestLogsCarryTraceIDs(t *testing.T) {
	ts := startServer(t, serverOptions{})
	cs := ts.Connect(t, nil)
	callTool(t, cs, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
	s := ts.spanNamed(t, "tools/call echo")

	var found bool
	for line := range strings.SplitSeq(ts.Logs(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "echo called" {
			continue
		}
		found = true
		if rec["trace_id"] != s.SpanContext.TraceID().String() || rec["span_id"] != s.SpanContext.SpanID().String() {
			t.Errorf("log ids = %v/%v, want the span's %s/%s", rec["trace_id"], rec["span_id"], s.SpanContext.TraceID(), s.SpanContext.SpanID())
		}
		if rec["server"] != "test" || rec["chars"] != float64(2) {
			t.Errorf("log lost core's or the caller's attributes: %v", rec)
		}
	}
	if !found {
		t.Fatalf("no echo log line in:\n%s", ts.Logs())
	}
}

func TestMetricsEndpoint(t *testing.T) {
	ts := startServer(t, serverOptions{http: true})
	cs := ts.ConnectHTTP(t, &http.Client{Transport: headerClient{}})
	callTool(t, cs, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})

	// Outside authentication, like /healthz: no API key.
	body := get(t, ts.BaseURL()+"/metrics", http.StatusOK)
	for _, want := range []string{
		`mcp_server_operation_duration_seconds_count{`,
		`gen_ai_tool_name="echo"`,
		`mcp_method_name="tools/call"`,
		`mcp_server_active_requests`,
		`go_goroutines`,
		`process_cpu_seconds_total`,
		`service_name="test"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestMetricsEndpointOff(t *testing.T) {
	ts := startServer(t, serverOptions{http: true, yaml: "observability:\n  metrics:\n    enabled: false\n"})
	get(t, ts.BaseURL()+"/metrics", http.StatusNotFound)
}

func TestMetricsEndpointCustomPath(t *testing.T) {
	ts := startServer(t, serverOptions{http: true, yaml: "observability:\n  metrics:\n    path: /internal/metrics\n"})
	get(t, ts.BaseURL()+"/internal/metrics", http.StatusOK)
	get(t, ts.BaseURL()+"/metrics", http.StatusNotFound)
}

func TestCoreUsesTheProviders(t *testing.T) {
	var tel core.Telemetry
	startServer(t, serverOptions{extra: []fx.Option{fx.Populate(&tel)}})
	if _, ok := tel.Tracers.(interface{ ForceFlush(context.Context) error }); !ok {
		t.Errorf("core telemetry tracer provider is %T, want the SDK's", tel.Tracers)
	}
	if _, ok := tel.Meters.(interface{ ForceFlush(context.Context) error }); !ok {
		t.Errorf("core telemetry meter provider is %T, want the SDK's", tel.Meters)
	}
}

func get(t *testing.T, url string, wantStatus int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: status %d, want %d: %s", url, resp.StatusCode, wantStatus, b)
	}
	return string(b)
}

func metricsNamed(rm metricdata.ResourceMetrics, name string) []metricdata.Metrics {
	var out []metricdata.Metrics
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				out = append(out, m)
			}
		}
	}
	return out
}

func attrValue(s attribute.Set, key string) string {
	v, _ := s.Value(attribute.Key(key))
	return v.String()
}

// durationPoint returns the one mcp.server.operation.duration point whose
// attributes include want.
func durationPoint(t *testing.T, rm metricdata.ResourceMetrics, want map[string]string) metricdata.HistogramDataPoint[float64] {
	t.Helper()
	var found []metricdata.HistogramDataPoint[float64]
	for _, m := range metricsNamed(rm, "mcp.server.operation.duration") {
		if m.Unit != "s" {
			t.Errorf("duration unit = %q, want s", m.Unit)
		}
		for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
			match := true
			for k, v := range want {
				match = match && attrValue(dp.Attributes, k) == v
			}
			if match {
				found = append(found, dp)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one duration point with %v, got %d", want, len(found))
	}
	if found[0].Count == 0 {
		t.Errorf("duration point %v has no measurements", want)
	}
	return found[0]
}

// connectVersion opens an in-memory session at a given protocol version
// (coretest's Connect always uses the latest).
func connectVersion(t *testing.T, ts *testServer, version string) *mcp.ClientSession {
	t.Helper()
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	if _, err := ts.Server.MCP.Connect(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "observability-test", Version: "test"}, nil)
	cs, err := c.Connect(ctx, ct, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// The module honours the OTEL_* environment: a console exporter writes spans
// to the server's stderr (never stdout, the stdio protocol stream).
func TestModuleConsoleExporter(t *testing.T) {
	var ts *testServer
	// Registered first, so it runs after the server has stopped and flushed.
	t.Cleanup(func() {
		if !strings.Contains(ts.Logs(), `"Name":"tools/call echo"`) {
			t.Errorf("no console span in stderr:\n%s", ts.Logs())
		}
	})
	ts = startServer(t, serverOptions{env: map[string]string{"OTEL_TRACES_EXPORTER": "console"}})
	callTool(t, ts.Connect(t, nil), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
}

// A collector that never answers neither blocks startup nor fails shutdown:
// the flush is cut at shutdown_timeout and reported as a warning.
func TestModuleUnreachableCollector(t *testing.T) {
	for _, protocol := range otlpProtocols {
		t.Run(protocol, func(t *testing.T) {
			var ts *testServer
			t.Cleanup(func() {
				if !strings.Contains(ts.Logs(), "telemetry not fully flushed at shutdown") {
					t.Errorf("no flush warning in logs:\n%s", ts.Logs())
				}
			})
			env := map[string]string{
				"OTEL_TRACES_EXPORTER":        "otlp",
				"OTEL_METRICS_EXPORTER":       "otlp",
				"OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
				"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + silentListener(t),
			}
			for k, v := range env {
				t.Setenv(k, v) // where the exporters read it
			}
			ts = startServer(t, serverOptions{yaml: "observability:\n  shutdown_timeout: 300ms\n", env: env})
			callTool(t, ts.Connect(t, nil), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
		})
	}
}

// Trace context and baggage reach the handler's context: the caller's trace
// id even when no span is recorded (no exporter), and HTTP baggage when
// _meta carries only a traceparent.
func TestHandlerContext(t *testing.T) {
	p := newProviders(t, observability.Settings{ServerName: "crm"})
	in, err := observability.NewInstrumentation(observability.InstrumentationOptions{Tracers: p.Tracers, Meters: p.Meters, Propagator: p.Propagator})
	if err != nil {
		t.Fatal(err)
	}
	var gotTrace, gotUser string
	next := func(ctx context.Context, _ string, _ mcp.Request) (mcp.Result, error) {
		gotTrace = trace.SpanContextFromContext(ctx).TraceID().String()
		gotUser = baggage.FromContext(ctx).Member("user").Value()
		return &mcp.CallToolResult{}, nil
	}
	req := &mcp.CallToolRequest{
		Params: &mcp.CallToolParamsRaw{Name: "echo", Meta: mcp.Meta{"traceparent": callerParent}},
		Extra:  &mcp.RequestExtra{Header: http.Header{"Traceparent": {headerParent}, "Baggage": {"user=alice"}}},
	}
	if _, err := in.Middleware()(next)(context.Background(), "tools/call", req); err != nil {
		t.Fatal(err)
	}
	if gotTrace != callerTraceID || gotUser != "alice" {
		t.Errorf("handler saw trace %s and user %q, want %s and alice", gotTrace, gotUser, callerTraceID)
	}
}
