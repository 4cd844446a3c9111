package slack_test

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/coretest"
	"github.com/mcpfleet/mcpfleet/servers/slack"
	"github.com/mcpfleet/mcpfleet/servers/slack/internal/fakeslack"
)

func startErr(t *testing.T, yaml string, env map[string]string) error {
	t.Helper()
	h, err := coretest.New(coretest.Options{YAML: "server: {name: slack}\n" + yaml, Env: env, Modules: []fx.Option{slack.Module}})
	if err == nil {
		_ = h.Stop(t.Context())
	}
	return err
}

func TestConfigRefusals(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"none", "", "no workspace configured; set MCPFLEET_SLACK_TOKEN"},
		{"browser token", "slack: {token: xoxc-123-456}", "browser session token (xoxc-/xoxd-): these are refused"},
		{"browser cookie", "slack: {user_token: xoxd-abc}", "browser session token"},
		{"user token as bot", "slack: {token: xoxp-1}", "slack.workspaces.default.token must be a bot token starting with xoxb-"},
		{"bot token as user", "slack: {user_token: xoxb-1}", "must be a user token starting with xoxp-"},
		{"both forms", "slack: {token: xoxb-1, workspaces: {a: {token: xoxb-2}}}", "not both"},
		{"two defaults", "slack: {workspaces: {a: {token: xoxb-1}, b: {token: xoxb-2}}}", "exactly one workspace must have default: true"},
		{"bad channel", "slack: {workspaces: {a: {token: xoxb-1, channels: [general]}}}", `"general" is neither a channel id`},
		{"bad write channel", "slack: {workspaces: {a: {token: xoxb-1, write: {channels: ['!x y']}}}}", "write.channels"},
		{"bad team", "slack: {workspaces: {a: {token: xoxb-1, team_id: nope}}}", "not a Slack team id"},
		{"bad domain", "slack: {workspaces: {a: {token: xoxb-1, write: {unfurl_domains: ['http://x']}}}}", "not a domain name"},
		{"unknown key", "slack: {workspaces: {a: {token: xoxb-1, tokn: x}}}", "tokn"},
		{"bad tier", "slack: {token: xoxb-1, limits: {tiers: {5: 10}}}", "tier 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := startErr(t, tc.yaml, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "xoxc-123-456") {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

// One workspace from the environment: bot and user token.
func TestWorkspaceFromEnvironment(t *testing.T) {
	fake := fakeslack.New(t, fakeslack.Options{})
	h := coretest.Start(t, coretest.Options{
		YAML: string(slack.DefaultConfig),
		Env: map[string]string{"MCPFLEET_SLACK_TOKEN": fakeslack.BotToken, "MCPFLEET_SLACK_USER_TOKEN": "env:TEST_SLACK_USER",
			"TEST_SLACK_USER": fakeslack.UserToken, "MCPFLEET_SLACK_API_URL": fake.URL(), "MCPFLEET_SLACK_CACHE_WARM_UP": "false"},
		Modules: []fx.Option{slack.Module},
	})
	s := &server{t: t, cs: h.Connect(t, nil), fake: fake, harness: h}
	out := s.ok("get_workspace", obj{})
	if str(out, "workspace") != "default" || length(out, "tokens") != 2 {
		t.Errorf("env workspace: %v", out)
	}
	s.ok("search_messages", obj{"query": "deploy"})
}

// Reading is limited to the channel allowlist, by id and by #name, and
// exclusions win.
func TestReadAllowlist(t *testing.T) {
	s := startServer(t, setup{workspaces: `    main:
      api_url: {{URL}}
      token: {{BOT}}
      user_token: {{USER}}
      channels: ["#general", C0RANDOM, "!G0SECRET"]
`})
	s.ok("get_channel_history", obj{"channel": fakeslack.General})
	s.ok("get_channel_history", obj{"channel": "#random"})
	n := len(s.fake.Requests())
	if msg := s.fails("get_channel_history", obj{"channel": fakeslack.Secret}); !strings.Contains(msg, "is not one workspace \"main\" may read") {
		t.Errorf("excluded channel: %s", msg)
	}
	if got := s.methodsSince(n); len(got) != 0 {
		t.Errorf("an excluded id reached Slack: %v", got)
	}
	if msg := s.fails("get_thread_replies", obj{"channel": fakeslack.NoBot, "ts": s.fake.ThreadTS()}); !strings.Contains(msg, "may read") {
		t.Errorf("unlisted channel: %s", msg)
	}
	out := s.ok("list_channels", obj{"types": []string{"public", "private"}})
	if length(out, "channels") != 2 {
		t.Errorf("list_channels shows channels outside the allowlist: %v", out)
	}
	// Search results outside the allowlist are withheld.
	out = s.ok("search_messages", obj{"query": "secret plan"})
	if length(out, "messages") != 0 || field(out, "withheld") != float64(1) {
		t.Errorf("search: %v", out)
	}
}

// A file shared only outside the read allowlist is refused before its
// content is downloaded.
func TestFileOutsideAllowlist(t *testing.T) {
	s := startServer(t, setup{workspaces: `    main:
      api_url: {{URL}}
      token: {{BOT}}
      channels: [C0RANDOM]
`})
	if msg := s.fails("get_file", obj{"file": fakeslack.TextFile}); !strings.Contains(msg, "not shared in any channel") {
		t.Errorf("file outside the allowlist: %s", msg)
	}
	for _, r := range s.fake.Requests() {
		if r.Method == "files.download" {
			t.Error("the file was downloaded")
		}
	}
}

// Slack's tier limits are kept before sending: a call whose slot is
// further away than its deadline fails at once, with the wait, and
// nothing is sent.
func TestTierLimitBoundedByDeadline(t *testing.T) {
	s := startServer(t, setup{slack: "  cache: {warm_up: false}\n  limits: {tiers: {1: 1, 2: 1, 3: 1, 4: 1}, burst_seconds: 0}\n",
		config: func(c *config.Config) { c.Limits.ToolTimeout = 10 * time.Second }})
	s.ok("get_channel_history", obj{"channel": fakeslack.General, "limit": "1"})
	n := s.fake.Count("conversations.history")
	msg := s.fails("get_channel_history", obj{"channel": fakeslack.General, "limit": "1"})
	if !strings.Contains(msg, "conversations.history calls a minute") || !strings.Contains(msg, "next slot is") {
		t.Errorf("tier wait: %s", msg)
	}
	if s.fake.Count("conversations.history") != n {
		t.Error("the limited call reached Slack")
	}
}

// An Enterprise Grid workspace passes its team id to list calls.
func TestGridTeamID(t *testing.T) {
	s := startServer(t, setup{workspaces: `    grid:
      api_url: {{URL}}
      token: {{BOT}}
      user_token: {{USER}}
      team_id: T0GRID
`, slack: "  cache: {warm_up: true}\n"})
	waitDirectory(t, s, "grid")
	s.ok("search_messages", obj{"query": "deploy"})
	for _, m := range []string{"users.list", "conversations.list", "search.messages"} {
		found := false
		for _, r := range s.fake.Requests() {
			if r.Method == m {
				found = true
				if r.Form["team_id"] != "T0GRID" {
					t.Errorf("%s without team_id: %v", m, r.Form)
				}
			}
		}
		if !found {
			t.Errorf("no %s call", m)
		}
	}
}
