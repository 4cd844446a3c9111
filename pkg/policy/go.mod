module github.com/mcpfleet/mcpfleet/pkg/policy

go 1.26

replace github.com/mcpfleet/mcpfleet/pkg/core => ../core

replace github.com/mcpfleet/mcpfleet/pkg/observability => ../observability
