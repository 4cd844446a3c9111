//go:build otlpgrpc

package observability

import (
	"context"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/credentials"
)

// grpcLinked says whether this build has the OTLP/gRPC exporters: with
// -tags otlpgrpc it has the official ones, at the cost of linking gRPC
// (about 10 MB more resident memory at rest).
const grpcLinked = true

// newGRPCSpanExporter builds the official OTLP/gRPC span exporter from the
// settings read through the module's lookup. Settings the environment left
// unset fall to the exporter's own defaults, which it reads from the
// process environment.
func newGRPCSpanExporter(t otlpTarget) (sdktrace.SpanExporter, error) {
	var opts []otlptracegrpc.Option
	if t.endpointURL != "" {
		opts = append(opts, otlptracegrpc.WithEndpointURL(t.endpointURL))
	}
	if len(t.headers) > 0 {
		opts = append(opts, otlptracegrpc.WithHeaders(t.headers))
	}
	if t.timeout > 0 {
		opts = append(opts, otlptracegrpc.WithTimeout(t.timeout))
	}
	if t.gzip {
		opts = append(opts, otlptracegrpc.WithCompressor("gzip"))
	}
	if t.tls != nil {
		opts = append(opts, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(t.tls)))
	}
	return otlptracegrpc.New(context.Background(), opts...)
}

// newGRPCMetricExporter is newGRPCSpanExporter for metrics, with the
// temporality and histogram choices.
func newGRPCMetricExporter(t otlpTarget) (sdkmetric.Exporter, error) {
	opts := []otlpmetricgrpc.Option{
		otlpmetricgrpc.WithTemporalitySelector(t.metric.Temporality.Select),
		otlpmetricgrpc.WithAggregationSelector(t.metric.Aggregation),
	}
	if t.endpointURL != "" {
		opts = append(opts, otlpmetricgrpc.WithEndpointURL(t.endpointURL))
	}
	if len(t.headers) > 0 {
		opts = append(opts, otlpmetricgrpc.WithHeaders(t.headers))
	}
	if t.timeout > 0 {
		opts = append(opts, otlpmetricgrpc.WithTimeout(t.timeout))
	}
	if t.gzip {
		opts = append(opts, otlpmetricgrpc.WithCompressor("gzip"))
	}
	if t.tls != nil {
		opts = append(opts, otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(t.tls)))
	}
	return otlpmetricgrpc.New(context.Background(), opts...)
}
