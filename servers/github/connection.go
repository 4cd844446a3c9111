package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v66/github"
	"go.opentelemetry.io/otel/metric"

	"github.com/mcpfleet/mcpfleet/pkg/core/cache"
	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
	"github.com/mcpfleet/mcpfleet/servers/github/internal/httpcache"
)

// Auth kinds of a connection.
const (
	authToken = "token"
	authApp   = "app"
)

// Conn is one configured GitHub connection: a go-github client whose
// requests go, outermost first, through
//
//	httpcache (ETag revalidation, short TTL)
//	-> credential (token header, or GitHub App installation token)
//	-> core's upstream transport (retries honouring Retry-After and
//	   X-RateLimit-Reset, rate-limited writes included; client-side rate
//	   limit, breaker, spans, quota)
type Conn struct {
	Name     string
	client   *gh.Client
	up       *upstream.Client
	logs     *http.Client // no GitHub credential: for pre-signed log URLs
	allow    allowlist
	allowRaw []string
	readOnly bool
	auth     string
	app      *ghinstallation.Transport
	appCfg   AppAuth
	apiURL   *url.URL

	lastProbe atomic.Int64 // unix nanoseconds of the last quota probe
}

// connDeps are what building a connection needs besides its config.
type connDeps struct {
	newUpstream func(upstream.Config) (*upstream.Client, error)
	cache       cache.Cache
	cacheCfg    CacheConfig
	now         func() time.Time
	meters      metric.MeterProvider
	userAgent   string
}

// apiRoot returns the REST API root for a connection's base URL, as
// go-github computes it (github.com when empty; /api/v3/ appended for an
// Enterprise Server host).
func apiRoot(cc Connection) (*url.URL, *url.URL, error) {
	c := gh.NewClient(nil)
	if cc.BaseURL != "" {
		upload := cmpOr(cc.UploadURL, cc.BaseURL)
		var err error
		if c, err = c.WithEnterpriseURLs(cc.BaseURL, upload); err != nil {
			return nil, nil, err
		}
	}
	return c.BaseURL, c.UploadURL, nil
}

func newConn(name string, cc Connection, d connDeps) (*Conn, error) {
	allow, err := parseAllowlist(cc.Allow)
	if err != nil {
		return nil, fmt.Errorf("github.connections.%s.allow: %w", name, err)
	}
	api, upload, err := apiRoot(cc)
	if err != nil {
		return nil, fmt.Errorf("github.connections.%s.base_url: %w", name, err)
	}
	up, err := d.newUpstream(cc.Upstream)
	if err != nil {
		return nil, fmt.Errorf("github.connections.%s.upstream: %w", name, err)
	}
	c := &Conn{
		Name: name, up: up, allow: allow, allowRaw: cc.Allow, readOnly: cc.ReadOnly, apiURL: api,
		logs: &http.Client{Transport: up.Transport()},
	}

	var rt http.RoundTripper
	var identity string
	switch {
	case cc.App != nil:
		itr, err := ghinstallation.New(up.Transport(), cc.App.AppID, cc.App.InstallationID, []byte(cc.App.PrivateKey.Reveal()))
		if err != nil {
			return nil, fmt.Errorf("github.connections.%s.app: %w", name, err)
		}
		itr.BaseURL = strings.TrimSuffix(api.String(), "/")
		c.auth, c.app, c.appCfg, rt = authApp, itr, *cc.App, itr
		identity = fmt.Sprintf("app%d-%d", cc.App.AppID, cc.App.InstallationID)
	default:
		token := cc.Token.Reveal()
		c.auth, rt = authToken, &tokenTransport{token: token, host: api.Host, next: up.Transport()}
		sum := sha256.Sum256([]byte(token))
		identity = "pat-" + hex.EncodeToString(sum[:8])
	}
	if d.cacheCfg.Enabled {
		ct, err := httpcache.New(rt, httpcache.Options{
			Cache:         d.cache,
			Namespace:     "gh:" + name + ":" + identity,
			TTL:           d.cacheCfg.TTL,
			Keep:          d.cacheCfg.Keep,
			MaxEntryBytes: int64(d.cacheCfg.MaxEntryBytes),
			Revalidate:    alwaysRevalidate,
			Scope:         func(r *http.Request) string { return repoScope(api.Path, r.URL.Path) },
			Now:           d.now,
			Meters:        d.meters,
			Name:          name,
		})
		if err != nil {
			return nil, err
		}
		rt = ct
	}
	client := gh.NewClient(&http.Client{Transport: rt})
	client.BaseURL, client.UploadURL = api, upload
	client.UserAgent = d.userAgent
	c.client = client
	return c, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// alwaysRevalidate lists answers that change without a write through this
// server, often within seconds: notifications, CI state, the quota
// itself. They are still conditional (a 304 is free), never served from
// the TTL.
func alwaysRevalidate(r *http.Request) bool {
	p := r.URL.Path
	return strings.Contains(p, "/notifications") || strings.Contains(p, "/actions/") ||
		strings.HasSuffix(p, "/status") || strings.HasSuffix(p, "/check-runs") || strings.HasSuffix(p, "/rate_limit")
}

// repoScope maps an API path to "owner/repo" for paths under
// /repos/{owner}/{repo}, and "" (everything) otherwise.
func repoScope(apiPath, p string) string {
	p = strings.TrimPrefix(p, strings.TrimSuffix(apiPath, "/"))
	rest, ok := strings.CutPrefix(p, "/repos/")
	if !ok {
		return ""
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	return strings.ToLower(parts[0] + "/" + parts[1])
}

// tokenTransport adds the connection's token to requests for the API
// host, and to no other host (log downloads and redirects go elsewhere).
type tokenTransport struct {
	token, host string
	next        http.RoundTripper
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != t.host {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r)
}

// connStatus is a connection's readiness detail.
type connStatus struct {
	Auth     string           `json:"auth"`
	API      string           `json:"api"`
	ReadOnly bool             `json:"read_only,omitempty"`
	Allow    []string         `json:"allow,omitempty"`
	Circuit  string           `json:"circuit"`
	Quotas   []upstream.Quota `json:"quotas,omitempty"`
	// ProbeError is why the quota could not be read; it does not fail
	// readiness.
	ProbeError string `json:"probe_error,omitempty"`
}

// quotaProbeEvery bounds how often readiness asks GitHub for the quota
// when no tool call has reported it recently. GET /rate_limit costs no
// quota.
const quotaProbeEvery = time.Minute

func (c *Conn) status(ctx context.Context, now time.Time) connStatus {
	st := connStatus{Auth: c.auth, API: c.apiURL.String(), ReadOnly: c.readOnly, Allow: c.allowRaw}
	if c.needsProbe(now) {
		if _, _, err := c.client.RateLimit.Get(ctx); err != nil {
			st.ProbeError = oneLine(err.Error())
		}
	}
	s := c.up.Status()
	st.Circuit, st.Quotas = s.Circuit, s.Quotas
	return st
}

func (c *Conn) needsProbe(now time.Time) bool {
	for _, q := range c.up.Quotas() {
		if now.Sub(q.ObservedAt) < 5*time.Minute {
			return false
		}
	}
	last := c.lastProbe.Load()
	if now.UnixNano()-last < int64(quotaProbeEvery) {
		return false
	}
	return c.lastProbe.CompareAndSwap(last, now.UnixNano())
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
