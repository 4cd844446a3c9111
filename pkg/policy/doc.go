// Package policy governs an mcpfleet server with one policy document:
// authorization rules over principals' roles and tool metadata (with CEL
// conditions), rate limits and quotas, redaction of results for callers
// without clearance, approvals of destructive actions (elicitation or
// plan/confirm), and a hash-chained audit record of every tool call.
//
// Servers add [Module]; the CLI and other tools use [Load], [NewEngine],
// [Engine.Decide] and [Engine.Explain] directly. The document format, the
// decision order and the configuration are described in README.md.
package policy
