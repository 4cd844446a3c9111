package core

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/cache"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/tasks"
)

// BuildInfo names the binary and its version.
type BuildInfo struct {
	Name    string
	Version string
}

// Server is an assembled MCP server: the go-sdk server with every tool,
// resource and prompt registered and the middleware chain installed.
type Server struct {
	MCP      *mcp.Server
	catalog  *Catalog
	calls    *invoker
	sessions *sessions
	// handlers and registered (as advertised) let NotifyToolListChanged
	// register a tool again unchanged.
	handlers   map[string]mcp.ToolHandler
	registered map[string]*mcp.Tool
	// tools, headerParams, impl and direct serve the direct path
	// (direct.go): the tools by name, those that map an argument to an
	// Mcp-Param header, the server's identity and the receiving middleware
	// chain as go-sdk runs it, ending in the tool call.
	tools        map[string]*ToolDef
	headerParams map[string]bool
	impl         *mcp.Implementation
	direct       mcp.MethodHandler
	directCalls  atomic.Int64
}

// DirectCalls returns how many tools/call requests the direct path
// (direct.go) has answered.
func (s *Server) DirectCalls() int64 { return s.directCalls.Load() }

// ServerParams are the dependencies of [NewServer].
type ServerParams struct {
	fx.In

	Config     config.Config
	Info       BuildInfo
	Logger     *slog.Logger
	Catalog    *Catalog
	Middleware []Middleware   `group:"mcpfleet.middleware"`
	Options    []ServerOption `group:"mcpfleet.server_options"`
	// StateKey signs request state of input-required results; see
	// [RequestStateKey].
	StateKey RequestStateKey `optional:"true"`
	// Cache holds task state (shared by replicas with the Redis backend).
	// Only a server with task tools needs it, and must then include
	// [CacheModule].
	Cache cache.Cache `optional:"true"`
	// Clock is what idle sessions are timed by; tests inject one. Without
	// it, real time.
	Clock Clock `optional:"true"`
}

// Clock tells the time. Tests supply one (fx.Supply(fx.Annotate(c,
// fx.As(new(core.Clock))))) to expire sessions without waiting.
type Clock interface {
	Now() time.Time
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
	opts.SetCacheable = cacheHints(p.Config)
	taskTools := map[string]*ToolDef{}
	for _, td := range p.Catalog.tools {
		if td.spec.Task != TaskNever {
			taskTools[td.spec.Name] = td
		}
	}
	if len(taskTools) > 0 {
		opts.Capabilities.Extensions = map[string]any{tasks.ExtensionID: map[string]any{}}
	}
	for _, o := range p.Options {
		o(opts)
	}
	now := time.Now
	if p.Clock != nil {
		now = p.Clock.Now
	}
	sess := newSessions(p.Config.HTTP.SessionTimeout, now)
	l := p.Config.Limits
	sess.limits = newSessionLimiter(l.MaxSessions, l.MaxSessionsPerPrincipal, l.InitializePerMinute, p.Config.HTTP.SessionTimeout)
	title := p.Config.Server.Title
	impl := &mcp.Implementation{Name: p.Config.Server.Name, Title: title, Version: p.Info.Version}
	s := mcp.NewServer(impl, opts)

	stateKey := p.StateKey
	if len(stateKey) == 0 && p.Config.HTTP.RequestStateKey.IsSet() {
		stateKey = RequestStateKey(p.Config.HTTP.RequestStateKey.Reveal())
	}
	calls := newInvoker(p.Logger, p.Config.Limits.MaxConcurrentCalls, p.Config.Limits.ToolTimeout, int(p.Config.Limits.MaxResultBytes), stateKey)
	handlers := make(map[string]mcp.ToolHandler, len(p.Catalog.tools))
	registered := make(map[string]*mcp.Tool, len(p.Catalog.tools))
	tools := make(map[string]*ToolDef, len(p.Catalog.tools))
	headerParams := map[string]bool{}
	for _, td := range p.Catalog.tools {
		tools[td.spec.Name] = td
		h := calls.handler(td)
		handlers[td.spec.Name] = h
		tool := td.tool
		t := *tool
		if !p.Config.Tools.OutputSchemas {
			t.OutputSchema = nil
		}
		if td.spec.Task != TaskNever {
			// Say so in the listing, where a client decides how to call.
			t.Meta = mcp.Meta{tasks.ExtensionID: map[string]any{"taskSupport": td.spec.Task.String()}}
		}
		// Schemas go to go-sdk encoded once: it re-encodes a schema value
		// for every tools/list, and under 2026-07-28 for every tools/call
		// (to find x-mcp-header annotations), which profiles showed as a
		// sixth of a stateless call's CPU. Validation stays core's, against
		// the compiled schema.
		t.InputSchema = encodedSchema(t.InputSchema)
		t.OutputSchema = encodedSchema(t.OutputSchema)
		tool = &t
		if raw, ok := t.InputSchema.(json.RawMessage); ok && bytes.Contains(raw, []byte(`"x-mcp-header"`)) {
			headerParams[td.spec.Name] = true
		}
		s.AddTool(tool, h)
		registered[td.spec.Name] = tool
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
	// Outermost: every error, go-sdk's own included, is bounded and coded.
	chain := []mcp.Middleware{boundErrorsMiddleware, reachability, principalMiddleware(defaultPrincipal(p.Config))}
	var engine *taskEngine
	if len(taskTools) > 0 {
		if p.Cache == nil {
			panic("core: tools that run as tasks keep their state in the cache: include core.CacheModule")
		}
		engine = newTaskEngine(tasks.NewStore(p.Cache, taskTTL, taskPollInterval), p.Logger)
		if err := engine.register(s); err != nil {
			panic("core: registering the task methods: " + err.Error())
		}
		// Before the modules' middleware: the policy governs the task
		// methods as uses of the task's tool ([TaskTool]).
		chain = append(chain, engine.lookupMiddleware)
	}
	for _, m := range mws {
		chain = append(chain, m.Func)
	}
	if engine != nil {
		// Innermost: policy, audit and tracing see the call before it may
		// become a task.
		chain = append(chain, taskMiddleware(engine, taskTools))
	}
	chain = append([]mcp.Middleware{sess.middleware}, chain...)
	s.AddReceivingMiddleware(chain...)
	srv := &Server{MCP: s, catalog: p.Catalog, calls: calls, sessions: sess, handlers: handlers, registered: registered,
		tools: tools, headerParams: headerParams, impl: impl}
	// The direct path runs the same chain as go-sdk: go-sdk applies the
	// first middleware outermost.
	srv.direct = srv.callTool
	for i := len(chain) - 1; i >= 0; i-- {
		srv.direct = chain[i](srv.direct)
	}
	return srv
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

// listTTL is how long a client may keep a list (tools, prompts, resources,
// templates) before asking again. Lists change only when the server is
// redeployed or its policy reloads; every call is checked against the
// current policy whatever the client cached.
const listTTL = 60 * time.Second

// cacheHints returns the ttlMs/cacheScope rule for results that carry them
// (2026-07-28). With authentication on, what a list shows and what a read
// returns depend on who asks (the policy filters lists and redacts by
// clearance), so only the caller's own client may cache them: "private".
// Discovery describes the server, the same for everyone: "public".
func cacheHints(cfg config.Config) func(context.Context, mcp.Request, *mcp.Cacheable) {
	scope := "private"
	if cfg.Auth.Disabled {
		scope = "public" // every caller is the same anonymous principal
	}
	return func(_ context.Context, req mcp.Request, c *mcp.Cacheable) {
		switch req.(type) {
		case *mcp.DiscoverRequest:
			c.CacheScope = "public"
			c.TTLMs = int(listTTL.Milliseconds())
		case *mcp.ListToolsRequest, *mcp.ListPromptsRequest, *mcp.ListResourcesRequest, *mcp.ListResourceTemplatesRequest:
			c.CacheScope = scope
			c.TTLMs = int(listTTL.Milliseconds())
		default: // resources/read: a resource handler may have decided
			if c.CacheScope == "" || scope == "private" {
				c.CacheScope = scope
			}
		}
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

// encodedSchema returns a schema as JSON, or nil for none.
func encodedSchema(schema any) any {
	if schema == nil {
		return nil
	}
	if s, ok := schema.(*jsonschema.Schema); ok && s == nil {
		return nil
	}
	raw, err := json.Marshal(schema)
	if err != nil {
		return schema // go-sdk reports it when the tool is added
	}
	return json.RawMessage(raw)
}
