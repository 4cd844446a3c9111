package otlp

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// SpanExporter sends spans to an OTLP/HTTP receiver in protobuf. It is an
// sdktrace.SpanExporter, meant to sit behind a batch span processor.
type SpanExporter struct {
	client *client

	// mu serialises encoding, which reuses enc's buffers.
	mu  sync.Mutex
	enc TraceEncoder
}

var _ sdktrace.SpanExporter = (*SpanExporter)(nil)

// NewSpanExporter validates cfg and returns an exporter. Nothing is sent,
// nor any connection opened, before the first export.
func NewSpanExporter(cfg Config) (*SpanExporter, error) {
	c, err := newClient(cfg, signalTraces)
	if err != nil {
		return nil, err
	}
	return &SpanExporter{client: c}, nil
}

// ExportSpans sends one ExportTraceServiceRequest with the spans, retrying
// as the OTLP specification says within ctx and Config.Timeout. A partial
// success is returned as a *PartialSuccessError (the spans it did not
// reject were stored); the SDK hands any error to its error handler.
func (e *SpanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	e.mu.Lock()
	// A fresh slice per request: the HTTP transport may read a request body
	// after the call that sent it returned, so it is never reused.
	body := e.enc.AppendRequest(make([]byte, 0, e.client.bodySizeHint()), spans)
	e.mu.Unlock()
	if err := e.client.send(ctx, body); err != nil {
		return fmt.Errorf("OTLP traces export: %w", err)
	}
	return nil
}

// Shutdown stops the exporter: an export in flight is cancelled, later ones
// fail, and idle connections are closed. It honours ctx and is safe to call
// more than once.
func (e *SpanExporter) Shutdown(ctx context.Context) error {
	err := e.client.shutdown(ctx)
	if errors.Is(err, errShutdown) {
		return nil
	}
	return err
}

// TraceEncoder encodes spans as an OTLP ExportTraceServiceRequest. Its
// scratch space is reused from one call to the next, so a TraceEncoder must
// not be used concurrently; the zero value is ready to use.
type TraceEncoder struct {
	enc       encoder
	resources []*resource.Resource
	groups    []spanGroup
	groupOf   []int
}

// spanGroup is one ScopeSpans: the spans of one instrumentation scope under
// one resource.
type spanGroup struct {
	resource int // index into TraceEncoder.resources
	scope    instrumentation.Scope
}

// Field numbers of the trace messages (opentelemetry/proto/trace/v1).
const (
	requestResourceSpans = 1 // ExportTraceServiceRequest.resource_spans

	resourceSpansResource  = 1
	resourceSpansScopes    = 2
	resourceSpansSchemaURL = 3

	scopeSpansScope     = 1
	scopeSpansSpans     = 2
	scopeSpansSchemaURL = 3

	spanTraceID           = 1
	spanSpanID            = 2
	spanTraceState        = 3
	spanParentSpanID      = 4
	spanName              = 5
	spanKind              = 6
	spanStartTime         = 7
	spanEndTime           = 8
	spanAttributes        = 9
	spanDroppedAttributes = 10
	spanEvents            = 11
	spanDroppedEvents     = 12
	spanLinks             = 13
	spanDroppedLinks      = 14
	spanStatus            = 15
	spanFlagsField        = 16

	eventTime              = 1
	eventName              = 2
	eventAttributes        = 3
	eventDroppedAttributes = 4

	linkTraceID           = 1
	linkSpanID            = 2
	linkTraceState        = 3
	linkAttributes        = 4
	linkDroppedAttributes = 5
	linkFlags             = 6

	statusMessage = 2
	statusCode    = 3
)

// SpanFlags bits above the W3C trace flags: whether the parent's (or a
// link's) remoteness is known, and whether it is remote.
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// AppendRequest appends the ExportTraceServiceRequest for spans to dst and
// returns it. Spans are grouped into ResourceSpans by resource and into
// ScopeSpans by instrumentation scope, in order of first appearance; nil
// spans are skipped.
func (te *TraceEncoder) AppendRequest(dst []byte, spans []sdktrace.ReadOnlySpan) []byte {
	te.group(spans)
	te.enc.b = dst
	for ri, res := range te.resources {
		rs := te.enc.open(requestResourceSpans)
		te.enc.resource(resourceSpansResource, res)
		for gi := range te.groups {
			g := &te.groups[gi]
			if g.resource != ri {
				continue
			}
			ss := te.enc.open(resourceSpansScopes)
			te.enc.scope(scopeSpansScope, &g.scope)
			for i, s := range spans {
				if te.groupOf[i] == gi {
					te.span(s)
				}
			}
			te.enc.stringField(scopeSpansSchemaURL, g.scope.SchemaURL)
			te.enc.close(ss)
		}
		te.enc.stringField(resourceSpansSchemaURL, res.SchemaURL())
		te.enc.close(rs)
	}
	out := te.enc.b
	te.enc.b = nil
	// Drop the references to the batch's resources and scopes.
	clear(te.resources)
	clear(te.groups)
	return out
}

// group assigns every span its ScopeSpans group. Batches hold few distinct
// resources and scopes, usually one of each, so linear searches starting at
// the previous span's group beat maps.
func (te *TraceEncoder) group(spans []sdktrace.ReadOnlySpan) {
	te.resources = te.resources[:0]
	te.groups = te.groups[:0]
	te.groupOf = te.groupOf[:0]
	last := -1
	for _, s := range spans {
		if s == nil {
			te.groupOf = append(te.groupOf, -1)
			continue
		}
		res, sc := s.Resource(), s.InstrumentationScope()
		if last < 0 || !te.matches(last, res, &sc) {
			last = -1
			for gi := range te.groups {
				if te.matches(gi, res, &sc) {
					last = gi
					break
				}
			}
			if last < 0 {
				last = len(te.groups)
				te.groups = append(te.groups, spanGroup{resource: te.resourceIndex(res), scope: sc})
			}
		}
		te.groupOf = append(te.groupOf, last)
	}
}

func (te *TraceEncoder) matches(gi int, res *resource.Resource, sc *instrumentation.Scope) bool {
	g := &te.groups[gi]
	return sameResource(te.resources[g.resource], res) && sameScope(&g.scope, sc)
}

func (te *TraceEncoder) resourceIndex(res *resource.Resource) int {
	for i, r := range te.resources {
		if sameResource(r, res) {
			return i
		}
	}
	te.resources = append(te.resources, res)
	return len(te.resources) - 1
}

// sameResource compares pointers first: all spans of a tracer provider share
// one *resource.Resource.
func sameResource(a, b *resource.Resource) bool {
	return a == b || (a.Equivalent() == b.Equivalent() && a.SchemaURL() == b.SchemaURL())
}

func sameScope(a, b *instrumentation.Scope) bool {
	return a.Name == b.Name && a.Version == b.Version && a.SchemaURL == b.SchemaURL && a.Attributes.Equals(&b.Attributes)
}

func (te *TraceEncoder) span(s sdktrace.ReadOnlySpan) {
	e := &te.enc
	m := e.open(scopeSpansSpans)
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	e.bytesField(spanTraceID, tid[:])
	e.bytesField(spanSpanID, sid[:])
	e.stringField(spanTraceState, sc.TraceState().String())
	parent := s.Parent()
	if psid := parent.SpanID(); psid.IsValid() {
		e.bytesField(spanParentSpanID, psid[:])
	}
	e.stringField(spanName, s.Name())
	e.varintField(spanKind, uint64(otlpSpanKind(s.SpanKind())))
	e.timeField(spanStartTime, s.StartTime())
	e.timeField(spanEndTime, s.EndTime())
	e.keyValues(spanAttributes, s.Attributes())
	e.varintField(spanDroppedAttributes, clampUint32(s.DroppedAttributes()))
	for _, ev := range s.Events() {
		em := e.open(spanEvents)
		e.timeField(eventTime, ev.Time)
		e.stringField(eventName, ev.Name)
		e.keyValues(eventAttributes, ev.Attributes)
		e.varintField(eventDroppedAttributes, clampUint32(ev.DroppedAttributeCount))
		e.close(em)
	}
	e.varintField(spanDroppedEvents, clampUint32(s.DroppedEvents()))
	for _, l := range s.Links() {
		lm := e.open(spanLinks)
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		e.bytesField(linkTraceID, ltid[:])
		e.bytesField(linkSpanID, lsid[:])
		e.stringField(linkTraceState, l.SpanContext.TraceState().String())
		e.keyValues(linkAttributes, l.Attributes)
		e.varintField(linkDroppedAttributes, clampUint32(l.DroppedAttributeCount))
		e.fixed32Field(linkFlags, spanFlags(l.SpanContext.TraceFlags(), l.SpanContext.IsRemote()))
		e.close(lm)
	}
	e.varintField(spanDroppedLinks, clampUint32(s.DroppedLinks()))
	// Status is always written, as the official exporters do.
	st := s.Status()
	sm := e.open(spanStatus)
	e.stringField(statusMessage, st.Description)
	e.varintField(statusCode, uint64(otlpStatusCode(st.Code)))
	e.close(sm)
	e.fixed32Field(spanFlagsField, spanFlags(sc.TraceFlags(), parent.IsRemote()))
	e.close(m)
}

// spanFlags is the OTLP flags field: the W3C trace flags in the low byte,
// and whether the parent (or linked) context is remote.
func spanFlags(tf trace.TraceFlags, remote bool) uint32 {
	f := uint32(tf) | flagHasIsRemote
	if remote {
		f |= flagIsRemote
	}
	return f
}

// otlpSpanKind maps the API's span kinds, which share OTLP's numbering, and
// anything unknown to UNSPECIFIED.
func otlpSpanKind(k trace.SpanKind) int {
	if k < trace.SpanKindInternal || k > trace.SpanKindConsumer {
		return 0
	}
	return int(k)
}

// otlpStatusCode maps codes.Code (Unset, Error, Ok) to OTLP's numbering
// (UNSET = 0, OK = 1, ERROR = 2), which differs.
func otlpStatusCode(c codes.Code) int {
	switch c {
	case codes.Ok:
		return 1
	case codes.Error:
		return 2
	default:
		return 0
	}
}
