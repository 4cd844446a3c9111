// Command mcp-github serves GitHub over MCP (stdio or Streamable HTTP):
//
//	MCPFLEET_GITHUB_TOKEN=env:GITHUB_TOKEN mcp-github [--transport stdio|http] [--addr HOST:PORT] [--read-only] [--toolsets all] ...
//	mcp-github --config github.yaml   # several connections, GitHub Apps, Enterprise Server
package main

import (
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
	"github.com/mcpfleet/mcpfleet/pkg/policy"
	"github.com/mcpfleet/mcpfleet/servers/github"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { core.Main(app()) }

func app() core.App {
	return core.App{
		Name:     "mcp-github",
		Version:  version,
		Defaults: github.DefaultConfig,
		Options:  []fx.Option{github.Module, observability.Module, policy.Module},
	}
}
