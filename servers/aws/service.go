package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/authn"
	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// Service holds the configured accounts and the rules every tool call goes
// through before it reaches AWS: which account, which region, whether it
// may write.
type Service struct {
	cfg    Config
	accts  map[string]*Acct
	def    *Acct
	logger *slog.Logger
	limits LimitsConfig
	sleep  func(context.Context, time.Duration) error
}

// Deps are what [NewService] needs besides the config.
type Deps struct {
	// NewUpstream builds an account's HTTP client (core.Upstreams.New).
	NewUpstream func(upstream.Config) (*upstream.Client, error)
	Logger      *slog.Logger
	// Sleep waits between Logs Insights polls; a context-aware time.Sleep
	// when nil.
	Sleep   func(context.Context, time.Duration) error
	Version string
}

// NewService validates cfg and builds every account. It reads the
// environment and the shared config files but makes no request:
// credentials are resolved, and roles assumed, on first use.
func NewService(ctx context.Context, cfg Config, d Deps) (*Service, error) {
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.NewUpstream == nil {
		return nil, errors.New("aws: Deps.NewUpstream is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Sleep == nil {
		d.Sleep = sleepCtx
	}
	if d.Version == "" {
		d.Version = "dev"
	}
	s := &Service{cfg: cfg, accts: map[string]*Acct{}, logger: d.Logger, limits: cfg.Limits, sleep: d.Sleep}
	deps := acctDeps{newUpstream: d.NewUpstream, retry: cfg.Retry, userAgent: "mcpfleet-aws_" + d.Version, logger: d.Logger,
		secrets: &secretSink{}}
	for _, name := range cfg.accountNames() {
		ac := cfg.Accounts[name]
		a, err := newAcct(ctx, name, ac, deps)
		if err != nil {
			return nil, err
		}
		s.accts[name] = a
		if ac.Default {
			s.def = a
		}
		// Never the credentials: only where they come from.
		role := ""
		if ac.AssumeRole != nil {
			role = ac.AssumeRole.RoleARN
		}
		d.Logger.Info("aws account ready", "account", name, "profile", ac.Profile, "role", role,
			"regions", ac.Regions, "read_only", ac.ReadOnly, "writes", a.writes)
	}
	for _, name := range cfg.accountNames() {
		if ar := cfg.Accounts[name].AssumeRole; ar != nil && ar.SourceAccount != "" {
			s.accts[name].source = s.accts[ar.SourceAccount]
		}
	}
	return s, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Accounts returns the accounts, sorted by name.
func (s *Service) Accounts() []*Acct {
	out := make([]*Acct, 0, len(s.accts))
	for _, name := range s.cfg.accountNames() {
		out = append(out, s.accts[name])
	}
	return out
}

// Target is the account and region every tool takes. The policy sees both
// in the call's arguments (args.account, args.region) and can decide by
// them.
type Target struct {
	Account string `json:"account,omitempty" jsonschema:"account name (list_accounts); the default account when empty"`
	Region  string `json:"region,omitempty" jsonschema:"AWS region, one of the account's; its first region when empty"`
}

func (t Target) target() Target { return t }

// targeted is implemented by every tool input (through the embedded
// Target), so the account and region are checked before any handler runs.
type targeted interface{ target() Target }

// Where names the account and region a result came from.
type Where struct {
	Account string `json:"account"`
	Region  string `json:"region"`
}

// call is what a handler gets: the checked account and region, and the
// credentials of this caller.
type call struct {
	acct   *Acct
	region string
	creds  aws.CredentialsProvider
	core   *core.Call
}

func (c *call) where() Where { return Where{Account: c.acct.Name, Region: c.region} }

// access checks a call before anything reaches AWS: the account exists,
// the region is one of its, and a write goes to an account with writes
// enabled and not read-only.
func (s *Service) access(t Target, write bool) (*Acct, string, error) {
	a := s.def
	if t.Account != "" {
		var ok bool
		if a, ok = s.accts[t.Account]; !ok {
			return nil, "", fmt.Errorf("account %q is not configured; use one of: %s (list_accounts shows them)", t.Account, s.accountList())
		}
	}
	region := t.Region
	if region == "" {
		region = a.regions[0]
	}
	if !a.allowsRegion(region) {
		return nil, "", fmt.Errorf("region %q is not allowed in account %q; use one of: %s", region, a.Name, a.regionList())
	}
	if write {
		switch {
		case a.readOnly:
			return nil, "", fmt.Errorf("account %q is read-only (aws.accounts.%s.read_only): writes are refused", a.Name, a.Name)
		case !a.writes:
			return nil, "", fmt.Errorf("writes are not enabled in account %q (aws.accounts.%s.writes); ask the operator, or use an account that allows them", a.Name, a.Name)
		}
	}
	return a, region, nil
}

func (s *Service) accountList() string {
	var names []string
	for _, n := range s.cfg.accountNames() {
		if s.accts[n] == s.def {
			n += " (default)"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// tool builds a tool whose input names its target. The account, region
// and write rule are checked, and the caller's credentials obtained,
// before h runs; AWS's errors come back as messages the model can act on.
func tool[In targeted, Out any](s *Service, spec core.ToolSpec, h func(ctx context.Context, c *call, in In) (Out, error)) *core.ToolDef {
	write := spec.Effect != core.ReadOnly
	return core.NewTool(spec, func(ctx context.Context, cc *core.Call, in In) (Out, error) {
		var zero Out
		a, region, err := s.access(in.target(), write)
		if err != nil {
			return zero, err
		}
		creds, err := a.credentials(ctx, authn.FromContext(ctx))
		if err != nil {
			return zero, err
		}
		out, err := h(ctx, &call{acct: a, region: region, creds: creds, core: cc}, in)
		if err != nil {
			return zero, explain(a, region, spec, err)
		}
		return out, nil
	})
}

// Pagination.

// Page is the token and page size every list takes.
type Page struct {
	NextToken  string `json:"next_token,omitempty" jsonschema:"next_token of the previous page"`
	MaxResults int    `json:"max_results,omitempty" jsonschema:"page size, 1-100 (default 50)"`
}

const (
	defaultPageSize = 50
	maxPageSize     = 100
)

// size returns the page size, checked; min is the service's own minimum.
func (p Page) size(minimum int) (int32, error) {
	n := p.MaxResults
	switch {
	case n == 0:
		n = defaultPageSize
	case n < 1 || n > maxPageSize:
		return 0, fmt.Errorf("max_results %d is outside 1-%d", n, maxPageSize)
	}
	return int32(max(n, minimum)), nil
}

func (p Page) token() *string {
	if p.NextToken == "" {
		return nil
	}
	return aws.String(p.NextToken)
}

// timeRange parses an RFC 3339 window; start defaults to end minus def
// and end to now.
func timeRange(start, end string, def time.Duration) (time.Time, time.Time, error) {
	e := time.Now().UTC()
	if end != "" {
		t, err := time.Parse(time.RFC3339, end)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("end %q is not an RFC 3339 time such as 2026-05-01T00:00:00Z", end)
		}
		e = t
	}
	st := e.Add(-def)
	if start != "" {
		t, err := time.Parse(time.RFC3339, start)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("start %q is not an RFC 3339 time such as 2026-05-01T00:00:00Z", start)
		}
		st = t
	}
	if !st.Before(e) {
		return time.Time{}, time.Time{}, fmt.Errorf("start %s is not before end %s", st.Format(time.RFC3339), e.Format(time.RFC3339))
	}
	return st, e, nil
}

func ts(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
