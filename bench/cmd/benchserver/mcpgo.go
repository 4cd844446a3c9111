package main

import (
	"context"
	"encoding/json"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	mcpgoserver "github.com/mark3labs/mcp-go/server"

	"github.com/mcpfleet/mcpfleet/bench/echo"
)

// serveMCPGo serves the same echo tool on mark3labs/mcp-go, the other Go
// MCP server library, answering with structured content and its JSON as
// text like the other modes.
func serveMCPGo(addr string, stateless bool) error {
	s := mcpgoserver.NewMCPServer("mcpgo", "1", mcpgoserver.WithToolCapabilities(false))
	s.AddTool(mcpgo.NewTool("echo", mcpgo.WithDescription("Echoes the message back."),
		mcpgo.WithString("message", mcpgo.Required(), mcpgo.Description("text to send back"))),
		func(_ context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			out := echo.Output{Message: req.GetString("message", "")}
			text, err := json.Marshal(out)
			if err != nil {
				return nil, err
			}
			return mcpgo.NewToolResultStructured(out, string(text)), nil
		})
	return serveLibrary(addr, mcpgoserver.NewStreamableHTTPServer(s, mcpgoserver.WithStateLess(stateless), mcpgoserver.WithEndpointPath("/mcp")))
}
