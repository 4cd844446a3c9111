package main

import "go.uber.org/fx"

// chainConfig is the config for the observability, policy and audit modules
// in chain mode; dir holds files they write.
func chainConfig(dir string) string { return "" }

// chainModules are the modules of the production chain beyond auth.
func chainModules() []fx.Option { return nil }
