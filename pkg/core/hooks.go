package core

import (
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/fx"
)

// Value group tags. Group order is random in fx: core sorts every group
// before using it, so contributors never depend on order.
const (
	groupTools             = `group:"mcpfleet.tools"`
	groupToolLists         = `group:"mcpfleet.tools,flatten"`
	groupToolsets          = `group:"mcpfleet.toolsets"`
	groupResources         = `group:"mcpfleet.resources"`
	groupResourceTemplates = `group:"mcpfleet.resource_templates"`
	groupPrompts           = `group:"mcpfleet.prompts"`
	groupMiddleware        = `group:"mcpfleet.middleware"`
	groupRoutes            = `group:"mcpfleet.routes"`
	groupRouteLists        = `group:"mcpfleet.routes,flatten"`
	groupHealth            = `group:"mcpfleet.health"`
	groupHealthLists       = `group:"mcpfleet.health,flatten"`
	groupServerOptions     = `group:"mcpfleet.server_options"`
)

func provideInto(constructor any, tag string) fx.Option {
	return fx.Provide(fx.Annotate(constructor, fx.ResultTags(tag)))
}

// AsTool provides a tool: constructor returns a *ToolDef (and optionally an
// error) built with [NewTool]; its parameters are the tool's dependencies.
func AsTool(constructor any) fx.Option { return provideInto(constructor, groupTools) }

// AsTools provides several tools from one constructor returning []*ToolDef.
func AsTools(constructor any) fx.Option { return provideInto(constructor, groupToolLists) }

// AsToolset declares a toolset. Every tool's Toolset must be declared.
func AsToolset(ts Toolset) fx.Option {
	return provideInto(func() Toolset { return ts }, groupToolsets)
}

// AsResource provides a fixed resource; constructor returns *ResourceDef.
func AsResource(constructor any) fx.Option { return provideInto(constructor, groupResources) }

// AsResourceTemplate provides a resource template; constructor returns
// *ResourceTemplateDef.
func AsResourceTemplate(constructor any) fx.Option {
	return provideInto(constructor, groupResourceTemplates)
}

// AsPrompt provides a prompt; constructor returns *PromptDef.
func AsPrompt(constructor any) fx.Option { return provideInto(constructor, groupPrompts) }

// Middleware is MCP receiving middleware with an explicit position. Lower
// Order runs first (outermost); ties are broken by Name.
type Middleware struct {
	Name  string
	Order int
	Func  mcp.Middleware
}

// Conventional middleware positions. Core's own principal middleware runs
// before all of them.
const (
	OrderObservability = 100
	OrderPolicy        = 200
	OrderAudit         = 300
)

// AsMiddleware provides MCP middleware; constructor returns Middleware.
func AsMiddleware(constructor any) fx.Option { return provideInto(constructor, groupMiddleware) }

// Route is an extra HTTP route served beside the MCP endpoint, outside
// authentication (for example /metrics).
type Route struct {
	Pattern string
	Handler http.Handler
}

// AsRoute provides an HTTP route; constructor returns Route.
func AsRoute(constructor any) fx.Option { return provideInto(constructor, groupRoutes) }

// AsRoutes provides zero or more routes from one constructor returning
// []Route (a module whose route is optional contributes none).
func AsRoutes(constructor any) fx.Option { return provideInto(constructor, groupRouteLists) }

// AsHealthCheck provides a readiness check; constructor returns health.Check.
func AsHealthCheck(constructor any) fx.Option { return provideInto(constructor, groupHealth) }

// AsHealthChecks provides several readiness checks from one constructor
// returning []health.Check (one per upstream connection, say).
func AsHealthChecks(constructor any) fx.Option { return provideInto(constructor, groupHealthLists) }

// ServerOption adjusts the go-sdk server options before the server is built
// (completion or subscription handlers, for example).
type ServerOption func(*mcp.ServerOptions)

// AsServerOption provides a ServerOption; constructor returns ServerOption.
func AsServerOption(constructor any) fx.Option { return provideInto(constructor, groupServerOptions) }
