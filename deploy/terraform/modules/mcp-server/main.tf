# One MCP server as an ECS Fargate service behind the fleet's shared ALB.

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  full_name   = "${var.name_prefix}-${var.name}"
  policy_path = "/etc/mcpfleet/policy/policy.yaml"
  public_url  = "https://${var.hostname}/mcp"

  # What every server needs behind the ALB: its public URL (OAuth resource
  # metadata and audience), the Host it answers to, and stateless HTTP
  # unless a stateful 2025-11-25 deployment asks for sessions.
  base_environment = merge(
    {
      MCPFLEET_HTTP_ADDR          = "0.0.0.0:${var.container_port}"
      MCPFLEET_HTTP_PUBLIC_URL    = local.public_url
      MCPFLEET_HTTP_ALLOWED_HOSTS = var.hostname
      MCPFLEET_HTTP_STATELESS     = tostring(!var.stateful_sessions)
      MCPFLEET_AUTH_RESOURCE      = local.public_url
      MCPFLEET_TRANSPORT          = "http"
    },
    var.policy_parameter_arn == null ? {} : {
      MCPFLEET_POLICY_FILE = local.policy_path
      POLICY_SHA256        = var.policy_sha256
    },
    var.data_volume ? { MCPFLEET_CRM_DATA_DIR = "/data" } : {},
  )
  environment = merge(local.base_environment, var.environment)

  secret_arns     = [for arn in values(var.secrets) : split(":", arn)[2] == "secretsmanager" ? join(":", slice(split(":", arn), 0, 7)) : arn]
  all_secret_arns = distinct(concat(local.secret_arns, var.policy_parameter_arn == null ? [] : [var.policy_parameter_arn]))

  policy_loader = var.policy_parameter_arn == null ? [] : [{
    name        = "policy-loader"
    image       = var.policy_loader_image
    essential   = false
    entryPoint  = ["sh", "-c"]
    command     = ["umask 022 && printf '%s' \"$POLICY_DOCUMENT\" > ${local.policy_path}"]
    secrets     = [{ name = "POLICY_DOCUMENT", valueFrom = var.policy_parameter_arn }]
    mountPoints = [{ sourceVolume = "policy", containerPath = dirname(local.policy_path), readOnly = false }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "policy-loader"
      }
    }
  }]

  server_container = {
    name                   = var.name
    image                  = var.image
    essential              = true
    user                   = "65532:65532"
    readonlyRootFilesystem = true
    portMappings           = [{ containerPort = var.container_port, protocol = "tcp" }]
    environment            = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
    secrets                = [for k in sort(keys(var.secrets)) : { name = k, valueFrom = var.secrets[k] }]
    mountPoints = concat(
      var.policy_parameter_arn == null ? [] : [{ sourceVolume = "policy", containerPath = dirname(local.policy_path), readOnly = true }],
      var.data_volume ? [{ sourceVolume = "data", containerPath = "/data", readOnly = false }] : [],
    )
    dependsOn = var.policy_parameter_arn == null ? [] : [{ containerName = "policy-loader", condition = "SUCCESS" }]
    # The image carries a static probe (distroless has no shell or curl).
    healthCheck = {
      command     = ["CMD", "/usr/local/bin/healthcheck", "http://127.0.0.1:${var.container_port}/readyz"]
      interval    = 15
      timeout     = 3
      retries     = 3
      startPeriod = 20
    }
    stopTimeout     = 30
    linuxParameters = { initProcessEnabled = true }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = var.name
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${local.full_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

# Execution role: pulls the image, writes logs, reads this server's secrets
# (and nothing else) when a task starts.
data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.full_name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secrets" {
  count = length(local.all_secret_arns) > 0 ? 1 : 0

  dynamic "statement" {
    for_each = length([for a in local.all_secret_arns : a if split(":", a)[2] == "secretsmanager"]) > 0 ? [1] : []
    content {
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [for a in local.all_secret_arns : a if split(":", a)[2] == "secretsmanager"]
    }
  }

  dynamic "statement" {
    for_each = length([for a in local.all_secret_arns : a if split(":", a)[2] == "ssm"]) > 0 ? [1] : []
    content {
      actions   = ["ssm:GetParameters"]
      resources = [for a in local.all_secret_arns : a if split(":", a)[2] == "ssm"]
    }
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [1] : []
    content {
      actions   = ["kms:Decrypt"]
      resources = var.kms_key_arns
    }
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  count  = length(local.all_secret_arns) > 0 ? 1 : 0
  name   = "read-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets[0].json
}

# Task role: what the server itself may do in AWS. Nothing by default; the
# AWS server may assume its target roles and nothing else (its read and
# write rights live in those roles, per account).
resource "aws_iam_role" "task" {
  name               = "${local.full_name}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "task_assume_targets" {
  count = length(var.assume_role_arns) > 0 ? 1 : 0

  statement {
    actions   = ["sts:AssumeRole", "sts:TagSession"]
    resources = var.assume_role_arns
  }
}

resource "aws_iam_role_policy" "task_assume_targets" {
  count  = length(var.assume_role_arns) > 0 ? 1 : 0
  name   = "assume-target-roles"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task_assume_targets[0].json
}

resource "aws_security_group" "service" {
  name        = "${local.full_name}-service"
  description = "MCP server ${var.name}: traffic from the fleet ALB only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "from_alb" {
  security_group_id            = aws_security_group.service.id
  description                  = "HTTP from the fleet ALB"
  referenced_security_group_id = var.alb_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.service.id
  description       = "HTTPS to upstream APIs, the identity provider and AWS endpoints"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_lb_target_group" "this" {
  name                 = substr("${local.full_name}-tg", 0, 32)
  port                 = var.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  # Only a stateful 2025-11-25 deployment keeps sessions in one task and
  # needs the ALB to send a client back to it.
  dynamic "stickiness" {
    for_each = var.stateful_sessions ? [1] : []
    content {
      type            = "lb_cookie"
      enabled         = true
      cookie_duration = 3600
    }
  }

  tags = var.tags
}

resource "aws_lb_listener_rule" "this" {
  listener_arn = var.alb_listener_arn
  priority     = var.listener_rule_priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  condition {
    host_header {
      values = [var.hostname]
    }
  }

  tags = var.tags
}

resource "aws_ecs_task_definition" "this" {
  family                   = local.full_name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(concat(local.policy_loader, [local.server_container]))

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  dynamic "volume" {
    for_each = var.policy_parameter_arn == null ? [] : ["policy"]
    content {
      name = volume.value
    }
  }

  dynamic "volume" {
    for_each = var.data_volume ? ["data"] : []
    content {
      name = volume.value
    }
  }

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  name                               = var.name
  cluster                            = var.cluster_arn
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.min_capacity
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 30
  propagate_tags                     = "SERVICE"
  enable_execute_command             = false

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = concat([aws_security_group.service.id], var.additional_security_group_ids)
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = var.name
    container_port   = var.container_port
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # The autoscaler owns the task count after the first deployment.
  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener_rule.this]
  tags       = var.tags
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${var.cluster_name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_capacity
  max_capacity       = var.max_capacity
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${local.full_name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 120
    scale_out_cooldown = 30

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  name               = "${local.full_name}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.requests_per_target
    scale_in_cooldown  = 120
    scale_out_cooldown = 30

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${var.alb_arn_suffix}/${aws_lb_target_group.this.arn_suffix}"
    }
  }
}
