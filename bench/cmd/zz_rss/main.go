// Temporary: idle RSS measurement. Deleted after measuring.
package main

import (
	"os"

	"go.uber.org/fx"

	"github.com/mcpfleet/mcpfleet/bench/echo"
	"github.com/mcpfleet/mcpfleet/pkg/core"
	"github.com/mcpfleet/mcpfleet/pkg/observability"
)

func main() {
	opts := []fx.Option{echo.Module}
	if os.Getenv("ZZ_NO_OBS") == "" {
		opts = append(opts, observability.Module)
	}
	core.Main(core.App{Name: "zzrss", Version: "1", Defaults: []byte("server: {name: zz}\nauth: {disabled: true}\nlog: {level: warn}\n"), Options: opts})
}
