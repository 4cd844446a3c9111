package authn_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"go.uber.org/goleak"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn/authntest"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const resource = "http://127.0.0.1:9999/mcp"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newAuthenticator(t *testing.T, iss *authntest.Issuer, mutate func(*config.Auth)) *authn.Authenticator {
	t.Helper()
	cfg := config.NewDefaultConfig().Auth
	cfg.OIDC.Issuer = iss.URL()
	cfg.OIDC.MinRefreshInterval = time.Hour // refetch on unknown kid at most once per test
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := authn.NewAuthenticator(cfg, resource, nil, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ks := a.KeySet()
	if err := ks.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ks.Stop(context.Background()) })
	return a
}

// hs256WithPublicKey builds the classic algorithm-confusion token: HMAC
// "signed" with the RSA public key as the shared secret.
func hs256WithPublicKey(t *testing.T, iss *authntest.Issuer, claims jwt.MapClaims) string {
	der, err := x509.MarshalPKIXPublicKey(iss.SigningKey().Public())
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = iss.SigningKey().ID
	s, err := tok.SignedString(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func algNone(claims jwt.MapClaims) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
	s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	return s
}

func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	_ = json.Unmarshal(payload, &m)
	m["sub"] = "admin"
	b, _ := json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestAuthenticateJWT(t *testing.T) {
	iss := authntest.NewIssuer(t)
	a := newAuthenticator(t, iss, nil)
	good := iss.Claims("alice", resource)

	p, err := a.Authenticate(context.Background(), iss.Token(good))
	if err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	if p.Subject != "alice" || p.ClientID != "test-client" || !p.HasScope("mcp") || !p.InGroup("engineering") || p.Method != authn.MethodJWT {
		t.Errorf("principal = %+v", p)
	}
	if !strings.HasPrefix(p.ID(), "jwt:"+iss.URL()) {
		t.Errorf("ID = %s", p.ID())
	}

	with := func(k string, v any) jwt.MapClaims {
		c := iss.Claims("alice", resource)
		c[k] = v
		return c
	}
	other, err := authntest.NewRSAKey("key-1") // same kid, different key
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := authntest.NewRSAKey("key-unknown")
	if err != nil {
		t.Fatal(err)
	}
	ec, err := authntest.NewECKey("key-1")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name, token, want string
	}{
		{"expired", iss.Token(with("exp", now.Add(-time.Hour).Unix())), "expired"},
		{"not yet valid", iss.Token(with("nbf", now.Add(time.Hour).Unix())), "not valid yet"},
		{"issued in the future", iss.Token(with("iat", now.Add(time.Hour).Unix())), "issued in the future"},
		{"no expiry", iss.Token(func() jwt.MapClaims { c := iss.Claims("alice", resource); delete(c, "exp"); return c }()), "exp"},
		{"wrong issuer", iss.Token(with("iss", "https://evil.example")), "issuer"},
		{"wrong audience", iss.Token(with("aud", "http://other-server/mcp")), "another resource"},
		{"no subject", iss.Token(with("sub", "")), "subject"},
		{"alg none", algNone(good), "invalid token"},
		{"HS256 with the RSA public key", hs256WithPublicKey(t, iss, good), "invalid token"},
		{"unknown kid", authntest.SignWith(unknown, good, nil), "unknown signing key"},
		{"right kid, wrong key", authntest.SignWith(other, good, nil), "signature"},
		{"ES256 under an RSA kid", authntest.SignWith(ec, good, nil), "cannot be verified"},
		{"tampered signature", tamper(iss.Token(good)), "signature"},
		{"garbage", "not.a.jwt", "malformed"},
		{"unknown api key", "mcpk_nope", "unknown API key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Authenticate(context.Background(), tc.token)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Error("error message contains the token")
			}
		})
	}
}

func TestKeyRotationAndRefreshLimit(t *testing.T) {
	iss := authntest.NewIssuer(t)
	a := newAuthenticator(t, iss, func(c *config.Auth) { c.OIDC.MinRefreshInterval = 0 })
	if _, err := a.Authenticate(context.Background(), iss.Token(iss.Claims("bob", resource))); err != nil {
		t.Fatal(err)
	}
	k2, err := authntest.NewECKey("key-2")
	if err != nil {
		t.Fatal(err)
	}
	iss.Rotate(k2, true)
	p, err := a.Authenticate(context.Background(), iss.Token(iss.Claims("bob", resource)))
	if err != nil {
		t.Fatalf("token signed with a rotated-in key refused: %v", err)
	}
	if p.Subject != "bob" {
		t.Errorf("subject = %s", p.Subject)
	}

	// With a minimum refresh interval, a flood of unknown kids costs the
	// issuer at most one extra JWKS download.
	iss2 := authntest.NewIssuer(t)
	limited := newAuthenticator(t, iss2, func(c *config.Auth) { c.OIDC.MinRefreshInterval = time.Hour })
	before := iss2.JWKSHits()
	for i := range 50 {
		k, _ := authntest.NewECKey("bogus-" + string(rune('a'+i%26)))
		_, _ = limited.Authenticate(context.Background(), authntest.SignWith(k, iss2.Claims("x", resource), nil))
	}
	if hits := iss2.JWKSHits() - before; hits > 1 {
		t.Errorf("%d JWKS downloads for unknown kids, want at most 1", hits)
	}
}

func TestAPIKeysAndCache(t *testing.T) {
	key := "mcpk_" + strings.Repeat("k", 40)
	cfg := config.NewDefaultConfig().Auth
	cfg.APIKeys = []config.APIKey{{ID: "ci-bot", SHA256: authn.HashAPIKey(key), Scopes: []string{"mcp"}, Groups: []string{"bots"}}}
	a, err := authn.NewAuthenticator(cfg, resource, nil, quiet)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "ci-bot" || p.Method != authn.MethodAPIKey || !p.InGroup("bots") {
		t.Errorf("principal = %+v", p)
	}
	if !p.IsCredential(key) || p.IsCredential(key+"x") {
		t.Error("IsCredential does not recognise the inbound key")
	}
	p2, _ := a.Authenticate(context.Background(), key)
	if p2 != p {
		t.Error("second authentication did not come from the cache")
	}
	if _, err := a.Authenticate(context.Background(), "eyJhbGciOiJSUzI1NiJ9.e30.sig"); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("JWT without OIDC config: %v", err)
	}
}

func TestGuardChallenges(t *testing.T) {
	iss := authntest.NewIssuer(t)
	a := newAuthenticator(t, iss, nil)
	reached := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		if p := authn.FromContext(r.Context()); p == nil || p.Subject != "alice" {
			t.Errorf("principal in handler = %+v", p)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	meta := "http://127.0.0.1:9999/.well-known/oauth-protected-resource/mcp"
	srv := httptest.NewServer(authn.NewGuard(a, []string{"mcp"}, meta).Middleware(next))
	defer srv.Close()

	do := func(target, auth string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+target, strings.NewReader("{}"))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	good := iss.Token(iss.Claims("alice", resource))
	noScope := iss.Claims("alice", resource)
	noScope["scope"] = "other"

	for _, tc := range []struct {
		name, target, auth string
		status             int
		challenge          []string
	}{
		{"missing", "/mcp", "", 401, []string{`resource_metadata="` + meta + `"`, `scope="mcp"`}},
		{"basic scheme", "/mcp", "Basic YTpi", 401, []string{"resource_metadata"}},
		{"invalid", "/mcp", "Bearer " + tamper(good), 401, []string{`error="invalid_token"`}},
		{"query token", "/mcp?access_token=" + good, "", 401, []string{`error="invalid_request"`, "query string"}},
		{"query token with header", "/mcp?access_token=" + good, "Bearer " + good, 401, []string{`error="invalid_request"`}},
		{"insufficient scope", "/mcp", "Bearer " + iss.Token(noScope), 403, []string{`error="insufficient_scope"`, `scope="mcp"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(tc.target, tc.auth)
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			h := resp.Header.Get("WWW-Authenticate")
			for _, c := range tc.challenge {
				if !strings.Contains(h, c) {
					t.Errorf("WWW-Authenticate %q lacks %q", h, c)
				}
			}
		})
	}
	if reached != 0 {
		t.Fatalf("handler reached %d times by refused requests", reached)
	}
	if resp := do("/mcp", "Bearer "+good); resp.StatusCode != http.StatusNoContent || reached != 1 {
		t.Errorf("good token: status %d, reached %d", resp.StatusCode, reached)
	}
}

// With the default settings, a key rotated in right after the server
// fetched the set is accepted on first use: an unknown kid refreshes the set
// at once (rate-limited), with no floor since the last fetch.
func TestRotatedKeyAcceptedAtOnceWithDefaults(t *testing.T) {
	iss := authntest.NewIssuer(t)
	a := newAuthenticator(t, iss, func(c *config.Auth) {
		c.OIDC.MinRefreshInterval = config.NewDefaultConfig().Auth.OIDC.MinRefreshInterval
	})
	if _, err := a.Authenticate(context.Background(), iss.Token(iss.Claims("bob", resource))); err != nil {
		t.Fatal(err)
	}
	k2, err := authntest.NewECKey("key-2")
	if err != nil {
		t.Fatal(err)
	}
	iss.Rotate(k2, false)
	before := iss.JWKSHits()
	if _, err := a.Authenticate(context.Background(), iss.Token(iss.Claims("bob", resource))); err != nil {
		t.Fatalf("token signed with a rotated-in key refused: %v", err)
	}
	if hits := iss.JWKSHits() - before; hits != 1 {
		t.Errorf("%d JWKS downloads for the rotation, want 1", hits)
	}
}

// A bogus kid that used the refresh allowance does not lock a rotated key
// out: the next unknown kid waits for the rate limiter's next turn and is
// then accepted.
func TestRotatedKeyAcceptedAfterBogusKid(t *testing.T) {
	iss := authntest.NewIssuer(t)
	a := newAuthenticator(t, iss, func(c *config.Auth) { c.OIDC.MinRefreshInterval = 100 * time.Millisecond })
	bogus, err := authntest.NewECKey("bogus")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(context.Background(), authntest.SignWith(bogus, iss.Claims("x", resource), nil)); err == nil || !strings.Contains(err.Error(), `unknown signing key "bogus"`) {
		t.Fatalf("bogus kid: %v", err)
	}
	k2, err := authntest.NewECKey("key-2")
	if err != nil {
		t.Fatal(err)
	}
	iss.Rotate(k2, false)
	if _, err := a.Authenticate(context.Background(), iss.Token(iss.Claims("bob", resource))); err != nil {
		t.Fatalf("token signed with a rotated-in key refused: %v", err)
	}
}

// An issuer document past the 1 MiB cap is refused, not read into memory;
// readiness says why.
func TestOversizedJWKSRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[{"kty":"EC","x":"` + strings.Repeat("A", 2<<20) + `"}]}`))
	}))
	defer srv.Close()
	ks := authn.NewKeySet(srv.URL, srv.URL+"/jwks", nil, quiet, time.Hour, time.Second)
	if err := ks.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ks.Stop(context.Background()) }()
	if err := ks.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("Ready = %v, want a too-large error", err)
	}
}

// An issuer that is down at start does not keep the server unready for
// good: the key set retries in the background and readiness turns true once
// the keys arrive.
func TestKeySetRecoversFromIssuerDownAtStart(t *testing.T) {
	iss := authntest.NewIssuer(t)
	var up atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		resp, err := http.Get(iss.URL() + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	ks := authn.NewKeySet(iss.URL(), proxy.URL+"/jwks", nil, quiet, time.Hour, 0)
	if err := ks.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ks.Stop(context.Background()) }()
	if err := ks.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Ready with the issuer down = %v, want the 503", err)
	}
	up.Store(true)
	for deadline := time.Now().Add(20 * time.Second); ks.Ready(context.Background()) != nil; {
		if time.Now().After(deadline) {
			t.Fatalf("still not ready 20s after the issuer came back: %v", ks.Ready(context.Background()))
		}
		time.Sleep(20 * time.Millisecond) // polling a background retry, not timing it
	}
}

// TestForGoSDK: behind the Guard, go-sdk's handlers get the verified caller
// as go-sdk's TokenInfo (the same principal, bound by its ID; an API key,
// which never expires, accepted); with authentication off they get none.
func TestForGoSDK(t *testing.T) {
	iss := authntest.NewIssuer(t)
	const key = "mcpk_forgosdk_0123456789"
	a := newAuthenticator(t, iss, func(c *config.Auth) {
		c.APIKeys = []config.APIKey{{ID: "ci-bot", SHA256: authn.HashAPIKey(key), Scopes: []string{"mcp"}}}
	})
	var got *auth.TokenInfo
	var principal *authn.Principal
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, principal = auth.TokenInfoFromContext(r.Context()), authn.FromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	meta := "http://127.0.0.1:9999/.well-known/oauth-protected-resource/mcp"
	for _, tc := range []struct {
		name  string
		guard *authn.Guard
		auth  string
		want  string // the TokenInfo's user; "" for none
	}{
		{"jwt", authn.NewGuard(a, nil, meta), "Bearer " + iss.Token(iss.Claims("alice", resource)), "jwt:" + iss.URL() + "|alice"},
		{"api key", authn.NewGuard(a, nil, meta), "Bearer " + key, "api_key:ci-bot"},
		{"auth off", authn.NewGuard(nil, nil, meta), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, principal = nil, nil
			srv := httptest.NewServer(tc.guard.Middleware(authn.ForGoSDK(next)))
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/mcp", strings.NewReader("{}"))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent || principal == nil {
				t.Fatalf("status %d, principal %+v", resp.StatusCode, principal)
			}
			switch {
			case tc.want == "" && got != nil:
				t.Errorf("auth off: go-sdk got TokenInfo %+v", got)
			case tc.want != "" && (got == nil || got.UserID != tc.want || got.UserID != principal.ID() ||
				got.Extra[authn.TokenInfoPrincipalKey] != principal):
				t.Errorf("TokenInfo %+v for principal %q, want user %q", got, principal.ID(), tc.want)
			}
		})
	}
}
