variable "name" {
  description = "Short name of the server (crm, github, slack, aws); names the service, roles, log group and target group."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "name_prefix" {
  description = "Prefix for every resource name, e.g. the fleet's name."
  type        = string
  default     = "mcpfleet"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.name_prefix))
    error_message = "name_prefix must be at most 16 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "image" {
  description = "Container image of the server, pinned by digest (repository@sha256:...) so every task runs the same bytes."
  type        = string

  validation {
    condition     = can(regex("@sha256:[a-f0-9]{64}$", var.image))
    error_message = "image must be pinned by digest: repository@sha256:<64 hex digits>."
  }
}

variable "container_port" {
  description = "Port the server listens on inside the task."
  type        = number
  default     = 8080

  validation {
    condition     = var.container_port > 0 && var.container_port < 65536
    error_message = "container_port must be between 1 and 65535."
  }
}

variable "cpu" {
  description = "Fargate task CPU units (256 = 0.25 vCPU)."
  type        = number
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.cpu)
    error_message = "cpu must be one of 256, 512, 1024, 2048, 4096."
  }
}

variable "memory" {
  description = "Fargate task memory in MiB; must fit the CPU size (e.g. 512-2048 for 256 CPU)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory >= 512 && var.memory <= 30720
    error_message = "memory must be between 512 and 30720 MiB."
  }
}

variable "min_capacity" {
  description = "Fewest running tasks; two or more spread the server over availability zones."
  type        = number
  default     = 2

  validation {
    condition     = var.min_capacity >= 1
    error_message = "min_capacity must be at least 1."
  }
}

variable "max_capacity" {
  description = "Most running tasks the autoscaler may start."
  type        = number
  default     = 6

  validation {
    condition     = var.max_capacity >= 1 && var.max_capacity <= 100
    error_message = "max_capacity must be between 1 and 100."
  }
}

variable "cpu_target_percent" {
  description = "Average CPU utilisation the autoscaler keeps the service at."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be between 10 and 90."
  }
}

variable "requests_per_target" {
  description = "ALB requests per task per minute the autoscaler aims for."
  type        = number
  default     = 3000

  validation {
    condition     = var.requests_per_target >= 10
    error_message = "requests_per_target must be at least 10."
  }
}

variable "cluster_arn" {
  description = "ARN of the ECS cluster to run the service in."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:ecs:", var.cluster_arn))
    error_message = "cluster_arn must be an ECS cluster ARN."
  }
}

variable "cluster_name" {
  description = "Name of the ECS cluster (the autoscaling resource id needs it)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the service and its target group."
  type        = string

  validation {
    condition     = can(regex("^vpc-[a-f0-9]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the tasks (at least two availability zones)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Give at least two subnets, in different availability zones."
  }
}

variable "alb_listener_arn" {
  description = "HTTPS listener of the shared ALB that routes this server's hostname."
  type        = string
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the shared ALB (for the request-count scaling metric)."
  type        = string
}

variable "alb_security_group_id" {
  description = "Security group of the shared ALB; only it may reach the tasks."
  type        = string
}

variable "hostname" {
  description = "Host name the ALB routes to this server, e.g. crm.mcp.example.com; clients use https://<hostname>/mcp."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", var.hostname))
    error_message = "hostname must be a DNS name in lowercase."
  }
}

variable "listener_rule_priority" {
  description = "Priority of this server's rule on the shared listener (unique per listener)."
  type        = number

  validation {
    condition     = var.listener_rule_priority >= 1 && var.listener_rule_priority <= 50000
    error_message = "listener_rule_priority must be between 1 and 50000."
  }
}

variable "environment" {
  description = "Plain environment variables for the server (MCPFLEET_* config). Never put secrets here: use secrets."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Environment variables filled from Secrets Manager or SSM Parameter Store at task start: variable name => secret or parameter ARN (optionally with a JSON key suffix)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for arn in values(var.secrets) : can(regex("^arn:[a-z-]+:(secretsmanager|ssm):", arn))])
    error_message = "Every secret must be a Secrets Manager secret or SSM parameter ARN."
  }
}

variable "kms_key_arns" {
  description = "Customer-managed KMS keys that encrypt the secrets (the execution role may decrypt with them)."
  type        = list(string)
  default     = []
}

variable "assume_role_arns" {
  description = "IAM roles the server may assume (the AWS server's targets); the task role may assume these and nothing else."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.assume_role_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/", arn))])
    error_message = "assume_role_arns must be IAM role ARNs."
  }
}

variable "policy_parameter_arn" {
  description = "SSM parameter holding the governance policy document (YAML); an init container writes it where the server reads it. Null runs the built-in default policy."
  type        = string
  default     = null
}

variable "policy_sha256" {
  description = "SHA-256 of the policy document; a change starts a new deployment so every task loads the new policy."
  type        = string
  default     = ""
}

variable "policy_loader_image" {
  description = "Small image with a POSIX shell that writes the policy into the shared volume (pin it by digest in production)."
  type        = string
  default     = "busybox:1.36.1"
}

variable "stateful_sessions" {
  description = "Run stateful 2025-11-25 sessions (Mcp-Session-Id kept in one task) with ALB cookie stickiness. The default, stateless HTTP, needs no stickiness: 2026-07-28 has no sessions and stateless 2025-11-25 calls may land on any task."
  type        = bool
  default     = false
}

variable "data_volume" {
  description = "Give the task an ephemeral /data volume (the CRM on SQLite). Ephemeral: use PostgreSQL for data that must survive tasks."
  type        = bool
  default     = false
}

variable "additional_security_group_ids" {
  description = "Extra security groups for the tasks, e.g. the ones Redis and PostgreSQL admit."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the server's logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
