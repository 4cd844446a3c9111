package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/pkg/observability"
	"github.com/mcpfleet/mcpfleet/pkg/policy"
)

// chainConfig is the config for the observability and policy modules in
// chain mode; dir holds the audit file. Every call is traced (and exported
// to whatever OTEL_* names: fleetbench runs a local OTLP sink), measured,
// authorised, rate-limited and audited to a file, the production defaults.
func chainConfig(dir, parts string) string {
	var cfg string
	if strings.Contains(parts, "observability") {
		cfg += "observability: {tracing: {sample_ratio: 1}}\n"
	}
	if strings.Contains(parts, "policy") {
		cfg += fmt.Sprintf("policy: {audit: {sinks: [{type: file, path: %q}]}}\n", filepath.Join(dir, "audit.jsonl"))
	}
	return cfg
}

// chainModules are the modules of the production chain beyond auth, all
// of them by default; parts names some, to measure what each costs.
func chainModules(parts string) ([]fx.Option, error) {
	var opts []fx.Option
	for p := range strings.SplitSeq(parts, ",") {
		switch strings.TrimSpace(p) {
		case "":
		case "observability":
			opts = append(opts, observability.Module)
		case "policy":
			opts = append(opts, policy.Module)
		default:
			return nil, fmt.Errorf("-chain-modules: unknown module %q (observability, policy)", p)
		}
	}
	return opts, nil
}
