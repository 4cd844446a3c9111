// Package upstream builds the HTTP clients domain servers call upstream
// APIs with (GitHub, Slack, AWS, a CRM). Every request goes through one
// RoundTripper that, in order:
//
//   - refuses to send the MCP client's own credential (no token passthrough);
//   - fails fast while the circuit breaker is open;
//   - waits for the client-side rate limiter;
//   - sends the attempt under a per-attempt timeout, in a CLIENT span, with
//     W3C trace context in the headers;
//   - retries idempotent requests on connection errors, 429, 502, 503, 504
//     (and rate-limited 403s), honouring Retry-After and X-RateLimit-Reset,
//     within an overall deadline;
//   - records the upstream's reported quota ([Client.Quotas]), for /readyz
//     and metrics.
//
// The client is plain net/http, so SDKs take it as is:
// github.NewClient(c.HTTPClient()), slack.OptionHTTPClient(c.HTTPClient()).
package upstream

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"golang.org/x/time/rate"

	"github.com/mcpfleet/mcpfleet/pkg/core/health"
)

// Clock is the time source for backoff, Retry-After and the limiter.
// Tests substitute one whose Sleep returns at once.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx is done and then returns ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

// Deps are the client's collaborators; every field is optional.
type Deps struct {
	Tracers trace.TracerProvider
	Meters  metric.MeterProvider
	Logger  *slog.Logger
	// Propagator injects trace context into outgoing headers; W3C
	// traceparent/tracestate by default. Baggage is deliberately not
	// propagated by default: it may carry internal data.
	Propagator propagation.TextMapPropagator
	// Clock defaults to real time.
	Clock Clock
	// Base sends the attempts; by default an *http.Transport built from
	// the config (proxy from the environment, MaxIdleConnsPerHost).
	Base http.RoundTripper
}

// Client is an upstream HTTP client with its observed state.
type Client struct {
	name       string
	http       *http.Client
	transport  *transport
	ownedIdles interface{ CloseIdleConnections() }
}

// New builds a client for cfg. It starts no goroutines; Close releases
// idle connections.
func New(cfg Config, deps Deps) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Tracers == nil {
		deps.Tracers = tracenoop.NewTracerProvider()
	}
	if deps.Meters == nil {
		deps.Meters = metricnoop.NewMeterProvider()
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Propagator == nil {
		deps.Propagator = propagation.TraceContext{}
	}
	if deps.Clock == nil {
		deps.Clock = realClock{}
	}
	c := &Client{name: cfg.Name}
	base := deps.Base
	if base == nil {
		ht := http.DefaultTransport.(*http.Transport).Clone()
		ht.MaxIdleConnsPerHost = cfg.MaxIdleConnsPerHost
		ht.MaxIdleConns = max(ht.MaxIdleConns, cfg.MaxIdleConnsPerHost)
		base, c.ownedIdles = ht, ht
	}
	t := &transport{
		cfg:     cfg,
		base:    base,
		clock:   deps.Clock,
		tracer:  deps.Tracers.Tracer(instrumentationScope),
		prop:    deps.Propagator,
		logger:  deps.Logger.With("upstream", cfg.Name),
		inst:    newInstruments(deps.Meters, cfg.Name),
		quotas:  &quotas{},
		secrets: NewSecrets(),
	}
	if cfg.RateLimit.RequestsPerSecond > 0 {
		t.limiter = rate.NewLimiter(rate.Limit(cfg.RateLimit.RequestsPerSecond), cfg.RateLimit.Burst)
	}
	t.breaker = newBreaker(cfg.Name, cfg.Breaker, deps.Clock.Now, t.circuitChanged)
	t.inst.circuit.Record(context.Background(), int64(CircuitClosed), metric.WithAttributes(t.inst.name))
	c.transport = t
	// No http.Client Timeout: the transport's deadline covers the whole
	// request including the body, and also applies to SDKs that take only
	// a RoundTripper.
	c.http = &http.Client{Transport: t}
	return c, nil
}

// Name is the configured upstream name.
func (c *Client) Name() string { return c.name }

// HTTPClient returns the client to hand to SDKs. Do not change its
// Transport: the retries, limits and guards live there.
func (c *Client) HTTPClient() *http.Client { return c.http }

// Transport returns the RoundTripper, for SDKs that wrap their own client
// around one.
func (c *Client) Transport() http.RoundTripper { return c.transport }

// Quotas returns the upstream's rate-limit quotas as last reported, sorted
// by resource; empty until a response carries X-RateLimit-Remaining.
func (c *Client) Quotas() []Quota { return c.transport.quotas.snapshot() }

// Circuit returns the circuit breaker's state (always closed when the
// breaker is off).
func (c *Client) Circuit() CircuitState { return c.transport.breaker.State() }

// Status is a report of the client's state, for /readyz.
type Status struct {
	Circuit string  `json:"circuit"`
	Quotas  []Quota `json:"quotas,omitempty"`
}

// Status reports the circuit state and quotas.
func (c *Client) Status() Status {
	return Status{Circuit: c.Circuit().String(), Quotas: c.Quotas()}
}

// HealthCheck is a readiness check named "upstream_<name>" that reports
// Status as its detail. It never fails: when an upstream is down every
// replica sees the same outage, and pulling them all out of the load
// balancer would turn failing tool calls (with errors the model can read)
// into no server at all.
func (c *Client) HealthCheck() health.Check {
	return health.Check{Name: "upstream_" + c.name, Func: func(context.Context) (any, error) {
		return c.Status(), nil
	}}
}

// Close closes idle connections of the transport New built. Requests still
// in flight finish.
func (c *Client) Close() {
	if c.ownedIdles != nil {
		c.ownedIdles.CloseIdleConnections()
	}
}

func (t *transport) circuitChanged(to CircuitState, failures int) {
	t.inst.circuit.Record(context.Background(), int64(to), metric.WithAttributes(t.inst.name))
	switch to {
	case CircuitOpen:
		t.logger.Warn("upstream circuit opened", "consecutive_failures", failures, "open_for", t.cfg.Breaker.OpenDuration)
	case CircuitHalfOpen:
		t.logger.Info("upstream circuit half-open, sending a probe")
	case CircuitClosed:
		t.logger.Info("upstream circuit closed")
	}
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errorf prefixes errors with the upstream's name so tool errors say which
// upstream failed.
func (t *transport) errorf(format string, a ...any) error {
	return fmt.Errorf("upstream "+t.cfg.Name+": "+format, a...)
}
