package otlp_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/mcpfleet/mcpfleet/pkg/observability/otlp"
)

// everyKind holds an attribute of every value type the API has.
var everyKind = []attribute.KeyValue{
	attribute.Bool("bool", true),
	attribute.Bool("bool.false", false),
	attribute.Int64("int", -42),
	attribute.Int64("int.zero", 0),
	attribute.Float64("float", 3.25),
	attribute.Float64("float.zero", 0),
	attribute.Float64("float.nan", math.NaN()),
	attribute.String("string", "héllo"),
	attribute.String("string.empty", ""),
	attribute.BoolSlice("bools", []bool{true, false}),
	attribute.Int64Slice("ints", []int64{1, -2, math.MaxInt64}),
	attribute.Float64Slice("floats", []float64{0, -1.5, math.Inf(1)}),
	attribute.StringSlice("strings", []string{"a", "", "c"}),
	attribute.ByteSlice("bytes", []byte{0, 1, 0xff}),
	attribute.Slice("mixed", attribute.IntValue(1), attribute.StringValue("two"), attribute.SliceValue(attribute.BoolValue(true))),
	attribute.Map("map", attribute.String("k", "v"), attribute.Map("nested", attribute.Int("n", 1))),
	{Key: "empty"},
}

// testSpans produces spans with the real SDK: two resources, three scopes
// (one with version, schema URL and attributes), remote and local parents,
// trace state, events, links and every kind of dropped count.
func testSpans(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	limits := sdktrace.NewSpanLimits()
	limits.AttributeCountLimit = len(everyKind) + 1
	limits.EventCountLimit = 2
	limits.LinkCountLimit = 1
	limits.AttributePerEventCountLimit = 1
	limits.AttributePerLinkCountLimit = 1
	resA := sdkresource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "svc-a"), attribute.Int("process.pid", 7))
	resB := sdkresource.NewSchemaless(attribute.String("service.name", "svc-b"))
	tpA := sdktrace.NewTracerProvider(sdktrace.WithResource(resA), sdktrace.WithSyncer(exp), sdktrace.WithRawSpanLimits(limits))
	tpB := sdktrace.NewTracerProvider(sdktrace.WithResource(resB), sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tpA.Shutdown(context.Background()); _ = tpB.Shutdown(context.Background()) })

	one := tpA.Tracer("scope.one", trace.WithInstrumentationVersion("1.2.3"), trace.WithSchemaURL("https://example.test/schema"),
		trace.WithInstrumentationAttributes(attribute.String("scope.attr", "x")))
	two := tpA.Tracer("scope.two")
	other := tpB.Tracer("scope.b")

	ts, err := trace.ParseTraceState("vendor=value,other=1")
	if err != nil {
		t.Fatal(err)
	}
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled,
		TraceState: ts,
		Remote:     true,
	})
	linked := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xaa, 1}, SpanID: trace.SpanID{0xbb, 2}, TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true,
	})
	start := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), remote)

	ctx, root := one.Start(ctx, "root", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start),
		trace.WithAttributes(everyKind...),
		trace.WithLinks(
			trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.String("l1", "a"), attribute.String("l2", "b")}},
			trace.Link{SpanContext: linked},
		))
	root.SetAttributes(attribute.String("over.limit.1", "x"), attribute.String("over.limit.2", "y"))
	root.AddEvent("first", trace.WithTimestamp(start.Add(time.Millisecond)), trace.WithAttributes(attribute.Int("e1", 1), attribute.Int("e2", 2)))
	root.AddEvent("second", trace.WithTimestamp(start.Add(2*time.Millisecond)))
	root.AddEvent("third", trace.WithTimestamp(start.Add(3*time.Millisecond)))
	root.SetStatus(codes.Error, "it broke")

	_, child := two.Start(ctx, "child", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start.Add(time.Microsecond)))
	child.SetStatus(codes.Ok, "")
	child.End(trace.WithTimestamp(start.Add(time.Second)))

	_, b := other.Start(context.Background(), "elsewhere")
	b.End()

	_, again := one.Start(ctx, "sibling", trace.WithSpanKind(trace.SpanKindProducer))
	again.End()
	root.End(trace.WithTimestamp(start.Add(2 * time.Second)))

	return exp.GetSpans().Snapshots()
}

func TestTraceEncodingMatchesSDK(t *testing.T) {
	spans := testSpans(t)
	// A nil span is skipped, as by the official exporter.
	spans = append(spans[:2:2], append([]sdktrace.ReadOnlySpan{nil}, spans[2:]...)...)

	var enc otlp.TraceEncoder
	body := enc.AppendRequest(nil, spans)
	var got coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &got); err != nil {
		t.Fatalf("official types cannot decode the request: %v", err)
	}
	if diff := cmp.Diff(wantTraceRequest(spans), &got, protocmp.Transform(), cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("decoded request differs from the SDK's spans (-want +got):\n%s", diff)
	}
	if n := len(got.GetResourceSpans()); n != 2 {
		t.Errorf("%d ResourceSpans, want 2 (one per resource)", n)
	}

	// The encoder reuses its scratch space: a second batch is encoded
	// from scratch, not appended to the first.
	again := enc.AppendRequest(nil, spans[:1])
	var one coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(again, &one); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantTraceRequest(spans[:1]), &one, protocmp.Transform(), cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("second batch (-want +got):\n%s", diff)
	}
}

// Bodies over 127 bytes need multi-byte lengths; large attribute values
// exercise the shifting of already-written bytes.
func TestTraceEncodingLargeValues(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	for _, n := range []int{0, 1, 100, 127, 128, 200, 16383, 16384, 70000, 3 << 20} {
		_, s := tp.Tracer("big").Start(context.Background(), "big")
		s.SetAttributes(attribute.String("v", string(make([]byte, n))))
		s.End()
	}
	spans := exp.GetSpans().Snapshots()
	var enc otlp.TraceEncoder
	var got coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(enc.AppendRequest(nil, spans), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantTraceRequest(spans), &got, protocmp.Transform(), cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// wantTraceRequest is the test's oracle: the SDK's spans converted with the
// official generated types, grouped by resource and scope in order of
// first appearance.
func wantTraceRequest(spans []sdktrace.ReadOnlySpan) *coltracepb.ExportTraceServiceRequest {
	req := &coltracepb.ExportTraceServiceRequest{}
	type scopeKey struct {
		res   attribute.Distinct
		name  string
		ver   string
		url   string
		attrs attribute.Distinct
	}
	byRes := map[attribute.Distinct]*tracepb.ResourceSpans{}
	byScope := map[scopeKey]*tracepb.ScopeSpans{}
	for _, s := range spans {
		if s == nil {
			continue
		}
		rk := s.Resource().Equivalent()
		rs := byRes[rk]
		if rs == nil {
			rs = &tracepb.ResourceSpans{
				Resource:  &resourcepb.Resource{Attributes: wantKeyValues(s.Resource().Attributes())},
				SchemaUrl: s.Resource().SchemaURL(),
			}
			byRes[rk] = rs
			req.ResourceSpans = append(req.ResourceSpans, rs)
		}
		sc := s.InstrumentationScope()
		sk := scopeKey{rk, sc.Name, sc.Version, sc.SchemaURL, sc.Attributes.Equivalent()}
		ss := byScope[sk]
		if ss == nil {
			ss = &tracepb.ScopeSpans{SchemaUrl: sc.SchemaURL}
			if sc.Name != "" || sc.Version != "" || sc.Attributes.Len() > 0 {
				ss.Scope = &commonpb.InstrumentationScope{Name: sc.Name, Version: sc.Version, Attributes: wantKeyValues(sc.Attributes.ToSlice())}
			}
			byScope[sk] = ss
			rs.ScopeSpans = append(rs.ScopeSpans, ss)
		}
		ss.Spans = append(ss.Spans, wantSpan(s))
	}
	return req
}

func wantSpan(s sdktrace.ReadOnlySpan) *tracepb.Span {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	out := &tracepb.Span{
		TraceId:                tid[:],
		SpanId:                 sid[:],
		TraceState:             sc.TraceState().String(),
		Flags:                  uint32(sc.TraceFlags()) | 0x100,
		Name:                   s.Name(),
		Kind:                   tracepb.Span_SpanKind(s.SpanKind()),
		StartTimeUnixNano:      uint64(s.StartTime().UnixNano()),
		EndTimeUnixNano:        uint64(s.EndTime().UnixNano()),
		Attributes:             wantKeyValues(s.Attributes()),
		DroppedAttributesCount: uint32(s.DroppedAttributes()),
		DroppedEventsCount:     uint32(s.DroppedEvents()),
		DroppedLinksCount:      uint32(s.DroppedLinks()),
		Status:                 &tracepb.Status{Message: s.Status().Description},
	}
	if p := s.Parent(); p.SpanID().IsValid() {
		psid := p.SpanID()
		out.ParentSpanId = psid[:]
		if p.IsRemote() {
			out.Flags |= 0x200
		}
	}
	switch s.Status().Code {
	case codes.Ok:
		out.Status.Code = tracepb.Status_STATUS_CODE_OK
	case codes.Error:
		out.Status.Code = tracepb.Status_STATUS_CODE_ERROR
	}
	for _, ev := range s.Events() {
		out.Events = append(out.Events, &tracepb.Span_Event{
			TimeUnixNano:           uint64(ev.Time.UnixNano()),
			Name:                   ev.Name,
			Attributes:             wantKeyValues(ev.Attributes),
			DroppedAttributesCount: uint32(ev.DroppedAttributeCount),
		})
	}
	for _, l := range s.Links() {
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		flags := uint32(l.SpanContext.TraceFlags()) | 0x100
		if l.SpanContext.IsRemote() {
			flags |= 0x200
		}
		out.Links = append(out.Links, &tracepb.Span_Link{
			TraceId:                ltid[:],
			SpanId:                 lsid[:],
			TraceState:             l.SpanContext.TraceState().String(),
			Attributes:             wantKeyValues(l.Attributes),
			DroppedAttributesCount: uint32(l.DroppedAttributeCount),
			Flags:                  flags,
		})
	}
	return out
}

func wantKeyValues(kvs []attribute.KeyValue) []*commonpb.KeyValue {
	var out []*commonpb.KeyValue
	for _, kv := range kvs {
		out = append(out, &commonpb.KeyValue{Key: string(kv.Key), Value: wantAnyValue(kv.Value)})
	}
	return out
}

func wantAnyValue(v attribute.Value) *commonpb.AnyValue {
	array := func(vs ...*commonpb.AnyValue) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
	}
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	boolean := func(b bool) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: b}}
	}
	integer := func(i int64) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
	}
	double := func(f float64) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
	}
	var vs []*commonpb.AnyValue
	switch v.Type() {
	case attribute.EMPTY:
		return &commonpb.AnyValue{}
	case attribute.BOOL:
		return boolean(v.AsBool())
	case attribute.INT64:
		return integer(v.AsInt64())
	case attribute.FLOAT64:
		return double(v.AsFloat64())
	case attribute.STRING:
		return str(v.AsString())
	case attribute.BYTESLICE:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: v.AsByteSlice()}}
	case attribute.BOOLSLICE:
		for _, x := range v.AsBoolSlice() {
			vs = append(vs, boolean(x))
		}
	case attribute.INT64SLICE:
		for _, x := range v.AsInt64Slice() {
			vs = append(vs, integer(x))
		}
	case attribute.FLOAT64SLICE:
		for _, x := range v.AsFloat64Slice() {
			vs = append(vs, double(x))
		}
	case attribute.STRINGSLICE:
		for _, x := range v.AsStringSlice() {
			vs = append(vs, str(x))
		}
	case attribute.SLICE:
		for _, x := range v.AsSlice() {
			vs = append(vs, wantAnyValue(x))
		}
	case attribute.MAP:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: wantKeyValues(v.AsMap())}}}
	default:
		return str("INVALID")
	}
	return array(vs...)
}
