package core

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
)

// BuildInfo names the binary and its version.
type BuildInfo struct {
	Name    string
	Version string
}

// Server is an assembled MCP server: the go-sdk server with every tool,
// resource and prompt registered and the middleware chain installed.
type Server struct {
	MCP     *mcp.Server
	catalog *Catalog
	calls   *invoker

	// The inline path (inline.go): the tools it may serve and the same
	// middleware chain go-sdk runs, ending in the tool handler.
	sessions    *sessions
	handlers    map[string]mcp.ToolHandler
	registered  map[string]*mcp.Tool // as advertised
	inlineTools map[string]*ToolDef
	inlineChain mcp.MethodHandler
}

// ServerParams are the dependencies of [NewServer].
type ServerParams struct {
	fx.In

	Config     config.Config
	Info       BuildInfo
	Logger     *slog.Logger
	Catalog    *Catalog
	Middleware []Middleware   `group:"mcpfleet.middleware"`
	Options    []ServerOption `group:"mcpfleet.server_options"`
}

// NewServer builds the go-sdk server from the catalog. Middleware is
// installed in Order; core's principal middleware always runs first so that
// every other layer sees who is calling.
func NewServer(p ServerParams) *Server {
	opts := &mcp.ServerOptions{
		Instructions: p.Config.Server.Instructions,
		// Logging is deprecated from protocol 2026-07-28 but clients on
		// earlier versions (most hosts today) still use it.
		//lint:ignore SA1019 supported for clients on protocol versions before 2026-07-28
		Capabilities: &mcp.ServerCapabilities{Logging: &mcp.LoggingCapabilities{}},
	}
	if len(p.Catalog.tools) > 0 {
		opts.Capabilities.Tools = &mcp.ToolCapabilities{ListChanged: true}
	}
	for _, o := range p.Options {
		o(opts)
	}
	sess := newSessions(p.Config.HTTP.SessionTimeout)
	title := p.Config.Server.Title
	s := mcp.NewServer(&mcp.Implementation{Name: p.Config.Server.Name, Title: title, Version: p.Info.Version}, opts)

	calls := newInvoker(p.Logger, p.Config.Limits.MaxConcurrentCalls, p.Config.Limits.ToolTimeout, int(p.Config.Limits.MaxResultBytes))
	handlers := make(map[string]mcp.ToolHandler, len(p.Catalog.tools))
	registered := make(map[string]*mcp.Tool, len(p.Catalog.tools))
	inlineTools := map[string]*ToolDef{}
	for _, td := range p.Catalog.tools {
		h := calls.handler(td)
		handlers[td.spec.Name] = h
		tool := td.tool
		if !p.Config.Tools.OutputSchemas {
			t := *tool
			t.OutputSchema = nil
			tool = &t
		}
		s.AddTool(tool, h)
		registered[td.spec.Name] = tool
		if td.spec.Effect == ReadOnly && !td.spec.Interactive {
			inlineTools[td.spec.Name] = td
		}
	}
	for _, r := range p.Catalog.resources {
		s.AddResource(r.Resource, boundResource(r.Handler))
	}
	for _, t := range p.Catalog.templates {
		s.AddResourceTemplate(t.Template, boundResource(t.Handler))
	}
	for _, pr := range p.Catalog.prompts {
		s.AddPrompt(pr.Prompt, boundPrompt(pr.Handler))
	}

	mws := slices.Clone(p.Middleware)
	slices.SortStableFunc(mws, func(a, b Middleware) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Name, b.Name))
	})
	chain := []mcp.Middleware{boundErrorsMiddleware, principalMiddleware(defaultPrincipal(p.Config))}
	for _, m := range mws {
		chain = append(chain, m.Func)
	}
	s.AddReceivingMiddleware(append([]mcp.Middleware{sess.middleware}, chain...)...)

	var inline mcp.MethodHandler = func(ctx context.Context, _ string, req mcp.Request) (mcp.Result, error) {
		r := req.(*mcp.CallToolRequest)
		return handlers[r.Params.Name](ctx, r)
	}
	for _, m := range slices.Backward(chain) {
		inline = m(inline)
	}
	return &Server{MCP: s, catalog: p.Catalog, calls: calls, sessions: sess, handlers: handlers, registered: registered, inlineTools: inlineTools, inlineChain: inline}
}

// NotifyToolListChanged tells every connected client to list tools again,
// for when what a caller may see changes without the tools changing (a
// policy reload). go-sdk notifies only when tools are added or removed, so
// one tool is registered again with the same definition and handler.
func (s *Server) NotifyToolListChanged() {
	if len(s.catalog.tools) == 0 {
		return
	}
	td := s.catalog.tools[0]
	s.MCP.AddTool(s.registered[td.spec.Name], s.handlers[td.spec.Name])
}

// Catalog returns the server's catalog.
func (s *Server) Catalog() *Catalog { return s.catalog }

// InFlight returns the number of tool calls running now.
func (s *Server) InFlight() int64 { return s.calls.inflight.Load() }

// Drain waits until no tool call is running or ctx ends.
func (s *Server) Drain(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.calls.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// CloseSessions ends every open session (and with it any hanging stream).
func (s *Server) CloseSessions() {
	for ss := range s.MCP.Sessions() {
		_ = ss.Close()
	}
}

// defaultPrincipal is who a request acts as when the transport carries no
// credential: the configured principal over stdio, anonymous when HTTP auth
// is disabled, and nobody otherwise (the policy then denies).
func defaultPrincipal(cfg config.Config) *authn.Principal {
	switch {
	case cfg.Transport == config.TransportStdio:
		s := cfg.Auth.Stdio
		return &authn.Principal{Subject: s.Subject, Groups: s.Groups, Scopes: s.Scopes, Method: authn.MethodStdio}
	case cfg.Auth.Disabled:
		return authn.Anonymous()
	}
	return nil
}

// principalMiddleware moves the principal from go-sdk's TokenInfo (set by the
// HTTP auth layer) into the handler context.
func principalMiddleware(fallback *authn.Principal) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			p := fallback
			if extra := req.GetExtra(); extra != nil && extra.TokenInfo != nil {
				if tp, ok := extra.TokenInfo.Extra[authn.TokenInfoPrincipalKey].(*authn.Principal); ok {
					p = tp
				}
			}
			if p != nil {
				ctx = authn.WithPrincipal(ctx, p)
			}
			return next(ctx, method, req)
		}
	}
}
