package github_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/servers/github/internal/fakegithub"
)

// TestUpstreamTextLosesCredentials: a GitHub-compatible upstream that
// echoes the Authorization header in its 401 message, and quotes another
// connection's token, gets neither token into the tool result, whatever
// the caller's clearance.
func TestUpstreamTextLosesCredentials(t *testing.T) {
	const otherToken = "ghp_OTHERconnectionTOKEN0123456789abcdef"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"message":"Bad credentials: got %s (did you mean %s?)","documentation_url":"https://docs.example/rest"}`,
			r.Header.Get("Authorization"), otherToken)
	}))
	t.Cleanup(echo.Close)
	s := startServer(t, setup{connections: `    main:
      base_url: ` + echo.URL + `
      token: {{TOKEN}}
      default: true
    other:
      base_url: {{URL}}
      token: ` + otherToken + `
`})
	msg := s.fails("get_repository", obj{"owner": "octo", "repo": "hello"})
	if strings.Contains(msg, fakegithub.Token) || strings.Contains(msg, otherToken) {
		t.Fatalf("a credential reached the tool result: %s", msg)
	}
	if !strings.Contains(msg, "401") || !strings.Contains(msg, "credential removed") {
		t.Errorf("message: %s", msg)
	}
}
