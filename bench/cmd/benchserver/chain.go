package main

import (
	"fmt"
	"path/filepath"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/observability"
	"github.com/mcpfleet/mcpfleet/pkg/policy"
)

// chainConfig is the config for the observability and policy modules in
// chain mode; dir holds the audit file. Every call is traced (and exported
// to whatever OTEL_* names: fleetbench runs a local OTLP sink), measured,
// authorised, rate-limited and audited to a file, the production defaults.
func chainConfig(dir string) string {
	return "observability: {tracing: {sample_ratio: 1}}\n" +
		fmt.Sprintf("policy: {audit: {sinks: [{type: file, path: %q}]}}\n", filepath.Join(dir, "audit.jsonl"))
}

// chainModules are the modules of the production chain beyond auth.
func chainModules() []fx.Option {
	return []fx.Option{observability.Module, policy.Module}
}
