// Package authntest runs a fake OpenID Connect issuer for tests: a real
// HTTP server (on 127.0.0.1) serving a discovery document and a JWKS, and
// minting signed JWTs with whatever claims and headers a test needs,
// including broken ones. Keys can be rotated to exercise JWKS refresh.
package authntest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// Key is a signing key published in the issuer's JWKS.
type Key struct {
	ID      string
	Alg     string // RS256 or ES256
	private crypto.Signer
}

// Public returns the key's public half.
func (k *Key) Public() crypto.PublicKey { return k.private.Public() }

// Issuer is a fake OIDC issuer.
type Issuer struct {
	srv *httptest.Server

	mu       sync.Mutex
	keys     []*Key // published
	signing  *Key   // used by Token
	jwksHits atomic.Int64
}

// NewIssuer starts an issuer with one RS256 key; it is closed when the test
// ends.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	iss, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	return iss
}

// Start starts an issuer with a fresh RS256 key outside a test (close it
// with Close).
func Start() (*Issuer, error) {
	k, err := NewRSAKey("key-1")
	if err != nil {
		return nil, err
	}
	return StartWithKey(k)
}

// StartWithKey starts an issuer that publishes and signs with k. An ES256
// key is quick to generate where RSA key generation would dominate, as in
// startup measurements.
func StartWithKey(k *Key) (*Issuer, error) {
	iss := &Issuer{}
	iss.keys = []*Key{k}
	iss.signing = k
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                iss.URL(),
			"jwks_uri":                              iss.URL() + "/jwks",
			"authorization_endpoint":                iss.URL() + "/authorize",
			"token_endpoint":                        iss.URL() + "/token",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		iss.jwksHits.Add(1)
		iss.mu.Lock()
		defer iss.mu.Unlock()
		var set jose.JSONWebKeySet
		for _, k := range iss.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Public(), KeyID: k.ID, Algorithm: k.Alg, Use: "sig"})
		}
		writeJSON(w, set)
	})
	iss.srv = httptest.NewServer(mux)
	return iss, nil
}

// NewRSAKey generates a 2048-bit RS256 key.
func NewRSAKey(id string) (*Key, error) {
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &Key{ID: id, Alg: "RS256", private: pk}, nil
}

// NewECKey generates a P-256 ES256 key.
func NewECKey(id string) (*Key, error) {
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &Key{ID: id, Alg: "ES256", private: pk}, nil
}

// URL is the issuer identifier (and base URL).
func (iss *Issuer) URL() string { return iss.srv.URL }

// Close stops the server.
func (iss *Issuer) Close() { iss.srv.Close() }

// JWKSHits counts JWKS downloads, to observe refresh behaviour.
func (iss *Issuer) JWKSHits() int64 { return iss.jwksHits.Load() }

// Rotate publishes k (alongside the old keys unless dropOld) and signs new
// tokens with it.
func (iss *Issuer) Rotate(k *Key, dropOld bool) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	if dropOld {
		iss.keys = nil
	}
	iss.keys = append(iss.keys, k)
	iss.signing = k
}

// SigningKey returns the key Token signs with.
func (iss *Issuer) SigningKey() *Key {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.signing
}

// Claims returns a valid claim set for subject and audience, expiring in an
// hour.
func (iss *Issuer) Claims(subject, audience string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": iss.URL(), "sub": subject, "aud": audience,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"azp": "test-client", "scope": "mcp", "groups": []string{"engineering"},
	}
}

// Token signs claims with the current signing key.
func (iss *Issuer) Token(claims jwt.MapClaims) string {
	return SignWith(iss.SigningKey(), claims, nil)
}

// SignWith signs claims with k, adding extra header fields (which may
// override kid or alg to build hostile tokens).
func SignWith(k *Key, claims jwt.MapClaims, header map[string]any) string {
	var method jwt.SigningMethod = jwt.SigningMethodRS256
	if k.Alg == "ES256" {
		method = jwt.SigningMethodES256
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = k.ID
	for h, v := range header {
		tok.Header[h] = v
	}
	s, err := tok.SignedString(k.private)
	if err != nil {
		panic(fmt.Sprintf("authntest: signing: %v", err))
	}
	return s
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
