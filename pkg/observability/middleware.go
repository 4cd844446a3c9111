package observability

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// instrumentationName names the tracer and meter of this package.
const instrumentationName = "github.com/mcpfleet/mcpfleet/pkg/observability"

// InstrumentationOptions configure [NewInstrumentation].
type InstrumentationOptions struct {
	// Tracers and Meters default to no-op providers.
	Tracers trace.TracerProvider
	Meters  metric.MeterProvider
	// Propagator extracts the caller's trace context; nil means W3C Trace
	// Context and Baggage.
	Propagator propagation.TextMapPropagator
	// Tools and Prompts are the names the server serves. Each gets its own
	// precomputed span options and metric series; any other name a client
	// sends is recorded as "_OTHER" in metrics (spans keep the real name),
	// so that clients cannot create metric series at will.
	Tools   []string
	Prompts []string
	// Transport is "http" or "stdio", for the network.* span attributes.
	Transport string
	// ResourceURIInSpanName: see [Tracing.ResourceURIInSpanName].
	ResourceURIInSpanName bool
}

// Instrumentation traces and measures every MCP request a server receives:
// one SERVER span per request or notification, and the
// mcp.server.operation.duration histogram, following the OpenTelemetry MCP
// semantic conventions.
//
// It is on every request, so everything that does not depend on the request
// (span names, attributes, metric attribute sets) is computed once here, per
// method and per served tool and prompt. Span attributes are set only on
// spans that are recorded, and the in-flight count is kept in atomics that
// an asynchronous instrument reads at collection time: both are much cheaper
// per request than their synchronous SDK equivalents.
type Instrumentation struct {
	tracer       trace.Tracer
	prop         propagation.TextMapPropagator
	duration     metric.Float64Histogram
	methods      map[string]*methodOps
	spanAttrs    []attribute.KeyValue // attributes on every span (network.*)
	resourceName bool
	// attrScratch holds the lists setAttributes builds a span's
	// attributes in (*[]attribute.KeyValue).
	attrScratch sync.Pool
}

// spanStart is the one start option of every span. Options are interfaces:
// built once, they cost no allocation per span.
var spanStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// methodOps is what is precomputed for one MCP method.
type methodOps struct {
	name   string
	base   *operation            // the method without a target
	other  *operation            // tools/call and prompts/get for a name not served
	named  map[string]*operation // tools/call and prompts/get by served name
	target attribute.Key         // gen_ai.tool.name or gen_ai.prompt.name

	// active counts requests in flight; seen turns true with the first, so
	// that methods never called do not show up as series.
	active         atomic.Int64
	seen           atomic.Bool
	activeObserved []metric.ObserveOption
}

// operation is what is precomputed for one method and target.
type operation struct {
	spanName  string
	spanAttrs []attribute.KeyValue
	// metricAttrs are the metric attributes of a success; error.type is
	// appended for failures.
	metricAttrs []attribute.KeyValue
	ok          []metric.RecordOption
	toolError   []metric.RecordOption // tools/call only
}

// NewInstrumentation creates the instruments and precomputes per-method
// state.
func NewInstrumentation(o InstrumentationOptions) (*Instrumentation, error) {
	if o.Tracers == nil {
		o.Tracers = tracenoop.NewTracerProvider()
	}
	if o.Meters == nil {
		o.Meters = metricnoop.NewMeterProvider()
	}
	if o.Propagator == nil {
		o.Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	meter := o.Meters.Meter(instrumentationName)
	duration, err := meter.Float64Histogram(MetricOperationDuration,
		metric.WithUnit("s"),
		metric.WithDescription("MCP request or notification duration as observed on the receiver from the time it was received until the result or ack is sent."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", MetricOperationDuration, err)
	}
	in := &Instrumentation{
		tracer:       o.Tracers.Tracer(instrumentationName),
		prop:         o.Propagator,
		duration:     duration,
		methods:      make(map[string]*methodOps, len(serverMethods)),
		resourceName: o.ResourceURIInSpanName,
	}
	in.attrScratch.New = func() any { s := make([]attribute.KeyValue, 0, 12); return &s }
	switch o.Transport {
	case "http":
		in.spanAttrs = []attribute.KeyValue{keyNetworkTransport.String("tcp"), keyNetworkProtocol.String("http")}
	case "stdio":
		in.spanAttrs = []attribute.KeyValue{keyNetworkTransport.String("pipe")}
	}
	for _, name := range serverMethods {
		in.methods[name] = in.newMethodOps(name, o.Tools, o.Prompts)
	}
	_, err = meter.Int64ObservableUpDownCounter(MetricActiveRequests,
		metric.WithUnit("{request}"),
		metric.WithDescription("MCP requests and notifications being handled now."),
		metric.WithInt64Callback(in.observeActive))
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", MetricActiveRequests, err)
	}
	return in, nil
}

func (in *Instrumentation) observeActive(_ context.Context, o metric.Int64Observer) error {
	for _, m := range in.methods {
		if m.seen.Load() {
			o.Observe(m.active.Load(), m.activeObserved...)
		}
	}
	return nil
}

func (in *Instrumentation) newMethodOps(method string, tools, prompts []string) *methodOps {
	m := &methodOps{
		name: method,
		base: in.newOperation(method, "", ""),
	}
	m.activeObserved = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(keyMCPMethodName.String(method)))}
	var names []string
	switch method {
	case methodCallTool:
		m.target, names = keyGenAIToolName, tools
	case methodGetPrompt:
		m.target, names = keyGenAIPromptName, prompts
	default:
		return m
	}
	m.other = in.newOperation(method, m.target, valueOther)
	m.named = make(map[string]*operation, len(names))
	for _, n := range names {
		m.named[n] = in.newOperation(method, m.target, n)
	}
	return m
}

func (in *Instrumentation) newOperation(method string, targetKey attribute.Key, target string) *operation {
	attrs := []attribute.KeyValue{keyMCPMethodName.String(method)}
	if target != "" {
		attrs = append(attrs, targetKey.String(target))
	}
	if method == methodCallTool {
		attrs = append(attrs, keyGenAIOperationName.String(operationExecuteTool))
	}
	op := &operation{
		spanName:    method,
		metricAttrs: attrs,
		ok:          []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))},
	}
	if target != "" && target != valueOther {
		op.spanName = method + " " + target
	}
	op.spanAttrs = append(slices.Clip(attrs), in.spanAttrs...)
	if method == methodCallTool {
		set := attribute.NewSet(append(slices.Clip(attrs), keyErrorType.String(errorTypeToolError))...)
		op.toolError = []metric.RecordOption{metric.WithAttributeSet(set)}
	}
	return op
}

// Middleware returns the go-sdk receiving middleware.
func (in *Instrumentation) Middleware() mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			return in.handle(ctx, method, req, next)
		}
	}
}

func (in *Instrumentation) handle(ctx context.Context, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	m := in.methods[method]
	if m == nil {
		// A method newer than this list: traced and measured, just not
		// precomputed (nor counted in flight).
		m = in.newMethodOps(method, nil, nil)
	}
	p := readParams(req.GetParams())

	op, served := m.base, true
	if m.named != nil {
		if op, served = m.named[p.name]; !served {
			op = m.other
			// The name is the client's, not ours: bound it.
			p.name = truncate(p.name, maxUnservedName)
		}
	}
	spanName := op.spanName
	if !served {
		spanName = method + " " + p.name
	} else if in.resourceName && p.uri != "" && method == methodReadResource {
		spanName = method + " " + p.uri
	}

	parent, link := in.parentContext(ctx, req, p.meta)
	startOpts := spanStart
	if link.SpanContext.IsValid() {
		startOpts = append(slices.Clip(startOpts), trace.WithLinks(link))
	}
	ctx, span := in.tracer.Start(parent, spanName, startOpts...)
	if span.IsRecording() {
		in.setAttributes(span, op, m, req, p, served)
	}

	if !m.seen.Load() {
		m.seen.Store(true)
	}
	m.active.Add(1)
	start := time.Now()
	res, err := next(ctx, method, req)
	elapsed := time.Since(start).Seconds()
	m.active.Add(-1)

	o := classify(res, err)
	switch {
	case o.errorType == "":
		in.duration.Record(ctx, elapsed, op.ok...)
	case o.errorType == errorTypeToolError && op.toolError != nil:
		in.duration.Record(ctx, elapsed, op.toolError...)
		span.SetAttributes(keyErrorType.String(o.errorType))
		span.SetStatus(codes.Error, "tool returned isError")
	default:
		errAttrs := []attribute.KeyValue{keyErrorType.String(o.errorType)}
		if o.statusCode != "" {
			errAttrs = append(errAttrs, keyRPCStatusCode.String(o.statusCode))
		}
		span.SetAttributes(errAttrs...)
		span.SetStatus(codes.Error, o.message)
		// NewSet sorts its argument in place: give it a fresh slice.
		set := attribute.NewSet(append(slices.Clip(op.metricAttrs), errAttrs...)...)
		in.duration.Record(ctx, elapsed, metric.WithAttributeSet(set))
	}
	span.End()
	return res, err
}

// setAttributes sets a recorded span's attributes in one call: the
// operation's precomputed ones and those that vary per request.
func (in *Instrumentation) setAttributes(span trace.Span, op *operation, m *methodOps, req mcp.Request, p params, served bool) {
	// The span copies what it is given, so the list is scratch.
	scratch := in.attrScratch.Get().(*[]attribute.KeyValue)
	attrs := append((*scratch)[:0], op.spanAttrs...)
	if !served {
		attrs = append(attrs, m.target.String(p.name))
	}
	if p.uri != "" {
		attrs = append(attrs, keyMCPResourceURI.String(p.uri))
	}
	if ss, ok := req.GetSession().(*mcp.ServerSession); ok && ss != nil {
		if id := ss.ID(); id != "" {
			attrs = append(attrs, keyMCPSessionID.String(id))
		}
	}
	// Every *mcp.ServerRequest has ProtocolVersion; it reads the request's
	// _meta (2026-07-28 and later) or the session's negotiated version.
	if pv, ok := req.(interface{ ProtocolVersion() string }); ok {
		if v := pv.ProtocolVersion(); v != "" {
			attrs = append(attrs, keyMCPProtocolVersion.String(v))
		}
	}
	span.SetAttributes(attrs...)
	clear(attrs) // no references to the request's strings in the pool
	*scratch = attrs[:0]
	in.attrScratch.Put(scratch)
}

// parentContext returns the context the span starts from. Following the MCP
// conventions, trace context in params._meta is the parent; trace context in
// the HTTP headers is the parent when _meta has none, and is linked when
// _meta has one (one MCP request can span several HTTP requests, and one
// HTTP request can carry several MCP messages).
func (in *Instrumentation) parentContext(ctx context.Context, req mcp.Request, meta map[string]any) (context.Context, trace.Link) {
	parent := ctx
	if extra := req.GetExtra(); extra != nil && (len(extra.Header["Traceparent"]) > 0 || len(extra.Header["Baggage"]) > 0) {
		parent = in.prop.Extract(ctx, headerCarrier(extra.Header))
	}
	if !hasTraceContext(meta) {
		return parent, trace.Link{}
	}
	fromHeader := trace.SpanContextFromContext(parent)
	// Extracting over the header context keeps the header's baggage when
	// _meta carries none.
	parent = in.prop.Extract(parent, metaCarrier(meta))
	var link trace.Link
	if fromMeta := trace.SpanContextFromContext(parent); fromHeader.IsValid() && !fromMeta.Equal(fromHeader) {
		link = trace.Link{SpanContext: fromHeader}
	}
	return parent, link
}

// maxUnservedName bounds a tool or prompt name the server does not serve,
// as recorded on its span. Served names are at most 64 bytes.
const maxUnservedName = 128

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// outcome is how a request ended, in semantic-convention terms.
type outcome struct {
	errorType  string // "" on success
	statusCode string // JSON-RPC error code, when there is one
	message    string // span status description
}

// classify maps a handler's return values onto error.type: "tool_error" for
// a CallToolResult with isError, the JSON-RPC error code for a protocol
// error, "timeout"/"cancelled" for context errors, and the Go error type
// otherwise (the client then sees code 0).
func classify(res mcp.Result, err error) outcome {
	if err == nil {
		if r, ok := res.(*mcp.CallToolResult); ok && r != nil && r.IsError {
			return outcome{errorType: errorTypeToolError}
		}
		return outcome{}
	}
	var wire *jsonrpc.Error
	if errors.As(err, &wire) {
		code := codeString(wire.Code)
		return outcome{errorType: code, statusCode: code, message: err.Error()}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return outcome{errorType: errorTypeTimeout, message: err.Error()}
	case errors.Is(err, context.Canceled):
		return outcome{errorType: errorTypeCancelled, message: err.Error()}
	}
	return outcome{errorType: semconv.ErrorType(err).Value.AsString(), message: err.Error()}
}

// codeString formats a JSON-RPC error code, without allocating for the
// common ones.
func codeString(code int64) string {
	switch code {
	case jsonrpc.CodeParseError:
		return "-32700"
	case jsonrpc.CodeInvalidRequest:
		return "-32600"
	case jsonrpc.CodeMethodNotFound:
		return "-32601"
	case jsonrpc.CodeInvalidParams:
		return "-32602"
	case jsonrpc.CodeInternalError:
		return "-32603"
	}
	return strconv.FormatInt(code, 10)
}
