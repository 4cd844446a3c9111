// Package github is the GitHub MCP server: repositories, issues, pull
// requests, Actions, code security alerts and notifications, through one
// or more named connections (personal access tokens, GitHub App
// installations, GitHub Enterprise Server), each with an allowlist of
// owners and repositories.
//
// Every call goes through the connection's allowlist and read-only switch
// before it reaches GitHub; GitHub is called through core's upstream
// client (retries honouring Retry-After and X-RateLimit-Reset, rate limit,
// breaker, spans, quota) with ETag revalidation in core's cache; text
// from repositories is cleaned and marked as untrusted (package
// untrusted) before the model reads it.
//
// [Module] plugs it into a server built on pkg/core.
package github

import (
	"context"
	_ "embed"
	"log/slog"
	"time"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/cache"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/health"
	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// Toolsets.
const (
	toolsetContext       = "context"
	toolsetRepos         = "repos"
	toolsetIssues        = "issues"
	toolsetPullRequests  = "pull_requests"
	toolsetActions       = "actions"
	toolsetCodeSecurity  = "code_security"
	toolsetNotifications = "notifications"
)

// DefaultConfig is the server's embedded default configuration (server
// identity, instructions and the github section); config files and
// MCPFLEET_* variables are layered over it. It configures no connection:
// MCPFLEET_GITHUB_TOKEN or github.connections must.
//
//go:embed defaults.yaml
var DefaultConfig []byte

// Module is the GitHub server's fx module. Tests that must not sleep
// supply an upstream.Clock to the graph: core's upstream clients wait by
// it, and the module's cache and readiness read the time from it.
var Module = fx.Module("github",
	// What the server uses of core beyond its kernel: the ETag cache and
	// the upstream client factory.
	core.CacheModule,
	core.UpstreamModule,
	fx.Provide(newConfig, newService),
	core.AsToolset(core.Toolset{Name: toolsetContext, Description: "Who the connection is: the authenticated identity, teams and their members", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetRepos, Description: "Repositories: contents, trees, branches, tags, releases, commits, search; create branches, write and push files", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetIssues, Description: "Issues: list, read with comments, create, update, comment, labels, sub-issues", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetPullRequests, Description: "Pull requests: list, read (diff, files, reviews, checks), create, update, merge, review", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetActions, Description: "GitHub Actions: workflow runs, jobs, failed-step logs, re-run and dispatch"}),
	core.AsToolset(core.Toolset{Name: toolsetCodeSecurity, Description: "Code scanning, Dependabot and secret scanning alerts"}),
	core.AsToolset(core.Toolset{Name: toolsetNotifications, Description: "Notifications: list and mark read"}),
	core.AsTool(newGetMe),
	core.AsTool(newGetTeams),
	core.AsTool(newGetRepository),
	core.AsTool(newGetRepositoryContent),
	core.AsTool(newListRepositoryItems),
	core.AsTool(newGetCommit),
	core.AsTool(newSearch),
	core.AsTool(newCreateBranch),
	core.AsTool(newCreateOrUpdateFile),
	core.AsTool(newPushFiles),
	core.AsTool(newListIssues),
	core.AsTool(newGetIssue),
	core.AsTool(newCreateIssue),
	core.AsTool(newUpdateIssue),
	core.AsTool(newAddIssueComment),
	core.AsTool(newManageSubIssue),
	core.AsTool(newListPullRequests),
	core.AsTool(newGetPullRequest),
	core.AsTool(newCreatePullRequest),
	core.AsTool(newUpdatePullRequest),
	core.AsTool(newMergePullRequest),
	core.AsTool(newSubmitPullRequestReview),
	core.AsTool(newGetActions),
	core.AsTool(newTriggerWorkflow),
	core.AsTool(newGetSecurityAlerts),
	core.AsTool(newListNotifications),
	core.AsTool(newMarkNotificationsRead),
	core.AsResourceTemplate(newContentsResource),
	core.AsPrompt(newTriageIssuePrompt),
	core.AsPrompt(newReviewPullRequestPrompt),
	core.AsHealthChecks(newHealthChecks),
)

func newConfig(doc *config.Document) (Config, error) {
	cfg := NewDefaultConfig()
	if err := doc.Section(SectionName, &cfg); err != nil {
		return Config{}, err
	}
	if err := cfg.Normalize(); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

type serviceParams struct {
	fx.In
	Config    Config
	Upstreams *core.Upstreams
	Cache     cache.Cache
	Telemetry core.Telemetry
	Logger    *slog.Logger
	Info      core.BuildInfo
	// Clock is a test's clock (core.Upstreams takes the same one).
	Clock upstream.Clock `optional:"true"`
}

func newService(p serviceParams) (*Service, error) {
	var now func() time.Time
	if p.Clock != nil {
		now = p.Clock.Now
	}
	return NewService(p.Config, Deps{
		NewUpstream: p.Upstreams.New,
		Cache:       p.Cache,
		Logger:      p.Logger,
		Meters:      p.Telemetry.Meters,
		Now:         now,
		Version:     p.Info.Version,
	})
}

// newHealthChecks adds one readiness check per connection, named
// github_<connection>, reporting its circuit and remaining quota.
//
// The checks never fail. When GitHub is down or a token has run out of
// quota every replica sees the same thing, and taking them all out of the
// load balancer would turn tool errors the model can read (and wait out)
// into no server at all; the detail still tells an operator what is wrong.
func newHealthChecks(s *Service) []health.Check {
	var checks []health.Check
	for _, c := range s.Connections() {
		checks = append(checks, health.Check{Name: "github_" + c.Name, Func: func(ctx context.Context) (any, error) {
			return c.status(ctx, s.now()), nil
		}})
	}
	return checks
}
