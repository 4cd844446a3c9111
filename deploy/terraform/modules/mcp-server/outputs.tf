output "url" {
  description = "The server's MCP endpoint (Streamable HTTP)."
  value       = local.public_url
}

output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "task_role_arn" {
  description = "Role the server runs as; target roles of the AWS server must trust it."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "Role ECS uses to start tasks (image pull, logs, secrets)."
  value       = aws_iam_role.execution.arn
}

output "security_group_id" {
  description = "Security group of the tasks; Redis and PostgreSQL admit it."
  value       = aws_security_group.service.id
}

output "target_group_arn" {
  description = "ALB target group of the service."
  value       = aws_lb_target_group.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the server."
  value       = aws_cloudwatch_log_group.this.name
}
