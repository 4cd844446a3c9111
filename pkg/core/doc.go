// Package core is the kernel every mcpfleet server is built from.
//
// A domain server contributes tools, resources, resource templates and
// prompts to fx value groups (see [AsTool], [AsResource], [AsResourceTemplate]
// and [AsPrompt]); other modules contribute MCP middleware ([AsMiddleware]),
// extra HTTP routes ([AsRoute]) and readiness checks ([AsHealthCheck]). core
// collects them, validates the tool metadata, applies the toolset selection
// from config and serves the result over stdio or Streamable HTTP with
// authentication in front.
//
// core imports neither pkg/policy nor pkg/observability: those modules plug
// into the hook points above, so a server picks what it runs with in main.
package core
