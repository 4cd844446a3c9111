// Package fixturetest starts the conformance fixture over real HTTP with
// authentication on (a fake OIDC issuer and an API key), as the client and
// edge tests need it, and counts the MCP requests that reach the server.
package fixturetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn/authntest"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/tests/conformance/fixture"
)

// APIKey is the key the fixture accepts besides tokens; its principal is
// APIKeyID.
const (
	APIKey   = "mcpk_fixturetest_3f9a1c27d85e4b60"
	APIKeyID = "ci-bot"
)

// Options adjust the fixture.
type Options struct {
	// Stateless serves every request with a temporary session.
	Stateless bool
	// YAML is config for other modules' sections (the core settings below
	// are applied after it).
	YAML string
	// Config adjusts the core config after the defaults below.
	Config func(*config.Config)
	// Modules are added to the fixture's (another domain module, say).
	Modules []fx.Option
	// WithoutFixture leaves the fixture's features out, for tests that bring
	// a whole server of their own in Modules.
	WithoutFixture bool
}

// Stack is a running fixture with its issuer.
type Stack struct {
	*coretest.Harness
	Issuer  *authntest.Issuer
	counter *Counter
}

// Start starts the fixture on a loopback port with auth on: JWTs from a fake
// issuer (audience: the MCP URL) and the API key [APIKey]. It stops when the
// test ends.
func Start(t testing.TB, o Options) *Stack {
	t.Helper()
	issuer := authntest.NewIssuer(t)
	counter := &Counter{n: map[string]int{}}
	modules := []fx.Option{
		core.AsMiddleware(counter.middleware),
		core.AsToolset(core.Toolset{Name: "probe", Description: "Test probes.", Default: true}),
		core.AsTool(newWhoami),
	}
	if !o.WithoutFixture {
		modules = append(modules, fixture.Modules()...)
	}
	h := coretest.Start(t, coretest.Options{
		YAML: o.YAML,
		Config: func(c *config.Config) {
			c.Transport = config.TransportHTTP
			// Any free port: core binds it before building the server, so
			// the resource URL (token audience, metadata) names the real one.
			c.HTTP.Addr = "127.0.0.1:0"
			c.HTTP.Stateless = o.Stateless
			c.Auth.OIDC.Issuer = issuer.URL()
			c.Auth.APIKeys = []config.APIKey{{ID: APIKeyID, SHA256: authn.HashAPIKey(APIKey), Scopes: []string{"mcp"}}}
			if o.Config != nil {
				o.Config(c)
			}
		},
		Modules: append(modules, o.Modules...),
	})
	return &Stack{Harness: h, Issuer: issuer, counter: counter}
}

// Claims returns valid claims for subject, for this server's audience.
func (s *Stack) Claims(subject string) jwt.MapClaims {
	return s.Issuer.Claims(subject, s.Config.ResourceURL())
}

// Token returns a valid token for subject.
func (s *Stack) Token(subject string) string { return s.Issuer.Token(s.Claims(subject)) }

// Requests returns how many MCP requests with method reached the server
// (past authentication and the HTTP checks).
func (s *Stack) Requests(method string) int { return s.counter.get(method) }

// Caller is what the whoami probe tool returns: the principal the server
// saw.
type Caller struct {
	Subject string   `json:"subject"`
	Method  string   `json:"method"`
	Scopes  []string `json:"scopes,omitempty"`
}

// newWhoami is a probe tool that reports the caller, so client tests can
// check which credential a request was authenticated with.
func newWhoami() *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name: "whoami", Title: "Who am I", Description: "Returns the principal this call was authenticated as.",
		Toolset: "probe", Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.No,
		Classification: core.Internal, Permissions: core.NoPermissions,
	}, func(ctx context.Context, _ *core.Call, _ struct{}) (Caller, error) {
		p := authn.FromContext(ctx)
		if p == nil {
			return Caller{}, errors.New("no principal in the call context")
		}
		return Caller{Subject: p.Subject, Method: p.Method, Scopes: p.Scopes}, nil
	})
}

// Counter counts MCP requests by method.
type Counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *Counter) get(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method]
}

func (c *Counter) middleware() core.Middleware {
	return core.Middleware{Name: "fixturetest.counter", Order: 0, Func: func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			c.mu.Lock()
			c.n[method]++
			c.mu.Unlock()
			return next(ctx, method, req)
		}
	}}
}
