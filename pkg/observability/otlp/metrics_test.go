package otlp_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"

	"github.com/mcpfleet/mcpfleet/pkg/observability/otlp"
)

// testMetrics records with a real instrument of every kind the API has,
// synchronous and asynchronous, int64 and float64, through the real SDK:
// explicit and exponential histograms, exemplars (with trace context and
// filtered attributes), two scopes (one with version, schema URL and
// attributes) and a resource with a schema URL.
func testMetrics(t *testing.T, temporality otlp.Temporality) *metricdata.ResourceMetrics {
	t.Helper()
	ctx := context.Background()
	reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(temporality.Select))
	res := sdkresource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "metrics-test"), attribute.StringSlice("tags", []string{"a", "b"}))
	mp := sdkmetric.NewMeterProvider(
		sdkmetric.WithResource(res),
		sdkmetric.WithReader(reader),
		sdkmetric.WithExemplarFilter(exemplar.AlwaysOnFilter),
		sdkmetric.WithView(
			sdkmetric.NewView(sdkmetric.Instrument{Name: "exp.*"},
				sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}}),
			// Attributes a view filters out end up on the exemplars.
			sdkmetric.NewView(sdkmetric.Instrument{Name: "filtered.counter"},
				sdkmetric.Stream{AttributeFilter: attribute.NewAllowKeysFilter("kept")}),
		),
	)
	t.Cleanup(func() { _ = mp.Shutdown(ctx) })

	// Exemplars carry the trace and span of a sampled span.
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(ctx) })
	ctx, span := tp.Tracer("t").Start(ctx, "recording")
	defer span.End()

	one := mp.Meter("scope.one", metric.WithInstrumentationVersion("1.2.3"), metric.WithSchemaURL("https://example.test/schema"),
		metric.WithInstrumentationAttributes(attribute.String("scope.attr", "x")))
	two := mp.Meter("scope.two")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	attrs := metric.WithAttributes(attribute.String("method", "tools/call"), attribute.Bool("ok", true))
	other := metric.WithAttributes(attribute.String("method", "ping"))

	ic, err := one.Int64Counter("int.counter", metric.WithDescription("an int counter"), metric.WithUnit("{call}"))
	must(err)
	ic.Add(ctx, 3, attrs)
	ic.Add(ctx, 4, other)
	fc, err := one.Float64Counter("float.counter", metric.WithUnit("s"))
	must(err)
	fc.Add(ctx, 0.25, attrs)
	iu, err := one.Int64UpDownCounter("int.updown")
	must(err)
	iu.Add(ctx, -5, attrs)
	fu, err := one.Float64UpDownCounter("float.updown")
	must(err)
	fu.Add(ctx, 1.5)
	ih, err := one.Int64Histogram("int.histogram", metric.WithExplicitBucketBoundaries(1, 10, 100))
	must(err)
	for _, v := range []int64{0, 5, 50, 500} {
		ih.Record(ctx, v, attrs)
	}
	fh, err := one.Float64Histogram("float.histogram")
	must(err)
	fh.Record(ctx, 0.003, attrs)
	fh.Record(ctx, 12.5, attrs)
	ig, err := one.Int64Gauge("int.gauge")
	must(err)
	ig.Record(ctx, -7, attrs)
	fg, err := one.Float64Gauge("float.gauge")
	must(err)
	fg.Record(ctx, math.Pi)
	eih, err := two.Int64Histogram("exp.int.histogram")
	must(err)
	for _, v := range []int64{0, 1, 2, 3, 1000} {
		eih.Record(ctx, v, attrs)
	}
	efh, err := two.Float64Histogram("exp.float.histogram")
	must(err)
	for _, v := range []float64{0, 0.5, 0.75, 1e6} {
		efh.Record(ctx, v)
	}
	filtered, err := two.Int64Counter("filtered.counter")
	must(err)
	filtered.Add(ctx, 1, metric.WithAttributes(attribute.String("kept", "k"), attribute.String("dropped", "d"), attribute.Int("also.dropped", 2)))

	_, err = two.Int64ObservableCounter("int.observable.counter", metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(11, attrs)
		return nil
	}))
	must(err)
	_, err = two.Float64ObservableCounter("float.observable.counter", metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
		o.Observe(1.25)
		return nil
	}))
	must(err)
	_, err = two.Int64ObservableUpDownCounter("int.observable.updown", metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(-2)
		return nil
	}))
	must(err)
	_, err = two.Float64ObservableUpDownCounter("float.observable.updown", metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
		o.Observe(-0.5)
		return nil
	}))
	must(err)
	_, err = two.Int64ObservableGauge("int.observable.gauge", metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(math.MaxInt64, attrs)
		return nil
	}))
	must(err)
	_, err = two.Float64ObservableGauge("float.observable.gauge", metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
		o.Observe(math.Inf(-1))
		return nil
	}))
	must(err)

	rm := new(metricdata.ResourceMetrics)
	if err := reader.Collect(context.Background(), rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// handMadeScope holds what the SDK's instruments never produce but an
// exporter must still carry (a Summary from a bridge, negative exponential
// buckets, a zero threshold, histograms without min and max), and times at
// or before the epoch.
func handMadeScope() metricdata.ScopeMetrics {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	set := attribute.NewSet(attribute.String("source", "bridge"))
	return metricdata.ScopeMetrics{
		// The zero scope: no InstrumentationScope is written.
		Metrics: []metricdata.Metrics{
			{Name: "summary", Description: "from a bridge", Unit: "ms", Data: metricdata.Summary{DataPoints: []metricdata.SummaryDataPoint{{
				Attributes: set, StartTime: now.Add(-time.Minute), Time: now, Count: 10, Sum: 123.5,
				QuantileValues: []metricdata.QuantileValue{{Quantile: 0, Value: 1}, {Quantile: 0.5, Value: 10}, {Quantile: 1, Value: 50}},
			}, {Time: now}}}},
			{Name: "exp.negative", Data: metricdata.ExponentialHistogram[float64]{Temporality: metricdata.DeltaTemporality, DataPoints: []metricdata.ExponentialHistogramDataPoint[float64]{{
				Attributes: set, StartTime: now.Add(-time.Minute), Time: now, Count: 9, Sum: -3.5, Scale: -2, ZeroCount: 1, ZeroThreshold: 1e-9,
				PositiveBucket: metricdata.ExponentialBucket{Offset: -3, Counts: []uint64{1, 0, 2}},
				NegativeBucket: metricdata.ExponentialBucket{Offset: 5, Counts: []uint64{4, 1}},
				Min:            metricdata.NewExtrema(-40.0), Max: metricdata.NewExtrema(2.0),
			}}}},
			{Name: "histogram.no.minmax", Data: metricdata.Histogram[int64]{Temporality: metricdata.CumulativeTemporality, DataPoints: []metricdata.HistogramDataPoint[int64]{{
				StartTime: time.Unix(0, 0), Time: time.Unix(-5, 0), Count: 0, Bounds: []float64{}, BucketCounts: []uint64{0},
			}}}},
			{Name: "gauge.no.start", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Time: now, Value: 0}}}},
			{Name: "sum.empty", Data: metricdata.Sum[float64]{Temporality: metricdata.DeltaTemporality}},
		},
	}
}

func TestMetricEncodingMatchesSDK(t *testing.T) {
	for _, pref := range []otlp.Temporality{otlp.TemporalityCumulative, otlp.TemporalityDelta, otlp.TemporalityLowMemory} {
		t.Run(temporalityName(pref), func(t *testing.T) {
			rm := testMetrics(t, pref)
			rm.ScopeMetrics = append(rm.ScopeMetrics, handMadeScope())
			checkKinds(t, rm)

			var enc otlp.MetricEncoder
			body, err := enc.AppendRequest(nil, rm)
			if err != nil {
				t.Fatalf("AppendRequest: %v", err)
			}
			var got colmetricpb.ExportMetricsServiceRequest
			if err := proto.Unmarshal(body, &got); err != nil {
				t.Fatalf("official types cannot decode the request: %v", err)
			}
			if diff := cmp.Diff(wantMetricsRequest(rm), &got, protocmp.Transform(), cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("decoded request differs from the SDK's metrics (-want +got):\n%s", diff)
			}
		})
	}
}

// checkKinds guards the test itself: the data must hold every aggregation
// and exemplars, or the comparison proves less than it claims.
func checkKinds(t *testing.T, rm *metricdata.ResourceMetrics) {
	t.Helper()
	seen := map[string]bool{}
	exemplars := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				seen["sum int"] = true
				for _, dp := range d.DataPoints {
					exemplars += len(dp.Exemplars)
					for _, x := range dp.Exemplars {
						if len(x.FilteredAttributes) > 0 && len(x.TraceID) == 16 && len(x.SpanID) == 8 {
							seen["exemplar with trace and filtered attributes"] = true
						}
					}
				}
			case metricdata.Sum[float64]:
				seen["sum float"] = true
			case metricdata.Gauge[int64]:
				seen["gauge int"] = true
			case metricdata.Gauge[float64]:
				seen["gauge float"] = true
			case metricdata.Histogram[int64]:
				seen["histogram int"] = true
				for _, dp := range d.DataPoints {
					exemplars += len(dp.Exemplars)
				}
			case metricdata.Histogram[float64]:
				seen["histogram float"] = true
			case metricdata.ExponentialHistogram[int64]:
				seen["exponential int"] = true
				for _, dp := range d.DataPoints {
					exemplars += len(dp.Exemplars)
				}
			case metricdata.ExponentialHistogram[float64]:
				seen["exponential float"] = true
			case metricdata.Summary:
				seen["summary"] = true
			}
		}
	}
	if len(seen) != 10 {
		t.Fatalf("test data covers only %v", seen)
	}
	if exemplars == 0 {
		t.Fatal("test data has no exemplars")
	}
}

func temporalityName(t otlp.Temporality) string {
	return [...]string{"cumulative", "delta", "lowmemory"}[t]
}

// A metric OTLP cannot carry is left out and reported; the rest is sent.
func TestMetricEncodingUnknownTemporality(t *testing.T) {
	rm := &metricdata.ResourceMetrics{
		Resource: sdkresource.Empty(),
		ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
			{Name: "bad", Data: metricdata.Sum[int64]{DataPoints: []metricdata.DataPoint[int64]{{Value: 1}}}},
			{Name: "good", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Value: 1}}}},
		}}},
	}
	var enc otlp.MetricEncoder
	body, err := enc.AppendRequest(nil, rm)
	if err == nil || !strings.Contains(err.Error(), `metric "bad" left out`) {
		t.Errorf("AppendRequest error = %v, want the bad metric reported", err)
	}
	var got colmetricpb.ExportMetricsServiceRequest
	if err := proto.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	rm.ScopeMetrics[0].Metrics = rm.ScopeMetrics[0].Metrics[1:]
	if diff := cmp.Diff(wantMetricsRequest(rm), &got, protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// wantMetricsRequest is the test's oracle: the SDK's metrics converted to
// the official generated types, field by field.
func wantMetricsRequest(rm *metricdata.ResourceMetrics) *colmetricpb.ExportMetricsServiceRequest {
	out := &metricpb.ResourceMetrics{
		Resource:  &resourcepb.Resource{Attributes: wantKeyValues(rm.Resource.Attributes())},
		SchemaUrl: rm.Resource.SchemaURL(),
	}
	for _, sm := range rm.ScopeMetrics {
		s := &metricpb.ScopeMetrics{SchemaUrl: sm.Scope.SchemaURL}
		if sc := sm.Scope; sc.Name != "" || sc.Version != "" || sc.Attributes.Len() > 0 {
			s.Scope = &commonpb.InstrumentationScope{Name: sc.Name, Version: sc.Version, Attributes: wantKeyValues(sc.Attributes.ToSlice())}
		}
		for _, m := range sm.Metrics {
			s.Metrics = append(s.Metrics, wantMetric(m))
		}
		out.ScopeMetrics = append(out.ScopeMetrics, s)
	}
	return &colmetricpb.ExportMetricsServiceRequest{ResourceMetrics: []*metricpb.ResourceMetrics{out}}
}

func wantMetric(m metricdata.Metrics) *metricpb.Metric {
	out := &metricpb.Metric{Name: m.Name, Description: m.Description, Unit: m.Unit}
	switch d := m.Data.(type) {
	case metricdata.Gauge[int64]:
		out.Data = &metricpb.Metric_Gauge{Gauge: &metricpb.Gauge{DataPoints: wantNumberPoints(d.DataPoints)}}
	case metricdata.Gauge[float64]:
		out.Data = &metricpb.Metric_Gauge{Gauge: &metricpb.Gauge{DataPoints: wantNumberPoints(d.DataPoints)}}
	case metricdata.Sum[int64]:
		out.Data = &metricpb.Metric_Sum{Sum: &metricpb.Sum{DataPoints: wantNumberPoints(d.DataPoints), AggregationTemporality: wantTemporality(d.Temporality), IsMonotonic: d.IsMonotonic}}
	case metricdata.Sum[float64]:
		out.Data = &metricpb.Metric_Sum{Sum: &metricpb.Sum{DataPoints: wantNumberPoints(d.DataPoints), AggregationTemporality: wantTemporality(d.Temporality), IsMonotonic: d.IsMonotonic}}
	case metricdata.Histogram[int64]:
		out.Data = &metricpb.Metric_Histogram{Histogram: &metricpb.Histogram{DataPoints: wantHistogramPoints(d.DataPoints), AggregationTemporality: wantTemporality(d.Temporality)}}
	case metricdata.Histogram[float64]:
		out.Data = &metricpb.Metric_Histogram{Histogram: &metricpb.Histogram{DataPoints: wantHistogramPoints(d.DataPoints), AggregationTemporality: wantTemporality(d.Temporality)}}
	case metricdata.ExponentialHistogram[int64]:
		out.Data = &metricpb.Metric_ExponentialHistogram{ExponentialHistogram: &metricpb.ExponentialHistogram{DataPoints: wantExpPoints(d.DataPoints), AggregationTemporality: wantTemporality(d.Temporality)}}
	case metricdata.ExponentialHistogram[float64]:
		out.Data = &metricpb.Metric_ExponentialHistogram{ExponentialHistogram: &metricpb.ExponentialHistogram{DataPoints: wantExpPoints(d.DataPoints), AggregationTemporality: wantTemporality(d.Temporality)}}
	case metricdata.Summary:
		var dps []*metricpb.SummaryDataPoint
		for _, dp := range d.DataPoints {
			p := &metricpb.SummaryDataPoint{
				Attributes: wantKeyValues(dp.Attributes.ToSlice()), StartTimeUnixNano: wantTime(dp.StartTime), TimeUnixNano: wantTime(dp.Time),
				Count: dp.Count, Sum: dp.Sum,
			}
			for _, q := range dp.QuantileValues {
				p.QuantileValues = append(p.QuantileValues, &metricpb.SummaryDataPoint_ValueAtQuantile{Quantile: q.Quantile, Value: q.Value})
			}
			dps = append(dps, p)
		}
		out.Data = &metricpb.Metric_Summary{Summary: &metricpb.Summary{DataPoints: dps}}
	default:
		panic("test oracle lacks " + m.Name)
	}
	return out
}

func wantTemporality(t metricdata.Temporality) metricpb.AggregationTemporality {
	if t == metricdata.DeltaTemporality {
		return metricpb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA
	}
	return metricpb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE
}

func wantTime(t time.Time) uint64 {
	if t.UnixNano() <= 0 {
		return 0
	}
	return uint64(t.UnixNano())
}

func wantNumberPoints[N int64 | float64](dps []metricdata.DataPoint[N]) []*metricpb.NumberDataPoint {
	var out []*metricpb.NumberDataPoint
	for _, dp := range dps {
		p := &metricpb.NumberDataPoint{
			Attributes: wantKeyValues(dp.Attributes.ToSlice()), StartTimeUnixNano: wantTime(dp.StartTime), TimeUnixNano: wantTime(dp.Time),
			Exemplars: wantExemplars(dp.Exemplars),
		}
		switch v := any(dp.Value).(type) {
		case int64:
			p.Value = &metricpb.NumberDataPoint_AsInt{AsInt: v}
		case float64:
			p.Value = &metricpb.NumberDataPoint_AsDouble{AsDouble: v}
		}
		out = append(out, p)
	}
	return out
}

func wantHistogramPoints[N int64 | float64](dps []metricdata.HistogramDataPoint[N]) []*metricpb.HistogramDataPoint {
	var out []*metricpb.HistogramDataPoint
	for _, dp := range dps {
		p := &metricpb.HistogramDataPoint{
			Attributes: wantKeyValues(dp.Attributes.ToSlice()), StartTimeUnixNano: wantTime(dp.StartTime), TimeUnixNano: wantTime(dp.Time),
			Count: dp.Count, Sum: proto.Float64(float64(dp.Sum)), Exemplars: wantExemplars(dp.Exemplars),
		}
		if len(dp.BucketCounts) > 0 {
			p.BucketCounts = dp.BucketCounts
		}
		if len(dp.Bounds) > 0 {
			p.ExplicitBounds = dp.Bounds
		}
		p.Min, p.Max = wantExtrema(dp.Min), wantExtrema(dp.Max)
		out = append(out, p)
	}
	return out
}

func wantExpPoints[N int64 | float64](dps []metricdata.ExponentialHistogramDataPoint[N]) []*metricpb.ExponentialHistogramDataPoint {
	buckets := func(b metricdata.ExponentialBucket) *metricpb.ExponentialHistogramDataPoint_Buckets {
		out := &metricpb.ExponentialHistogramDataPoint_Buckets{Offset: b.Offset}
		if len(b.Counts) > 0 {
			out.BucketCounts = b.Counts
		}
		return out
	}
	var out []*metricpb.ExponentialHistogramDataPoint
	for _, dp := range dps {
		p := &metricpb.ExponentialHistogramDataPoint{
			Attributes: wantKeyValues(dp.Attributes.ToSlice()), StartTimeUnixNano: wantTime(dp.StartTime), TimeUnixNano: wantTime(dp.Time),
			Count: dp.Count, Sum: proto.Float64(float64(dp.Sum)), Scale: dp.Scale, ZeroCount: dp.ZeroCount,
			Positive: buckets(dp.PositiveBucket), Negative: buckets(dp.NegativeBucket),
			ZeroThreshold: dp.ZeroThreshold, Exemplars: wantExemplars(dp.Exemplars),
		}
		p.Min, p.Max = wantExtrema(dp.Min), wantExtrema(dp.Max)
		out = append(out, p)
	}
	return out
}

func wantExtrema[N int64 | float64](x metricdata.Extrema[N]) *float64 {
	if v, ok := x.Value(); ok {
		return proto.Float64(float64(v))
	}
	return nil
}

func wantExemplars[N int64 | float64](xs []metricdata.Exemplar[N]) []*metricpb.Exemplar {
	var out []*metricpb.Exemplar
	for _, x := range xs {
		e := &metricpb.Exemplar{
			FilteredAttributes: wantKeyValues(x.FilteredAttributes), TimeUnixNano: wantTime(x.Time),
			SpanId: x.SpanID, TraceId: x.TraceID,
		}
		switch v := any(x.Value).(type) {
		case int64:
			e.Value = &metricpb.Exemplar_AsInt{AsInt: v}
		case float64:
			e.Value = &metricpb.Exemplar_AsDouble{AsDouble: v}
		}
		out = append(out, e)
	}
	return out
}
