package aws

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
const SectionName = "aws"

// Config is the "aws" section.
type Config struct {
	// Accounts are the AWS accounts the server may act in, by name. A tool
	// call names one with its "account" argument or gets the default.
	Accounts map[string]Account `yaml:"accounts"`
	// Regions and Profile are a shorthand for one account named "default"
	// (the SDK's default credential chain, or Profile), settable from the
	// environment (MCPFLEET_AWS_REGIONS, MCPFLEET_AWS_PROFILE) as
	// `mcpfleet up` does; not together with Accounts.
	Regions []string `yaml:"regions"`
	Profile string   `yaml:"profile"`
	// Retry configures the SDK's retryer, the only retry layer (see
	// [RetryConfig]).
	Retry  RetryConfig  `yaml:"retry"`
	Limits LimitsConfig `yaml:"limits"`
}

// Account is one AWS account (or one role in it) with the regions the
// server may use there.
type Account struct {
	// Profile is a named profile of the shared config and credentials
	// files. Empty uses the SDK's default credential chain (environment,
	// shared files' default profile, SSO, web identity, container and
	// instance roles).
	Profile string `yaml:"profile"`
	// AssumeRole, when set, has every call run as this role, assumed with
	// the profile's (or the source account's) credentials. The session
	// name and source identity carry the MCP caller.
	AssumeRole *AssumeRole `yaml:"assume_role"`
	// Regions the server may call in this account; the first is the
	// default region of a call that names none.
	Regions []string `yaml:"regions"`
	// Default marks the account used when a call names none. With a single
	// account it is the default whether marked or not.
	Default bool `yaml:"default"`
	// ReadOnly refuses every write in this account, whatever Writes says.
	ReadOnly bool `yaml:"read_only"`
	// Writes enables the write tools (start/stop/reboot instances, put
	// object, set desired count) in this account. Off by default.
	Writes bool `yaml:"writes"`
	// Endpoints overrides service endpoints by service name (ec2, s3,
	// sts, iam, monitoring, logs, ce, ecs, lambda, cloudtrail): VPC
	// endpoints, LocalStack, test fakes.
	Endpoints map[string]string `yaml:"endpoints"`
	// S3PathStyle addresses buckets in the path (host/bucket/key) rather
	// than the host name; needed by most S3-compatible stores.
	S3PathStyle bool `yaml:"s3_path_style"`
	// Upstream tunes the HTTP client under the SDK: timeouts, breaker,
	// client-side rate limit. Its retries are always off (see
	// RetryConfig); its name is "aws-<account>".
	Upstream upstream.Config `yaml:"upstream"`
}

// AssumeRole is a role to assume in an account.
type AssumeRole struct {
	RoleARN string `yaml:"role_arn"`
	// ExternalID is the external id the role's trust policy requires.
	ExternalID config.Secret `yaml:"external_id"`
	// SourceAccount names another configured account whose credentials
	// assume this role (role chaining). Empty uses this account's
	// profile or default chain.
	SourceAccount string `yaml:"source_account"`
	// Duration of the assumed session; 1h by default.
	Duration time.Duration `yaml:"duration"`
	// SourceIdentity sets the MCP caller as the session's source
	// identity, which CloudTrail records on every call and which survives
	// role chaining. The role's trust policy must allow
	// sts:SetSourceIdentity. On by default.
	SourceIdentity *bool `yaml:"source_identity"`
}

// setSourceIdentity reports whether the source identity is set.
func (a *AssumeRole) setSourceIdentity() bool { return a.SourceIdentity == nil || *a.SourceIdentity }

// RetryConfig is the SDK's standard retryer: it retries throttling
// errors (Throttling, RequestLimitExceeded, TooManyRequestsException,
// SlowDown, ...), 5xx and connection errors with exponential backoff and
// full jitter, and draws each retry from a token bucket so that a failing
// service is not hammered.
type RetryConfig struct {
	// MaxAttempts counts the first attempt; 1 turns retries off.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxBackoff caps the wait before one retry.
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// LimitsConfig bounds what tools return and how long they wait.
type LimitsConfig struct {
	// MaxObjectBytes is the most of an S3 object's text returned.
	MaxObjectBytes config.ByteSize `yaml:"max_object_bytes"`
	// MaxPolicyBytes caps one IAM policy document.
	MaxPolicyBytes config.ByteSize `yaml:"max_policy_bytes"`
	// MaxMessageBytes caps one log message.
	MaxMessageBytes config.ByteSize `yaml:"max_message_bytes"`
	// QueryWait bounds how long a Logs Insights call polls before it hands
	// back the query id to poll again.
	QueryWait time.Duration `yaml:"query_wait"`
	// QueryPoll is the interval between polls.
	QueryPoll time.Duration `yaml:"query_poll"`
}

// NewDefaultConfig returns the defaults: no account (one must be
// configured), 3 attempts with backoff up to 5s, 100 KiB of object text.
func NewDefaultConfig() Config {
	return Config{
		Retry: RetryConfig{MaxAttempts: 3, MaxBackoff: 5 * time.Second},
		Limits: LimitsConfig{
			MaxObjectBytes:  100 << 10,
			MaxPolicyBytes:  16 << 10,
			MaxMessageBytes: 4 << 10,
			QueryWait:       20 * time.Second,
			QueryPoll:       time.Second,
		},
	}
}

// NewDefaultAccount returns an account's defaults. Core's upstream
// retries are off: the SDK retries (one retry layer, not two).
func NewDefaultAccount() Account {
	up := upstream.NewDefaultConfig()
	up.Retry.MaxRetries = 0
	return Account{Upstream: up}
}

// UnmarshalYAML decodes an account over its defaults; unknown keys are
// refused.
func (a *Account) UnmarshalYAML(n *yaml.Node) error {
	*a = NewDefaultAccount()
	type plain Account // no UnmarshalYAML: no recursion
	return config.DecodeStrict(n, (*plain)(a))
}

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)
	profileRE = regexp.MustCompile(`^[A-Za-z0-9_.+@-]{1,64}$`)
)

// services are the endpoint keys (the SDK's service ids for endpoint
// variables, AWS_ENDPOINT_URL_<ID>).
var services = []string{"cloudtrail", "ce", "ec2", "ecs", "iam", "lambda", "logs", "monitoring", "s3", "sts"}

// Normalize fills in upstream names, forces the upstream retries off and
// marks a lone account as the default.
func (c *Config) Normalize() error {
	if len(c.Regions) > 0 || c.Profile != "" {
		if len(c.Accounts) > 0 {
			return fmt.Errorf("aws: set either aws.accounts or the one-account shorthand aws.regions/aws.profile (MCPFLEET_AWS_REGIONS, MCPFLEET_AWS_PROFILE), not both")
		}
		a := NewDefaultAccount()
		a.Regions, a.Profile = c.Regions, c.Profile
		c.Accounts = map[string]Account{"default": a}
		c.Regions, c.Profile = nil, ""
	}
	for name, a := range c.Accounts {
		a.Upstream.Name = "aws-" + name
		// One retry layer: the SDK's. Core's transport would otherwise
		// retry each of the SDK's attempts again (up to 4x4 requests for
		// one call) and re-send requests whose SigV4 signature it cannot
		// renew.
		a.Upstream.Retry.MaxRetries = 0
		if len(c.Accounts) == 1 {
			a.Default = true
		}
		c.Accounts[name] = a
	}
	return nil
}

// Validate reports every problem at once. Call Normalize first.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(c.Accounts) == 0 {
		add("aws: no account configured; add aws.accounts to the config file (an account with regions: [...] uses the default credential chain), or set MCPFLEET_AWS_REGIONS (and MCPFLEET_AWS_PROFILE) for one account")
	}
	errs = append(errs, config.CheckNamedEntries("aws.accounts", "account", c.Accounts, func(e Account) bool { return e.Default })...)
	for _, name := range c.accountNames() {
		a := c.Accounts[name]
		p := "aws.accounts." + name
		if a.Profile != "" && !profileRE.MatchString(a.Profile) {
			add("%s.profile %q is not a profile name", p, a.Profile)
		}
		if len(a.Regions) == 0 {
			add("%s.regions: list at least one region (the first is the default)", p)
		}
		for _, r := range a.Regions {
			if !regionRE.MatchString(r) {
				add("%s.regions: %q is not a region name such as eu-west-1", p, r)
			}
		}
		if ar := a.AssumeRole; ar != nil {
			if !roleARNRE.MatchString(ar.RoleARN) {
				add("%s.assume_role.role_arn %q is not an IAM role ARN (arn:aws:iam::123456789012:role/name)", p, ar.RoleARN)
			}
			if ar.Duration != 0 && (ar.Duration < 15*time.Minute || ar.Duration > 12*time.Hour) {
				add("%s.assume_role.duration must be between 15m and 12h", p)
			}
			if ar.SourceAccount != "" {
				if _, ok := c.Accounts[ar.SourceAccount]; !ok {
					add("%s.assume_role.source_account %q is not a configured account", p, ar.SourceAccount)
				} else if c.chainCycle(name) {
					add("%s.assume_role.source_account: the chain of source accounts loops", p)
				}
				if a.Profile != "" {
					add("%s: set either profile or assume_role.source_account, not both", p)
				}
			}
		}
		for svc, u := range a.Endpoints {
			if !slices.Contains(services, svc) {
				add("%s.endpoints: unknown service %q (one of %s)", p, svc, strings.Join(services, ", "))
			}
			if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" || pu.User != nil || pu.RawQuery != "" {
				add("%s.endpoints.%s %q is not an http(s) URL without credentials or query", p, svc, u)
			}
		}
		if err := a.Upstream.Validate(); err != nil {
			add("%s.upstream: %s", p, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	if c.Retry.MaxAttempts < 1 || c.Retry.MaxAttempts > 10 {
		add("aws.retry.max_attempts must be between 1 and 10")
	}
	if c.Retry.MaxBackoff <= 0 {
		add("aws.retry.max_backoff must be positive")
	}
	l := c.Limits
	if l.MaxObjectBytes <= 0 || l.MaxPolicyBytes <= 0 || l.MaxMessageBytes <= 0 {
		add("aws.limits: max_object_bytes, max_policy_bytes and max_message_bytes must be positive")
	}
	if l.QueryWait <= 0 || l.QueryPoll <= 0 || l.QueryPoll > l.QueryWait {
		add("aws.limits: query_wait and query_poll must be positive, query_poll at most query_wait")
	}
	return errors.Join(errs...)
}

// chainCycle reports whether following source accounts from name loops.
func (c *Config) chainCycle(name string) bool {
	seen := map[string]bool{}
	for name != "" {
		if seen[name] {
			return true
		}
		seen[name] = true
		ar := c.Accounts[name].AssumeRole
		if ar == nil {
			return false
		}
		name = ar.SourceAccount
	}
	return false
}

func (c *Config) accountNames() []string { return slices.Sorted(maps.Keys(c.Accounts)) }
