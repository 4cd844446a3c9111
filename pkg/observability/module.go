package observability

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
)

// Module adds OpenTelemetry to a server built on pkg/core: the tracer and
// meter providers (as trace.TracerProvider and metric.MeterProvider, which
// core's Telemetry picks up), the MCP middleware, the Prometheus route and
// trace ids in logs.
//
// The logger decoration sits outside the named module on purpose: an
// fx.Decorate inside a module only reaches that module's scope, and every
// logger user (core included) must see it.
var Module = fx.Options(
	fx.Module("observability",
		fx.Provide(
			LoadConfig,
			newProviders,
			func(p *Providers) trace.TracerProvider { return p.Tracers },
			func(p *Providers) metric.MeterProvider { return p.Meters },
		),
		core.AsMiddleware(newMiddleware),
		core.AsRoutes(newMetricsRoutes),
	),
	fx.Decorate(DecorateLogger),
)

// Value groups through which an application adds its own span processors
// and metric readers to the providers (see [AsSpanProcessor]).
const (
	groupSpanProcessors = `group:"observability.span_processors"`
	groupMetricReaders  = `group:"observability.metric_readers"`
)

// AsSpanProcessor adds a span processor to the tracer provider; constructor
// returns an sdktrace.SpanProcessor. Spans are then sampled (by
// tracing.sample_ratio) even when OTEL_TRACES_EXPORTER selects nothing.
func AsSpanProcessor(constructor any) fx.Option {
	return fx.Provide(fx.Annotate(constructor, fx.As(new(sdktrace.SpanProcessor)), fx.ResultTags(groupSpanProcessors)))
}

// AsMetricReader adds a metric reader to the meter provider; constructor
// returns an sdkmetric.Reader (for example a *sdkmetric.ManualReader).
func AsMetricReader(constructor any) fx.Option {
	return fx.Provide(fx.Annotate(constructor, fx.As(new(sdkmetric.Reader)), fx.ResultTags(groupMetricReaders)))
}

// LoadConfig decodes the "observability" section over the defaults and
// validates it, together with how it fits core's config.
func LoadConfig(doc *config.Document, coreCfg config.Config) (Config, error) {
	cfg := NewDefaultConfig()
	if err := doc.Section(SectionName, &cfg); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	if cfg.Metrics.Enabled {
		path, _ := metricsPath(cfg.Metrics.Path)
		taken := append([]string{coreCfg.HTTP.Path, "/healthz", "/readyz"}, authn.MetadataPaths(coreCfg.HTTP.Path)...)
		if slices.Contains(taken, path) {
			return Config{}, fmt.Errorf("observability.metrics.path %q is already served by core", cfg.Metrics.Path)
		}
	}
	return cfg, nil
}

type providersParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    Config
	Core      config.Config
	Info      core.BuildInfo
	Streams   core.Streams
	Logger    *slog.Logger
	// Doc supplies the environment lookup config uses, for OTEL_*.
	Doc            *config.Document
	SpanProcessors []sdktrace.SpanProcessor `group:"observability.span_processors"`
	MetricReaders  []sdkmetric.Reader       `group:"observability.metric_readers"`
}

func newProviders(p providersParams) (*Providers, error) {
	cfg := p.Config
	// stdio has no listener to serve /metrics on.
	cfg.Metrics.Enabled = cfg.Metrics.Enabled && p.Core.Transport == config.TransportHTTP
	prov, err := NewProviders(Settings{
		Config:         cfg,
		ServerName:     p.Core.Server.Name,
		Version:        p.Info.Version,
		Lookup:         p.Doc.LookupEnv,
		Console:        p.Streams.Err,
		SpanProcessors: p.SpanProcessors,
		MetricReaders:  p.MetricReaders,
	})
	if err != nil {
		return nil, err
	}
	// Stop hooks run in reverse: the providers were built before the
	// listener, so they flush after the server has drained. A collector that
	// is down is worth a warning, not a failed exit.
	p.Lifecycle.Append(fx.StopHook(func(ctx context.Context) {
		if err := prov.Shutdown(ctx); err != nil {
			p.Logger.Warn("telemetry not fully flushed at shutdown", "error", err)
		}
	}))
	return prov, nil
}

func newMiddleware(p *Providers, cfg Config, coreCfg config.Config, catalog *core.Catalog) (core.Middleware, error) {
	var tools, prompts []string
	for _, td := range catalog.Tools() {
		tools = append(tools, td.Spec().Name)
	}
	for _, pd := range catalog.Prompts() {
		prompts = append(prompts, pd.Prompt.Name)
	}
	in, err := NewInstrumentation(InstrumentationOptions{
		Tracers:               p.Tracers,
		Meters:                p.Meters,
		Propagator:            p.Propagator,
		Tools:                 tools,
		Prompts:               prompts,
		Transport:             coreCfg.Transport,
		ResourceURIInSpanName: cfg.Tracing.ResourceURIInSpanName,
	})
	if err != nil {
		return core.Middleware{}, err
	}
	return core.Middleware{Name: "observability", Order: core.OrderObservability, Func: in.Middleware()}, nil
}

// newMetricsRoutes contributes zero or one route (core.AsRoutes): with
// metrics off no path is taken.
func newMetricsRoutes(p *Providers, cfg Config) []core.Route {
	if p.Registry() == nil {
		return nil
	}
	return []core.Route{{Pattern: cfg.Metrics.Path, Handler: p.MetricsHandler()}}
}

// DecorateLogger wraps the logger's handler with [NewLogHandler], keeping
// its level, format and attributes.
func DecorateLogger(l *slog.Logger) *slog.Logger {
	return slog.New(NewLogHandler(l.Handler()))
}
