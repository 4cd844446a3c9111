// Package authn authenticates inbound MCP requests: bearer JWTs verified
// against an OIDC issuer's JWKS, and static API keys stored as hashes. It
// serves the OAuth 2.0 Protected Resource Metadata (RFC 9728) and answers
// failures with the WWW-Authenticate challenges the MCP spec requires.
//
// The authenticated caller travels as a *Principal: in the HTTP request
// context, and through go-sdk's TokenInfo into MCP handlers, where
// core puts it back into the handler context for the policy module.
package authn

import (
	"context"
	"crypto/sha256"
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
)

// Authentication methods.
const (
	MethodJWT    = "jwt"
	MethodAPIKey = "api_key"
	MethodStdio  = "stdio"
	// MethodNone is used when auth is disabled (loopback only).
	MethodNone = "none"
)

// Principal is an authenticated caller.
type Principal struct {
	// Subject identifies the user or service (JWT sub, API key id).
	Subject string
	// ClientID identifies the OAuth client (azp/client_id) when known.
	ClientID string
	// Issuer is the token issuer for JWTs.
	Issuer string
	Groups []string
	Scopes []string
	// Method is how the caller authenticated (jwt, api_key, stdio, none).
	Method string
	// Claims are the verified JWT claims, for policy conditions.
	Claims map[string]any
	// ExpiresAt is when the credential stops being valid (zero: never).
	ExpiresAt time.Time

	// tokenDigest is the SHA-256 of the inbound credential, so that the
	// upstream client can refuse to send it anywhere.
	tokenDigest [32]byte
	// id caches ID() for principals built by the Authenticator, which are
	// shared across every call made with the same credential.
	id string
	// tokenInfo is the read-only go-sdk TokenInfo of this principal, built
	// once for a shared principal instead of once per request.
	tokenInfo *auth.TokenInfo
}

// TokenInfo returns what go-sdk is told of p: its ID binds sessions, and
// Extra carries p itself.
func (p *Principal) TokenInfo() *auth.TokenInfo {
	if p.tokenInfo != nil {
		return p.tokenInfo
	}
	return p.newTokenInfo()
}

func (p *Principal) newTokenInfo() *auth.TokenInfo {
	// A zero Expiration is a credential that does not expire (an API key);
	// the middleware lets go-sdk accept that.
	return &auth.TokenInfo{
		UserID:     p.ID(),
		Scopes:     p.Scopes,
		Expiration: p.ExpiresAt,
		Extra:      map[string]any{TokenInfoPrincipalKey: p},
	}
}

// ID is a stable identifier for the caller, unique across methods and
// issuers; it binds an MCP session to the principal that created it.
func (p *Principal) ID() string {
	if p == nil {
		return ""
	}
	if p.id != "" {
		return p.id
	}
	return p.computeID()
}

func (p *Principal) computeID() string {
	if p.Issuer != "" {
		return p.Method + ":" + p.Issuer + "|" + p.Subject
	}
	return p.Method + ":" + p.Subject
}

// HasScope reports whether the principal holds scope.
func (p *Principal) HasScope(scope string) bool { return p != nil && slices.Contains(p.Scopes, scope) }

// InGroup reports whether the principal is a member of group.
func (p *Principal) InGroup(group string) bool { return p != nil && slices.Contains(p.Groups, group) }

// IsCredential reports whether token is the credential this principal
// authenticated with. The upstream HTTP client uses it to make sure a
// client's token is never passed through to an upstream API.
func (p *Principal) IsCredential(token string) bool {
	if p == nil || p.tokenDigest == ([32]byte{}) || token == "" {
		return false
	}
	return sha256.Sum256([]byte(token)) == p.tokenDigest
}

// Anonymous is the principal of every caller when auth is disabled.
func Anonymous() *Principal { return &Principal{Subject: "anonymous", Method: MethodNone} }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal in ctx, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
