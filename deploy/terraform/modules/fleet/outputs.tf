output "endpoints" {
  description = "MCP endpoint of every enabled server, by name."
  value       = local.endpoints
}

output "alb_dns_name" {
  description = "DNS name of the ALB; point *.<domain> at it (alias record)."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the ALB, for an alias record."
  value       = aws_lb.this.zone_id
}

output "cluster_name" {
  description = "ECS cluster running the fleet."
  value       = aws_ecs_cluster.this.name
}

output "task_role_arns" {
  description = "Task role of every server; the AWS server's target roles must trust its role."
  value       = { for k, m in module.server : k => m.task_role_arn }
}

output "redis_endpoint" {
  description = "Primary endpoint of the shared Redis (null when disabled)."
  value       = var.enable_redis ? aws_elasticache_replication_group.this[0].primary_endpoint_address : null
}

output "postgres_endpoint" {
  description = "Address of the PostgreSQL instance (null when disabled)."
  value       = var.enable_postgres ? aws_db_instance.this[0].address : null
}

output "host_config" {
  description = "A Claude Code .mcp.json for the whole fleet: each server by URL, the API key read from MCPFLEET_API_KEY (never written here). mcpfleet hostconfig --url 'https://{name}.<domain>/mcp' prints the other hosts' formats."
  value = jsonencode({
    mcpServers = {
      for k, url in local.endpoints : k => {
        type    = "http"
        url     = url
        headers = { Authorization = "Bearer $${MCPFLEET_API_KEY}" }
      }
    }
  })
}
