package policy

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/health"
)

// Module adds the policy to a server: the enforcing middleware (at
// core.OrderPolicy) and a readiness check showing the policy in force. It
// reads the "policy" config section.
var Module = fx.Module("policy",
	fx.Provide(newFromGraph),
	core.AsMiddleware(func(e *Enforcer) core.Middleware {
		return core.Middleware{Name: "policy", Order: core.OrderPolicy, Func: e.Middleware()}
	}),
	core.AsHealthCheck(func(e *Enforcer) health.Check { return e.HealthCheck() }),
	// The server depends on the enforcer's middleware, so the reload hook
	// is attached once both exist.
	fx.Invoke(func(e *Enforcer, s *core.Server) { e.OnReload(s.NotifyToolListChanged) }),
)

type graphParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    config.Config
	Doc       *config.Document
	Logger    *slog.Logger
	Catalog   *core.Catalog
	Telemetry core.Telemetry
	Streams   core.Streams
}

func newFromGraph(p graphParams) (*Enforcer, error) {
	cfg := NewDefaultConfig()
	if err := p.Doc.Section("policy", &cfg); err != nil {
		return nil, err
	}
	e, err := New(Options{
		Config:  cfg,
		Core:    p.Config,
		Catalog: p.Catalog,
		Logger:  p.Logger,
		Meters:  p.Telemetry.Meters,
		Stdout:  p.Streams.Out,
		Stderr:  p.Streams.Err,
	})
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.StartStopHook(e.Start, e.Shutdown))
	return e, nil
}
