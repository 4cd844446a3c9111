// Package observability gives a server built on pkg/core its OpenTelemetry
// traces and metrics, a Prometheus endpoint, and trace ids in its logs.
//
// Add [Module] to the server's fx options. It provides, per application and
// never through the otel globals:
//
//   - a tracer and a meter provider ([Providers]), exported where the OTEL_*
//     environment says (the official OTLP exporters over http/protobuf or
//     gRPC, or the console; nothing by default), and offered to core as
//     trace.TracerProvider and
//     metric.MeterProvider;
//   - MCP receiving middleware ([Instrumentation]) that opens one SERVER span
//     per request and records mcp.server.operation.duration, as the
//     OpenTelemetry MCP semantic conventions describe;
//   - the Prometheus exposition of those metrics, plus Go runtime and
//     process metrics, on observability.metrics.path (HTTP transport);
//   - a logger whose records carry trace_id and span_id when logged with a
//     context that holds a span.
//
// Every piece also has a constructor that works without fx: [NewProviders],
// [NewInstrumentation], [NewLogHandler].
package observability
