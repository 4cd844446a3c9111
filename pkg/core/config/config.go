package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the part of the configuration that pkg/core owns. Each field is
// a top-level section of the document.
type Config struct {
	Server    Server `yaml:"server"`
	Transport string `yaml:"transport"`
	HTTP      HTTP   `yaml:"http"`
	Auth      Auth   `yaml:"auth"`
	Tools     Tools  `yaml:"tools"`
	Limits    Limits `yaml:"limits"`
	Cache     Cache  `yaml:"cache"`
	Log       Log    `yaml:"log"`
}

// Server describes the server to clients.
type Server struct {
	// Name is the short server name hosts prefix tool names with ("crm").
	Name string `yaml:"name"`
	// Title is the display name.
	Title string `yaml:"title"`
	// Instructions are sent to clients at initialization.
	Instructions string `yaml:"instructions"`
}

// Transports.
const (
	TransportStdio = "stdio"
	TransportHTTP  = "http"
)

// HTTP configures the Streamable HTTP transport.
type HTTP struct {
	// Addr is the listen address.
	Addr string `yaml:"addr"`
	// Path is where the MCP endpoint is mounted.
	Path string `yaml:"path"`
	// PublicURL is the externally visible base URL (scheme://host[:port]).
	// The resource identifier for auth is PublicURL + Path. When empty it is
	// derived from Addr.
	PublicURL string `yaml:"public_url"`
	// Stateless serves every request with a temporary session (no
	// Mcp-Session-Id); needed behind load balancers without affinity.
	Stateless bool `yaml:"stateless"`
	// JSONResponse answers POSTs with application/json instead of an SSE
	// stream; cheaper, but notifications during a call are not delivered.
	JSONResponse bool `yaml:"json_response"`
	// InlineToolCalls lets core's direct path answer the tools/call
	// requests it can answer exactly as go-sdk would (pkg/core/direct.go,
	// docs/architecture.md); off, go-sdk serves every request.
	InlineToolCalls bool `yaml:"inline_tool_calls"`
	// AllowedHosts lists the Host header values (host or host:port) accepted
	// on the MCP endpoint. "*" disables the check. When empty: loopback names
	// for a loopback listener, otherwise the host of PublicURL.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// AllowedOrigins lists browser origins (scheme://host[:port]) allowed in
	// addition to same-origin requests.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxBodyBytes caps a request body; larger bodies get 413.
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// SessionTimeout closes stateful sessions idle this long.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// EventStoreBytes bounds the per-server memory that keeps recent SSE
	// events so a client can resume a broken stream (Last-Event-ID);
	// stateful mode only. 0 disables resumption.
	EventStoreBytes ByteSize `yaml:"event_store_bytes"`
	// ShutdownTimeout bounds the drain of in-flight calls on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// ReadHeaderTimeout protects against slow-header clients.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	TLS               TLS           `yaml:"tls"`
	// RequestStateKey signs the request state of input-required results
	// (protocol 2026-07-28), which the client sends back, possibly to
	// another replica: every replica behind one load balancer needs the
	// same key (at least 32 bytes). Unset, each process draws its own.
	RequestStateKey Secret `yaml:"request_state_key"`
}

// TLS enables HTTPS when both files are set.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" && t.KeyFile != "" }

// Auth configures inbound authentication.
type Auth struct {
	// Disabled turns authentication off. Allowed only on a loopback listener.
	Disabled bool `yaml:"disabled"`
	// Resource is this server's resource identifier (the token audience).
	// Defaults to the public URL of the MCP endpoint.
	Resource string `yaml:"resource"`
	// RequiredScopes must all be present in a token.
	RequiredScopes []string `yaml:"required_scopes"`
	// ScopesSupported is advertised in the protected resource metadata.
	ScopesSupported []string `yaml:"scopes_supported"`
	OIDC            OIDC     `yaml:"oidc"`
	APIKeys         []APIKey `yaml:"api_keys"`
	// APIKeysFrom adds more api_keys entries from a secret reference
	// (env:NAME or file:/path) or, as here too a literal works, the list
	// itself: a YAML or JSON list of {id, sha256, scopes, groups}. It lets
	// keys be configured from the environment alone
	// (MCPFLEET_AUTH_API_KEYS_FROM), where a list of objects cannot be.
	APIKeysFrom Secret `yaml:"api_keys_from"`
	// Stdio is the principal used for the stdio transport, where there is
	// no token.
	Stdio StdioPrincipal `yaml:"stdio"`
	// CacheTTL bounds how long a verified token is remembered; a token is
	// never remembered past its expiry.
	CacheTTL time.Duration `yaml:"cache_ttl"`
}

// OIDC configures JWT validation against an OpenID Connect issuer.
type OIDC struct {
	// Issuer is the expected iss claim; its discovery document supplies the
	// JWKS URL unless JWKSURL is set.
	Issuer string `yaml:"issuer"`
	// JWKSURL overrides discovery.
	JWKSURL string `yaml:"jwks_url"`
	// Audience is the expected aud; defaults to Auth.Resource.
	Audience string `yaml:"audience"`
	// Algorithms accepted for signatures. "none" and HMAC are never accepted.
	Algorithms []string `yaml:"algorithms"`
	// ClockSkew tolerated on exp, nbf and iat.
	ClockSkew time.Duration `yaml:"clock_skew"`
	// GroupsClaim and ClientIDClaim name the claims mapped onto the principal.
	GroupsClaim   string `yaml:"groups_claim"`
	ClientIDClaim string `yaml:"client_id_claim"`
	// RefreshInterval is how often the JWKS is refetched; an unknown kid
	// (a rotated key) triggers a refetch at once, rate-limited to one per
	// MinRefreshInterval; a request waits at most 5s for its turn.
	RefreshInterval    time.Duration `yaml:"refresh_interval"`
	MinRefreshInterval time.Duration `yaml:"min_refresh_interval"`
}

// Enabled reports whether JWT authentication is configured.
func (o OIDC) Enabled() bool { return o.Issuer != "" }

// APIKey is a static key for a service client, stored only as a hash.
type APIKey struct {
	// ID names the client; it becomes the principal's subject.
	ID string `yaml:"id"`
	// SHA256 is the hex SHA-256 of the key, as "mcpfleet apikey new"
	// prints it; the key itself is never stored.
	SHA256 string   `yaml:"sha256"`
	Scopes []string `yaml:"scopes"`
	Groups []string `yaml:"groups"`
}

// StdioPrincipal is who a stdio session acts as.
type StdioPrincipal struct {
	Subject string   `yaml:"subject"`
	Groups  []string `yaml:"groups"`
	Scopes  []string `yaml:"scopes"`
}

// Tools selects which tools the server exposes.
type Tools struct {
	// Toolsets to enable; empty means the server's default toolsets, "all"
	// means every toolset.
	Toolsets []string `yaml:"toolsets"`
	// DisabledToolsets are removed after Toolsets is applied.
	DisabledToolsets []string `yaml:"disabled_toolsets"`
	// Enabled adds single tools from toolsets that are otherwise off.
	Enabled []string `yaml:"enabled"`
	// Disabled removes single tools.
	Disabled []string `yaml:"disabled"`
	// ReadOnly removes every tool not marked read-only; it wins over the lists.
	ReadOnly bool `yaml:"read_only"`
	// OutputSchemas advertises each tool's output schema in tools/list.
	// Results always carry structured content; hosts rarely show output
	// schemas to the model, and leaving them out can shrink the list a
	// host sends with every model request by a third or more.
	OutputSchemas bool `yaml:"output_schemas"`
}

// Limits bounds work per call and per server.
type Limits struct {
	// MaxConcurrentCalls caps tool calls in flight; beyond it calls are
	// refused with a "busy, retry" error rather than queued.
	MaxConcurrentCalls int `yaml:"max_concurrent_calls"`
	// ToolTimeout is the default per-call deadline.
	ToolTimeout time.Duration `yaml:"tool_timeout"`
	// MaxResultBytes caps the encoded size of a tool result.
	MaxResultBytes ByteSize `yaml:"max_result_bytes"`
	// MaxSessions caps open HTTP sessions in total (stateful HTTP).
	MaxSessions int `yaml:"max_sessions"`
	// MaxSessionsPerPrincipal caps the open sessions of one principal.
	MaxSessionsPerPrincipal int `yaml:"max_sessions_per_principal"`
	// InitializePerMinute caps initialize requests per principal and
	// minute (the burst is the same number).
	InitializePerMinute int `yaml:"initialize_per_minute"`
}

// Cache selects the shared cache backend.
type Cache struct {
	// Backend is "memory" or "redis".
	Backend  string   `yaml:"backend"`
	MaxBytes ByteSize `yaml:"max_bytes"`
	// RedisURL is a redis:// URL; it may carry a password, hence a Secret.
	RedisURL  Secret `yaml:"redis_url"`
	KeyPrefix string `yaml:"key_prefix"`
}

// Log configures the process logger.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is json or text.
	Format string `yaml:"format"`
}

// NewDefaultConfig returns the defaults every server starts from.
func NewDefaultConfig() Config {
	return Config{
		Server:    Server{Name: "mcpfleet"},
		Transport: TransportStdio,
		HTTP: HTTP{
			Addr:              "127.0.0.1:8080",
			Path:              "/mcp",
			MaxBodyBytes:      4 << 20,
			SessionTimeout:    30 * time.Minute,
			EventStoreBytes:   10 << 20,
			ShutdownTimeout:   15 * time.Second,
			ReadHeaderTimeout: 10 * time.Second,
			InlineToolCalls:   true,
		},
		Auth: Auth{
			OIDC: OIDC{
				Algorithms:         []string{"RS256", "ES256", "PS256", "EdDSA"},
				ClockSkew:          30 * time.Second,
				GroupsClaim:        "groups",
				ClientIDClaim:      "azp",
				RefreshInterval:    time.Hour,
				MinRefreshInterval: 5 * time.Second,
			},
			Stdio:    StdioPrincipal{Subject: "local-user"},
			CacheTTL: time.Minute,
		},
		Limits: Limits{
			MaxConcurrentCalls: 256,
			ToolTimeout:        60 * time.Second,
			MaxResultBytes:     1 << 20,
			// A host opens one session per server and reconnects now and
			// then; an agent platform acting as one principal may run a
			// few hundred. The caps stop a loop opening thousands (each
			// session holds memory and goroutines until it idles out).
			MaxSessions:             10_000,
			MaxSessionsPerPrincipal: 256,
			InitializePerMinute:     300,
		},
		Tools: Tools{OutputSchemas: true},
		Cache: Cache{Backend: "memory", MaxBytes: 64 << 20, KeyPrefix: "mcpfleet:"},
		Log:   Log{Level: "info", Format: "json"},
	}
}

// Decode fills c from the document's core sections, reporting the problems
// of every section, not just the first.
func (c *Config) Decode(d *Document) error {
	rv := reflect.ValueOf(c).Elem()
	t := rv.Type()
	var errs []error
	for i := range t.NumField() {
		key, ok := yamlKey(t.Field(i))
		if !ok {
			continue
		}
		errs = append(errs, d.Section(key, rv.Field(i).Addr().Interface()))
	}
	errs = append(errs, c.Auth.loadAPIKeys())
	return errors.Join(errs...)
}

var yamlValueRE = regexp.MustCompile("`[^`]*`")

// loadAPIKeys appends the entries of api_keys_from to api_keys.
func (a *Auth) loadAPIKeys() error {
	if !a.APIKeysFrom.IsSet() {
		return nil
	}
	var keys []APIKey
	dec := yaml.NewDecoder(strings.NewReader(a.APIKeysFrom.Reveal()))
	dec.KnownFields(true)
	if err := dec.Decode(&keys); err != nil {
		// The value should hold only hashes, but a raw key pasted by
		// mistake must not reach the log: yaml's quoted values are dropped.
		detail := yamlValueRE.ReplaceAllString(strings.ReplaceAll(err.Error(), "\n", " "), "a value")
		return fmt.Errorf("auth.api_keys_from (%s) is not a list of api_keys entries such as [{id: ci-bot, sha256: <64 hex digits>}]: %s",
			a.APIKeysFrom, detail)
	}
	a.APIKeys = append(a.APIKeys, keys...)
	return nil
}

// Flags holds command-line overrides; empty fields change nothing.
type Flags struct {
	Transport string
	Addr      string
	ReadOnly  bool
	Toolsets  string
	LogLevel  string
}

// Apply overlays the flags on c.
func (f Flags) Apply(c *Config) {
	if f.Transport != "" {
		c.Transport = f.Transport
	}
	if f.Addr != "" {
		c.HTTP.Addr = f.Addr
	}
	if f.ReadOnly {
		c.Tools.ReadOnly = true
	}
	if f.Toolsets != "" {
		c.Tools.Toolsets = strings.Split(f.Toolsets, ",")
	}
	if f.LogLevel != "" {
		c.Log.Level = f.LogLevel
	}
}

// Validate fails fast with every problem found.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if c.Server.Name == "" {
		add("server.name is empty")
	}
	if k := c.HTTP.RequestStateKey; k.IsSet() && len(k.Reveal()) < 32 {
		add("http.request_state_key must be at least 32 bytes")
	}
	switch c.Transport {
	case TransportStdio, TransportHTTP:
	default:
		add("transport %q is not stdio or http", c.Transport)
	}
	if c.Transport == TransportHTTP {
		if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
			add("http.addr %q: %v", c.HTTP.Addr, err)
		}
		if !strings.HasPrefix(c.HTTP.Path, "/") {
			add("http.path %q must start with /", c.HTTP.Path)
		}
		if c.HTTP.PublicURL != "" {
			if u, err := url.Parse(c.HTTP.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add("http.public_url %q is not an http(s) URL", c.HTTP.PublicURL)
			}
		}
		if (c.HTTP.TLS.CertFile == "") != (c.HTTP.TLS.KeyFile == "") {
			add("http.tls needs both cert_file and key_file")
		}
		if c.HTTP.MaxBodyBytes <= 0 {
			add("http.max_body_bytes must be positive")
		}
		if c.HTTP.ShutdownTimeout <= 0 {
			add("http.shutdown_timeout must be positive")
		}
		if !IsLoopback(c.HTTP.Addr) && len(c.HTTP.AllowedHosts) == 0 && c.HTTP.PublicURL == "" {
			add("http.addr %s is not loopback: set http.allowed_hosts or http.public_url so the Host header can be checked", c.HTTP.Addr)
		}
		for _, o := range c.HTTP.AllowedOrigins {
			if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
				add("http.allowed_origins: %q is not scheme://host[:port]", o)
			}
		}
		errs = append(errs, c.Auth.validate(c.HTTP.Addr)...)
	}
	if c.Limits.MaxConcurrentCalls <= 0 {
		add("limits.max_concurrent_calls must be positive")
	}
	if c.Limits.ToolTimeout <= 0 {
		add("limits.tool_timeout must be positive")
	}
	if c.Limits.MaxResultBytes <= 0 {
		add("limits.max_result_bytes must be positive")
	}
	if c.Limits.MaxSessions <= 0 || c.Limits.MaxSessionsPerPrincipal <= 0 || c.Limits.InitializePerMinute <= 0 {
		add("limits.max_sessions, limits.max_sessions_per_principal and limits.initialize_per_minute must be positive")
	}
	switch c.Cache.Backend {
	case "memory":
		if c.Cache.MaxBytes <= 0 {
			add("cache.max_bytes must be positive")
		}
	case "redis":
		if !c.Cache.RedisURL.IsSet() {
			add("cache.redis_url is required for the redis backend")
		}
	default:
		add("cache.backend %q is not memory or redis", c.Cache.Backend)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level %q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		add("log.format %q is not json or text", c.Log.Format)
	}
	return errors.Join(errs...)
}

func (a *Auth) validate(addr string) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if a.Disabled {
		if !IsLoopback(addr) {
			add("auth.disabled is allowed only on a loopback address, not %s", addr)
		}
		return errs
	}
	if !a.OIDC.Enabled() && len(a.APIKeys) == 0 {
		add("auth: configure auth.oidc.issuer or auth.api_keys (or set auth.disabled on a loopback address)")
	}
	if a.OIDC.Enabled() {
		if u, err := url.Parse(a.OIDC.Issuer); err != nil || u.Scheme == "" || u.Host == "" {
			add("auth.oidc.issuer %q is not a URL", a.OIDC.Issuer)
		}
		if len(a.OIDC.Algorithms) == 0 {
			add("auth.oidc.algorithms is empty")
		}
		for _, alg := range a.OIDC.Algorithms {
			if !slices.Contains(SupportedJWTAlgorithms, alg) {
				add("auth.oidc.algorithms: %q is not one of %s", alg, strings.Join(SupportedJWTAlgorithms, ", "))
			}
		}
		if a.OIDC.ClockSkew < 0 || a.OIDC.ClockSkew > 5*time.Minute {
			add("auth.oidc.clock_skew must be between 0 and 5m")
		}
	}
	seen := map[string]bool{}
	for i, k := range a.APIKeys {
		if k.ID == "" {
			add("auth.api_keys[%d].id is empty", i)
		}
		if seen[k.ID] {
			add("auth.api_keys: duplicate id %q", k.ID)
		}
		seen[k.ID] = true
		if len(k.SHA256) != 64 || strings.Trim(strings.ToLower(k.SHA256), "0123456789abcdef") != "" {
			add("auth.api_keys[%d].sha256 must be 64 hex characters (the key itself is never stored)", i)
		}
	}
	return errs
}

// SupportedJWTAlgorithms are the asymmetric JWS algorithms tokens may use.
var SupportedJWTAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// IsLoopback reports whether a listen address binds only the loopback
// interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// MCPURL is the public URL of the MCP endpoint.
func (c *Config) MCPURL() string {
	return strings.TrimSuffix(c.BaseURL(), "/") + c.HTTP.Path
}

// BaseURL is the public scheme://host[:port] of the server.
func (c *Config) BaseURL() string {
	if c.HTTP.PublicURL != "" {
		return strings.TrimSuffix(c.HTTP.PublicURL, "/")
	}
	scheme := "http"
	if c.HTTP.TLS.Enabled() {
		scheme = "https"
	}
	host, port, _ := net.SplitHostPort(c.HTTP.Addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// ResourceURL is the auth resource identifier (token audience).
func (c *Config) ResourceURL() string {
	if c.Auth.Resource != "" {
		return c.Auth.Resource
	}
	return c.MCPURL()
}

// Redacted renders c as YAML with every secret shown as its reference or
// "[redacted]".
func (c *Config) Redacted() ([]byte, error) { return yaml.Marshal(c) }
