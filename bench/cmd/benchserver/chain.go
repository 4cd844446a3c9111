package main

import (
	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/observability"
)

// chainConfig is the config for the observability, policy and audit modules
// in chain mode; dir holds files they write. Every call is traced (and
// exported to whatever OTEL_* names: fleetbench runs a local OTLP sink) and
// measured.
func chainConfig(dir string) string {
	return "observability: {tracing: {sample_ratio: 1}}\n"
}

// chainModules are the modules of the production chain beyond auth.
func chainModules() []fx.Option { return []fx.Option{observability.Module} }
