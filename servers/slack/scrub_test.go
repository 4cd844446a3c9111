package slack_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
	"github.com/mcpfleet/mcpfleet/servers/slack/internal/fakeslack"
)

// otherToken is a second workspace's bot token; the fake does not accept
// it, and no call in these tests sends it.
const otherToken = "xoxb-other-workspace-token"

const twoWorkspaces = `    main:
      default: true
      api_url: {{URL}}
      token: {{BOT}}
      user_token: {{USER}}
    other:
      api_url: {{URL}}
      token: ` + otherToken + `
`

// A Slack (or a proxy in front of it) that echoes credentials in its
// error text must not hand a caller any token the server holds: not the
// one the call sent, not the workspace's user token a bot call never
// sent, not another workspace's token.
func TestTokensNeverComeBackInErrors(t *testing.T) {
	s := startServer(t, setup{workspaces: twoWorkspaces})
	echo := "invalid_arguments " + fakeslack.BotToken + " " + fakeslack.UserToken + " " + otherToken
	s.fake.Fail("conversations.history", echo, 1)
	msg := s.fails("get_channel_history", obj{"channel": fakeslack.General})
	for _, tok := range []string{fakeslack.BotToken, fakeslack.UserToken, otherToken} {
		if strings.Contains(msg, tok) {
			t.Errorf("tool error holds token %q: %s", tok, msg)
		}
	}
	if !strings.Contains(msg, "invalid_arguments") || !strings.Contains(msg, upstream.Redacted) {
		t.Errorf("tool error lost Slack's code or the redaction mark: %s", msg)
	}
	for _, r := range s.fake.Requests() {
		if r.Token != fakeslack.BotToken {
			t.Fatalf("%s sent with %q; the test means only the bot token to be sent", r.Method, r.Token)
		}
	}
}

// Text that never passes through a response body, such as an HTTP status
// line, is scrubbed too.
func TestTokensNeverComeBackInStatusLines(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		// Slack's tokens in the reason phrase of a 400 (not retried).
		_, _ = buf.WriteString("HTTP/1.1 400 Bad " + fakeslack.BotToken + " " + otherToken + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		_ = buf.Flush()
	}))
	t.Cleanup(srv.Close)
	s := startServer(t, setup{workspaces: strings.ReplaceAll(twoWorkspaces, "api_url: {{URL}}\n      token: {{BOT}}", "api_url: "+srv.URL+"/api/\n      token: {{BOT}}")})
	msg := s.fails("get_channel_history", obj{"channel": fakeslack.General})
	if strings.Contains(msg, fakeslack.BotToken) || strings.Contains(msg, otherToken) {
		t.Errorf("tool error holds a token: %s", msg)
	}
	if !strings.Contains(msg, "400") {
		t.Errorf("tool error does not say what happened: %s", msg)
	}
}
