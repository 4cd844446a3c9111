package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"

	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// Acct is one configured account at run time: its base SDK config (HTTP
// client, retryer, region), its credentials, and its service clients by
// region, built on first use.
type Acct struct {
	Name      string
	regions   []string
	readOnly  bool
	writes    bool
	endpoints map[string]string
	pathStyle bool
	up        *upstream.Client
	base      aws.Config
	assume    *AssumeRole
	source    *Acct
	// baseCreds are the profile's or default chain's credentials, cached
	// and refreshed by the SDK.
	baseCreds aws.CredentialsProvider
	// secrets receives every credential retrieved (see secretSink).
	secrets *secretSink

	mu       sync.Mutex
	sessions map[string]*aws.CredentialsCache // by session name
	order    []string                         // insertion order, for eviction
	clients  sync.Map                         // service+"/"+region -> client
}

// maxSessions bounds the assumed-role sessions kept per account (one per
// MCP caller); the oldest is dropped beyond it and re-assumed on its next
// call.
const maxSessions = 1024

// acctDeps are what building an account needs besides its config.
type acctDeps struct {
	newUpstream func(upstream.Config) (*upstream.Client, error)
	retry       RetryConfig
	userAgent   string
	logger      *slog.Logger
	secrets     *secretSink
}

func newAcct(ctx context.Context, name string, ac Account, d acctDeps) (*Acct, error) {
	up, err := d.newUpstream(ac.Upstream)
	if err != nil {
		return nil, fmt.Errorf("aws.accounts.%s.upstream: %w", name, err)
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(ac.Regions[0]),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = d.retry.MaxAttempts
				o.MaxBackoff = d.retry.MaxBackoff
				o.Backoff = retry.NewExponentialJitterBackoff(d.retry.MaxBackoff)
			})
		}),
		awsconfig.WithAppID(d.userAgent),
		// The SDK's own log lines (by default on stderr, which is the
		// protocol stream of a stdio server) go to the server's logger at
		// debug level. Request and response logging stays off: it would
		// print signed headers.
		awsconfig.WithLogger(logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
			d.logger.Debug("aws sdk", "account", name, "class", string(c), "message", fmt.Sprintf(format, v...))
		})),
	}
	if ac.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(ac.Profile))
	}
	// LoadDefaultConfig reads the environment and shared files; it makes
	// no request (credentials are resolved on first use).
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws.accounts.%s: loading the AWS configuration: %w", name, err)
	}
	// The SDK sends through core's upstream client (spans, breaker,
	// timeouts, refusal of the MCP client's credential), whose own
	// retries are off (Normalize): the SDK's retryer is the one retry
	// layer, because only it can re-sign an attempt, knows each service's
	// throttling error codes (which arrive as 400s that a generic HTTP
	// retrier would not retry) and shares a retry token bucket across
	// calls. The client is set after loading rather than with
	// WithHTTPClient: with a CA bundle configured (AWS_CA_BUNDLE,
	// ca_bundle) the loader insists on its own client type and fails.
	// Core's client trusts the system roots, which SSL_CERT_FILE extends;
	// the bundle then applies only to credential requests the loader
	// itself sets up (SSO, profile roles).
	cfg.HTTPClient = up.HTTPClient()
	a := &Acct{
		Name: name, regions: ac.Regions, readOnly: ac.ReadOnly, writes: ac.Writes && !ac.ReadOnly,
		endpoints: ac.Endpoints, pathStyle: ac.S3PathStyle, up: up, base: cfg, assume: ac.AssumeRole,
		sessions: map[string]*aws.CredentialsCache{},
	}
	d.secrets.register(up)
	if cfg.Credentials != nil {
		if c, ok := staticCredentials(ctx, cfg.Credentials); ok {
			d.secrets.addCredentials(c)
		}
		a.baseCreds = aws.NewCredentialsCache(registering{p: cfg.Credentials, sink: d.secrets})
	}
	a.secrets = d.secrets
	return a, nil
}

// credentials returns the credentials a call by p runs with. Without a
// role they are the account's base credentials. With one, each caller
// gets its own assumed session, named after the caller, so CloudTrail
// records who asked; sessions are cached and refreshed by the SDK before
// they expire.
func (a *Acct) credentials(ctx context.Context, p *authn.Principal) (aws.CredentialsProvider, error) {
	if a.assume == nil {
		if a.baseCreds == nil {
			return nil, fmt.Errorf("account %q has no credentials: the default chain found none (set a profile or an assume_role)", a.Name)
		}
		return a.baseCreds, nil
	}
	session := sessionName(p)
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.sessions[session]; ok {
		return c, nil
	}
	src := a.baseCreds
	if a.source != nil {
		var err error
		// The source session stays locked to its own account's mutex, not
		// this one: sources form no cycle (Validate).
		if src, err = a.source.credentials(ctx, p); err != nil {
			return nil, err
		}
	}
	if src == nil {
		return nil, fmt.Errorf("account %q has no source credentials to assume %s with", a.Name, a.assume.RoleARN)
	}
	client := sts.NewFromConfig(a.base, func(o *sts.Options) {
		o.Credentials = src
		if u := a.endpoints["sts"]; u != "" {
			o.BaseEndpoint = aws.String(u)
		}
	})
	ar := a.assume
	prov := stscreds.NewAssumeRoleProvider(client, ar.RoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = session
		if ar.setSourceIdentity() {
			o.SourceIdentity = aws.String(sourceIdentity(p))
		}
		if ar.ExternalID.IsSet() {
			o.ExternalID = aws.String(ar.ExternalID.Reveal())
		}
		if ar.Duration > 0 {
			o.Duration = ar.Duration
		}
	})
	c := aws.NewCredentialsCache(registering{p: prov, sink: a.secrets}, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = time.Minute })
	if len(a.order) >= maxSessions {
		delete(a.sessions, a.order[0])
		a.order = a.order[1:]
	}
	a.sessions[session] = c
	a.order = append(a.order, session)
	return c, nil
}

// badIdentityChars are the characters STS does not accept in a role
// session name or source identity ([\w+=,.@-] are allowed).
var badIdentityChars = regexp.MustCompile(`[^\w+=,.@-]`)

// callerName is the caller's subject in the characters STS accepts.
func callerName(p *authn.Principal) string {
	subject := "anonymous"
	if p != nil && p.Subject != "" {
		subject = p.Subject
	}
	return badIdentityChars.ReplaceAllString(subject, "_")
}

// sessionName is "mcp-<subject>", at most 64 characters. The principal's
// full id (method, issuer, subject) is hashed into a suffix whenever the
// subject had to be changed or shortened, or the caller is not the plain
// subject of an issuer-less method, so that two callers never share a
// session.
func sessionName(p *authn.Principal) string {
	name := "mcp-" + callerName(p)
	id := "anonymous"
	if p != nil {
		id = p.ID()
	}
	if p != nil && p.Issuer == "" && "mcp-"+p.Subject == name && len(name) <= 64 {
		return name
	}
	sum := sha256.Sum256([]byte(id))
	suffix := "-" + hex.EncodeToString(sum[:4])
	if len(name) > 64-len(suffix) {
		name = name[:64-len(suffix)]
	}
	return name + suffix
}

// sourceIdentity is the caller's subject (2-64 characters).
func sourceIdentity(p *authn.Principal) string {
	s := callerName(p)
	if len(s) > 64 {
		s = s[:64]
	}
	if len(s) < 2 {
		s += "__"[:2-len(s)]
	}
	return s
}

// endpoint is the account's endpoint override for a service, or nil.
func (a *Acct) endpoint(service string) *string {
	if u := a.endpoints[service]; u != "" {
		return aws.String(u)
	}
	return nil
}

// client returns the account's client of one service in one region,
// building it on first use. Clients carry no credentials of their own:
// every operation is given the caller's.
func client[C any](a *Acct, service, region string, build func(aws.Config) C) C {
	key := service + "/" + region
	if c, ok := a.clients.Load(key); ok {
		return c.(C)
	}
	cfg := a.base.Copy()
	cfg.Region = region
	c, _ := a.clients.LoadOrStore(key, build(cfg))
	return c.(C)
}

// allowsRegion reports whether region is one of the account's.
func (a *Acct) allowsRegion(region string) bool {
	for _, r := range a.regions {
		if r == region {
			return true
		}
	}
	return false
}

func (a *Acct) regionList() string { return strings.Join(a.regions, ", ") }
