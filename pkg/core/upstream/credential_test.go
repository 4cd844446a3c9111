package upstream

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
)

const inboundKey = "mcpk_inbound_client_key_0123456789abcdef"

// principalContext returns a context carrying the principal that
// authenticated with inboundKey, through the real authenticator.
func principalContext(t *testing.T) context.Context {
	t.Helper()
	a, err := authn.NewAuthenticator(config.Auth{
		APIKeys: []config.APIKey{{ID: "agent", SHA256: authn.HashAPIKey(inboundKey)}},
	}, "http://127.0.0.1/mcp", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(context.Background(), inboundKey)
	if err != nil {
		t.Fatal(err)
	}
	return authn.WithPrincipal(context.Background(), p)
}

type closeRecorder struct {
	*strings.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestInboundCredentialIsNeverSent(t *testing.T) {
	up := newFakeUpstream(t, func(http.ResponseWriter, *http.Request, int64) {})
	c := newTestClient(t, testConfig(), Deps{Clock: newTestClock()})
	ctx := principalContext(t)
	basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + inboundKey))

	for name, build := range map[string]func(*http.Request){
		"bearer":       func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+inboundKey) },
		"token scheme": func(r *http.Request) { r.Header.Set("Authorization", "token "+inboundKey) },
		"raw header":   func(r *http.Request) { r.Header.Set("X-Api-Key", inboundKey) },
		"basic":        func(r *http.Request) { r.Header.Set("Authorization", "Basic "+basic) },
		"query":        func(r *http.Request) { r.URL.RawQuery = "token=" + url.QueryEscape(inboundKey) },
		"user info":    func(r *http.Request) { r.URL.User = url.UserPassword("x", inboundKey) },
	} {
		t.Run(name, func(t *testing.T) {
			body := &closeRecorder{Reader: strings.NewReader("{}")}
			req := newRequest(t, ctx, http.MethodPost, up.URL+"/api", "")
			req.Body = body
			build(req)
			_, _, err := do(t, c, req)
			if !errors.Is(err, ErrInboundCredential) {
				t.Fatalf("error = %v, want ErrInboundCredential", err)
			}
			// http.Client wraps the transport's error in a *url.Error that
			// quotes the URL, query included; the transport's own text must
			// not add the credential.
			var ue *url.Error
			if !errors.As(err, &ue) {
				t.Fatalf("error %T is not a *url.Error", err)
			}
			if strings.Contains(ue.Err.Error(), inboundKey) {
				t.Errorf("error reveals the credential: %v", ue.Err)
			}
			if !body.closed {
				t.Error("request body not closed")
			}
		})
	}
	if n := up.hits.Load(); n != 0 {
		t.Fatalf("upstream saw %d requests carrying the client's credential", n)
	}
}

func TestOwnCredentialIsSentAndSessionHeadersStripped(t *testing.T) {
	var got http.Header
	up := newFakeUpstream(t, func(_ http.ResponseWriter, r *http.Request, _ int64) { got = r.Header.Clone() })
	c := newTestClient(t, testConfig(), Deps{Clock: newTestClock()})

	req := newRequest(t, principalContext(t), http.MethodGet, up.URL, "")
	req.Header.Set("Authorization", "Bearer ghp_server_own_token")
	req.Header.Set("Mcp-Session-Id", "session-123")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	if s, _, err := do(t, c, req); err != nil || s != http.StatusOK {
		t.Fatalf("got %d, %v", s, err)
	}
	if got.Get("Authorization") != "Bearer ghp_server_own_token" {
		t.Errorf("upstream credential not sent: %q", got.Get("Authorization"))
	}
	for _, h := range []string{"Mcp-Session-Id", "Mcp-Protocol-Version"} {
		if v := got.Get(h); v != "" {
			t.Errorf("%s reached the upstream: %q", h, v)
		}
	}
}
