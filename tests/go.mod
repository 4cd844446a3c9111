module github.com/mcpfleet/mcpfleet/tests

go 1.26

replace github.com/mcpfleet/mcpfleet/pkg/core => ../pkg/core

replace github.com/mcpfleet/mcpfleet/pkg/observability => ../pkg/observability

replace github.com/mcpfleet/mcpfleet/pkg/policy => ../pkg/policy

replace github.com/mcpfleet/mcpfleet/servers/crm => ../servers/crm
