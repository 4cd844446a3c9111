package otlp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Temporality is an OTLP exporter's temporality preference, as in
// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE.
type Temporality int

const (
	// TemporalityCumulative reports every instrument cumulatively (the
	// default; what Prometheus-style backends expect).
	TemporalityCumulative Temporality = iota
	// TemporalityDelta reports counters (synchronous and asynchronous) and
	// histograms as deltas, up-down counters and gauges cumulatively.
	TemporalityDelta
	// TemporalityLowMemory reports synchronous counters and histograms as
	// deltas, everything else cumulatively: the SDK then keeps no state for
	// the delta instruments between collections.
	TemporalityLowMemory
)

// ParseTemporality parses a temporality preference (cumulative, delta,
// lowmemory; case-insensitive as the specification asks).
func ParseTemporality(s string) (Temporality, error) {
	switch {
	case strings.EqualFold(s, "cumulative"):
		return TemporalityCumulative, nil
	case strings.EqualFold(s, "delta"):
		return TemporalityDelta, nil
	case strings.EqualFold(s, "lowmemory"):
		return TemporalityLowMemory, nil
	}
	return 0, fmt.Errorf("unknown temporality preference %q; use cumulative, delta or lowmemory", s)
}

// Select returns the temporality for an instrument kind.
func (t Temporality) Select(kind sdkmetric.InstrumentKind) metricdata.Temporality {
	switch t {
	case TemporalityDelta:
		switch kind {
		case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindObservableCounter, sdkmetric.InstrumentKindHistogram:
			return metricdata.DeltaTemporality
		}
	case TemporalityLowMemory:
		switch kind {
		case sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindHistogram:
			return metricdata.DeltaTemporality
		}
	}
	return metricdata.CumulativeTemporality
}

// MetricOptions are the metric exporter's own settings.
type MetricOptions struct {
	// Temporality is the temporality preference.
	Temporality Temporality
	// ExponentialHistograms aggregates histogram instruments into base-2
	// exponential histograms instead of explicit buckets
	// (OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=
	// base2_exponential_bucket_histogram), with the SDK's default size and
	// scale.
	ExponentialHistograms bool
}

// MetricExporter sends metrics to an OTLP/HTTP receiver in protobuf. It is
// an sdkmetric.Exporter, meant for a periodic reader.
type MetricExporter struct {
	client *client
	opts   MetricOptions

	mu  sync.Mutex // serialises encoding, which reuses enc's buffer
	enc MetricEncoder
}

var _ sdkmetric.Exporter = (*MetricExporter)(nil)

// NewMetricExporter validates cfg and returns an exporter. Nothing is sent,
// nor any connection opened, before the first export.
func NewMetricExporter(cfg Config, opts MetricOptions) (*MetricExporter, error) {
	if opts.Temporality < TemporalityCumulative || opts.Temporality > TemporalityLowMemory {
		return nil, fmt.Errorf("OTLP metric exporter: unknown temporality %d", opts.Temporality)
	}
	c, err := newClient(cfg, signalMetrics)
	if err != nil {
		return nil, err
	}
	return &MetricExporter{client: c, opts: opts}, nil
}

// Temporality returns the temporality preference's choice for kind.
func (e *MetricExporter) Temporality(kind sdkmetric.InstrumentKind) metricdata.Temporality {
	return e.opts.Temporality.Select(kind)
}

// Aggregation returns the SDK's default aggregation for kind, or a base-2
// exponential histogram for histograms when so configured.
func (e *MetricExporter) Aggregation(kind sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return e.opts.Aggregation(kind)
}

// Aggregation is the aggregation these options select for kind: the SDK's
// default, or a base-2 exponential histogram (the SDK's default size and
// scale) for histograms when ExponentialHistograms is set. It is an
// sdkmetric.AggregationSelector.
func (o MetricOptions) Aggregation(kind sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	if o.ExponentialHistograms && kind == sdkmetric.InstrumentKindHistogram {
		return sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}
	}
	return sdkmetric.DefaultAggregationSelector(kind)
}

// Export sends one ExportMetricsServiceRequest, retrying as the OTLP
// specification says within ctx and Config.Timeout. A metric the encoder
// cannot represent is left out and reported in the returned error; the
// others are still sent. After Shutdown it returns
// sdkmetric.ErrExporterShutdown.
func (e *MetricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	if rm == nil {
		return nil
	}
	e.mu.Lock()
	body, encErr := e.enc.AppendRequest(make([]byte, 0, e.client.bodySizeHint()), rm)
	e.mu.Unlock()
	if err := e.client.send(ctx, body); err != nil {
		if errors.Is(err, errShutdown) {
			return sdkmetric.ErrExporterShutdown
		}
		return fmt.Errorf("OTLP metrics export: %w", errors.Join(err, encErr))
	}
	if encErr != nil {
		return fmt.Errorf("OTLP metrics export: %w", encErr)
	}
	return nil
}

// ForceFlush returns at once: the exporter holds no data between exports.
// It honours ctx as the interface requires.
func (e *MetricExporter) ForceFlush(ctx context.Context) error {
	return ctx.Err()
}

// Shutdown stops the exporter: an export in flight is cancelled, later ones
// fail, and idle connections are closed. A second call returns
// sdkmetric.ErrExporterShutdown, as the SDK's contract says.
func (e *MetricExporter) Shutdown(ctx context.Context) error {
	err := e.client.shutdown(ctx)
	if errors.Is(err, errShutdown) {
		return sdkmetric.ErrExporterShutdown
	}
	return err
}

// MetricEncoder encodes metrics as an OTLP ExportMetricsServiceRequest. The
// zero value is ready to use; it is not safe for concurrent use.
type MetricEncoder struct {
	enc encoder
}

// Field numbers of the metric messages (opentelemetry/proto/metrics/v1).
const (
	requestResourceMetrics = 1 // ExportMetricsServiceRequest.resource_metrics

	resourceMetricsResource  = 1
	resourceMetricsScopes    = 2
	resourceMetricsSchemaURL = 3

	scopeMetricsScope     = 1
	scopeMetricsMetrics   = 2
	scopeMetricsSchemaURL = 3

	metricName                 = 1
	metricDescription          = 2
	metricUnit                 = 3
	metricGauge                = 5
	metricSum                  = 7
	metricHistogram            = 9
	metricExponentialHistogram = 10
	metricSummary              = 11

	// Gauge, Sum, Histogram, ExponentialHistogram and Summary share these.
	dataDataPoints  = 1
	dataTemporality = 2
	sumIsMonotonic  = 3

	numberStartTime  = 2
	numberTime       = 3
	numberAsDouble   = 4
	numberExemplars  = 5
	numberAsInt      = 6
	numberAttributes = 7

	histStartTime      = 2
	histTime           = 3
	histCount          = 4
	histSum            = 5
	histBucketCounts   = 6
	histExplicitBounds = 7
	histExemplars      = 8
	histAttributes     = 9
	histMin            = 11
	histMax            = 12

	expAttributes    = 1
	expStartTime     = 2
	expTime          = 3
	expCount         = 4
	expSum           = 5
	expScale         = 6
	expZeroCount     = 7
	expPositive      = 8
	expNegative      = 9
	expExemplars     = 11
	expMin           = 12
	expMax           = 13
	expZeroThreshold = 14

	bucketsOffset = 1
	bucketsCounts = 2

	summaryStartTime = 2
	summaryTime      = 3
	summaryCount     = 4
	summarySum       = 5
	summaryQuantiles = 6
	summaryAttrs     = 7

	quantileQuantile = 1
	quantileValue    = 2

	exemplarTraceID    = 5
	exemplarTime       = 2
	exemplarAsDouble   = 3
	exemplarSpanID     = 4
	exemplarAsInt      = 6
	exemplarAttributes = 7

	// AggregationTemporality values.
	temporalityDelta      = 1
	temporalityCumulative = 2
)

// AppendRequest appends the ExportMetricsServiceRequest for rm to dst and
// returns it. A metric with an aggregation or temporality OTLP cannot carry
// is left out and reported in the error; everything else is encoded.
func (me *MetricEncoder) AppendRequest(dst []byte, rm *metricdata.ResourceMetrics) ([]byte, error) {
	e := &me.enc
	e.b = dst
	var errs []error
	r := e.open(requestResourceMetrics)
	e.resource(resourceMetricsResource, rm.Resource)
	for i := range rm.ScopeMetrics {
		sm := &rm.ScopeMetrics[i]
		s := e.open(resourceMetricsScopes)
		e.scope(scopeMetricsScope, &sm.Scope)
		for j := range sm.Metrics {
			if err := me.metric(&sm.Metrics[j]); err != nil {
				errs = append(errs, err)
			}
		}
		e.stringField(scopeMetricsSchemaURL, sm.Scope.SchemaURL)
		e.close(s)
	}
	e.stringField(resourceMetricsSchemaURL, rm.Resource.SchemaURL())
	e.close(r)
	out := e.b
	e.b = nil
	return out, errors.Join(errs...)
}

// metric writes one Metric, or nothing (and an error) when OTLP cannot carry
// it.
func (me *MetricEncoder) metric(m *metricdata.Metrics) error {
	e := &me.enc
	mark := len(e.b)
	s := e.open(scopeMetricsMetrics)
	e.stringField(metricName, m.Name)
	e.stringField(metricDescription, m.Description)
	e.stringField(metricUnit, m.Unit)
	var err error
	switch d := m.Data.(type) {
	case metricdata.Gauge[int64]:
		gauge(e, d)
	case metricdata.Gauge[float64]:
		gauge(e, d)
	case metricdata.Sum[int64]:
		err = sum(e, d)
	case metricdata.Sum[float64]:
		err = sum(e, d)
	case metricdata.Histogram[int64]:
		err = histogram(e, d)
	case metricdata.Histogram[float64]:
		err = histogram(e, d)
	case metricdata.ExponentialHistogram[int64]:
		err = exponentialHistogram(e, d)
	case metricdata.ExponentialHistogram[float64]:
		err = exponentialHistogram(e, d)
	case metricdata.Summary:
		summary(e, d)
	default:
		err = fmt.Errorf("unsupported aggregation %T", m.Data)
	}
	if err != nil {
		e.b = e.b[:mark]
		return fmt.Errorf("metric %q left out: %w", m.Name, err)
	}
	e.close(s)
	return nil
}

func temporality(t metricdata.Temporality) (uint64, error) {
	switch t {
	case metricdata.DeltaTemporality:
		return temporalityDelta, nil
	case metricdata.CumulativeTemporality:
		return temporalityCumulative, nil
	}
	return 0, fmt.Errorf("unknown temporality %s", t)
}

func gauge[N int64 | float64](e *encoder, g metricdata.Gauge[N]) {
	s := e.open(metricGauge)
	numberDataPoints(e, g.DataPoints)
	e.close(s)
}

func sum[N int64 | float64](e *encoder, d metricdata.Sum[N]) error {
	t, err := temporality(d.Temporality)
	if err != nil {
		return err
	}
	s := e.open(metricSum)
	numberDataPoints(e, d.DataPoints)
	e.varintField(dataTemporality, t)
	e.boolField(sumIsMonotonic, d.IsMonotonic)
	e.close(s)
	return nil
}

func numberDataPoints[N int64 | float64](e *encoder, dps []metricdata.DataPoint[N]) {
	for i := range dps {
		dp := &dps[i]
		s := e.open(dataDataPoints)
		e.attributeSet(numberAttributes, &dp.Attributes)
		e.timeField(numberStartTime, dp.StartTime)
		e.timeField(numberTime, dp.Time)
		numberValue(e, numberAsInt, numberAsDouble, dp.Value)
		exemplars(e, numberExemplars, dp.Exemplars)
		e.close(s)
	}
}

// numberValue writes the oneof value: as_int (sfixed64) or as_double.
func numberValue[N int64 | float64](e *encoder, intField, doubleField protowire.Number, v N) {
	switch v := any(v).(type) {
	case int64:
		e.fixed64Always(intField, uint64(v)) //nolint:gosec // sfixed64 is two's complement
	case float64:
		e.doubleAlways(doubleField, v)
	}
}

func exemplars[N int64 | float64](e *encoder, num protowire.Number, xs []metricdata.Exemplar[N]) {
	for i := range xs {
		x := &xs[i]
		s := e.open(num)
		e.keyValues(exemplarAttributes, x.FilteredAttributes)
		e.timeField(exemplarTime, x.Time)
		numberValue(e, exemplarAsInt, exemplarAsDouble, x.Value)
		e.bytesField(exemplarSpanID, x.SpanID)
		e.bytesField(exemplarTraceID, x.TraceID)
		e.close(s)
	}
}

func histogram[N int64 | float64](e *encoder, h metricdata.Histogram[N]) error {
	t, err := temporality(h.Temporality)
	if err != nil {
		return err
	}
	s := e.open(metricHistogram)
	for i := range h.DataPoints {
		dp := &h.DataPoints[i]
		p := e.open(dataDataPoints)
		e.attributeSet(histAttributes, &dp.Attributes)
		e.timeField(histStartTime, dp.StartTime)
		e.timeField(histTime, dp.Time)
		e.fixed64Field(histCount, dp.Count)
		e.doubleAlways(histSum, float64(dp.Sum))
		if len(dp.BucketCounts) > 0 {
			b := e.open(histBucketCounts) // packed fixed64
			for _, c := range dp.BucketCounts {
				e.b = protowire.AppendFixed64(e.b, c)
			}
			e.close(b)
		}
		if len(dp.Bounds) > 0 {
			b := e.open(histExplicitBounds) // packed double
			for _, v := range dp.Bounds {
				e.b = protowire.AppendFixed64(e.b, math.Float64bits(v))
			}
			e.close(b)
		}
		exemplars(e, histExemplars, dp.Exemplars)
		extrema(e, histMin, histMax, dp.Min, dp.Max)
		e.close(p)
	}
	e.varintField(dataTemporality, t)
	e.close(s)
	return nil
}

func exponentialHistogram[N int64 | float64](e *encoder, h metricdata.ExponentialHistogram[N]) error {
	t, err := temporality(h.Temporality)
	if err != nil {
		return err
	}
	s := e.open(metricExponentialHistogram)
	for i := range h.DataPoints {
		dp := &h.DataPoints[i]
		p := e.open(dataDataPoints)
		e.attributeSet(expAttributes, &dp.Attributes)
		e.timeField(expStartTime, dp.StartTime)
		e.timeField(expTime, dp.Time)
		e.fixed64Field(expCount, dp.Count)
		e.doubleAlways(expSum, float64(dp.Sum))
		e.sint32Field(expScale, dp.Scale)
		e.fixed64Field(expZeroCount, dp.ZeroCount)
		expBuckets(e, expPositive, dp.PositiveBucket)
		expBuckets(e, expNegative, dp.NegativeBucket)
		exemplars(e, expExemplars, dp.Exemplars)
		extrema(e, expMin, expMax, dp.Min, dp.Max)
		e.doubleField(expZeroThreshold, dp.ZeroThreshold)
		e.close(p)
	}
	e.varintField(dataTemporality, t)
	e.close(s)
	return nil
}

// extrema writes a histogram's optional min and max, when recorded.
func extrema[N int64 | float64](e *encoder, minField, maxField protowire.Number, lo, hi metricdata.Extrema[N]) {
	if v, ok := lo.Value(); ok {
		e.doubleAlways(minField, float64(v))
	}
	if v, ok := hi.Value(); ok {
		e.doubleAlways(maxField, float64(v))
	}
}

// expBuckets writes a Buckets message (always, as the official exporters
// do): offset (sint32) and packed uint64 counts.
func expBuckets(e *encoder, num protowire.Number, b metricdata.ExponentialBucket) {
	s := e.open(num)
	e.sint32Field(bucketsOffset, b.Offset)
	if len(b.Counts) > 0 {
		c := e.open(bucketsCounts)
		for _, n := range b.Counts {
			e.b = protowire.AppendVarint(e.b, n)
		}
		e.close(c)
	}
	e.close(s)
}

func summary(e *encoder, d metricdata.Summary) {
	s := e.open(metricSummary)
	for i := range d.DataPoints {
		dp := &d.DataPoints[i]
		p := e.open(dataDataPoints)
		e.attributeSet(summaryAttrs, &dp.Attributes)
		e.timeField(summaryStartTime, dp.StartTime)
		e.timeField(summaryTime, dp.Time)
		e.fixed64Field(summaryCount, dp.Count)
		e.doubleField(summarySum, dp.Sum)
		for _, q := range dp.QuantileValues {
			qm := e.open(summaryQuantiles)
			e.doubleField(quantileQuantile, q.Quantile)
			e.doubleField(quantileValue, q.Value)
			e.close(qm)
		}
		e.close(p)
	}
	e.close(s)
}
