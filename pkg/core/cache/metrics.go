package cache

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Metric attribute keys.
const (
	attrBackend   = attribute.Key("cache.backend")
	attrName      = attribute.Key("cache.name")
	attrOperation = attribute.Key("cache.operation")
	attrReason    = attribute.Key("cache.eviction.reason")
)

// Eviction reasons.
const (
	reasonCapacity = "capacity"
	reasonExpired  = "expired"
)

// Cache operations, as the cache.operation attribute of errors.
const (
	opGet    = "get"
	opSet    = "set"
	opDelete = "delete"
)

// metrics counts cache outcomes. The attribute sets are built once so that
// counting costs no allocation.
type metrics struct {
	hits, misses, errors, evictions metric.Int64Counter

	// Option slices, passed with ... so that no call allocates one.
	base     []metric.AddOption
	errorOps map[string][]metric.AddOption
	reasons  map[string][]metric.AddOption
}

func newMetrics(mp metric.MeterProvider, backend, name string) *metrics {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	meter := mp.Meter("github.com/mcpfleet/mcpfleet/pkg/core/cache")
	common := []attribute.KeyValue{attrBackend.String(backend), attrName.String(name)}
	with := func(kv ...attribute.KeyValue) []metric.AddOption {
		return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(append(kv, common...)...))}
	}
	m := &metrics{
		base:     with(),
		errorOps: map[string][]metric.AddOption{},
		reasons:  map[string][]metric.AddOption{},
	}
	for _, op := range []string{opGet, opSet, opDelete} {
		m.errorOps[op] = with(attrOperation.String(op))
	}
	for _, r := range []string{reasonCapacity, reasonExpired} {
		m.reasons[r] = with(attrReason.String(r))
	}
	// Instrument creation only fails on an invalid name, and these are
	// constants; the API still returns a usable no-op instrument then.
	m.hits, _ = meter.Int64Counter("mcpfleet.cache.hits", metric.WithUnit("{hit}"),
		metric.WithDescription("Cache lookups that found a live value."))
	m.misses, _ = meter.Int64Counter("mcpfleet.cache.misses", metric.WithUnit("{miss}"),
		metric.WithDescription("Cache lookups that found nothing or an expired value."))
	m.errors, _ = meter.Int64Counter("mcpfleet.cache.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Cache operations that failed; callers treat them as misses."))
	m.evictions, _ = meter.Int64Counter("mcpfleet.cache.evictions", metric.WithUnit("{entry}"),
		metric.WithDescription("Entries removed to make room or because they expired."))
	return m
}

// The context is passed on so that an SDK can attach exemplars (the trace
// of the tool call that hit or missed).
func (m *metrics) hit(ctx context.Context)  { m.hits.Add(ctx, 1, m.base...) }
func (m *metrics) miss(ctx context.Context) { m.misses.Add(ctx, 1, m.base...) }

func (m *metrics) fail(ctx context.Context, op string) { m.errors.Add(ctx, 1, m.errorOps[op]...) }

func (m *metrics) evicted(ctx context.Context, reason string, n int64) {
	if n > 0 {
		m.evictions.Add(ctx, n, m.reasons[reason]...)
	}
}
