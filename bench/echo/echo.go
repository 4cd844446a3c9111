// Package echo is the trivial tool every load measurement calls, so the
// numbers measure the server stack and nothing else.
package echo

import (
	"context"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/core"
)

// Input is the echo tool's arguments.
type Input struct {
	Message string `json:"message" jsonschema:"text to send back"`
}

// Output is the echo tool's result.
type Output struct {
	Message string `json:"message"`
}

// NewTool returns the echo tool.
func NewTool() *core.ToolDef {
	return core.NewTool(core.ToolSpec{
		Name: "echo", Title: "Echo", Description: "Echoes the message back unchanged.", Toolset: "bench",
		Effect: core.ReadOnly, Idempotent: core.Yes, OpenWorld: core.No, Classification: core.Public,
		Permissions: core.NoPermissions,
	}, func(_ context.Context, _ *core.Call, in Input) (Output, error) {
		return Output(in), nil
	})
}

// Module provides the echo tool in its own default toolset.
var Module = fx.Options(
	core.AsToolset(core.Toolset{Name: "bench", Description: "Benchmark tools.", Default: true}),
	core.AsTool(NewTool),
)
