package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// TokenInfoPrincipalKey is the key under which the principal travels in
// go-sdk's TokenInfo.Extra, from the HTTP layer to MCP handlers.
const TokenInfoPrincipalKey = "mcpfleet.principal"

// Guard is the HTTP authentication layer in front of the MCP endpoint.
type Guard struct {
	authn          *Authenticator
	requiredScopes []string
	metadataURL    string
	disabled       bool
}

// NewGuard returns a Guard. metadataURL is the absolute URL of this
// resource's protected resource metadata, sent in challenges. A nil
// authenticator means auth is disabled (loopback only; see config).
func NewGuard(a *Authenticator, requiredScopes []string, metadataURL string) *Guard {
	return &Guard{authn: a, requiredScopes: requiredScopes, metadataURL: metadataURL, disabled: a == nil}
}

// Middleware authenticates every request before next sees it, and puts the
// caller's principal in the request's context. go-sdk's handlers learn the
// caller through [ForGoSDK].
func (g *Guard) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.disabled {
			// No TokenInfo: MCP handlers fall back to the anonymous principal.
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), Anonymous())))
			return
		}
		if hasQueryToken(r.URL) {
			g.challenge(w, http.StatusUnauthorized, "invalid_request", "access tokens are not accepted in the query string; send an Authorization: Bearer header")
			return
		}
		if h := r.Header.Get("Authorization"); len(h) > MaxTokenBytes+len("Bearer ") {
			// Refused before the header is split, decoded or hashed.
			g.challenge(w, http.StatusUnauthorized, "invalid_token", tooLong(len(h)))
			return
		}
		token, ok := bearer(r)
		if !ok {
			g.challenge(w, http.StatusUnauthorized, "", "missing bearer token")
			return
		}
		p, err := g.authn.Authenticate(r.Context(), token)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), ErrUnauthenticated.Error()+": ")
			if !errors.Is(err, ErrUnauthenticated) {
				msg = "invalid token"
			}
			g.challenge(w, http.StatusUnauthorized, "invalid_token", msg)
			return
		}
		for _, s := range g.requiredScopes {
			if !p.HasScope(s) {
				g.challenge(w, http.StatusForbidden, "insufficient_scope", "token lacks scope "+s)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// TokenInfo is what go-sdk is told of the caller in ctx: nil for the
// anonymous principal of a server with authentication off (and for no
// principal at all).
func TokenInfo(ctx context.Context) *auth.TokenInfo {
	p := FromContext(ctx)
	if p == nil || p.Method == MethodNone {
		return nil
	}
	return p.TokenInfo()
}

// ForGoSDK passes the caller that [Guard.Middleware] verified to go-sdk's
// handler behind it. go-sdk keeps TokenInfo under a private context key that
// only its own middleware sets, and binds each session to TokenInfo.UserID,
// so a session id stolen by another principal is useless. It wraps go-sdk's
// handlers only: a request that core answers itself (the direct path) reads
// the principal from the context and skips this second look at the header.
func ForGoSDK(next http.Handler) http.Handler {
	withTokenInfo := auth.RequireBearerToken(func(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
		return TokenInfo(ctx), nil
	}, &auth.RequireBearerTokenOptions{ClockSkew: time.Minute, AllowMissingExpiration: true})(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if TokenInfo(r.Context()) == nil {
			// Authentication off: go-sdk gets no TokenInfo, and MCP
			// handlers fall back to the anonymous principal.
			next.ServeHTTP(w, r)
			return
		}
		withTokenInfo.ServeHTTP(w, r)
	})
}

// bearer extracts the token from "Authorization: Bearer <token>".
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func hasQueryToken(u *url.URL) bool {
	if u.RawQuery == "" {
		return false // the usual case, without parsing
	}
	q := u.Query()
	return q.Has("access_token") || q.Has("token") || q.Has("api_key")
}

// challenge writes a 401 or 403 with the RFC 6750 / RFC 9728 challenge.
func (g *Guard) challenge(w http.ResponseWriter, status int, code, description string) {
	params := []string{fmt.Sprintf("resource_metadata=%q", g.metadataURL)}
	if len(g.requiredScopes) > 0 {
		params = append(params, fmt.Sprintf("scope=%q", strings.Join(g.requiredScopes, " ")))
	}
	if code != "" {
		params = append(params, fmt.Sprintf("error=%q", code), fmt.Sprintf("error_description=%q", description))
	}
	w.Header().Set("WWW-Authenticate", "Bearer "+strings.Join(params, ", "))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	errCode := code
	if errCode == "" {
		errCode = "unauthorized"
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"error": errCode, "error_description": description})
}

// ProtectedResourceMetadata describes this resource for RFC 9728 discovery.
func ProtectedResourceMetadata(resource string, authorizationServers, scopes []string, name string) *oauthex.ProtectedResourceMetadata {
	return &oauthex.ProtectedResourceMetadata{
		Resource:               resource,
		AuthorizationServers:   authorizationServers,
		ScopesSupported:        scopes,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           name,
	}
}

// MetadataPaths are the well-known paths at which the metadata is served for
// a resource whose MCP endpoint is at mcpPath: the RFC 9728 path-suffixed
// form first, then the root form older clients probe.
func MetadataPaths(mcpPath string) []string {
	const wk = "/.well-known/oauth-protected-resource"
	if mcpPath == "" || mcpPath == "/" {
		return []string{wk}
	}
	return []string{wk + mcpPath, wk}
}
