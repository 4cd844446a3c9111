variable "name" {
  description = "Name of the fleet; prefixes every resource."
  type        = string
  default     = "mcpfleet"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.name))
    error_message = "name must be at most 16 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC the fleet runs in."
  type        = string

  validation {
    condition     = can(regex("^vpc-[a-f0-9]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "public_subnet_ids" {
  description = "Subnets of the ALB (public for an internet-facing ALB, private for an internal one); two or more zones."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "Give at least two ALB subnets, in different availability zones."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets of the tasks, Redis and PostgreSQL; two or more zones."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "Give at least two private subnets, in different availability zones."
  }
}

variable "internal" {
  description = "Make the ALB internal (reachable only inside the VPC and its peers)."
  type        = bool
  default     = false
}

variable "allowed_cidrs" {
  description = "Client networks allowed to reach the ALB on 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "allowed_cidrs must be CIDR blocks."
  }
}

variable "domain" {
  description = "DNS domain of the fleet: server <name> answers at https://<name>.<domain>/mcp (point a wildcard record at the ALB)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", var.domain))
    error_message = "domain must be a lowercase DNS name such as mcp.example.com."
  }
}

variable "certificate_arn" {
  description = "ACM certificate for *.<domain> served by the ALB's TLS listener."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "servers" {
  description = "The fleet's servers by name (crm, github, slack, aws). Each enabled one becomes its own ECS service. secrets maps environment variables to Secrets Manager or SSM ARNs; assume_role_arns is for the AWS server; stateful_sessions turns on ALB stickiness for stateful 2025-11-25 sessions."
  type = map(object({
    enabled           = optional(bool, true)
    image             = string
    cpu               = optional(number, 256)
    memory            = optional(number, 512)
    min_capacity      = optional(number, 2)
    max_capacity      = optional(number, 6)
    environment       = optional(map(string), {})
    secrets           = optional(map(string), {})
    assume_role_arns  = optional(list(string), [])
    stateful_sessions = optional(bool, false)
  }))

  validation {
    condition     = alltrue([for k in keys(var.servers) : contains(["crm", "github", "slack", "aws"], k)])
    error_message = "servers keys must be crm, github, slack or aws."
  }

  validation {
    condition     = alltrue([for k, s in var.servers : length(s.assume_role_arns) == 0 || k == "aws"])
    error_message = "Only the aws server may assume roles."
  }
}

variable "common_environment" {
  description = "Environment for every server, e.g. MCPFLEET_AUTH_OIDC_ISSUER and MCPFLEET_AUTH_OIDC_AUDIENCE. No secrets here."
  type        = map(string)
  default     = {}
}

variable "policy_document" {
  description = "The governance policy (YAML) every server enforces; stored in SSM and loaded by every task. Null keeps the built-in default policy."
  type        = string
  default     = null

  validation {
    condition     = var.policy_document == null || try(length(var.policy_document) <= 8192, false)
    error_message = "policy_document must be at most 8 KiB (an SSM Advanced parameter)."
  }
}

variable "enable_redis" {
  description = "Create an ElastiCache Redis shared by every replica: rate limits, approval tokens, cache, task state."
  type        = bool
  default     = true
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "enable_postgres" {
  description = "Create an RDS PostgreSQL for the CRM's store (instead of per-task SQLite) and the audit sink."
  type        = bool
  default     = true
}

variable "postgres_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "postgres_allocated_storage" {
  description = "RDS storage in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.postgres_allocated_storage >= 20 && var.postgres_allocated_storage <= 65536
    error_message = "postgres_allocated_storage must be between 20 and 65536 GiB."
  }
}

variable "deletion_protection" {
  description = "Protect the ALB and the database from deletion."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the servers' logs."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
