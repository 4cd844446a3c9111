package observability

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// SectionName is the top-level config section this module decodes.
const SectionName = "observability"

// MaxShutdownTimeout bounds Config.ShutdownTimeout: telemetry must never hold
// a stopping server for long, whatever the exporters are doing.
const MaxShutdownTimeout = time.Minute

// Config is the "observability" section. Where telemetry goes (OTLP, console)
// is not configured here but through the standard OTEL_* environment, so that
// platform tooling that injects those variables works unchanged.
type Config struct {
	// ServiceName is the service.name resource attribute. Empty means the
	// server's name (server.name). OTEL_SERVICE_NAME and a service.name in
	// OTEL_RESOURCE_ATTRIBUTES take precedence, as environment does over the
	// config file everywhere in mcpfleet.
	ServiceName string `yaml:"service_name"`
	// Metrics configures the Prometheus endpoint.
	Metrics Metrics `yaml:"metrics"`
	// Tracing configures span sampling and naming.
	Tracing Tracing `yaml:"tracing"`
	// ShutdownTimeout bounds the final flush of spans and metrics on stop.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Metrics configures the Prometheus scrape endpoint.
type Metrics struct {
	// Enabled serves Prometheus metrics on Path (HTTP transport only: stdio
	// has no listener to serve them on).
	Enabled bool `yaml:"enabled"`
	// Path is the route, as a net/http ServeMux pattern: "GET /metrics" or
	// just "/metrics". It is served outside authentication, like /healthz.
	Path string `yaml:"path"`
}

// Tracing configures spans.
type Tracing struct {
	// SampleRatio is the fraction of new traces sampled, from 0 to 1. A
	// caller's sampling decision (the traceparent flag) is always honoured.
	// It only matters when a span exporter is configured
	// (OTEL_TRACES_EXPORTER).
	SampleRatio float64 `yaml:"sample_ratio"`
	// ResourceURIInSpanName names resources/read spans "resources/read
	// <uri>". Off by default, as the MCP semantic conventions recommend:
	// URIs are unbounded and make span names high-cardinality. The URI is
	// always recorded as the mcp.resource.uri attribute.
	ResourceURIInSpanName bool `yaml:"resource_uri_in_span_name"`
}

// NewDefaultConfig returns the defaults: Prometheus metrics on GET /metrics,
// every trace sampled (when an exporter is configured), 5s shutdown bound.
func NewDefaultConfig() Config {
	return Config{
		Metrics:         Metrics{Enabled: true, Path: "GET /metrics"},
		Tracing:         Tracing{SampleRatio: 1},
		ShutdownTimeout: 5 * time.Second,
	}
}

// Validate reports every problem with the config at once.
func (c Config) Validate() error {
	var errs []error
	if c.ShutdownTimeout <= 0 || c.ShutdownTimeout > MaxShutdownTimeout {
		errs = append(errs, fmt.Errorf("observability.shutdown_timeout must be between 0s (exclusive) and %s, got %s", MaxShutdownTimeout, c.ShutdownTimeout))
	}
	if r := c.Tracing.SampleRatio; math.IsNaN(r) || r < 0 || r > 1 {
		errs = append(errs, fmt.Errorf("observability.tracing.sample_ratio must be between 0 and 1, got %v", r))
	}
	if strings.TrimSpace(c.ServiceName) != c.ServiceName {
		errs = append(errs, fmt.Errorf("observability.service_name %q has surrounding spaces", c.ServiceName))
	}
	if c.Metrics.Enabled {
		if _, err := metricsPath(c.Metrics.Path); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// metricsPath checks a metrics route pattern and returns its path. Only
// literal paths are accepted (no wildcards, no host), with GET or no method,
// because a bad pattern would make net/http panic when the route is
// registered.
func metricsPath(pattern string) (string, error) {
	path := strings.TrimPrefix(pattern, "GET ")
	if path == "" || path[0] != '/' {
		return "", fmt.Errorf(`observability.metrics.path must be "GET /path" or "/path", got %q`, pattern)
	}
	for _, r := range path {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/-._~", r)
		if !ok {
			return "", fmt.Errorf("observability.metrics.path %q may only contain letters, digits and / - . _ ~", pattern)
		}
	}
	return path, nil
}
