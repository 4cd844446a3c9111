package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v66/github"
	sjson "github.com/segmentio/encoding/json"
	"go.opentelemetry.io/otel/metric"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/cache"
	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// Service holds the configured connections and the rules every tool call
// goes through before it reaches GitHub: which connection, which
// repository, whether it may write.
type Service struct {
	cfg    Config
	conns  map[string]*Conn
	def    *Conn
	logger *slog.Logger
	now    func() time.Time
}

// Deps are what [NewService] needs besides the config.
type Deps struct {
	// NewUpstream builds a connection's HTTP client (core.Upstreams.New).
	NewUpstream func(upstream.Config) (*upstream.Client, error)
	// Cache keeps ETags and short-lived answers; required when caching is on.
	Cache  cache.Cache
	Logger *slog.Logger
	Meters metric.MeterProvider
	// Now is the time the cache's freshness, readiness probes and
	// notification read marks go by; time.Now when nil. (The upstream
	// clients' waits follow the clock NewUpstream gives them.)
	Now func() time.Time
	// Version goes into the User-Agent.
	Version string
}

// NewService validates cfg and builds every connection. It makes no
// network call: App installation tokens are minted on first use.
func NewService(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.NewUpstream == nil {
		return nil, errors.New("github: Deps.NewUpstream is required")
	}
	if cfg.Cache.Enabled && d.Cache == nil {
		return nil, errors.New("github: caching is on but Deps.Cache is nil")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{cfg: cfg, conns: map[string]*Conn{}, logger: d.Logger, now: d.Now}
	deps := connDeps{
		newUpstream: d.NewUpstream, cache: d.Cache, cacheCfg: cfg.Cache, now: d.Now,
		meters: d.Meters, userAgent: "mcpfleet-github/" + cmpOr(d.Version, "dev"),
	}
	for _, name := range cfg.connectionNames() {
		cc := cfg.Connections[name]
		c, err := newConn(name, cc, deps)
		if err != nil {
			return nil, err
		}
		s.conns[name] = c
		if cc.Default {
			s.def = c
		}
		d.Logger.Info("github connection ready", "connection", name, "auth", c.auth, "api", c.apiURL.String(),
			"read_only", cc.ReadOnly, "allowlist", len(cc.Allow) > 0)
	}
	// Every connection removes every credential the server holds from
	// upstream text, not only its own: an upstream (or a proxy in front
	// of it) that echoes one must not hand another to a caller.
	var secrets []string
	for _, cc := range cfg.Connections {
		secrets = append(secrets, cc.Token.Reveal())
		if cc.App != nil {
			secrets = append(secrets, cc.App.PrivateKey.Reveal())
		}
	}
	for _, c := range s.conns {
		c.up.AddSecrets(secrets...)
	}
	return s, nil
}

// Connections returns the connections, sorted by name.
func (s *Service) Connections() []*Conn {
	out := make([]*Conn, 0, len(s.conns))
	for _, name := range s.cfg.connectionNames() {
		out = append(out, s.conns[name])
	}
	return out
}

// scope is what a call touches: a connection and, when known, an owner
// and a repository.
type scope struct {
	conn, owner, repo string
}

// scoped is implemented by tool inputs (through the embedded argument
// structs below) so that access is checked before any handler runs.
type scoped interface{ scope() scope }

// ConnArg is the connection argument every tool takes.
type ConnArg struct {
	Connection string `json:"connection,omitempty" jsonschema:"connection name; the default one when empty"`
}

func (a ConnArg) scope() scope { return scope{conn: a.Connection} }

// RepoArgs name a repository.
type RepoArgs struct {
	Owner      string `json:"owner" jsonschema:"repository owner (user or organization)"`
	Repo       string `json:"repo" jsonschema:"repository name"`
	Connection string `json:"connection,omitempty" jsonschema:"connection name; the default one when empty"`
}

func (a RepoArgs) scope() scope { return scope{conn: a.Connection, owner: a.Owner, repo: a.Repo} }

// connection resolves a connection name.
func (s *Service) connection(name string) (*Conn, error) {
	if name == "" {
		return s.def, nil
	}
	if c, ok := s.conns[name]; ok {
		return c, nil
	}
	names := make([]string, 0, len(s.conns))
	for _, n := range s.cfg.connectionNames() {
		if s.conns[n] == s.def {
			n += " (default)"
		}
		names = append(names, n)
	}
	return nil, fmt.Errorf("connection %s is not configured; use one of: %s", core.Quote(name), strings.Join(names, ", "))
}

// access checks a call before it reaches GitHub: the connection exists,
// owner and repository are plain names, the allowlist covers them, and a
// write goes through a connection that is not read-only.
func (s *Service) access(sc scope, write bool) (*Conn, error) {
	c, err := s.connection(sc.conn)
	if err != nil {
		return nil, err
	}
	if write && c.readOnly {
		return nil, fmt.Errorf("connection %q is read-only (github.connections.%s.read_only): writes are refused; use a connection that may write, or ask the operator", c.Name, c.Name)
	}
	switch {
	case sc.repo != "":
		if err := checkRepoName(sc.owner, sc.repo); err != nil {
			return nil, err
		}
		if !c.allow.repo(sc.owner, sc.repo) {
			return nil, fmt.Errorf("repository %s/%s is not in the allowlist of connection %q (%s); the operator can extend github.connections.%s.allow",
				sc.owner, sc.repo, c.Name, c.allow.text, c.Name)
		}
	case sc.owner != "":
		if err := checkOwner(sc.owner); err != nil {
			return nil, err
		}
		if !c.allow.owner(sc.owner) {
			return nil, fmt.Errorf("owner %s is not in the allowlist of connection %q as a whole (%s); name an allowed repository, or the operator can extend github.connections.%s.allow",
				sc.owner, c.Name, c.allow.text, c.Name)
		}
	}
	return c, nil
}

// requireUnrestricted refuses calls that would reach every repository of
// the account (unscoped searches, all notifications) on a connection with
// an allowlist.
func requireUnrestricted(c *Conn, what string) error {
	if c.allow.all() {
		return nil
	}
	return fmt.Errorf("connection %q has an allowlist (%s), so %s needs owner (and repo) to stay inside it", c.Name, c.allow.text, what)
}

// tool builds a tool whose input names its scope. Access is checked, with
// the write rule taken from the spec's effect, before h runs; GitHub's
// errors come back as messages the model can act on. Enumerated inputs
// declare their values with an Enums method (core.Enumerated).
func tool[In scoped, Out any](s *Service, spec core.ToolSpec, h func(ctx context.Context, c *Conn, in In) (Out, error)) *core.ToolDef {
	write := spec.Effect != core.ReadOnly
	return core.NewTool(spec, func(ctx context.Context, _ *core.Call, in In) (Out, error) {
		var zero Out
		c, err := s.access(in.scope(), write)
		if err != nil {
			return zero, err
		}
		out, err := h(ctx, c, in)
		if err != nil {
			return zero, explain(c, spec, err)
		}
		return out, nil
	})
}

// getJSON GETs an API path and decodes the answer into v. go-github
// builds the request, checks the answer (errors, rate limits) and keeps
// its rate-limit state as usual; the decoding is segmentio's JSON decoder,
// about three times faster than encoding/json on GitHub's large objects
// (a repository is some 5 KB of URLs), which matters on hot reads.
func getJSON(ctx context.Context, c *Conn, path string, v any) error {
	req, err := c.client.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	buf := jsonBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer jsonBuffers.Put(buf)
	if _, err := c.client.Do(ctx, req, buf); err != nil {
		return err
	}
	return sjson.Unmarshal(buf.Bytes(), v)
}

var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Pagination.

// Page is the cursor and page size every list takes.
type Page struct {
	Cursor string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page"`
	Limit  int    `json:"limit,omitempty" jsonschema:"page size, 1-100 (default 30)"`
}

const (
	defaultPageSize = 30
	maxPageSize     = 100
)

func (p Page) options() (gh.ListOptions, error) {
	size := p.Limit
	switch {
	case size == 0:
		size = defaultPageSize
	case size < 1 || size > maxPageSize:
		return gh.ListOptions{}, fmt.Errorf("limit %d is outside 1-%d", size, maxPageSize)
	}
	page := 1
	if p.Cursor != "" {
		n, err := strconv.Atoi(p.Cursor)
		if err != nil || n < 1 {
			return gh.ListOptions{}, fmt.Errorf("cursor %s is not one this server issued; pass next_cursor unchanged, or omit it for the first page", core.Quote(p.Cursor))
		}
		page = n
	}
	return gh.ListOptions{Page: page, PerPage: size}, nil
}

// next is the cursor of the page after resp, "" on the last page.
func next(resp *gh.Response) string {
	if resp == nil || resp.NextPage == 0 {
		return ""
	}
	return strconv.Itoa(resp.NextPage)
}

// ts formats a GitHub timestamp, "" when absent.
func ts(t *gh.Timestamp) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %s is not an RFC 3339 time such as 2024-05-01T00:00:00Z", field, core.Quote(v))
	}
	return t, nil
}

func login(u *gh.User) string { return u.GetLogin() }

func logins(us []*gh.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.GetLogin())
	}
	return out
}
