output "endpoints" {
  description = "MCP endpoint of every server."
  value       = module.fleet.endpoints
}

output "alb_dns_name" {
  description = "Point *.<domain> at this name."
  value       = module.fleet.alb_dns_name
}

output "host_config" {
  description = "Claude Code .mcp.json for the fleet (reads the API key from MCPFLEET_API_KEY)."
  value       = module.fleet.host_config
}
