package slack_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/servers/slack/internal/fakeslack"
)

var writeCalls = []struct {
	tool string
	args obj
}{
	{"post_message", obj{"channel": fakeslack.General, "text": "hello"}},
	{"post_message", obj{"channel": fakeslack.General, "text": "in thread", "thread_ts": "1712000400.000100"}},
	{"schedule_message", obj{"channel": fakeslack.General, "text": "later", "post_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}},
	{"add_reaction", obj{"channel": fakeslack.General, "ts": "1712000400.000100", "emoji": "thumbsup"}},
	{"remove_reaction", obj{"channel": fakeslack.General, "ts": "1712000400.000100", "emoji": "thumbsup"}},
}

// Writes are off by default: every write tool is refused and no request
// at all reaches Slack.
func TestWritesOffByDefault(t *testing.T) {
	s := startServer(t, setup{})
	for _, c := range writeCalls {
		msg := s.fails(c.tool, c.args)
		if !strings.Contains(msg, "writing to Slack is off for workspace \"main\"") {
			t.Errorf("%s: %s", c.tool, msg)
		}
	}
	if n := len(s.fake.Requests()); n != 0 {
		t.Errorf("refused writes sent %d requests: %v", n, s.methodsSince(0))
	}
}

func TestWritesReadOnlyWorkspace(t *testing.T) {
	s := startServer(t, setup{workspaces: `    main:
      api_url: {{URL}}
      token: {{BOT}}
      read_only: true
      write: {enabled: true}
`})
	for _, c := range writeCalls {
		if msg := s.fails(c.tool, c.args); !strings.Contains(msg, "read-only") {
			t.Errorf("%s: %s", c.tool, msg)
		}
	}
	if n := len(s.fake.Requests()); n != 0 {
		t.Errorf("read-only workspace sent %d requests", n)
	}
}

// Outside the write allowlist (or on its denylist) a write is refused
// before any request.
func TestWritesOutsideAllowlist(t *testing.T) {
	s := startServer(t, setup{workspaces: `    main:
      api_url: {{URL}}
      token: {{BOT}}
      write: {enabled: true, channels: [C0RANDOM]}
    denied:
      api_url: {{URL}}
      token: {{BOT}}
      default: true
      write: {enabled: true, channels: ["!C0GENERAL"]}
`})
	for _, ws := range []string{"main", "denied"} {
		for _, c := range writeCalls {
			args := obj{"workspace": ws}
			for k, v := range c.args {
				args[k] = v
			}
			if msg := s.fails(c.tool, args); !strings.Contains(msg, "is not one workspace") || !strings.Contains(msg, "write.channels") {
				t.Errorf("%s %s: %s", ws, c.tool, msg)
			}
		}
	}
	if n := len(s.fake.Requests()); n != 0 {
		t.Errorf("refused writes sent %d requests: %v", n, s.methodsSince(0))
	}
	// The allowed channel works, on the workspace that allows it.
	if out := s.ok("post_message", obj{"workspace": "main", "channel": fakeslack.Random, "text": "hi"}); str(out, "ts") == "" {
		t.Errorf("allowed post: %v", out)
	}
}

func TestPostMessage(t *testing.T) {
	s := startServer(t, setup{workspaces: `    main:
      api_url: {{URL}}
      token: {{BOT}}
      write: {enabled: true, unfurl_domains: [example.com]}
`})
	out := s.ok("post_message", obj{"channel": fakeslack.General, "text": "## Done\n**Deploy** finished, see [the run](https://ci.example.com/1) & `a<b`\n- one\n- two", "thread_ts": "1712000400.000100"})
	if str(out, "channel") != "C0GENERAL" && !strings.Contains(str(out, "channel"), "C0GENERAL") {
		t.Errorf("post: %v", out)
	}
	posted := s.fake.Posted()
	if len(posted) != 1 {
		t.Fatalf("posted %d", len(posted))
	}
	p := posted[0]
	want := "*Done*\n*Deploy* finished, see <https://ci.example.com/1|the run> &amp; `a&lt;b`\n• one\n• two"
	if p["text"] != want {
		t.Errorf("mrkdwn:\n got %q\nwant %q", p["text"], want)
	}
	if p["thread_ts"] != "1712000400.000100" || p["unfurl_links"] != "true" {
		t.Errorf("post form: %v", p)
	}
	// A link outside the unfurl domains turns unfurling off.
	s.ok("post_message", obj{"channel": fakeslack.General, "text": "see https://evil.example.net/x"})
	if p := s.fake.Posted()[1]; p["unfurl_links"] != "false" || p["unfurl_media"] != "false" {
		t.Errorf("unfurl not off: %v", p)
	}
	out = s.ok("add_reaction", obj{"channel": "#general", "ts": "1712000400.000100", "emoji": ":tada:"})
	if str(out, "done") != "added" || str(out, "emoji") != "tada" {
		t.Errorf("reaction: %v", out)
	}
	if out := s.ok("remove_reaction", obj{"channel": fakeslack.General, "ts": "1712000400.000100", "emoji": "tada"}); str(out, "done") != "removed" {
		t.Errorf("remove: %v", out)
	}
	at := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	if out := s.ok("schedule_message", obj{"channel": fakeslack.General, "text": "later", "post_at": at.Format(time.RFC3339)}); str(out, "scheduled_message_id") != "Q0SCHEDULED" {
		t.Errorf("schedule: %v", out)
	}
	n := len(s.fake.Requests())
	for _, bad := range []obj{
		{"channel": fakeslack.General, "text": ""},
		{"channel": fakeslack.General, "text": strings.Repeat("x", 12001)},
		{"channel": fakeslack.General, "text": "x", "thread_ts": "nope"},
	} {
		s.fails("post_message", bad)
	}
	s.fails("schedule_message", obj{"channel": fakeslack.General, "text": "x", "post_at": "2001-01-01T00:00:00Z"})
	s.fails("add_reaction", obj{"channel": fakeslack.General, "ts": "1712000400.000100", "emoji": "no spaces"})
	if got := s.methodsSince(n); len(got) != 0 {
		t.Errorf("bad writes reached Slack: %v", got)
	}
	if msg := s.fails("post_message", obj{"channel": fakeslack.Archived, "text": "x"}); !strings.Contains(msg, "is_archived") {
		t.Errorf("archived: %s", msg)
	}
	if !slices.Contains(s.methodsSince(0), "chat.scheduleMessage") {
		t.Error("no scheduleMessage call")
	}
}
