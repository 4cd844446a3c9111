// Command mcp-slack serves Slack over MCP (stdio or Streamable HTTP):
//
//	MCPFLEET_SLACK_TOKEN=env:SLACK_BOT_TOKEN mcp-slack [--transport stdio|http] [--addr HOST:PORT] [--toolsets all] ...
//	mcp-slack --config slack.yaml   # several workspaces, channel allowlists, writes
package main

import (
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
	"github.com/mcpfleet/mcpfleet/pkg/policy"
	"github.com/mcpfleet/mcpfleet/servers/slack"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { core.Main(app()) }

func app() core.App {
	return core.App{
		Name:     "mcp-slack",
		Version:  version,
		Defaults: slack.DefaultConfig,
		Options:  []fx.Option{slack.Module, observability.Module, policy.Module},
	}
}
