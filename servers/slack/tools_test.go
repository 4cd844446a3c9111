package slack_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpfleet/mcpfleet/servers/slack/internal/fakeslack"
)

func TestGetWorkspace(t *testing.T) {
	s := startServer(t, setup{})
	out := s.ok("get_workspace", obj{})
	if str(out, "workspace") != "main" || str(out, "team_id") != "T0FAKE" || str(out, "user") != "mcpbot" || str(out, "write") != "off" {
		t.Errorf("get_workspace: %v", out)
	}
	if got := field(out, "tokens"); len(got.([]any)) != 2 {
		t.Errorf("tokens %v, want bot and user", got)
	}
	if msg := s.fails("get_workspace", obj{"workspace": "other"}); !strings.Contains(msg, `workspace "other" is not configured; use one of: main (default)`) {
		t.Errorf("unknown workspace: %s", msg)
	}
}

func TestChannelHistory(t *testing.T) {
	s := startServer(t, setup{})
	out := s.ok("get_channel_history", obj{"channel": fakeslack.General})
	if str(out, "channel") != "#general (C0GENERAL)" || length(out, "messages") != 5 {
		t.Fatalf("history: %v", out)
	}
	first := str(out, "messages.0.text")
	// Mentions and links resolved, entities unescaped, text wrapped.
	for _, want := range []string{"<untrusted_content>", "@bob deploy is done", "the run (https://example.com/run/1) & notes in #random"} {
		if !strings.Contains(first, want) {
			t.Errorf("first message %q lacks %q", first, want)
		}
	}
	if str(out, "messages.0.user") != "@alice" || str(out, "messages.0.reactions.0") != "thumbsup 2" {
		t.Errorf("author or reactions not rendered: %v", field(out, "messages.0"))
	}
	// Hidden characters and HTML comments are cleaned away.
	hidden := str(out, "messages.1.text")
	if strings.Contains(hidden, "\u200b") || strings.Contains(hidden, "ignore previous") || !strings.Contains(hidden, "visible") {
		t.Errorf("not cleaned: %q", hidden)
	}
	if str(out, "messages.2.thread_ts") != "" || field(out, "messages.2.replies") != float64(2) {
		t.Errorf("thread starter: %v", field(out, "messages.2"))
	}
	if !strings.Contains(str(out, "notice"), "untrusted") {
		t.Errorf("no untrusted notice")
	}

	// #name works like the id once the channel is known.
	if out := s.ok("get_channel_history", obj{"channel": "#general", "limit": "2"}); length(out, "messages") != 2 || str(out, "next_cursor") == "" {
		t.Errorf("limit 2: %v", out)
	} else {
		// Pagination: the cursor gives the next page.
		next := s.ok("get_channel_history", obj{"channel": "#general", "limit": "2", "cursor": str(out, "next_cursor")})
		if length(next, "messages") != 2 || str(next, "messages.0.ts") != s.fake.HistoryTS(fakeslack.General)[2] {
			t.Errorf("second page: %v", next)
		}
	}
	// A window: 1d leaves out last week's message, 7d has it.
	if n := length(s.ok("get_channel_history", obj{"channel": fakeslack.General, "limit": "1d"}), "messages"); n != 4 {
		t.Errorf("1d window: %d messages, want 4", n)
	}
	if n := length(s.ok("get_channel_history", obj{"channel": fakeslack.General, "limit": "7d"}), "messages"); n != 5 {
		t.Errorf("7d window: %d messages, want 5", n)
	}
	for _, bad := range []obj{{"channel": fakeslack.General, "limit": "0"}, {"channel": fakeslack.General, "limit": "3y"}, {"channel": "general"}, {"channel": fakeslack.General, "cursor": "a b"}} {
		n := len(s.fake.Requests())
		msg := s.fails("get_channel_history", bad)
		if len(s.fake.Requests()) != n {
			t.Errorf("%v: bad input reached Slack (%s)", bad, msg)
		}
	}
}

func TestThreadPermalinkSearch(t *testing.T) {
	s := startServer(t, setup{})
	out := s.ok("get_thread_replies", obj{"channel": fakeslack.General, "ts": s.fake.ThreadTS()})
	if length(out, "messages") != 3 || !strings.Contains(str(out, "messages.1.text"), "yes, it is the clock") || str(out, "messages.1.user") != "@alice" {
		t.Errorf("replies: %v", out)
	}
	if out := s.ok("get_thread_replies", obj{"channel": fakeslack.General, "ts": s.fake.ThreadTS(), "limit": 2}); str(out, "next_cursor") == "" {
		t.Errorf("replies page 1 of 2 has no cursor: %v", out)
	}
	if msg := s.fails("get_thread_replies", obj{"channel": fakeslack.General, "ts": "1.2"}); !strings.Contains(msg, "not a Slack ts") {
		t.Errorf("bad ts: %s", msg)
	}
	if out := s.ok("get_permalink", obj{"channel": fakeslack.General, "ts": s.fake.ThreadTS()}); !strings.HasPrefix(str(out, "permalink"), "https://fake.example/archives/C0GENERAL/p") {
		t.Errorf("permalink: %v", out)
	}
	out = s.ok("search_messages", obj{"query": "deploy in:#general"})
	if field(out, "total") != float64(1) || str(out, "messages.0.channel") != "#general (C0GENERAL)" {
		t.Errorf("search: %v", out)
	}
	// The search went with the user token.
	reqs := s.fake.Requests()
	if last := reqs[len(reqs)-1]; last.Method != "search.messages" || last.Token != fakeslack.UserToken {
		t.Errorf("search sent %s with %s", last.Method, last.Token)
	}
	if out := s.ok("search_messages", obj{"query": "e", "limit": 1}); str(out, "next_cursor") != "2" {
		t.Errorf("search paging: %v", out)
	}
}

func TestSearchNeedsUserToken(t *testing.T) {
	s := startServer(t, setup{workspaces: "    bot:\n      api_url: {{URL}}\n      token: {{BOT}}\n"})
	n := len(s.fake.Requests())
	msg := s.fails("search_messages", obj{"query": "deploy"})
	if !strings.Contains(msg, "needs a user token (xoxp-)") || len(s.fake.Requests()) != n {
		t.Errorf("search with a bot token: %s", msg)
	}
	if msg := s.fails("get_unreads", obj{}); !strings.Contains(msg, "needs a user token") {
		t.Errorf("unreads with a bot token: %s", msg)
	}
}

func TestUnreads(t *testing.T) {
	s := startServer(t, setup{})
	out := s.ok("get_unreads", obj{})
	if length(out, "channels") != 1 || str(out, "channels.0.channel") != "#general (C0GENERAL)" || field(out, "channels.0.unread") != float64(2) || str(out, "channels.0.last_read") != s.fake.ThreadTS() {
		t.Fatalf("unreads: %v", out)
	}
	// last_read as oldest reads exactly the unread messages.
	if n := length(s.ok("get_channel_history", obj{"channel": fakeslack.General, "oldest": str(out, "channels.0.last_read")}), "messages"); n != 2 {
		t.Errorf("history after last_read: %d messages, want 2", n)
	}
}

func TestChannels(t *testing.T) {
	s := startServer(t, setup{})
	// Cold directory: pages come from Slack.
	out := s.ok("list_channels", obj{"query": "gen"})
	if !strings.HasPrefix(str(out, "source"), "slack") || length(out, "channels") != 1 || str(out, "channels.0.name") != "general" {
		t.Errorf("list_channels cold: %v", out)
	}
	out = s.ok("list_channels", obj{"types": []string{"im"}})
	if length(out, "channels") != 1 || str(out, "channels.0.user") != fakeslack.Alice {
		t.Errorf("DMs: %v", out)
	}
	if out := s.ok("list_channels", obj{"member_only": true}); length(out, "channels") != 3 {
		t.Errorf("member-of: %v", out)
	}
	out = s.ok("get_channel", obj{"channel": "#general"})
	if str(out, "channel.topic") != "Company-wide announcements" || field(out, "channel.members") != float64(3) {
		t.Errorf("info: %v", out)
	}
	out = s.ok("get_channel", obj{"channel": fakeslack.General, "method": "members", "limit": 2})
	if length(out, "members") != 2 || str(out, "members.0") != "@alice (U0ALICE)" || str(out, "next_cursor") == "" {
		t.Errorf("members: %v", out)
	}
	if out := s.ok("get_channel", obj{"channel": fakeslack.General, "method": "members", "cursor": str(out, "next_cursor")}); str(out, "members.0") != "@mcpbot (U0BOT)" {
		t.Errorf("members page 2: %v", out)
	}
}

func TestUsers(t *testing.T) {
	s := startServer(t, setup{slack: "  cache: {warm_up: true}\n"})
	waitDirectory(t, s, "main")
	out := s.ok("list_users", obj{"query": "bob"})
	if length(out, "users") != 1 || str(out, "users.0.display_name") != "bobby" || str(out, "directory.status") != "complete" {
		t.Errorf("list_users: %v", out)
	}
	if n := length(s.ok("list_users", obj{}), "users"); n != 2 { // bot and deactivated user left out
		t.Errorf("list_users: %d users, want 2", n)
	}
	out = s.ok("get_user", obj{"user": "@alice"})
	if str(out, "user.id") != fakeslack.Alice || str(out, "email") != "alice@example.com" || str(out, "status") != ":pager: on call" {
		t.Errorf("profile: %v", out)
	}
	if out := s.ok("get_user", obj{"user": "bob@example.com", "method": "presence"}); str(out, "presence") != "active" || str(out, "user.name") != "bob" {
		t.Errorf("presence by e-mail: %v", out)
	}
	if msg := s.fails("get_user", obj{"user": "@nobody"}); !strings.Contains(msg, "has no user @nobody") {
		t.Errorf("unknown user: %s", msg)
	}
	out = s.ok("list_user_groups", obj{})
	if str(out, "groups.0.handle") != "oncall" || field(out, "groups.0.users") != float64(2) {
		t.Errorf("groups: %v", out)
	}
	out = s.ok("list_user_groups", obj{"group": "@oncall"})
	if !slices.Equal([]any{"@alice (U0ALICE)", "@bob (U0BOB)"}, field(out, "members").([]any)) {
		t.Errorf("group members: %v", out)
	}
}

// A cold directory: names are looked up in Slack's first pages, an id is
// fetched on its own, and neither waits for the warm-up.
func TestColdDirectory(t *testing.T) {
	s := startServer(t, setup{})
	// A #name the warm-up has not reached is looked up in the first pages
	// of conversations.list.
	n := len(s.fake.Requests())
	if out := s.ok("get_channel_history", obj{"channel": "#random"}); str(out, "channel") != "#random (C0RANDOM)" {
		t.Errorf("cold #name: %v", out)
	}
	if got := s.methodsSince(n); got[0] != "conversations.list" {
		t.Errorf("cold #name: calls %v", got)
	}
	if msg := s.fails("get_channel_history", obj{"channel": "#nowhere"}); !strings.Contains(msg, "has no channel named #nowhere") {
		t.Errorf("unknown #name: %s", msg)
	}
	n = len(s.fake.Requests())
	out := s.ok("get_user", obj{"user": fakeslack.Bob, "method": "presence"})
	if got := s.methodsSince(n); !slices.Equal(got, []string{"users.info", "users.getPresence"}) || str(out, "user.name") != "bob" {
		t.Errorf("cold user by id: calls %v, %v", got, out)
	}
	n = len(s.fake.Requests())
	s.ok("get_user", obj{"user": fakeslack.Bob, "method": "presence"})
	if got := s.methodsSince(n); !slices.Equal(got, []string{"users.getPresence"}) {
		t.Errorf("second lookup called %v", got)
	}
}

func TestFiles(t *testing.T) {
	s := startServer(t, setup{})
	out := s.ok("get_file", obj{"file": fakeslack.TextFile})
	c := str(out, "content")
	if !strings.Contains(c, "line one") || strings.Contains(c, "\u200b") || !strings.HasPrefix(c, "<untrusted_content>") || str(out, "user") != fakeslack.Alice {
		t.Errorf("text file: %v", out)
	}
	if out := s.ok("get_file", obj{"file": fakeslack.BinaryFile}); str(out, "content") != "" || !strings.Contains(str(out, "omitted"), "binary") {
		t.Errorf("binary file: %v", out)
	}
	n := len(s.fake.Requests())
	if out := s.ok("get_file", obj{"file": fakeslack.BigFile}); str(out, "content") != "" || !strings.Contains(str(out, "omitted"), "cap") {
		t.Errorf("big file: %v", out)
	}
	if got := s.methodsSince(n); !slices.Equal(got, []string{"files.info"}) {
		t.Errorf("big file downloaded: %v", got)
	}
	if msg := s.fails("get_file", obj{"file": "F0NONE"}); !strings.Contains(msg, "file_not_found") {
		t.Errorf("missing file: %s", msg)
	}
}

func TestSlackErrors(t *testing.T) {
	s := startServer(t, setup{})
	if msg := s.fails("get_channel_history", obj{"channel": fakeslack.NoBot}); !strings.Contains(msg, "not_in_channel") || !strings.Contains(msg, "/invite") {
		t.Errorf("not_in_channel: %s", msg)
	}
	s.fake.Fail("conversations.history", "missing_scope", 1)
	if msg := s.fails("get_channel_history", obj{"channel": fakeslack.General}); !strings.Contains(msg, "missing_scope") || !strings.Contains(msg, "channels:history") {
		t.Errorf("missing_scope: %s", msg)
	}
	s.fake.Fail("users.getPresence", "invalid_auth", 1)
	if msg := s.fails("get_user", obj{"user": fakeslack.Alice, "method": "presence"}); !strings.Contains(msg, `the token of workspace "main" was rejected by Slack (invalid_auth)`) {
		t.Errorf("invalid_auth: %s", msg)
	}
	if msg := s.fails("get_channel", obj{"channel": "C0NOSUCH"}); !strings.Contains(msg, "channel_not_found") {
		t.Errorf("channel_not_found: %s", msg)
	}
}

// A ratelimited answer is retried after its Retry-After by core's
// upstream transport; the tool call succeeds.
func TestRateLimitedRetry(t *testing.T) {
	s := startServer(t, setup{})
	s.fake.RateLimit("conversations.history", 7, 1)
	n := len(s.fake.Requests())
	out := s.ok("get_channel_history", obj{"channel": fakeslack.General, "limit": "1"})
	if length(out, "messages") != 1 {
		t.Errorf("after retry: %v", out)
	}
	if got := s.methodsSince(n); slices.Index(got, "conversations.history") < 0 || len(slices.DeleteFunc(got, func(m string) bool { return m != "conversations.history" })) != 2 {
		t.Errorf("calls %v, want conversations.history twice", s.methodsSince(n))
	}
	if !slices.Contains(s.clock.Sleeps(), 7*time.Second) {
		t.Errorf("waits %v, want the 7s of Retry-After", s.clock.Sleeps())
	}
	// Rate limited beyond the retries: a tool error naming the wait.
	s.fake.RateLimit("conversations.history", 3, 10)
	if msg := s.fails("get_channel_history", obj{"channel": fakeslack.General}); !strings.Contains(msg, "rate limit") || !strings.Contains(msg, "3s") {
		t.Errorf("exhausted retries: %s", msg)
	}
}

// @person names the DM with them, and lists page through the directory.
func TestDMAndDirectoryPaging(t *testing.T) {
	s := startServer(t, setup{slack: "  cache: {warm_up: true}\n", fake: fakeslack.Options{Users: 120, Channels: 70}})
	waitDirectory(t, s, "main")
	if out := s.ok("get_channel", obj{"channel": "@alice"}); str(out, "channel.id") != fakeslack.AliceDM || str(out, "channel.kind") != "im" {
		t.Errorf("@alice: %v", out)
	}
	if msg := s.fails("get_channel", obj{"channel": "@bob"}); !strings.Contains(msg, "no direct-message conversation with @bob") {
		t.Errorf("@bob: %s", msg)
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		out := s.ok("list_users", obj{"limit": 50, "cursor": cursor})
		for _, u := range field(out, "users").([]any) {
			seen[u.(map[string]any)["id"].(string)] = true
		}
		if cursor = str(out, "next_cursor"); cursor == "" {
			if pages != 2 {
				t.Errorf("%d pages of users, want 3", pages+1)
			}
			break
		}
	}
	if len(seen) != 122 { // alice, bob and 120 generated; no bot, no deactivated user
		t.Errorf("paged through %d users, want 122", len(seen))
	}
	out := s.ok("list_channels", obj{"limit": 50})
	if str(out, "source") != "directory" || length(out, "channels") != 50 || str(out, "next_cursor") != "o50" {
		t.Errorf("list_channels page 1: %v", field(out, "next_cursor"))
	}
	if out := s.ok("list_channels", obj{"limit": 50, "cursor": "o50"}); length(out, "channels") != 24 || str(out, "next_cursor") != "" {
		t.Errorf("list_channels page 2: %d channels", length(out, "channels"))
	}
	if msg := s.fails("list_users", obj{"cursor": "x1"}); !strings.Contains(msg, "not one this server issued") {
		t.Errorf("bad cursor: %s", msg)
	}
}
