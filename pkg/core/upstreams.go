package core

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// UpstreamModule provides [*Upstreams] to the servers that call upstream
// APIs; core.Module does not bundle it.
var UpstreamModule = fx.Module("core.upstream", fx.Provide(newUpstreams))

// Upstreams builds the HTTP clients a domain server calls its upstream APIs
// with, instrumented with the server's telemetry and closed on shutdown.
// Each domain keeps an upstream.Config in its own config section.
type Upstreams struct {
	lc   fx.Lifecycle
	deps upstream.Deps
}

// New returns a client for cfg (see pkg/core/upstream for what it does to
// every request: retries, rate limits, breaker, spans, no token passthrough).
func (u *Upstreams) New(cfg upstream.Config) (*upstream.Client, error) {
	c, err := upstream.New(cfg, u.deps)
	if err != nil {
		return nil, err
	}
	u.lc.Append(fx.StopHook(c.Close))
	return c, nil
}

type upstreamsParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Telemetry Telemetry
	Logger    *slog.Logger
	// Clock replaces real time in tests (backoff and Retry-After waits).
	Clock upstream.Clock `optional:"true"`
}

func newUpstreams(p upstreamsParams) *Upstreams {
	return &Upstreams{lc: p.Lifecycle, deps: upstream.Deps{Tracers: p.Telemetry.Tracers, Meters: p.Telemetry.Meters, Logger: p.Logger, Clock: p.Clock}}
}
