package github_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"
	"go.uber.org/goleak"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
	"github.com/mcpfleet/mcpfleet/servers/github"
	"github.com/mcpfleet/mcpfleet/servers/github/internal/fakegithub"
)

// Shared result helpers (coretest), under the names these tests use.
var (
	text   = coretest.Text
	field  = coretest.Field
	str    = coretest.Str
	length = coretest.Len
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testClock is real time plus what tests advance it by; Sleep returns at
// once and records the wait, so retries after a rate limit cost no time.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
	sleeps []time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func (c *testClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.offset += d
	c.mu.Unlock()
	return ctx.Err()
}

func (c *testClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// server is the GitHub server under test, connected to a fake GitHub.
type server struct {
	t       testing.TB
	cs      *mcp.ClientSession
	fake    *fakegithub.Fake
	clock   *testClock
	harness *coretest.Harness
}

// setup describes a test server.
type setup struct {
	// connections is the YAML of github.connections (indented 4 spaces);
	// {{URL}} is the fake's URL and {{TOKEN}} its token. One connection
	// "main" with the token when empty.
	connections string
	// github is more YAML inside the github section (indented 2 spaces).
	github string
	// yaml is more top-level YAML.
	yaml   string
	fake   fakegithub.Options
	config func(*config.Config)
	// modules are added to the github module.
	modules []fx.Option
	// noConnect skips the in-memory client session.
	noConnect bool
}

const defaultConnections = `    main:
      base_url: {{URL}}
      token: {{TOKEN}}
`

func startServer(t testing.TB, s setup) *server {
	t.Helper()
	fake := fakegithub.New(t, s.fake)
	clock := &testClock{}
	conns := s.connections
	if conns == "" {
		conns = defaultConnections
	}
	token := s.fake.Token
	if token == "" {
		token = fakegithub.Token
	}
	conns = strings.NewReplacer("{{URL}}", fake.URL(), "{{TOKEN}}", token).Replace(conns)
	section := s.github
	if section == "" {
		// Revalidate every read, so tests see the fake's current state and
		// exercise the ETag path.
		section = "  cache: {enabled: true, ttl: 0s}\n"
	}
	yaml := "server:\n  name: github\ntools:\n  toolsets: [all]\ngithub:\n  connections:\n" + conns + section + s.yaml
	h := coretest.Start(t, coretest.Options{
		YAML:    yaml,
		Config:  s.config,
		Modules: append([]fx.Option{github.Module, fx.Supply(fx.Annotate(clock, fx.As(new(upstream.Clock))))}, s.modules...),
	})
	srv := &server{t: t, fake: fake, clock: clock, harness: h}
	if !s.noConnect {
		srv.cs = h.Connect(t, nil)
	}
	return srv
}

type obj = map[string]any

// call calls a tool and returns its result (tool errors included).
func (s *server) call(name string, args obj) *mcp.CallToolResult {
	s.t.Helper()
	res, err := s.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		s.t.Fatalf("%s: protocol error: %v", name, err)
	}
	return res
}

// ok calls a tool that must succeed and returns its structured result.
func (s *server) ok(name string, args obj) obj {
	s.t.Helper()
	res := s.call(name, args)
	if res.IsError {
		s.t.Fatalf("%s(%v) failed: %s", name, args, text(res))
	}
	if t := text(res); strings.Contains(t, `\u003c`) || strings.Contains(t, `\u0026`) {
		s.t.Errorf("%s: text content is HTML-escaped JSON (core encodes results without HTML escaping): %s", name, t)
	}
	var out obj
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &out); err != nil {
		s.t.Fatalf("%s: structured content: %v", name, err)
	}
	return out
}

// fails calls a tool that must fail with a tool error and returns the
// error text.
func (s *server) fails(name string, args obj) string {
	s.t.Helper()
	res := s.call(name, args)
	if !res.IsError {
		s.t.Fatalf("%s(%v) succeeded, want a tool error: %s", name, args, text(res))
	}
	return text(res)
}

func merge(a, b obj) obj {
	out := obj{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// requestsSince returns the fake's requests after the first n.
func (s *server) requestsSince(n int) []fakegithub.Request {
	return s.fake.Requests()[n:]
}
