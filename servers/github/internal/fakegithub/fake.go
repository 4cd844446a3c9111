// Package fakegithub is an httptest fake of the GitHub REST API, driven
// through the real go-github client by the server's tests and benchmarks.
//
// It serves every endpoint the server's tools use, in both layouts
// (github.com's root and Enterprise Server's /api/v3), with what the server
// must cope with: rate-limit quota headers (a request costs quota only when
// answered 2xx; a 304 is free, as on GitHub), ETags and conditional
// requests, injected rate limits (primary: 403 with X-RateLimit-Remaining
// 0 and a reset a second or two ahead; secondary: 403 with Retry-After),
// injected failures, 404s and GitHub-shaped 422 validation errors, Link
// pagination, personal access tokens and GitHub App installation tokens
// minted against a JWT signed with the App's key, which expire.
package fakegithub

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
	gh "github.com/google/go-github/v66/github"
)

// Token is the personal access token the fake accepts by default.
const Token = "ghp_fake_token_0123456789"

// Options configure a Fake.
type Options struct {
	// Token is the accepted personal access token; [Token] when empty.
	Token string
	// App enables GitHub App authentication.
	App *App
	// QuotaLimit is the hourly quota; 5000 when zero.
	QuotaLimit int
}

// App is a GitHub App the fake knows.
type App struct {
	ID             int64
	InstallationID int64
	PublicKey      *rsa.PublicKey
	// TokenLifetime is how long minted installation tokens live; an hour
	// when zero.
	TokenLifetime time.Duration
}

// Request is one request the fake answered.
type Request struct {
	Method      string
	Path        string // without the /api/v3 prefix
	Query       string
	Status      int
	Auth        string // the Authorization header
	IfNoneMatch string
}

// Fake is a running fake GitHub.
type Fake struct {
	Server *httptest.Server
	opts   Options

	mu            sync.Mutex
	remaining     int
	requests      []Request
	rateLimitNext []string // "primary" or "secondary", one per request
	failNext      []failure
	appTokens     map[string]time.Time
	mints         int
	searches      []string
	data          *data
}

type failure struct {
	status int
	body   string
}

// New starts a fake; it is closed when the test ends.
func New(t interface {
	Helper()
	Cleanup(func())
}, o Options) *Fake {
	t.Helper()
	if o.Token == "" {
		o.Token = Token
	}
	if o.QuotaLimit == 0 {
		o.QuotaLimit = 5000
	}
	f := &Fake{opts: o, remaining: o.QuotaLimit, appTokens: map[string]time.Time{}}
	f.Server = httptest.NewServer(f.handler())
	f.data = seed(f.Server.URL)
	t.Cleanup(f.Server.Close)
	return f
}

// URL is the fake's base URL; as a connection's base_url it selects the
// Enterprise Server layout (/api/v3), which the fake serves.
func (f *Fake) URL() string { return f.Server.URL }

// Requests returns every request answered so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Count returns how many requests were answered so far.
func (f *Fake) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// Remaining is the quota left.
func (f *Fake) Remaining() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.remaining
}

// Mints is how many installation tokens were minted.
func (f *Fake) Mints() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mints
}

// Searches returns the q parameter of every search request.
func (f *Fake) Searches() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.searches...)
}

// RateLimitNext makes the next n API requests fail with a rate limit:
// "primary" (403, X-RateLimit-Remaining: 0, X-RateLimit-Reset two seconds
// ahead), "exhausted" (the same with the reset an hour ahead),
// "secondary" (403 with Retry-After: 1) or "429" (429 with Retry-After: 1).
func (f *Fake) RateLimitNext(kind string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.rateLimitNext = append(f.rateLimitNext, kind)
	}
}

// FailNext makes the next API request fail with status and a JSON body.
func (f *Fake) FailNext(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = append(f.failNext, failure{status, body})
}

// ValidationFailed is a GitHub 422 body.
const ValidationFailed = `{"message":"Validation Failed","errors":[{"resource":"Issue","field":"title","code":"missing_field"}]}`

// Mutate runs fn on the fake's data under its lock.
func (f *Fake) Mutate(fn func(d *Data)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.data.exported())
	f.data.invalidate()
}

// recorder buffers a handler's answer so that the middleware can add
// ETags, answer 304 and account quota.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (f *Fake) handler() http.Handler {
	api := http.NewServeMux()
	f.routes(api)
	logs := http.NewServeMux()
	logs.HandleFunc("GET /_logs/{job}", f.serveLog)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_logs/") {
			f.record(r, http.StatusOK)
			logs.ServeHTTP(w, r)
			return
		}
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/api/v3")
		f.serveAPI(api, w, r)
	})
}

func (f *Fake) record(r *http.Request, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, Request{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, "/api/v3"), Query: r.URL.RawQuery,
		Status: status, Auth: r.Header.Get("Authorization"), IfNoneMatch: r.Header.Get("If-None-Match")})
}

// free paths cost no quota, as on GitHub.
func free(r *http.Request) bool {
	return r.URL.Path == "/rate_limit" || strings.HasPrefix(r.URL.Path, "/app/installations/")
}

func (f *Fake) serveAPI(api *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	status := f.serveAPIRecorded(api, w, r)
	f.record(r, status)
}

func (f *Fake) serveAPIRecorded(api *http.ServeMux, w http.ResponseWriter, r *http.Request) int {
	resource := "core"
	if strings.HasPrefix(r.URL.Path, "/search/") {
		resource = "search"
	}
	reset := time.Now().Add(time.Hour).Unix()

	f.mu.Lock()
	var limited string
	if len(f.rateLimitNext) > 0 && !free(r) {
		limited, f.rateLimitNext = f.rateLimitNext[0], f.rateLimitNext[1:]
	}
	var fail *failure
	if limited == "" && len(f.failNext) > 0 && !free(r) {
		fail, f.failNext = &f.failNext[0], f.failNext[1:]
	}
	remaining := f.remaining
	f.mu.Unlock()

	h := w.Header()
	setQuota := func(rem int, reset int64) {
		h.Set("X-RateLimit-Limit", strconv.Itoa(f.opts.QuotaLimit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(rem))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
		h.Set("X-RateLimit-Used", strconv.Itoa(f.opts.QuotaLimit-rem))
		h.Set("X-RateLimit-Resource", resource)
	}
	switch limited {
	case "primary", "exhausted":
		until := time.Now().Unix() + 2
		if limited == "exhausted" {
			until = reset
		}
		setQuota(0, until)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"API rate limit exceeded for user ID 1.","documentation_url":"/rest/overview/rate-limits-for-the-rest-api"}`))
		return http.StatusForbidden
	case "secondary", "429":
		setQuota(remaining, reset)
		h.Set("Retry-After", "1")
		h.Set("Content-Type", "application/json")
		status := http.StatusForbidden
		if limited == "429" {
			status = http.StatusTooManyRequests
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"/rest/overview/rate-limits-for-the-rest-api#secondary-rate-limits"}`))
		return status
	}
	if !free(r) && !f.authorized(r) {
		setQuota(remaining, reset)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return http.StatusUnauthorized
	}
	if fail != nil {
		setQuota(remaining, reset)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(fail.status)
		_, _ = w.Write([]byte(fail.body))
		return fail.status
	}

	rec := &recorder{header: http.Header{}}
	api.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	for k, v := range rec.header {
		h[k] = v
	}
	if r.Method == http.MethodGet && rec.status == http.StatusOK {
		etag := h.Get("ETag")
		if etag == "" {
			sum := sha256.Sum256(rec.body.Bytes())
			etag = `W/"` + hex.EncodeToString(sum[:12]) + `"`
			h.Set("ETag", etag)
		}
		if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag {
			setQuota(remaining, reset)
			w.WriteHeader(http.StatusNotModified)
			return http.StatusNotModified
		}
	}
	if rec.status >= 200 && rec.status < 300 && !free(r) {
		f.mu.Lock()
		f.remaining--
		remaining = f.remaining
		f.mu.Unlock()
	}
	setQuota(remaining, reset)
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
	return rec.status
}

func (f *Fake) authorized(r *http.Request) bool {
	a := r.Header.Get("Authorization")
	if a == "Bearer "+f.opts.Token || a == "token "+f.opts.Token {
		return true
	}
	tok, ok := strings.CutPrefix(a, "token ")
	if !ok {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, ok := f.appTokens[tok]
	return ok && time.Now().Before(exp)
}

// mintToken serves POST /app/installations/{id}/access_tokens: the JWT
// must be RS256-signed by the App's key, issued by the App's id, current.
func (f *Fake) mintToken(w http.ResponseWriter, r *http.Request) {
	app := f.opts.App
	if app == nil || r.PathValue("id") != strconv.FormatInt(app.InstallationID, 10) {
		notFound(w)
		return
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "A JSON web token could not be decoded"})
		return
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodRS256 {
			return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
		}
		return app.PublicKey, nil
	})
	if err != nil || claims.Issuer != strconv.FormatInt(app.ID, 10) || claims.ExpiresAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 10*time.Minute {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "'Issuer' claim ('iss') must be an Integer or the JWT is invalid"})
		return
	}
	life := app.TokenLifetime
	if life == 0 {
		life = time.Hour
	}
	f.mu.Lock()
	f.mints++
	tok := fmt.Sprintf("ghs_installation_token_%d", f.mints)
	exp := time.Now().Add(life)
	f.appTokens[tok] = exp
	f.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"token": tok, "expires_at": exp.UTC().Format(time.RFC3339),
		"permissions": map[string]string{"contents": "read", "issues": "write", "metadata": "read"},
	})
}

// serveLog serves a job log at its pre-signed URL, honouring a suffix
// Range. It must be fetched without the GitHub credential.
func (f *Fake) serveLog(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	log, ok := f.data.logs[r.PathValue("job")]
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	if rng, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes=-"); ok {
		if n, err := strconv.Atoi(rng); err == nil && n < len(log) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", len(log)-n, len(log)-1, len(log)))
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write([]byte(log[len(log)-n:]))
			return
		}
	}
	_, _ = w.Write([]byte(log))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
}

func invalid(w http.ResponseWriter, resource, field, code string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message": "Validation Failed",
		"errors":  []map[string]string{{"resource": resource, "field": field, "code": code}},
	})
}

// paginate cuts items to the requested page and sets the Link header.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) []T {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if page < 1 {
		page = 1
	}
	if per < 1 {
		per = 30
	}
	start := min((page-1)*per, len(items))
	end := min(start+per, len(items))
	if end < len(items) {
		u := *r.URL
		q := u.Query()
		q.Set("page", strconv.Itoa(page+1))
		u.RawQuery = q.Encode()
		u.Scheme, u.Host = "http", r.Host
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, u.String()))
	}
	return items[start:end]
}

func decode(r *http.Request, v any) error {
	return json.NewDecoder(r.Body).Decode(v)
}

func pathInt(r *http.Request, key string) (int, bool) {
	n, err := strconv.Atoi(r.PathValue(key))
	return n, err == nil
}

func ptr[T any](v T) *T { return &v }

func ts(t time.Time) *gh.Timestamp { return &gh.Timestamp{Time: t} }

func escapePath(p string) string { return (&url.URL{Path: p}).EscapedPath() }
