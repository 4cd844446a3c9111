module github.com/mcpfleet/mcpfleet/deploy/healthcheck

go 1.26.0
