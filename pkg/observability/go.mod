module github.com/mcpfleet/mcpfleet/pkg/observability

go 1.26

replace github.com/mcpfleet/mcpfleet/pkg/core => ../core
