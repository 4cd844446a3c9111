// Package otlp exports OpenTelemetry spans and metrics over OTLP/HTTP in
// protobuf, as an sdktrace.SpanExporter ([SpanExporter]) and an
// sdkmetric.Exporter ([MetricExporter]).
//
// It replaces the official otlptracehttp and otlpmetrichttp exporters in
// mcpfleet's servers because of what those cost at rest: they link the
// generated OTLP types, the collector service packages, gRPC and the
// protobuf registry, whose package initialisation adds about 10 MB to a
// server's idle resident memory. Here the OTLP messages are written by hand
// with protowire, which registers nothing.
//
// HTTP behaviour follows the OTLP specification: POST with
// Content-Type application/x-protobuf, optional gzip, configured headers,
// retries with exponential backoff on 429/502/503/504 and connection
// failures honouring Retry-After and bounded by the export's deadline, a
// google.rpc.Status body on errors, partial success reported as a
// [*PartialSuccessError]. The environment (OTEL_EXPORTER_OTLP_*) is read
// by the caller, which fills a [Config].
package otlp
