module github.com/mcpfleet/mcpfleet/pkg/observability

go 1.26
