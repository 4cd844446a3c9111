package slack_test

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
	"github.com/mcpfleet/mcpfleet/servers/slack"
	"github.com/mcpfleet/mcpfleet/servers/slack/internal/fakeslack"
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
// A wait of half an hour or more (the directories' refresh) blocks until
// cancelled instead, so a refresh loop does not spin.
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

func (c *testClock) Sleep(ctx context.Context, d time.Duration) error {
	if d >= 30*time.Minute {
		<-ctx.Done()
		return ctx.Err()
	}
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.offset += d
	c.mu.Unlock()
	// A real millisecond, so that a loop retrying forever (a warm-up
	// rate limited for good) does not spin the CPU.
	time.Sleep(time.Millisecond)
	return ctx.Err()
}

func (c *testClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// server is the Slack server under test, connected to a fake Slack.
type server struct {
	t       testing.TB
	cs      *mcp.ClientSession
	fake    *fakeslack.Fake
	clock   *testClock
	harness *coretest.Harness
}

// setup describes a test server.
type setup struct {
	// workspaces is the YAML of slack.workspaces (indented 4 spaces);
	// {{URL}}, {{BOT}} and {{USER}} are replaced. One workspace "main"
	// with both tokens when empty.
	workspaces string
	// slack is more YAML inside the slack section (indented 2 spaces);
	// warm-up is off unless it says otherwise.
	slack     string
	fake      fakeslack.Options
	fakeSlack *fakeslack.Fake
	noConnect bool
	env       map[string]string
	config    func(*config.Config)
}

const defaultWorkspaces = `    main:
      api_url: {{URL}}
      token: {{BOT}}
      user_token: {{USER}}
`

func startServer(t testing.TB, s setup) *server {
	t.Helper()
	fake := s.fakeSlack
	if fake == nil {
		fake = fakeslack.New(t, s.fake)
	}
	clock := &testClock{}
	ws := s.workspaces
	if ws == "" {
		ws = defaultWorkspaces
	}
	ws = strings.NewReplacer("{{URL}}", fake.URL(), "{{BOT}}", fakeslack.BotToken, "{{USER}}", fakeslack.UserToken).Replace(ws)
	section := s.slack
	if section == "" {
		section = "  cache: {warm_up: false}\n"
	}
	yaml := "server:\n  name: slack\ntools:\n  toolsets: [all]\nslack:\n  workspaces:\n" + ws + section
	h := coretest.Start(t, coretest.Options{
		YAML:    yaml,
		Env:     s.env,
		Config:  s.config,
		Modules: []fx.Option{slack.Module, fx.Supply(fx.Annotate(clock, fx.As(new(upstream.Clock))))},
	})
	srv := &server{t: t, fake: fake, clock: clock, harness: h}
	if !s.noConnect {
		srv.cs = h.Connect(t, nil)
	}
	return srv
}

type obj = map[string]any

func (s *server) call(name string, args obj) *mcp.CallToolResult {
	s.t.Helper()
	res, err := s.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		s.t.Fatalf("%s: protocol error: %v", name, err)
	}
	return res
}

func (s *server) ok(name string, args obj) obj {
	s.t.Helper()
	res := s.call(name, args)
	if res.IsError {
		s.t.Fatalf("%s(%v) failed: %s", name, args, text(res))
	}
	var out obj
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &out); err != nil {
		s.t.Fatalf("%s: structured content: %v", name, err)
	}
	return out
}

func (s *server) fails(name string, args obj) string {
	s.t.Helper()
	res := s.call(name, args)
	if !res.IsError {
		s.t.Fatalf("%s(%v) succeeded, want a tool error: %s", name, args, text(res))
	}
	return text(res)
}

// methodsSince lists the Slack methods called after the first n requests.
func (s *server) methodsSince(n int) []string {
	var out []string
	for _, r := range s.fake.Requests()[n:] {
		out = append(out, r.Method)
	}
	return out
}

// waitDirectory waits (bounded) for both directories of a workspace.
func waitDirectory(t testing.TB, s *server, ws string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out := s.ok("get_workspace", obj{"workspace": ws})
		if str(out, "users_directory.status") == "complete" && str(out, "channels_directory.status") == "complete" {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("directories of %s not complete", ws)
}
