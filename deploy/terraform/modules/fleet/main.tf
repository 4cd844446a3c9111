# The fleet: one ALB with TLS, one ECS service per enabled server, optional
# shared Redis and PostgreSQL, and one governance policy for all.

locals {
  enabled = { for k, s in var.servers : k => s if s.enabled }
  # Listener rule priorities are fixed per server so that enabling one
  # never reshuffles the others.
  priorities = { crm = 10, github = 20, slack = 30, aws = 40 }

  redis_environment = var.enable_redis ? {
    MCPFLEET_POLICY_RATE_LIMIT_BACKEND    = "redis"
    MCPFLEET_POLICY_RATE_LIMIT_KEY_PREFIX = "${var.name}:"
  } : {}
  redis_secrets = var.enable_redis ? {
    MCPFLEET_POLICY_RATE_LIMIT_REDIS_URL = aws_secretsmanager_secret.redis_url[0].arn
  } : {}

  # The CRM on PostgreSQL: the server reads PG* variables (pgx) with a
  # DSN that names only the database, and the password from the secret
  # RDS manages (and rotates).
  crm_postgres_environment = var.enable_postgres ? {
    MCPFLEET_CRM_DRIVER = "postgres"
    MCPFLEET_CRM_DSN    = "postgres:///crm?sslmode=require"
    PGHOST              = aws_db_instance.this[0].address
    PGPORT              = tostring(aws_db_instance.this[0].port)
    PGUSER              = aws_db_instance.this[0].username
  } : {}
  crm_postgres_secrets = var.enable_postgres ? {
    PGPASSWORD = "${aws_db_instance.this[0].master_user_secret[0].secret_arn}:password::"
  } : {}

  endpoints = { for k, s in local.enabled : k => "https://${k}.${var.domain}/mcp" }
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

# --- ALB with TLS ---------------------------------------------------------

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "mcpfleet ALB: HTTPS from clients"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.allowed_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from clients"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  for_each          = toset(var.allowed_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from clients, redirected to HTTPS"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
}

resource "aws_vpc_security_group_egress_rule" "alb_to_servers" {
  for_each                     = local.enabled
  security_group_id            = aws_security_group.alb.id
  description                  = "to the ${each.key} tasks"
  referenced_security_group_id = module.server[each.key].security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
}

resource "aws_lb" "this" {
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = var.internal
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  # SSE streams (server-to-client messages) stay open longer than the
  # default 60 s idle timeout.
  idle_timeout = 300
  tags         = var.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "application/json"
      status_code  = "404"
      message_body = "{\"error\":\"no MCP server at this host name\"}"
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "http_redirect" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}

# --- Governance policy, distributed to every service ------------------------

resource "aws_ssm_parameter" "policy" {
  count       = var.policy_document == null ? 0 : 1
  name        = "/${var.name}/policy.yaml"
  description = "mcpfleet governance policy enforced by every server"
  type        = "SecureString"
  tier        = length(var.policy_document) > 4096 ? "Advanced" : "Standard"
  value       = var.policy_document
  tags        = var.tags
}

# Approval tokens signed with one key are accepted by every replica.
resource "random_password" "approval_hmac" {
  length  = 48
  special = false
}

resource "aws_secretsmanager_secret" "approval_hmac" {
  name_prefix = "${var.name}-approval-hmac-"
  description = "HMAC key of mcpfleet approval tokens (shared by every replica)"
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "approval_hmac" {
  secret_id     = aws_secretsmanager_secret.approval_hmac.id
  secret_string = random_password.approval_hmac.result
}

# The request state of input-required results (protocol 2026-07-28) comes
# back with the client's next request, to whichever replica the load
# balancer picks: every replica signs and checks it with one key.
resource "random_password" "request_state" {
  length  = 48
  special = false
}

resource "aws_secretsmanager_secret" "request_state" {
  name_prefix = "${var.name}-request-state-"
  description = "HMAC key of mcpfleet input-required request state (shared by every replica)"
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "request_state" {
  secret_id     = aws_secretsmanager_secret.request_state.id
  secret_string = random_password.request_state.result
}

# --- Shared Redis -------------------------------------------------------------

resource "aws_security_group" "redis" {
  count       = var.enable_redis ? 1 : 0
  name        = "${var.name}-redis"
  description = "mcpfleet Redis: from the fleet's tasks"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "redis" {
  for_each                     = { for k, s in local.enabled : k => s if var.enable_redis }
  security_group_id            = aws_security_group.redis[0].id
  description                  = "Redis from ${each.key}"
  referenced_security_group_id = module.server[each.key].security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}

resource "aws_vpc_security_group_egress_rule" "servers_to_redis" {
  for_each                     = { for k, s in local.enabled : k => s if var.enable_redis }
  security_group_id            = module.server[each.key].security_group_id
  description                  = "to Redis"
  referenced_security_group_id = aws_security_group.redis[0].id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}

resource "aws_elasticache_subnet_group" "this" {
  count      = var.enable_redis ? 1 : 0
  name       = "${var.name}-redis"
  subnet_ids = var.private_subnet_ids
  tags       = var.tags
}

resource "random_password" "redis_auth" {
  count   = var.enable_redis ? 1 : 0
  length  = 48
  special = false
}

resource "aws_elasticache_replication_group" "this" {
  count                      = var.enable_redis ? 1 : 0
  replication_group_id       = "${var.name}-redis"
  description                = "mcpfleet shared state: rate limits, approvals, cache"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = var.redis_node_type
  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.this[0].name
  security_group_ids         = [aws_security_group.redis[0].id]
  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  auth_token                 = random_password.redis_auth[0].result
  tags                       = var.tags
}

resource "aws_secretsmanager_secret" "redis_url" {
  count       = var.enable_redis ? 1 : 0
  name_prefix = "${var.name}-redis-url-"
  description = "Redis URL (with auth token) for mcpfleet's shared rate limits"
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  count         = var.enable_redis ? 1 : 0
  secret_id     = aws_secretsmanager_secret.redis_url[0].id
  secret_string = "rediss://:${random_password.redis_auth[0].result}@${aws_elasticache_replication_group.this[0].primary_endpoint_address}:6379/0"
}

# --- PostgreSQL ---------------------------------------------------------------

resource "aws_security_group" "postgres" {
  count       = var.enable_postgres ? 1 : 0
  name        = "${var.name}-postgres"
  description = "mcpfleet PostgreSQL: from the fleet's tasks"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  for_each                     = { for k, s in local.enabled : k => s if var.enable_postgres }
  security_group_id            = aws_security_group.postgres[0].id
  description                  = "PostgreSQL from ${each.key}"
  referenced_security_group_id = module.server[each.key].security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_vpc_security_group_egress_rule" "servers_to_postgres" {
  for_each                     = { for k, s in local.enabled : k => s if var.enable_postgres }
  security_group_id            = module.server[each.key].security_group_id
  description                  = "to PostgreSQL"
  referenced_security_group_id = aws_security_group.postgres[0].id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_db_subnet_group" "this" {
  count      = var.enable_postgres ? 1 : 0
  name       = "${var.name}-postgres"
  subnet_ids = var.private_subnet_ids
  tags       = var.tags
}

resource "aws_db_instance" "this" {
  count                       = var.enable_postgres ? 1 : 0
  identifier                  = "${var.name}-postgres"
  engine                      = "postgres"
  engine_version              = "16"
  instance_class              = var.postgres_instance_class
  allocated_storage           = var.postgres_allocated_storage
  storage_encrypted           = true
  db_name                     = "crm"
  username                    = "mcpfleet"
  manage_master_user_password = true
  multi_az                    = true
  db_subnet_group_name        = aws_db_subnet_group.this[0].name
  vpc_security_group_ids      = [aws_security_group.postgres[0].id]
  backup_retention_period     = 7
  deletion_protection         = var.deletion_protection
  skip_final_snapshot         = !var.deletion_protection
  final_snapshot_identifier   = var.deletion_protection ? "${var.name}-postgres-final" : null
  tags                        = var.tags
}

# --- One service per enabled server ---------------------------------------------

module "server" {
  source   = "../mcp-server"
  for_each = local.enabled

  name        = each.key
  name_prefix = var.name
  image       = each.value.image
  cpu         = each.value.cpu
  memory      = each.value.memory

  min_capacity = each.value.min_capacity
  max_capacity = each.value.max_capacity

  cluster_arn  = aws_ecs_cluster.this.arn
  cluster_name = aws_ecs_cluster.this.name
  vpc_id       = var.vpc_id
  subnet_ids   = var.private_subnet_ids

  alb_listener_arn       = aws_lb_listener.https.arn
  alb_arn_suffix         = aws_lb.this.arn_suffix
  alb_security_group_id  = aws_security_group.alb.id
  hostname               = "${each.key}.${var.domain}"
  listener_rule_priority = local.priorities[each.key]

  environment = merge(
    var.common_environment,
    local.redis_environment,
    each.key == "crm" ? local.crm_postgres_environment : {},
    each.value.environment,
  )
  secrets = merge(
    {
      MCPFLEET_POLICY_APPROVAL_HMAC_KEY = aws_secretsmanager_secret.approval_hmac.arn
      MCPFLEET_HTTP_REQUEST_STATE_KEY   = aws_secretsmanager_secret.request_state.arn
    },
    local.redis_secrets,
    each.key == "crm" ? local.crm_postgres_secrets : {},
    each.value.secrets,
  )
  assume_role_arns     = each.value.assume_role_arns
  stateful_sessions    = each.value.stateful_sessions
  data_volume          = each.key == "crm" && !var.enable_postgres
  policy_parameter_arn = var.policy_document == null ? null : aws_ssm_parameter.policy[0].arn
  policy_sha256        = var.policy_document == null ? "" : sha256(var.policy_document)
  log_retention_days   = var.log_retention_days
  tags                 = var.tags
}
