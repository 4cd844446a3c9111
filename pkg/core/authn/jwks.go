package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// maxMetadataBytes caps discovery and JWKS documents.
const maxMetadataBytes = 1 << 20

// maxUnknownKIDWait bounds how long a request naming an unknown kid waits
// for the refresh rate limiter. A request whose turn would come later fails
// at once, so a flood of bogus kids neither piles up goroutines nor turns
// into a flood of requests to the issuer.
const maxUnknownKIDWait = 5 * time.Second

// KeySet is an issuer's JSON Web Key Set, fetched, cached and refreshed by
// github.com/MicahParks/keyfunc and its jwkset storage: on a timer, and
// when a token names an unknown kid (key rotation) at once, rate-limited to
// one refresh per minRefresh. What stays here is OIDC discovery (the JWKS
// URL from the issuer's metadata), which keyfunc does not do, and
// readiness.
type KeySet struct {
	issuer     string
	jwksURL    string
	client     *http.Client
	logger     *slog.Logger
	refresh    time.Duration
	minRefresh time.Duration

	kf      atomic.Pointer[keyfunc.Keyfunc] // nil until the JWKS URL is known
	lastErr atomic.Pointer[error]

	ctx      context.Context // ends the refresh goroutines
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// NewKeySet returns a KeySet for issuer. jwksURL may be empty, in which case
// the issuer's discovery document supplies it. refresh is the periodic
// refetch interval; minRefresh is the least time between two refetches
// caused by unknown kids (0: no limit).
func NewKeySet(issuer, jwksURL string, client *http.Client, logger *slog.Logger, refresh, minRefresh time.Duration) *KeySet {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	// Every response the key set reads is bounded, whatever the issuer
	// sends.
	bounded := *client
	bounded.Transport = limitedBodies{next: client.Transport}
	ctx, cancel := context.WithCancel(context.Background())
	return &KeySet{
		issuer: strings.TrimSuffix(issuer, "/"), jwksURL: jwksURL, client: &bounded, logger: logger,
		refresh: refresh, minRefresh: minRefresh,
		ctx: ctx, cancel: cancel,
	}
}

// Start discovers the JWKS URL and fetches the keys once. A failure is
// logged and retried in the background; it does not stop the server from
// starting, but readiness reports it.
func (k *KeySet) Start(ctx context.Context) error {
	if err := k.load(ctx); err == nil {
		return nil
	}
	k.wg.Go(func() {
		wait := max(k.minRefresh, time.Second)
		for {
			t := time.NewTimer(wait)
			select {
			case <-k.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if k.load(k.ctx) == nil {
				return
			}
		}
	})
	return nil
}

// Stop ends the refresh goroutines. It is safe to call without Start.
func (k *KeySet) Stop(context.Context) error {
	k.stopOnce.Do(k.cancel)
	k.wg.Wait()
	return nil
}

// load discovers the JWKS URL (unless configured) and builds the keyfunc
// storage from it, with the first fetch.
func (k *KeySet) load(ctx context.Context) error {
	err := k.build(ctx)
	if err != nil {
		k.setErr(err)
		k.logger.Warn("jwks fetch failed; tokens are refused until it succeeds", "issuer", k.issuer, "error", err)
	}
	return err
}

func (k *KeySet) build(ctx context.Context) error {
	jwksURL := k.jwksURL
	if jwksURL == "" {
		u, err := k.discover(ctx)
		if err != nil {
			return err
		}
		jwksURL = u
	}
	// The storage's refresh goroutine lives as long as buildCtx: until Stop,
	// or until this attempt turns out unusable.
	buildCtx, cancelBuild := context.WithCancel(k.ctx)
	ok := false
	defer func() {
		if !ok {
			cancelBuild()
		}
	}()
	storage, err := jwkset.NewStorageFromHTTP(jwksURL, jwkset.HTTPClientStorageOptions{
		Client:          k.client,
		Ctx:             buildCtx,
		HTTPTimeout:     k.client.Timeout,
		RefreshInterval: k.refresh,
		RefreshErrorHandler: func(_ context.Context, err error) {
			k.setErr(err)
			k.logger.Warn("jwks refresh failed; keeping the previous keys", "issuer", k.issuer, "error", err)
		},
	})
	if err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	limit := rate.Inf
	if k.minRefresh > 0 {
		limit = rate.Every(k.minRefresh)
	}
	client, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs: map[string]jwkset.Storage{jwksURL: storage},
		// Also the deadline of the refetch itself: jwkset runs it under the
		// same context.
		RateLimitWaitMax:  maxUnknownKIDWait,
		RefreshUnknownKID: rate.NewLimiter(limit, 1),
	})
	if err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	keys, err := client.KeyReadAll(ctx)
	if err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	if usable(keys) == 0 {
		return errors.New("jwks has no usable signing keys")
	}
	kf, err := keyfunc.New(keyfunc.Options{
		Ctx:     buildCtx,
		Storage: client,
		// Keys marked for encryption never verify a signature; keys that
		// say nothing about their use may.
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
	if err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	ok = true
	k.kf.Store(&kf)
	k.lastErr.Store(nil)
	return nil
}

// usable counts the asymmetric signature keys of a set.
func usable(keys []jwkset.JWK) int {
	n := 0
	for _, j := range keys {
		m := j.Marshal()
		if m.USE != jwkset.UseEnc && m.KTY != jwkset.KtyOct {
			n++
		}
	}
	return n
}

func (k *KeySet) setErr(err error) { k.lastErr.Store(&err) }

// Ready reports an error while no keys have ever been loaded.
func (k *KeySet) Ready(ctx context.Context) error {
	var last error
	if p := k.lastErr.Load(); p != nil {
		last = *p
	}
	kf := k.kf.Load()
	if kf == nil {
		if last != nil {
			return fmt.Errorf("no signing keys from %s: %w", k.issuer, last)
		}
		return fmt.Errorf("no signing keys from %s", k.issuer)
	}
	keys, err := (*kf).Storage().KeyReadAll(ctx)
	if err != nil || usable(keys) == 0 {
		return fmt.Errorf("no signing keys from %s: %w", k.issuer, errors.Join(err, last))
	}
	return nil
}

// keyfunc returns the jwt.Keyfunc that looks a token's key up, refreshing
// the set (rate-limited) when the kid is unknown.
func (k *KeySet) keyfunc(ctx context.Context) (jwt.Keyfunc, error) {
	kf := k.kf.Load()
	if kf == nil {
		return nil, fmt.Errorf("no signing keys from %s yet", k.issuer)
	}
	return (*kf).KeyfuncCtx(ctx), nil
}

// discover reads the JWKS URL from the issuer's OpenID Connect discovery
// document, or its OAuth authorization server metadata (RFC 8414).
func (k *KeySet) discover(ctx context.Context) (string, error) {
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := k.getJSON(ctx, k.issuer+"/.well-known/openid-configuration", &meta); err != nil {
		if err2 := k.getJSON(ctx, k.issuer+"/.well-known/oauth-authorization-server", &meta); err2 != nil {
			return "", fmt.Errorf("discovery: %w", err)
		}
	}
	if strings.TrimSuffix(meta.Issuer, "/") != k.issuer {
		return "", fmt.Errorf("discovery document names issuer %q, expected %q", meta.Issuer, k.issuer)
	}
	if meta.JWKSURI == "" {
		return "", errors.New("discovery document has no jwks_uri")
	}
	return meta.JWKSURI, nil
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
	return json.NewDecoder(resp.Body).Decode(into)
}

// limitedBodies fails a read past maxMetadataBytes of any response body.
type limitedBodies struct{ next http.RoundTripper }

func (l limitedBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	next := l.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	// MaxBytesReader fails the read past the cap (nil: no ResponseWriter
	// to tell).
	resp.Body = http.MaxBytesReader(nil, resp.Body, maxMetadataBytes)
	return resp, nil
}
