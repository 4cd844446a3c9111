// Command mcp-aws serves AWS over MCP (stdio or Streamable HTTP), for
// several accounts and regions at once:
//
//	mcp-aws --config aws.yaml [--transport stdio|http] [--addr HOST:PORT] [--read-only] [--toolsets all]
package main

import (
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
	"github.com/mcpfleet/mcpfleet/pkg/policy"
	"github.com/mcpfleet/mcpfleet/servers/aws"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { core.Main(app()) }

func app() core.App {
	return core.App{
		Name:     "mcp-aws",
		Version:  version,
		Defaults: aws.DefaultConfig,
		Options:  []fx.Option{aws.Module, observability.Module, policy.Module},
	}
}
