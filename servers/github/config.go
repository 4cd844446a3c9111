package github

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// SectionName is the top-level config section this module decodes.
const SectionName = "github"

// Config is the "github" section.
type Config struct {
	// Connections are the named GitHub accounts the server can act as. A
	// tool call names one with its "connection" argument or gets the
	// default.
	Connections map[string]Connection `yaml:"connections"`
	// Token and BaseURL are a shorthand for one connection named
	// "default", so that a single account can be configured from the
	// environment alone (MCPFLEET_GITHUB_TOKEN=env:GITHUB_TOKEN): maps such
	// as Connections cannot be set from the environment.
	Token   config.Secret `yaml:"token"`
	BaseURL string        `yaml:"base_url"`
	Cache   CacheConfig   `yaml:"cache"`
	Limits  LimitsConfig  `yaml:"limits"`
}

// Connection is one GitHub account: github.com or a GitHub Enterprise
// Server, authenticated with a token or as a GitHub App installation.
type Connection struct {
	// BaseURL is the API root. Empty means github.com; an Enterprise
	// Server host (https://ghe.example.com) gets /api/v3 appended.
	BaseURL string `yaml:"base_url"`
	// UploadURL is the Enterprise Server upload root; defaults to BaseURL.
	UploadURL string `yaml:"upload_url"`
	// Token is a personal access token (classic or fine-grained).
	Token config.Secret `yaml:"token"`
	// App authenticates as a GitHub App installation instead of a token.
	App *AppAuth `yaml:"app"`
	// Allow lists the owners ("octo-org") and repositories
	// ("octo-org/hello", globs such as "octo-org/*-service") this
	// connection may touch. Empty allows every repository the credential
	// can reach.
	Allow []string `yaml:"allow"`
	// Default marks the connection used when a call names none. With a
	// single connection it is the default whether marked or not.
	Default bool `yaml:"default"`
	// ReadOnly refuses every write through this connection, whatever
	// tools the server exposes.
	ReadOnly bool `yaml:"read_only"`
	// Upstream tunes the HTTP client: timeouts, retries, client-side rate
	// limit, circuit breaker. Its name is set to "github-<connection>".
	Upstream upstream.Config `yaml:"upstream"`
}

// AppAuth is a GitHub App installation. Installation tokens are minted
// with a JWT signed by PrivateKey and refreshed before they expire.
type AppAuth struct {
	AppID          int64 `yaml:"app_id"`
	InstallationID int64 `yaml:"installation_id"`
	// PrivateKey is the App's PEM private key, usually file:/path/key.pem.
	PrivateKey config.Secret `yaml:"private_key"`
}

// CacheConfig configures conditional requests and short-lived caching of
// read results, both kept in core's cache.
type CacheConfig struct {
	// Enabled turns on ETag revalidation: a GET whose answer is cached is
	// sent with If-None-Match, and GitHub's 304 (which costs no rate-limit
	// quota) is answered from the cache.
	Enabled bool `yaml:"enabled"`
	// TTL serves a cached read without asking GitHub at all while it is
	// younger than this. 0 always revalidates. A write through this
	// server to a repository makes its earlier entries revalidate.
	TTL time.Duration `yaml:"ttl"`
	// Keep is how long an answer is kept for revalidation.
	Keep time.Duration `yaml:"keep"`
	// MaxEntryBytes is the largest response body cached.
	MaxEntryBytes config.ByteSize `yaml:"max_entry_bytes"`
}

// LimitsConfig bounds what tools return.
type LimitsConfig struct {
	// MaxFileBytes is the largest file whose contents are returned; larger
	// or binary files come back as metadata and a link.
	MaxFileBytes config.ByteSize `yaml:"max_file_bytes"`
	// MaxDiffBytes caps a pull request or commit diff.
	MaxDiffBytes config.ByteSize `yaml:"max_diff_bytes"`
	// MaxPatchBytes caps the patch of one file in a file list.
	MaxPatchBytes config.ByteSize `yaml:"max_patch_bytes"`
	// MaxLogBytes caps how much of a job log is downloaded; its tail is
	// what is kept.
	MaxLogBytes config.ByteSize `yaml:"max_log_bytes"`
}

// NewDefaultConfig returns the defaults: no connection (one must be
// configured), ETag revalidation on with a 15-second freshness window,
// 200 KiB files, 60 KiB diffs.
func NewDefaultConfig() Config {
	return Config{
		Cache: CacheConfig{Enabled: true, TTL: 15 * time.Second, Keep: time.Hour, MaxEntryBytes: 1 << 20},
		Limits: LimitsConfig{
			MaxFileBytes:  200 << 10,
			MaxDiffBytes:  60 << 10,
			MaxPatchBytes: 4 << 10,
			MaxLogBytes:   8 << 20,
		},
	}
}

// NewDefaultConnection returns a connection's defaults: github.com and an
// upstream client that stays under GitHub's secondary rate limit (900
// REST points a minute is 15 requests a second) and retries rate-limited
// answers after the time GitHub names.
func NewDefaultConnection() Connection {
	up := upstream.NewDefaultConfig()
	up.RateLimit = upstream.RateLimit{RequestsPerSecond: 15, Burst: 40}
	return Connection{Upstream: up}
}

// UnmarshalYAML decodes a connection over its defaults, so that a
// connection that sets only upstream.timeout keeps every other upstream
// default. Unknown keys are refused, as everywhere else in the config.
func (c *Connection) UnmarshalYAML(n *yaml.Node) error {
	*c = NewDefaultConnection()
	type plain Connection // no UnmarshalYAML: no recursion
	return config.DecodeStrict(n, (*plain)(c))
}

// DefaultConnectionName is the name of the connection the github.token
// shorthand defines.
const DefaultConnectionName = "default"

// Normalize folds the token shorthand into Connections, fills in the
// upstream names and marks a lone connection as the default. Calling it
// again changes nothing.
func (c *Config) Normalize() error {
	if c.Token.IsSet() || c.BaseURL != "" {
		if len(c.Connections) > 0 {
			return errors.New("github: set either github.token (one connection) or github.connections, not both")
		}
		conn := NewDefaultConnection()
		conn.Token, conn.BaseURL = c.Token, c.BaseURL
		c.Connections = map[string]Connection{DefaultConnectionName: conn}
		c.Token, c.BaseURL = config.Secret{}, ""
	}
	for name, conn := range c.Connections {
		conn.Upstream.Name = "github-" + name
		if len(c.Connections) == 1 {
			conn.Default = true
		}
		c.Connections[name] = conn
	}
	return nil
}

// Validate reports every problem at once. Call Normalize first.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(c.Connections) == 0 {
		add("github: no connection configured; set MCPFLEET_GITHUB_TOKEN (for example env:GITHUB_TOKEN) or add github.connections to the config file")
	}
	errs = append(errs, config.CheckNamedEntries("github.connections", "connection", c.Connections, func(e Connection) bool { return e.Default })...)
	for _, name := range c.connectionNames() {
		conn := c.Connections[name]
		p := "github.connections." + name
		switch {
		case conn.Token.IsSet() && conn.App != nil:
			add("%s: set either token or app, not both", p)
		case !conn.Token.IsSet() && conn.App == nil:
			add("%s: set token (a personal access token) or app (a GitHub App installation)", p)
		case conn.App != nil:
			if conn.App.AppID <= 0 {
				add("%s.app.app_id must be a positive number", p)
			}
			if conn.App.InstallationID <= 0 {
				add("%s.app.installation_id must be a positive number", p)
			}
			if !conn.App.PrivateKey.IsSet() {
				add("%s.app.private_key is required (for example file:/path/to/key.pem)", p)
			}
		}
		for _, u := range []struct{ key, val string }{{"base_url", conn.BaseURL}, {"upload_url", conn.UploadURL}} {
			if u.val == "" {
				continue
			}
			if pu, err := url.Parse(u.val); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" || pu.User != nil || pu.RawQuery != "" {
				add("%s.%s %q is not an http(s) URL without credentials or query", p, u.key, u.val)
			}
		}
		if conn.UploadURL != "" && conn.BaseURL == "" {
			add("%s.upload_url needs base_url (it is for GitHub Enterprise Server)", p)
		}
		if _, err := parseAllowlist(conn.Allow); err != nil {
			add("%s.allow: %v", p, err)
		}
		if err := conn.Upstream.Validate(); err != nil {
			add("%s.upstream: %s", p, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	if c.Cache.TTL < 0 || c.Cache.Keep < 0 {
		add("github.cache: ttl and keep must not be negative")
	}
	if c.Cache.Enabled && c.Cache.Keep < c.Cache.TTL {
		add("github.cache.keep (%s) must be at least github.cache.ttl (%s)", c.Cache.Keep, c.Cache.TTL)
	}
	if c.Cache.Enabled && c.Cache.MaxEntryBytes <= 0 {
		add("github.cache.max_entry_bytes must be positive")
	}
	l := c.Limits
	if l.MaxFileBytes <= 0 || l.MaxDiffBytes <= 0 || l.MaxPatchBytes <= 0 || l.MaxLogBytes <= 0 {
		add("github.limits: max_file_bytes, max_diff_bytes, max_patch_bytes and max_log_bytes must be positive")
	}
	return errors.Join(errs...)
}

func (c *Config) connectionNames() []string { return slices.Sorted(maps.Keys(c.Connections)) }
