//go:build !otlpgrpc

package observability

import (
	"errors"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// grpcLinked says whether this build has the OTLP/gRPC exporters. The
// default build does not: gRPC, the generated OTLP types and the protobuf
// registry they need cost a server about 10 MB of resident memory at rest.
// OTLP goes over http/protobuf with package otlp instead, and
// OTEL_EXPORTER_OTLP_PROTOCOL=grpc fails at startup (parseOTLPTarget), so
// the functions below are never reached.
const grpcLinked = false

var errGRPCNotLinked = errors.New("this build exports OTLP over http/protobuf; rebuild with -tags otlpgrpc for gRPC")

func newGRPCSpanExporter(otlpTarget) (sdktrace.SpanExporter, error) {
	return nil, errGRPCNotLinked
}

func newGRPCMetricExporter(otlpTarget) (sdkmetric.Exporter, error) {
	return nil, errGRPCNotLinked
}
