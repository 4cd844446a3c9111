// Package slack is the Slack MCP server: channels, messages, threads,
// search, users, user groups and files of one or more named workspaces,
// read with bot and/or user tokens, and, where the operator allows it,
// posting, scheduling and reactions.
//
// Every call goes through the workspace's channel allowlist and write
// settings before it reaches Slack; Slack is called through core's
// upstream client (retries honouring Retry-After, breaker, spans, refusal
// of the client's own credential) behind a per-method tier limiter. Users
// and channels are kept in directories warmed in the background and
// shared through core's cache; text written on Slack is cleaned and
// marked as untrusted (package untrusted) before the model reads it.
//
// [Module] plugs it into a server built on pkg/core.
package slack

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"

	"github.com/slack-go/slack"
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/core/cache"
	"github.com/mcpfleet/mcpfleet/pkg/core/config"
	"github.com/mcpfleet/mcpfleet/pkg/core/health"
	"github.com/mcpfleet/mcpfleet/pkg/core/upstream"
)

// Toolsets.
const (
	toolsetWorkspace = "workspace"
	toolsetChannels  = "channels"
	toolsetMessages  = "messages"
	toolsetUsers     = "users"
	toolsetFiles     = "files"
	toolsetWrite     = "write"
)

// DefaultConfig is the server's embedded default configuration; config
// files and MCPFLEET_* variables are layered over it. It configures no
// workspace: MCPFLEET_SLACK_TOKEN or slack.workspaces must.
//
//go:embed defaults.yaml
var DefaultConfig []byte

// Module is the Slack server's fx module. Tests that must not sleep
// supply an upstream.Clock to the graph.
var Module = fx.Module("slack",
	// What the server uses of core beyond its kernel: the directory cache
	// and the upstream client factory.
	core.CacheModule,
	core.UpstreamModule,
	fx.Provide(newConfig, newService),
	core.AsToolset(core.Toolset{Name: toolsetWorkspace, Description: "Who the workspace token is, what it may read and write, directory status", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetChannels, Description: "Channels, private channels, DMs: list, filter, info, members", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetMessages, Description: "Channel history, threads, permalinks, search, unreads", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetUsers, Description: "People: list, search, profile, presence; user groups and members", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetFiles, Description: "Shared files: metadata and the text of text files", Default: true}),
	core.AsToolset(core.Toolset{Name: toolsetWrite, Description: "Post, reply, schedule, react: off unless enabled per workspace and channel"}),
	core.AsTool(newGetWorkspace),
	core.AsTool(newListChannels),
	core.AsTool(newGetChannel),
	core.AsTool(newGetChannelHistory),
	core.AsTool(newGetThreadReplies),
	core.AsTool(newGetPermalink),
	core.AsTool(newSearchMessages),
	core.AsTool(newGetUnreads),
	core.AsTool(newListUsers),
	core.AsTool(newGetUser),
	core.AsTool(newListUserGroups),
	core.AsTool(newGetFile),
	core.AsTool(newPostMessage),
	core.AsTool(newScheduleMessage),
	core.AsTool(newAddReaction),
	core.AsTool(newRemoveReaction),
	core.AsResourceTemplate(newChannelsResource),
	core.AsResourceTemplate(newUsersResource),
	core.AsPrompt(newCatchUpPrompt),
	core.AsPrompt(newSummarizeThreadPrompt),
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
	Lifecycle fx.Lifecycle
	Config    Config
	Upstreams *core.Upstreams
	Cache     cache.Cache
	Logger    *slog.Logger
	// Clock is a test's clock (core.Upstreams takes the same one).
	Clock upstream.Clock `optional:"true"`
}

func newService(p serviceParams) (*Service, error) {
	s, err := NewService(p.Config, Deps{NewUpstream: p.Upstreams.New, Cache: p.Cache, Logger: p.Logger, Clock: p.Clock})
	if err != nil {
		return nil, err
	}
	// The warm-up starts in the background; OnStart returns at once, so
	// the server answers initialize and tools/list before any directory
	// is loaded.
	p.Lifecycle.Append(fx.StartStopHook(s.Start, s.Stop))
	return s, nil
}

// newHealthChecks adds one readiness check per workspace, named
// slack_<workspace>: it fails, naming the workspace, when Slack rejects
// the token (revoked, expired, invalid) or cannot be reached, and reports
// the directories' warm-up otherwise.
func newHealthChecks(s *Service) []health.Check {
	var checks []health.Check
	for _, c := range s.Workspaces() {
		checks = append(checks, health.Check{Name: "slack_" + c.Name, Func: func(ctx context.Context) (any, error) {
			st := workspaceStatus{Tokens: c.tokens(), Circuit: c.up.Status().Circuit, Users: c.dir.State(kindUsers), Channels: c.dir.State(kindChannels)}
			if _, err := c.auth(ctx, s.clock.Now()); err != nil {
				var se slack.SlackErrorResponse
				if errors.As(err, &se) {
					return st, fmt.Errorf("slack workspace %q: Slack rejected its token (%s); renew slack.workspaces.%s token", c.Name, c.up.Scrub(se.Err), c.Name)
				}
				return st, fmt.Errorf("slack workspace %q cannot be reached: %s", c.Name, c.up.Scrub(oneLine(err.Error())))
			}
			return st, nil
		}})
	}
	return checks
}

type workspaceStatus struct {
	Tokens   []string  `json:"tokens"`
	Circuit  string    `json:"circuit"`
	Users    LoadState `json:"users"`
	Channels LoadState `json:"channels"`
}
