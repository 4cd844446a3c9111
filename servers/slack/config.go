package slack

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// SectionName is the top-level config section this module decodes.
const SectionName = "slack"

// Config is the "slack" section.
type Config struct {
	// Workspaces are the named Slack workspaces (or Enterprise Grid
	// organizations) the server can read and, where allowed, write. A tool
	// call names one with its "workspace" argument or gets the default.
	Workspaces map[string]Workspace `yaml:"workspaces"`
	// Token, UserToken and APIURL are a shorthand for one workspace named
	// "default", so that one workspace can be configured from the
	// environment alone (MCPFLEET_SLACK_TOKEN, MCPFLEET_SLACK_USER_TOKEN):
	// maps such as Workspaces cannot be set from the environment.
	Token     config.Secret `yaml:"token"`
	UserToken config.Secret `yaml:"user_token"`
	APIURL    string        `yaml:"api_url"`
	Cache     CacheConfig   `yaml:"cache"`
	Limits    LimitsConfig  `yaml:"limits"`
}

// Workspace is one Slack workspace and the tokens it is reached with.
type Workspace struct {
	// Token is a bot token (xoxb-). Most reads and all writes use it when
	// set.
	Token config.Secret `yaml:"token"`
	// UserToken is a user token (xoxp-). Search and unreads need it; with
	// no bot token every call uses it.
	UserToken config.Secret `yaml:"user_token"`
	// TeamID pins an Enterprise Grid workspace (T...) for org-wide tokens:
	// list calls pass it as team_id.
	TeamID string `yaml:"team_id"`
	// APIURL is the Web API root; empty means Slack's own. Tests point it
	// at a fake.
	APIURL string `yaml:"api_url"`
	// Channels limits what may be read: channel ids (C0123, G0123, D0123)
	// or #names, and exclusions written "!C0123" or "!#name". Empty means
	// every channel the token can see, minus exclusions.
	Channels []string `yaml:"channels"`
	// ReadOnly refuses every write through this workspace, whatever the
	// write settings say.
	ReadOnly bool `yaml:"read_only"`
	// Write enables posting, reactions and scheduled messages. Off unless
	// enabled.
	Write WriteConfig `yaml:"write"`
	// Default marks the workspace used when a call names none. With a
	// single workspace it is the default whether marked or not.
	Default bool `yaml:"default"`
	// Upstream tunes the HTTP client. Its name is set to "slack-<name>".
	Upstream upstream.Config `yaml:"upstream"`
}

// WriteConfig says where a workspace may write.
type WriteConfig struct {
	// Enabled turns writes on for this workspace; false refuses them all
	// before any request is sent.
	Enabled bool `yaml:"enabled"`
	// Channels lists where writes may go, in the syntax of
	// Workspace.Channels ("!C0123" excludes). Empty with Enabled means
	// every channel reads may reach.
	Channels []string `yaml:"channels"`
	// UnfurlDomains lists the domains whose links Slack may unfurl in a
	// posted message ("example.com" also covers its subdomains). A message
	// with any link outside the list is posted with unfurling off.
	UnfurlDomains []string `yaml:"unfurl_domains"`
}

// CacheConfig configures the user and channel directories.
type CacheConfig struct {
	// TTL is how long a complete directory is served before it is
	// refreshed in the background (the old one keeps serving meanwhile).
	TTL time.Duration `yaml:"ttl"`
	// WarmUp loads the directories in the background after start. Off,
	// entries are only fetched one at a time as tools need them.
	WarmUp bool `yaml:"warm_up"`
	// UsersPageSize and ChannelsPageSize are the page sizes of the
	// warm-up (Slack allows up to 1000; it recommends 200 for users).
	UsersPageSize    int `yaml:"users_page_size"`
	ChannelsPageSize int `yaml:"channels_page_size"`
	// RetryAfter is how long a warm-up cut short by an error other than a
	// rate limit waits before it resumes.
	RetryAfter time.Duration `yaml:"retry_after"`
}

// LimitsConfig bounds what tools return and how fast Slack is called.
type LimitsConfig struct {
	// MaxFileBytes is the largest text file whose contents are returned.
	MaxFileBytes config.ByteSize `yaml:"max_file_bytes"`
	// MaxTextBytes caps one message's text in results.
	MaxTextBytes config.ByteSize `yaml:"max_text_bytes"`
	// Tiers are the requests per minute allowed for each of Slack's rate
	// limit tiers (1-4), per workspace and method, enforced before a
	// request is sent. chat.postMessage has its own limit (PostPerMinute).
	Tiers map[int]float64 `yaml:"tiers"`
	// PostPerMinute bounds chat.postMessage and chat.scheduleMessage.
	PostPerMinute float64 `yaml:"post_per_minute"`
	// BurstSeconds is how many seconds' worth of a method's rate may go at
	// once after a quiet spell (at least one request); Slack tolerates
	// short bursts.
	BurstSeconds float64 `yaml:"burst_seconds"`
}

// NewDefaultConfig returns the defaults: warm-up on, directories refreshed
// every hour, Slack's published tier limits.
func NewDefaultConfig() Config {
	return Config{
		Cache: CacheConfig{TTL: time.Hour, WarmUp: true, UsersPageSize: 200, ChannelsPageSize: 1000, RetryAfter: 30 * time.Second},
		Limits: LimitsConfig{
			MaxFileBytes:  100 << 10,
			MaxTextBytes:  4 << 10,
			Tiers:         map[int]float64{1: 1, 2: 20, 3: 50, 4: 100},
			PostPerMinute: 60,
			BurstSeconds:  6,
		},
	}
}

// NewDefaultWorkspace returns a workspace's defaults. The core client's
// own token bucket is off: Slack's limits are per method, and the tier
// limiter enforces them.
func NewDefaultWorkspace() Workspace {
	up := upstream.NewDefaultConfig()
	up.RateLimit = upstream.RateLimit{}
	return Workspace{Upstream: up}
}

// UnmarshalYAML decodes a workspace over its defaults; unknown keys are
// refused.
func (w *Workspace) UnmarshalYAML(n *yaml.Node) error {
	*w = NewDefaultWorkspace()
	type plain Workspace // no UnmarshalYAML: no recursion
	return config.DecodeStrict(n, (*plain)(w))
}

// DefaultWorkspaceName names the workspace of the token shorthand.
const DefaultWorkspaceName = "default"

var (
	teamIDRE = regexp.MustCompile(`^[TE][A-Z0-9]{2,20}$`)
)

// Normalize folds the token shorthand into Workspaces, names the upstream
// clients and marks a lone workspace as the default.
func (c *Config) Normalize() error {
	if c.Token.IsSet() || c.UserToken.IsSet() || c.APIURL != "" {
		if len(c.Workspaces) > 0 {
			return errors.New("slack: set either slack.token/user_token (one workspace) or slack.workspaces, not both")
		}
		w := NewDefaultWorkspace()
		w.Token, w.UserToken, w.APIURL = c.Token, c.UserToken, c.APIURL
		c.Workspaces = map[string]Workspace{DefaultWorkspaceName: w}
		c.Token, c.UserToken, c.APIURL = config.Secret{}, config.Secret{}, ""
	}
	for name, w := range c.Workspaces {
		w.Upstream.Name = "slack-" + name
		if len(c.Workspaces) == 1 {
			w.Default = true
		}
		c.Workspaces[name] = w
	}
	return nil
}

// tokenKind classifies a Slack token by its prefix.
func tokenKind(tok string) string {
	switch {
	case strings.HasPrefix(tok, "xoxb-"):
		return "bot"
	case strings.HasPrefix(tok, "xoxp-"):
		return "user"
	case strings.HasPrefix(tok, "xoxc-"), strings.HasPrefix(tok, "xoxd-"):
		return "browser"
	}
	return "unknown"
}

// checkToken explains what is wrong with a token in the key slot.
func checkToken(p, key string, s config.Secret, want string) error {
	if !s.IsSet() {
		return nil
	}
	switch k := tokenKind(s.Reveal()); {
	case k == "browser":
		return fmt.Errorf("%s.%s is a browser session token (xoxc-/xoxd-): these are refused, they act as a person's logged-in browser and break Slack's terms; create a Slack app and use its bot token (xoxb-) or user token (xoxp-)", p, key)
	case k != want:
		prefix := map[string]string{"bot": "xoxb-", "user": "xoxp-"}[want]
		return fmt.Errorf("%s.%s must be a %s token starting with %s", p, key, want, prefix)
	}
	return nil
}

// Validate reports every problem at once. Call Normalize first.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(c.Workspaces) == 0 {
		add("slack: no workspace configured; set MCPFLEET_SLACK_TOKEN (a bot token, for example env:SLACK_BOT_TOKEN) and/or MCPFLEET_SLACK_USER_TOKEN, or add slack.workspaces to the config file")
	}
	errs = append(errs, config.CheckNamedEntries("slack.workspaces", "workspace", c.Workspaces, func(e Workspace) bool { return e.Default })...)
	for _, name := range c.workspaceNames() {
		w := c.Workspaces[name]
		p := "slack.workspaces." + name
		if !w.Token.IsSet() && !w.UserToken.IsSet() {
			add("%s: set token (a bot token, xoxb-) and/or user_token (a user token, xoxp-)", p)
		}
		if err := checkToken(p, "token", w.Token, "bot"); err != nil {
			errs = append(errs, err)
		}
		if err := checkToken(p, "user_token", w.UserToken, "user"); err != nil {
			errs = append(errs, err)
		}
		if w.TeamID != "" && !teamIDRE.MatchString(w.TeamID) {
			add("%s.team_id %q is not a Slack team id (T... or E...)", p, w.TeamID)
		}
		if w.APIURL != "" {
			if u, err := url.Parse(w.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
				add("%s.api_url %q is not an http(s) URL without credentials or query", p, w.APIURL)
			}
		}
		if _, err := parseChannelList(w.Channels); err != nil {
			add("%s.channels: %v", p, err)
		}
		if _, err := parseChannelList(w.Write.Channels); err != nil {
			add("%s.write.channels: %v", p, err)
		}
		for _, d := range w.Write.UnfurlDomains {
			if !domainRE.MatchString(d) {
				add("%s.write.unfurl_domains: %q is not a domain name", p, d)
			}
		}
		if err := w.Upstream.Validate(); err != nil {
			add("%s.upstream: %s", p, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	if c.Cache.TTL <= 0 {
		add("slack.cache.ttl must be positive")
	}
	if c.Cache.UsersPageSize < 1 || c.Cache.UsersPageSize > 1000 || c.Cache.ChannelsPageSize < 1 || c.Cache.ChannelsPageSize > 1000 {
		add("slack.cache: users_page_size and channels_page_size must be 1-1000")
	}
	if c.Cache.RetryAfter <= 0 {
		add("slack.cache.retry_after must be positive")
	}
	l := c.Limits
	if l.MaxFileBytes <= 0 || l.MaxTextBytes <= 0 {
		add("slack.limits: max_file_bytes and max_text_bytes must be positive")
	}
	for tier, rpm := range l.Tiers {
		if tier < 1 || tier > 4 || rpm <= 0 {
			add("slack.limits.tiers: tier %d: want tiers 1-4 with positive requests per minute", tier)
		}
	}
	if l.PostPerMinute <= 0 {
		add("slack.limits.post_per_minute must be positive")
	}
	if l.BurstSeconds < 0 {
		add("slack.limits.burst_seconds must not be negative")
	}
	return errors.Join(errs...)
}

var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

func (c *Config) workspaceNames() []string { return slices.Sorted(maps.Keys(c.Workspaces)) }
