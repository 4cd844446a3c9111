package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/servers/slack/internal/fakeslack"
)

// The warm-up runs in the background: with Slack's list methods stuck,
// initialize, tools/list and tools that need single entries all answer,
// and the directory reports that it is warming, not complete.
func TestWarmUpNeverBlocks(t *testing.T) {
	fake := fakeslack.New(t, fakeslack.Options{Users: 500})
	releaseUsers := fake.Hold("users.list")
	releaseChannels := fake.Hold("conversations.list")
	defer releaseUsers()
	defer releaseChannels()
	s := startServer(t, setup{fakeSlack: fake, slack: "  cache: {warm_up: true}\n"}) // Connect initializes
	if _, err := s.cs.ListTools(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	out := s.ok("get_workspace", obj{})
	if st := str(out, "users_directory.status"); st != "warming" && st != "cold" {
		t.Errorf("users directory %q while users.list is stuck", st)
	}
	// A cold entry is fetched on its own.
	if out := s.ok("get_user", obj{"user": fakeslack.Alice, "method": "presence"}); str(out, "user.name") != "alice" {
		t.Errorf("cold user: %v", out)
	}
	if out := s.ok("get_channel_history", obj{"channel": fakeslack.General, "limit": "1"}); str(out, "channel") != "#general (C0GENERAL)" {
		t.Errorf("cold channel: %v", out)
	}
	releaseUsers()
	releaseChannels()
	waitDirectory(t, s, "main")
	out = s.ok("get_workspace", obj{})
	if field(out, "users_directory.loaded") != float64(504) || field(out, "users_directory.pages") != float64(3) {
		t.Errorf("complete users directory: %v", field(out, "users_directory"))
	}
	// Served from the directory now: no upstream call.
	n := len(s.fake.Requests())
	if out := s.ok("list_channels", obj{"query": "random"}); str(out, "source") != "directory" || length(out, "channels") != 1 {
		t.Errorf("list_channels warm: %v", out)
	}
	if got := s.methodsSince(n); len(got) != 0 {
		t.Errorf("warm list_channels called %v", got)
	}
}

// A warm-up cut short by rate limits is marked incomplete, never served
// as complete, and resumes from the page that failed.
func TestWarmUpIncompleteThenResumed(t *testing.T) {
	fake := fakeslack.New(t, fakeslack.Options{Users: 500})
	// The second page is rate limited beyond core's retries (4 attempts),
	// twice.
	fake.RateLimitAt("users.list", "o200", 5, 8)
	s := startServer(t, setup{fakeSlack: fake, slack: "  cache: {warm_up: true}\n"})
	waitDirectory(t, s, "main")
	out := s.ok("get_workspace", obj{})
	st := field(out, "users_directory")
	if str(st, "status") != "complete" || field(st, "resumes") != float64(2) || field(st, "pages") != float64(3) || str(st, "error") != "" {
		t.Errorf("users directory after resumes: %v", st)
	}
	first := 0
	for _, r := range fake.Requests() {
		if r.Method == "users.list" && r.Form["cursor"] == "" {
			first++
		}
	}
	if first != 1 {
		t.Errorf("the first page was read %d times; a resumed warm-up starts from the failed page", first)
	}
	waits := 0
	for _, d := range s.clock.Sleeps() {
		if d == 5*time.Second {
			waits++
		}
	}
	if waits < 8 {
		t.Errorf("%d waits of Retry-After 5s, want 8 (6 retries, 2 resumes): %v", waits, s.clock.Sleeps())
	}

	// Rate limited for good: incomplete, and list_users says so.
	fake2 := fakeslack.New(t, fakeslack.Options{})
	fake2.RateLimit("users.list", 1, 1<<20)
	s2 := startServer(t, setup{fakeSlack: fake2, slack: "  cache: {warm_up: true, retry_after: 1s}\n"})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && str(s2.ok("get_workspace", obj{}), "users_directory.status") != "incomplete" {
		time.Sleep(5 * time.Millisecond)
	}
	out = s2.ok("list_users", obj{})
	if str(out, "directory.status") != "incomplete" || !strings.Contains(str(out, "directory.error"), "rate limit") {
		t.Errorf("list_users during a cut warm-up: %v", field(out, "directory"))
	}
}

// A complete directory is kept in core's cache; with Redis a second
// replica starts from it without asking Slack.
func TestDirectorySharedThroughRedis(t *testing.T) {
	if os.Getenv("CI") != "true" {
		if c, err := (&net.Dialer{Timeout: time.Second}).Dial("tcp", "127.0.0.1:6379"); err != nil {
			t.Skip("Redis is not running on 127.0.0.1:6379; start it to run this test")
		} else {
			c.Close()
		}
	}
	prefix := fmt.Sprintf("slacktest-%d-%d:", os.Getpid(), time.Now().UnixNano())
	redis := func(c *config.Config) {
		c.Cache = config.Cache{Backend: "redis", RedisURL: config.NewSecret("redis://127.0.0.1:6379/0"), KeyPrefix: prefix}
	}
	fake := fakeslack.New(t, fakeslack.Options{Users: 300, Channels: 50})
	a := startServer(t, setup{fakeSlack: fake, slack: "  cache: {warm_up: true}\n", config: redis})
	waitDirectory(t, a, "main")
	before := fake.Count("users.list") + fake.Count("conversations.list")
	b := startServer(t, setup{fakeSlack: fake, slack: "  cache: {warm_up: true}\n", config: redis})
	waitDirectory(t, b, "main")
	out := b.ok("get_workspace", obj{})
	if field(out, "users_directory.from_cache") != true || field(out, "users_directory.loaded") != float64(304) {
		t.Errorf("second replica: %v", field(out, "users_directory"))
	}
	if after := fake.Count("users.list") + fake.Count("conversations.list"); after != before {
		t.Errorf("second replica listed Slack again (%d calls)", after-before)
	}
}

// /readyz names a workspace whose token Slack rejects, and one it cannot
// reach.
func TestReadyzNamesBrokenWorkspace(t *testing.T) {
	key := "mcpk_readyz_test_key_0123456789abcdef"
	good := fakeslack.New(t, fakeslack.Options{})
	revoked := fakeslack.New(t, fakeslack.Options{})
	s := startServer(t, setup{fakeSlack: good, noConnect: true, workspaces: strings.ReplaceAll(`    good:
      api_url: {{URL}}
      token: {{BOT}}
      default: true
    revoked:
      api_url: REVOKED
      token: {{BOT}}
    gone:
      api_url: http://127.0.0.1:1/api/
      token: {{BOT}}
      upstream: {retry: {max_retries: 0}}
`, "REVOKED", revoked.URL()), config: func(c *config.Config) {
		c.Transport = config.TransportHTTP
		c.HTTP.Addr = "127.0.0.1:0"
		c.Auth.APIKeys = []config.APIKey{{ID: "test", SHA256: authn.HashAPIKey(key)}}
	}})
	revoked.Revoke()
	resp, err := http.Get(s.harness.BaseURL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("readyz: %v: %s", err, b)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz status %d", resp.StatusCode)
	}
	if e := str(rep, "checks.slack_revoked.error"); !strings.Contains(e, `slack workspace "revoked": Slack rejected its token (invalid_auth)`) {
		t.Errorf("revoked workspace: %q in %s", e, b)
	}
	if e := str(rep, "checks.slack_gone.error"); !strings.Contains(e, `slack workspace "gone" cannot be reached`) {
		t.Errorf("unreachable workspace: %q in %s", e, b)
	}
	if e := str(rep, "checks.slack_good.error"); e != "" {
		t.Errorf("good workspace: %q", e)
	}
}

// A complete directory is refreshed after its TTL in the background, and
// stays complete (the old one serves) while it reloads.
func TestDirectoryRefreshedAfterTTL(t *testing.T) {
	fake := fakeslack.New(t, fakeslack.Options{})
	// The test clock returns from the TTL wait at once, so refreshes
	// follow each other; two are enough.
	s := startServer(t, setup{fakeSlack: fake, slack: "  cache: {warm_up: true, ttl: 1m}\n"})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && fake.Count("users.list") < 3 {
		if st := str(s.ok("get_workspace", obj{}), "users_directory.status"); st == "incomplete" {
			t.Fatalf("refresh made the directory %s", st)
		}
		time.Sleep(time.Millisecond)
	}
	if n := fake.Count("users.list"); n < 3 {
		t.Fatalf("users.list called %d times: no refresh after the TTL", n)
	}
	if !slices.Contains(s.clock.Sleeps(), time.Minute) && !slices.ContainsFunc(s.clock.Sleeps(), func(d time.Duration) bool { return d > 59*time.Second && d <= time.Minute }) {
		t.Errorf("no wait of the TTL: %v", s.clock.Sleeps()[:min(10, len(s.clock.Sleeps()))])
	}
}
