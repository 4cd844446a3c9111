package observability

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Settings are the inputs of [NewProviders].
type Settings struct {
	Config Config
	// ServerName is the service.name used when neither the config nor the
	// environment names the service (core's server.name).
	ServerName string
	// Version is the service.version resource attribute.
	Version string
	// Lookup reads the exporter selection (OTEL_TRACES_EXPORTER,
	// OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP_*PROTOCOL); nil means
	// os.LookupEnv. The exporters and the SDK read every other OTEL_*
	// variable from the process environment themselves.
	Lookup LookupEnv
	// Console is where the console exporters write; nil means os.Stderr.
	// Never stdout: over stdio that is the protocol stream.
	Console io.Writer
	// SpanProcessors and MetricReaders are added beside the exporters the
	// environment selects (tests, custom pipelines). Once NewProviders
	// succeeds the providers own them: Shutdown shuts them down.
	SpanProcessors []sdktrace.SpanProcessor
	MetricReaders  []sdkmetric.Reader
}

// Providers are one application's OpenTelemetry pipeline. Nothing here is
// registered globally: each server (and each test) has its own.
type Providers struct {
	// Tracers is the SDK tracer provider. When no span exporter or processor
	// is configured it samples nothing, so spans cost little but still carry
	// trace ids (a caller's, from traceparent, or a fresh one) for log
	// correlation.
	Tracers *sdktrace.TracerProvider
	// Meters is the SDK meter provider, read by the Prometheus endpoint and
	// the OTLP/console exporters the environment selects.
	Meters *sdkmetric.MeterProvider
	// Propagator reads and writes W3C Trace Context and Baggage.
	Propagator propagation.TextMapPropagator

	registry        *prometheus.Registry
	shutdownTimeout time.Duration

	shutdownOnce sync.Once
	shutdownErr  error
}

// NewProviders builds the tracer and meter providers from the config and the
// OTEL_* environment. It starts no network activity: exporters connect on
// their first export, so an unreachable collector never delays startup.
func NewProviders(s Settings) (*Providers, error) {
	cfg := s.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	env, err := parseExportEnv(s.Lookup)
	if err != nil {
		return nil, err
	}
	console := s.Console
	if console == nil {
		console = os.Stderr
	}
	res, err := newResource(cfg, s)
	if err != nil {
		return nil, err
	}
	p := &Providers{
		Propagator:      propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		shutdownTimeout: cfg.ShutdownTimeout,
	}

	// What is built below runs goroutines from the start; on a later error
	// it is shut down again so that a failed build leaks nothing.
	var processors []sdktrace.SpanProcessor
	var readers []sdkmetric.Reader
	cleanup := func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		for _, sp := range processors {
			_ = sp.Shutdown(ctx)
		}
		for _, r := range readers {
			_ = r.Shutdown(ctx)
		}
	}
	for _, name := range env.traces {
		exp, err := newSpanExporter(name, env.tracesProtocol, console)
		if err != nil {
			cleanup()
			return nil, err
		}
		// The export timeout is the shutdown bound: a final flush that takes
		// longer is cut off at shutdown anyway, and this way no export
		// goroutine outlives Shutdown by more than the bound.
		processors = append(processors, sdktrace.NewBatchSpanProcessor(exp, sdktrace.WithExportTimeout(cfg.ShutdownTimeout)))
	}
	for _, name := range env.metrics {
		exp, err := newMetricExporter(name, env.metricsProtocol, console)
		if err != nil {
			cleanup()
			return nil, err
		}
		readers = append(readers, sdkmetric.NewPeriodicReader(exp))
	}
	if cfg.Metrics.Enabled {
		p.registry = prometheus.NewRegistry()
		p.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		exp, err := otelprom.New(otelprom.WithRegisterer(p.registry))
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("prometheus exporter: %w", err)
		}
		readers = append(readers, exp)
	}

	processors = append(processors, s.SpanProcessors...)
	readers = append(readers, s.MetricReaders...)

	// With nowhere for spans to go, recording them would be pure cost.
	sampler := sdktrace.NeverSample()
	if len(processors) > 0 {
		sampler = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.Tracing.SampleRatio))
	}
	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(sampler)}
	for _, sp := range processors {
		topts = append(topts, sdktrace.WithSpanProcessor(sp))
	}
	p.Tracers = sdktrace.NewTracerProvider(topts...)

	mopts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	for _, r := range readers {
		mopts = append(mopts, sdkmetric.WithReader(r))
	}
	p.Meters = sdkmetric.NewMeterProvider(mopts...)
	return p, nil
}

// newResource describes the service. Precedence for service.name:
// OTEL_SERVICE_NAME, service.name in OTEL_RESOURCE_ATTRIBUTES (both read by
// the SDK's environment detector, which runs last and so wins),
// observability.service_name, server.name.
func newResource(cfg Config, s Settings) (*resource.Resource, error) {
	name := cfg.ServiceName
	if name == "" {
		name = s.ServerName
	}
	if name == "" {
		name = "mcpfleet"
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", name)}
	if s.Version != "" {
		attrs = append(attrs, attribute.String("service.version", s.Version))
	}
	res, err := resource.New(context.Background(), resource.WithTelemetrySDK(), resource.WithAttributes(attrs...), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("telemetry resource (OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	return res, nil
}

// newSpanExporter builds one span exporter. The official OTLP exporters
// read OTEL_EXPORTER_OTLP_* (and the _TRACES_ variants) from the process
// environment themselves.
func newSpanExporter(name, protocol string, console io.Writer) (sdktrace.SpanExporter, error) {
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch {
	case name == ExporterConsole:
		exp, err = stdouttrace.New(stdouttrace.WithWriter(console))
	case protocol == ProtocolGRPC:
		exp, err = otlptracegrpc.New(context.Background())
	default:
		exp, err = otlptracehttp.New(context.Background())
	}
	if err != nil {
		return nil, fmt.Errorf("%s span exporter: %w", name, err)
	}
	return exp, nil
}

// newMetricExporter is newSpanExporter for metrics. The OTLP exporters also
// read OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE and
// OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION.
func newMetricExporter(name, protocol string, console io.Writer) (sdkmetric.Exporter, error) {
	var (
		exp sdkmetric.Exporter
		err error
	)
	switch {
	case name == ExporterConsole:
		exp, err = stdoutmetric.New(stdoutmetric.WithWriter(console))
	case protocol == ProtocolGRPC:
		exp, err = otlpmetricgrpc.New(context.Background())
	default:
		exp, err = otlpmetrichttp.New(context.Background())
	}
	if err != nil {
		return nil, fmt.Errorf("%s metric exporter: %w", name, err)
	}
	return exp, nil
}

// Registry is the Prometheus registry behind [Providers.MetricsHandler], for
// collectors of your own; nil when the Prometheus endpoint is off.
func (p *Providers) Registry() *prometheus.Registry { return p.registry }

// MetricsHandler serves the Prometheus exposition of this app's metrics
// (MCP metrics, Go runtime and process), or 404 when the endpoint is off.
func (p *Providers) MetricsHandler() http.Handler {
	if p.registry == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(p.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Shutdown flushes and stops both providers, returning within the
// configured shutdown timeout (or ctx's deadline, if sooner) whatever the
// exporters do. It is safe to call more than once, and on providers that
// never exported anything.
func (p *Providers) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.shutdownOnce.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, p.shutdownTimeout)
		defer cancel()
		// In parallel, so that the bound holds for both together.
		var wg sync.WaitGroup
		var terr, merr error
		wg.Go(func() { terr = p.Tracers.Shutdown(ctx) })
		wg.Go(func() { merr = p.Meters.Shutdown(ctx) })
		wg.Wait()
		if terr != nil {
			terr = fmt.Errorf("tracer provider shutdown: %w", terr)
		}
		if merr != nil {
			merr = fmt.Errorf("meter provider shutdown: %w", merr)
		}
		p.shutdownErr = errors.Join(terr, merr)
	})
	return p.shutdownErr
}
