package authn_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn/authntest"
)

// TestOversizedTokenRefused: a validly signed JWT of about 100 KiB is
// refused (401) before it is parsed, at the HTTP guard and in
// Authenticate; a token at the limit still works.
func TestOversizedTokenRefused(t *testing.T) {
	iss := authntest.NewIssuer(t)
	a := newAuthenticator(t, iss, nil)
	claims := iss.Claims("alice", resource)
	claims["padding"] = strings.Repeat("x", 100<<10)
	big := iss.Token(claims)
	if _, err := a.Authenticate(context.Background(), big); err == nil || !errors.Is(err, authn.ErrUnauthenticated) ||
		!strings.Contains(err.Error(), "limit") {
		t.Fatalf("100 KiB token: %v", err)
	}
	claims["padding"] = strings.Repeat("x", 4<<10)
	if _, err := a.Authenticate(context.Background(), iss.Token(claims)); err != nil {
		t.Fatalf("a 6 KiB token is refused: %v", err)
	}

	reached := false
	h := authn.NewGuard(a, nil, "http://127.0.0.1:9999/.well-known/oauth-protected-resource/mcp").
		Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	req := httptest.NewRequest("POST", "/mcp", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+big)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || reached || !strings.Contains(rec.Header().Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("guard: %d reached=%v %q", rec.Code, reached, rec.Header().Get("WWW-Authenticate"))
	}
}
