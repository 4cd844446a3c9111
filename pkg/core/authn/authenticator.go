package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/MicahParks/jwkset"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
)

// APIKeyPrefix marks mcpfleet API keys, so they are never mistaken for JWTs.
const APIKeyPrefix = "mcpk_"

// ErrUnauthenticated wraps every reason a credential is refused. The
// message is safe to return to the client: it never contains the token.
var ErrUnauthenticated = errors.New("unauthenticated")

func refuse(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUnauthenticated, fmt.Sprintf(format, a...))
}

// maxCachedTokens bounds the verified-token cache.
const maxCachedTokens = 10000

// Authenticator verifies bearer credentials.
type Authenticator struct {
	cfg      config.Auth
	audience string
	keys     *KeySet // nil without OIDC
	parser   *jwt.Parser
	apiKeys  map[[32]byte]config.APIKey
	cacheTTL time.Duration
	now      func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cachedPrincipal
}

type cachedPrincipal struct {
	p       *Principal
	expires time.Time
}

// NewAuthenticator builds an Authenticator for the auth config. resource is
// this server's resource identifier, the default audience. client fetches
// the JWKS.
func NewAuthenticator(cfg config.Auth, resource string, client *http.Client, logger *slog.Logger) (*Authenticator, error) {
	a := &Authenticator{
		cfg:      cfg,
		audience: cfg.OIDC.Audience,
		apiKeys:  map[[32]byte]config.APIKey{},
		cacheTTL: cfg.CacheTTL,
		now:      time.Now,
		cache:    map[[32]byte]cachedPrincipal{},
	}
	if a.audience == "" {
		a.audience = resource
	}
	for _, k := range cfg.APIKeys {
		var digest [32]byte
		b, err := hex.DecodeString(k.SHA256)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("api key %q: sha256 is not 64 hex characters", k.ID)
		}
		copy(digest[:], b)
		a.apiKeys[digest] = k
	}
	if cfg.OIDC.Enabled() {
		a.keys = NewKeySet(cfg.OIDC.Issuer, cfg.OIDC.JWKSURL, client, logger, cfg.OIDC.RefreshInterval, cfg.OIDC.MinRefreshInterval)
		a.parser = jwt.NewParser(
			jwt.WithValidMethods(cfg.OIDC.Algorithms),
			jwt.WithIssuer(cfg.OIDC.Issuer),
			jwt.WithAudience(a.audience),
			jwt.WithLeeway(cfg.OIDC.ClockSkew),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithTimeFunc(func() time.Time { return a.now() }),
		)
	}
	return a, nil
}

// KeySet returns the JWKS source, or nil when OIDC is off.
func (a *Authenticator) KeySet() *KeySet { return a.keys }

// Authenticate verifies a bearer credential and returns its principal.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, refuse("no bearer token")
	}
	if len(token) > MaxTokenBytes {
		return nil, refuse("%s", tooLong(len(token)))
	}
	// Hashed where it lies: a JWT is most of a kilobyte, and this runs
	// for every request (Sum256 only reads its input).
	digest := sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
	if p, ok := a.cached(digest); ok {
		return p, nil
	}
	var (
		p   *Principal
		err error
	)
	if strings.HasPrefix(token, APIKeyPrefix) {
		p, err = a.apiKey(digest)
	} else {
		p, err = a.jwt(ctx, token)
	}
	if err != nil {
		return nil, err
	}
	p.tokenDigest = digest
	p.id = p.computeID()
	p.tokenInfo = p.newTokenInfo()
	a.remember(digest, p)
	return p, nil
}

func (a *Authenticator) apiKey(digest [32]byte) (*Principal, error) {
	k, ok := a.apiKeys[digest]
	if !ok {
		return nil, refuse("unknown API key")
	}
	return &Principal{Subject: k.ID, ClientID: k.ID, Groups: k.Groups, Scopes: k.Scopes, Method: MethodAPIKey}, nil
}

func (a *Authenticator) jwt(ctx context.Context, token string) (*Principal, error) {
	if a.parser == nil {
		return nil, refuse("JWT authentication is not configured")
	}
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kf, err := a.keys.keyfunc(ctx)
		if err != nil {
			return nil, err
		}
		// keyfunc finds the key by kid (refreshing the set, rate-limited,
		// for an unknown one) and refuses a key whose alg or use does not
		// fit; without a kid it offers every key of the token's alg.
		key, err := kf(t)
		if err != nil {
			return nil, keyError(t, err)
		}
		if set, ok := key.(jwt.VerificationKeySet); ok {
			var fit jwt.VerificationKeySet
			for _, k := range set.Keys {
				if keyFitsMethod(k, t.Method) {
					fit.Keys = append(fit.Keys, k)
				}
			}
			if len(fit.Keys) == 0 {
				return nil, fmt.Errorf("no signing key fits algorithm %s", t.Method.Alg())
			}
			return fit, nil
		}
		if !keyFitsMethod(key, t.Method) {
			return nil, fmt.Errorf("signing key does not fit algorithm %s", t.Method.Alg())
		}
		return key, nil
	})
	if err != nil {
		return nil, refuse("%s", describeJWTError(err))
	}
	p := &Principal{Method: MethodJWT, Claims: claims}
	p.Subject, _ = claims["sub"].(string)
	p.Issuer, _ = claims["iss"].(string)
	if p.Subject == "" {
		return nil, refuse("token has no subject")
	}
	p.ClientID = stringClaim(claims, a.cfg.OIDC.ClientIDClaim)
	if p.ClientID == "" {
		p.ClientID = stringClaim(claims, "client_id")
	}
	p.Groups = listClaim(claims, a.cfg.OIDC.GroupsClaim)
	p.Scopes = listClaim(claims, "scope")
	if len(p.Scopes) == 0 {
		p.Scopes = listClaim(claims, "scp")
	}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		p.ExpiresAt = exp.Time
	}
	return p, nil
}

// keyFitsMethod guards against algorithm confusion: an RSA key is only ever
// used with RS/PS algorithms, and so on.
func keyFitsMethod(key any, m jwt.SigningMethod) bool {
	switch key.(type) {
	case *rsa.PublicKey:
		_, rs := m.(*jwt.SigningMethodRSA)
		_, ps := m.(*jwt.SigningMethodRSAPSS)
		return rs || ps
	case *ecdsa.PublicKey:
		_, ok := m.(*jwt.SigningMethodECDSA)
		return ok
	case ed25519.PublicKey:
		_, ok := m.(*jwt.SigningMethodEd25519)
		return ok
	}
	return false
}

// keyError says in our words why keyfunc found no key: its own messages
// name its internals. The kid is the caller's text, so only a short form of
// it is quoted.
func keyError(t *jwt.Token, err error) error {
	kid, _ := t.Header["kid"].(string)
	if len(kid) > 40 {
		kid = kid[:40] + "..."
	}
	// keyfunc has no sentinel errors for these two; everything else (not
	// found, refresh rate-limited or failed) means the key is unknown.
	if msg := err.Error(); !errors.Is(err, jwkset.ErrKeyNotFound) && (strings.Contains(msg, `JWK "alg"`) || strings.Contains(msg, `JWK "use"`)) {
		return fmt.Errorf("signing key %q does not fit the token (alg or use)", kid)
	}
	return fmt.Errorf("unknown signing key %q", kid)
}

func describeJWTError(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "invalid token signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "token cannot be verified: " + rootCause(err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token issued in the future"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "token issuer is not trusted"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "token was issued for another resource"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token lacks the required expiry claim (exp)"
	}
	return "invalid token"
}

// rootCause is the innermost message, which golang-jwt keeps free of the
// token itself.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs := j.Unwrap()
				if len(errs) > 0 {
					err = errs[len(errs)-1]
					continue
				}
			}
			return err.Error()
		}
		err = next
	}
}

func stringClaim(c jwt.MapClaims, name string) string {
	if name == "" {
		return ""
	}
	s, _ := c[name].(string)
	return s
}

// listClaim reads a claim that is either a space-separated string (OAuth
// "scope") or an array of strings.
func listClaim(c jwt.MapClaims, name string) []string {
	switch v := c[name].(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, item := range v {
			if s, ok := item.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (a *Authenticator) cached(digest [32]byte) (*Principal, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.cache[digest]
	if !ok {
		return nil, false
	}
	if !a.now().Before(e.expires) {
		delete(a.cache, digest)
		return nil, false
	}
	return e.p, true
}

// remember caches a verified principal until the earlier of the cache TTL
// and the credential's expiry, so repeat calls skip signature checks.
func (a *Authenticator) remember(digest [32]byte, p *Principal) {
	if a.cacheTTL <= 0 {
		return
	}
	expires := a.now().Add(a.cacheTTL)
	if !p.ExpiresAt.IsZero() && p.ExpiresAt.Before(expires) {
		expires = p.ExpiresAt
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= maxCachedTokens {
		now := a.now()
		for k, e := range a.cache {
			if !now.Before(e.expires) {
				delete(a.cache, k)
			}
		}
		if len(a.cache) >= maxCachedTokens {
			// Still full of live entries: start over rather than grow.
			clear(a.cache)
		}
	}
	a.cache[digest] = cachedPrincipal{p: p, expires: expires}
}

// HashAPIKey returns the hex SHA-256 stored in config for an API key.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}
