package authn

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// maxMetadataBytes caps discovery and JWKS documents.
const maxMetadataBytes = 1 << 20

// jwk is one usable verification key.
type jwk struct {
	key crypto.PublicKey
	alg string // empty when the JWK does not pin one
}

// KeySet fetches and caches an issuer's JSON Web Key Set. Keys are refetched
// on a timer and, when a token names an unknown kid (key rotation), early,
// but no more often than minRefresh so a flood of bogus kids cannot turn into
// a flood of requests to the issuer.
type KeySet struct {
	issuer     string
	jwksURL    string
	client     *http.Client
	logger     *slog.Logger
	refresh    time.Duration
	minRefresh time.Duration

	mu          sync.RWMutex
	keys        map[string]jwk
	lastFetch   time.Time
	lastErr     error
	fetchMu     sync.Mutex // one fetch at a time
	stop        chan struct{}
	done        chan struct{}
	stopOnce    sync.Once
	startedLoop bool
}

// NewKeySet returns a KeySet for issuer. jwksURL may be empty, in which case
// the issuer's discovery document supplies it.
func NewKeySet(issuer, jwksURL string, client *http.Client, logger *slog.Logger, refresh, minRefresh time.Duration) *KeySet {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &KeySet{
		issuer: strings.TrimSuffix(issuer, "/"), jwksURL: jwksURL, client: client, logger: logger,
		refresh: refresh, minRefresh: minRefresh,
		keys: map[string]jwk{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// Start fetches the keys once and starts the refresh loop. A failed first
// fetch is logged and retried; it does not stop the server from starting,
// but readiness reports it.
func (k *KeySet) Start(ctx context.Context) error {
	if err := k.fetch(ctx); err != nil {
		k.logger.Warn("jwks fetch failed; tokens are refused until it succeeds", "issuer", k.issuer, "error", err)
	}
	k.startedLoop = true
	go k.loop()
	return nil
}

// Stop ends the refresh loop. It is safe to call without Start.
func (k *KeySet) Stop(context.Context) error {
	k.stopOnce.Do(func() { close(k.stop) })
	if k.startedLoop {
		<-k.done
	}
	return nil
}

func (k *KeySet) loop() {
	defer close(k.done)
	interval := k.refresh
	for {
		k.mu.RLock()
		failing := k.lastErr != nil
		k.mu.RUnlock()
		wait := interval
		if failing {
			// Retry sooner while the issuer is unreachable.
			wait = k.minRefresh
		}
		t := time.NewTimer(wait)
		select {
		case <-k.stop:
			t.Stop()
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := k.fetch(ctx); err != nil {
			k.logger.Warn("jwks refresh failed; keeping the previous keys", "issuer", k.issuer, "error", err)
		}
		cancel()
	}
}

// Ready reports an error while no keys have ever been loaded.
func (k *KeySet) Ready(context.Context) error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if len(k.keys) == 0 {
		if k.lastErr != nil {
			return fmt.Errorf("no signing keys from %s: %w", k.issuer, k.lastErr)
		}
		return fmt.Errorf("no signing keys from %s", k.issuer)
	}
	return nil
}

// lookup returns the key for kid, refetching once if it is unknown.
func (k *KeySet) lookup(ctx context.Context, kid string) (jwk, error) {
	if key, ok := k.get(kid); ok {
		return key, nil
	}
	k.mu.RLock()
	recent := time.Since(k.lastFetch) < k.minRefresh
	k.mu.RUnlock()
	if !recent {
		if err := k.fetch(ctx); err != nil {
			k.logger.Warn("jwks refresh for unknown key failed", "issuer", k.issuer, "error", err)
		}
		if key, ok := k.get(kid); ok {
			return key, nil
		}
	}
	return jwk{}, fmt.Errorf("unknown signing key %q", kid)
}

func (k *KeySet) get(kid string) (jwk, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if kid == "" {
		// Without a kid, use the only key there is; with several keys a
		// token must say which.
		if len(k.keys) == 1 {
			for _, v := range k.keys {
				return v, true
			}
		}
		return jwk{}, false
	}
	key, ok := k.keys[kid]
	return key, ok
}

func (k *KeySet) fetch(ctx context.Context) error {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	keys, err := k.download(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lastFetch = time.Now()
	k.lastErr = err
	if err != nil {
		return err
	}
	k.keys = keys
	return nil
}

func (k *KeySet) download(ctx context.Context) (map[string]jwk, error) {
	jwksURL := k.jwksURL
	if jwksURL == "" {
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := k.getJSON(ctx, k.issuer+"/.well-known/openid-configuration", &meta); err != nil {
			if err2 := k.getJSON(ctx, k.issuer+"/.well-known/oauth-authorization-server", &meta); err2 != nil {
				return nil, fmt.Errorf("discovery: %w", err)
			}
		}
		if strings.TrimSuffix(meta.Issuer, "/") != k.issuer {
			return nil, fmt.Errorf("discovery document names issuer %q, expected %q", meta.Issuer, k.issuer)
		}
		if meta.JWKSURI == "" {
			return nil, errors.New("discovery document has no jwks_uri")
		}
		jwksURL = meta.JWKSURI
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := k.getJSON(ctx, jwksURL, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := map[string]jwk{}
	for i, raw := range set.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil {
			// One key of an unsupported type must not hide the others.
			k.logger.Debug("skipping unusable jwk", "index", i, "error", err)
			continue
		}
		if key.Use == "enc" || !key.IsPublic() {
			continue
		}
		switch key.Key.(type) {
		case []byte:
			continue // symmetric keys never verify our tokens
		}
		keys[key.KeyID] = jwk{key: key.Key, alg: key.Algorithm}
	}
	if len(keys) == 0 {
		return nil, errors.New("jwks has no usable signing keys")
	}
	return keys, nil
}

func (k *KeySet) getJSON(ctx context.Context, url string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxMetadataBytes)).Decode(into)
}
