package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/eventstore"
	"github.com/mcpfleet/mcpfleet/pkg/core/health"
	"github.com/mcpfleet/mcpfleet/pkg/core/httpserver"
)

// Streams are the process's standard streams. stdio speaks MCP on In/Out;
// logs always go to Err so they never corrupt the protocol stream.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Module wires the kernel. The fx graph must also be supplied a
// config.Config, a *config.Document, a BuildInfo and Streams ([Main] and
// coretest do this). The cache and the upstream client factory are modules
// of their own ([CacheModule], [UpstreamModule]): a server includes what it
// uses.
var Module = fx.Module("core",
	fx.Provide(
		NewLogger,
		newCatalog,
		NewServer,
		func(s *Server) *mcp.Server { return s.MCP },
		newAuthenticator,
		newHealth,
		newTelemetry,
		fx.Annotate(newKeySetCheck, fx.ResultTags(groupHealth)),
		newListener,
	),
	// The listener (or stdio session) is what makes the graph run.
	fx.Invoke(func(*Listener) {}),
)

// Telemetry holds the tracer and meter providers core instruments with. The
// observability module provides real ones; without it they are no-ops.
type Telemetry struct {
	Tracers trace.TracerProvider
	Meters  metric.MeterProvider
}

type telemetryParams struct {
	fx.In
	Tracers trace.TracerProvider `optional:"true"`
	Meters  metric.MeterProvider `optional:"true"`
}

func newTelemetry(p telemetryParams) Telemetry {
	t := Telemetry{Tracers: p.Tracers, Meters: p.Meters}
	if t.Tracers == nil {
		t.Tracers = tracenoop.NewTracerProvider()
	}
	if t.Meters == nil {
		t.Meters = metricnoop.NewMeterProvider()
	}
	return t
}

// NewLogger builds the process logger from config. It writes to Streams.Err.
func NewLogger(cfg config.Config, s Streams) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(s.Err, opts)
	if cfg.Log.Format == "text" {
		h = slog.NewTextHandler(s.Err, opts)
	}
	return slog.New(h).With("server", cfg.Server.Name)
}

type catalogParams struct {
	fx.In
	Config    config.Config
	Toolsets  []Toolset              `group:"mcpfleet.toolsets"`
	Tools     []*ToolDef             `group:"mcpfleet.tools"`
	Resources []*ResourceDef         `group:"mcpfleet.resources"`
	Templates []*ResourceTemplateDef `group:"mcpfleet.resource_templates"`
	Prompts   []*PromptDef           `group:"mcpfleet.prompts"`
}

func newCatalog(p catalogParams) (*Catalog, error) {
	return NewCatalog(CatalogInput{
		ServerName: p.Config.Server.Name,
		Selection:  p.Config.Tools,
		Toolsets:   p.Toolsets,
		Tools:      p.Tools,
		Resources:  p.Resources,
		Templates:  p.Templates,
		Prompts:    p.Prompts,
	})
}

// newAuthenticator returns nil unless HTTP authentication is on.
func newAuthenticator(lc fx.Lifecycle, cfg config.Config, logger *slog.Logger) (*authn.Authenticator, error) {
	if cfg.Transport != config.TransportHTTP || cfg.Auth.Disabled {
		return nil, nil
	}
	a, err := authn.NewAuthenticator(cfg.Auth, cfg.ResourceURL(), &http.Client{Timeout: 10 * time.Second}, logger)
	if err != nil {
		return nil, err
	}
	if ks := a.KeySet(); ks != nil {
		lc.Append(fx.StartStopHook(ks.Start, ks.Stop))
	}
	return a, nil
}

// newKeySetCheck makes readiness wait for the issuer's signing keys.
func newKeySetCheck(a *authn.Authenticator) health.Check {
	return health.Check{Name: "auth_keys", Func: func(ctx context.Context) (any, error) {
		if a == nil || a.KeySet() == nil {
			return nil, nil
		}
		return nil, a.KeySet().Ready(ctx)
	}}
}

type healthParams struct {
	fx.In
	Info   BuildInfo
	Checks []health.Check `group:"mcpfleet.health"`
}

func newHealth(p healthParams) *health.Registry {
	return health.NewRegistry(p.Info.Version, p.Checks...)
}

type transportParams struct {
	fx.In
	Lifecycle  fx.Lifecycle
	Shutdowner fx.Shutdowner
	Config     config.Config
	Logger     *slog.Logger
	Server     *Server
	Authn      *authn.Authenticator
	Health     *health.Registry
	Streams    Streams
	Routes     []Route   `group:"mcpfleet.routes"`
	Prebound   *Prebound `optional:"true"`
}

// Prebound is a listener bound before the graph was built (see
// [ReserveAddr]).
type Prebound struct{ Listener net.Listener }

// ReserveAddr binds the HTTP address now when it asks for any free port
// (":0") and no public URL is configured, and rewrites cfg.HTTP.Addr to the
// port it got. The resource URL (the token audience) and the metadata URLs
// are derived from the address, so they must name the real port; they are
// fixed before the listener would otherwise be bound at start. Returns nil
// when there is nothing to reserve.
func ReserveAddr(cfg *config.Config) (*Prebound, error) {
	if cfg.Transport != config.TransportHTTP || cfg.HTTP.PublicURL != "" {
		return nil, nil
	}
	if _, port, err := net.SplitHostPort(cfg.HTTP.Addr); err != nil || port != "0" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}
	cfg.HTTP.Addr = ln.Addr().String()
	return &Prebound{Listener: ln}, nil
}

// Listener is the running HTTP listener, provided so tests and tools can
// learn the bound address (for ":0").
type Listener struct{ srv *httpserver.Server }

// Addr returns the bound address, or "" for stdio.
func (l *Listener) Addr() string {
	if l == nil || l.srv == nil {
		return ""
	}
	return l.srv.Addr()
}

func newListener(p transportParams) *Listener {
	if p.Config.Transport == config.TransportStdio {
		startStdio(p)
		return &Listener{}
	}
	return &Listener{srv: startHTTP(p)}
}

func startStdio(p transportParams) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error {
			t := &mcp.IOTransport{Reader: io.NopCloser(p.Streams.In), Writer: nopWriteCloser{p.Streams.Out}}
			go func() {
				defer close(done)
				err := p.Server.MCP.Run(ctx, t)
				if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, mcp.ErrConnectionClosed) && !errors.Is(err, io.EOF) {
					p.Logger.Error("stdio session ended", "error", err)
				}
				// The client hung up: the process has nothing left to do.
				_ = p.Shutdowner.Shutdown()
			}()
			return nil
		},
		OnStop: func(stopCtx context.Context) error {
			_ = p.Server.Drain(stopCtx)
			cancel()
			select {
			case <-done:
			case <-stopCtx.Done():
			}
			return nil
		},
	})
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

func startHTTP(p transportParams) *httpserver.Server {
	cfg := p.Config
	sdkOpts := &mcp.StreamableHTTPOptions{
		Stateless:    cfg.HTTP.Stateless,
		JSONResponse: cfg.HTTP.JSONResponse,
		// Idle sessions are closed by core's session tracker (sessions.go),
		// which also knows who owns each session.
		SessionTimeout:      0,
		MaxRequestBodyBytes: int64(cfg.HTTP.MaxBodyBytes),
		Logger:              p.Logger,
		// Our Host allowlist below is stricter and configurable.
		DisableLocalhostProtection: true,
	}
	if !cfg.HTTP.Stateless && cfg.HTTP.EventStoreBytes > 0 {
		// Lets a client resume a stream that broke (or that a tool closed
		// on purpose) without losing the result. Bounded: go-sdk's
		// MemoryEventStore keeps an entry per stream for the session's life.
		sdkOpts.EventStore = eventstore.New(int(cfg.HTTP.EventStoreBytes))
	}
	getServer := func(*http.Request) *mcp.Server { return p.Server.MCP }
	// The sessionless revision (2026-07-28) is served by a stateless handler;
	// its POST is the whole request, so a client that goes away cancels the
	// call.
	sessionlessOpts := *sdkOpts
	sessionlessOpts.Stateless = true
	sessionlessOpts.EventStore = nil
	sessionlessOpts.PropagateRequestCancellation = true
	stateless := taskHeaders(withHTTPRequest(mcp.NewStreamableHTTPHandler(getServer, &sessionlessOpts)))
	// A stateless handler serves every revision: earlier ones with a
	// temporary session per request. A stateful deployment keeps sessions
	// for the earlier revisions and routes sessionless requests to the
	// stateless handler, so both revisions share one URL.
	var mcpHandler http.Handler = stateless
	if !cfg.HTTP.Stateless {
		stateful := touchSessions(p.Server.sessions, mcp.NewStreamableHTTPHandler(getServer, sdkOpts))
		// Only a request that may open a session (one the router sends to
		// the stateful handler without a session id) takes a session slot
		// and counts against the initialize rate; sessionless requests of
		// 2026-07-28 open none.
		stateful = limitSessions(p.Server.sessions.limits, p.Server.sessions, stateful)
		mcpHandler = &revisionRouter{stateful: stateful, stateless: stateless}
		if cfg.HTTP.SessionTimeout > 0 {
			p.Lifecycle.Append(fx.StartStopHook(p.Server.sessions.start, p.Server.sessions.close))
		}
	}
	// go-sdk's handlers learn the verified caller from go-sdk's own
	// TokenInfo; the direct path reads it from the context.
	mcpHandler = authn.ForGoSDK(mcpHandler)
	if cfg.HTTP.InlineToolCalls {
		// The direct path (direct.go) answers eligible tools/call requests
		// of both revisions as go-sdk would, and hands it everything else.
		mcpHandler = newDirectPath(p.Server, mcpHandler, !cfg.HTTP.Stateless, cfg.HTTP.JSONResponse, sdkOpts.EventStore)
	}
	// Both revisions (and every handler behind) get only well-formed bodies.
	mcpHandler = httpserver.ParseGuard(mcpHandler)

	mux := http.NewServeMux()
	metaPaths := authn.MetadataPaths(cfg.HTTP.Path)
	guard := authn.NewGuard(p.Authn, cfg.Auth.RequiredScopes, cfg.BaseURL()+metaPaths[0])
	endpoint := httpserver.Guard(
		httpserver.NewHostPolicy(cfg.HTTP.AllowedHosts, config.IsLoopback(cfg.HTTP.Addr), cfg.HTTP.PublicURL),
		httpserver.NewOriginPolicy(cfg.HTTP.AllowedOrigins),
		int64(cfg.HTTP.MaxBodyBytes),
		guard.Middleware(mcpHandler),
	)
	mux.Handle(cfg.HTTP.Path, endpoint)
	if !cfg.Auth.Disabled {
		var servers []string
		if cfg.Auth.OIDC.Enabled() {
			servers = []string{cfg.Auth.OIDC.Issuer}
		}
		scopes := cfg.Auth.ScopesSupported
		if len(scopes) == 0 {
			scopes = cfg.Auth.RequiredScopes
		}
		meta := auth.ProtectedResourceMetadataHandler(authn.ProtectedResourceMetadata(cfg.ResourceURL(), servers, scopes, cfg.Server.Name))
		for _, path := range metaPaths {
			mux.Handle("GET "+path, meta)
		}
	}
	mux.Handle("GET /healthz", p.Health.LivenessHandler())
	mux.Handle("GET /readyz", p.Health.ReadinessHandler())
	for _, r := range p.Routes {
		mux.Handle(r.Pattern, r.Handler)
	}

	var prebound net.Listener
	if p.Prebound != nil {
		prebound = p.Prebound.Listener
	}
	srv := httpserver.New(httpserver.Options{
		Addr: cfg.HTTP.Addr, Listener: prebound, CertFile: cfg.HTTP.TLS.CertFile, KeyFile: cfg.HTTP.TLS.KeyFile,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		Handler:           mux,
		Logger:            p.Logger,
	})
	p.Lifecycle.Append(fx.Hook{
		OnStart: srv.Start,
		OnStop: func(ctx context.Context) error {
			return shutdownHTTP(ctx, p, srv)
		},
	})
	return srv
}

// shutdownHTTP drains: readiness turns false, the listener stops accepting,
// in-flight tool calls finish (until the deadline), then remaining sessions
// and streams are closed.
func shutdownHTTP(ctx context.Context, p transportParams, srv *httpserver.Server) error {
	p.Health.SetDraining()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	if err := p.Server.Drain(ctx); err != nil {
		p.Logger.Warn("shutdown deadline reached with tool calls in flight", "in_flight", p.Server.InFlight())
	}
	p.Server.CloseSessions()
	if err := <-shut; err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}
