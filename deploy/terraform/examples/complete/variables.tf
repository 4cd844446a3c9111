variable "region" {
  description = "AWS region to deploy the fleet to."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like eu-west-1."
  }
}

variable "vpc_id" {
  description = "Existing VPC of the fleet."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets of the internet-facing ALB."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Private subnets (with a NAT route) of the tasks, Redis and PostgreSQL."
  type        = list(string)
}

variable "domain" {
  description = "DNS domain of the fleet, e.g. mcp.example.com; servers answer at <name>.<domain>."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for *.<domain>."
  type        = string
}

variable "image_prefix" {
  description = "Repository prefix of the server images, e.g. <account>.dkr.ecr.<region>.<aws domain>/mcpfleet."
  type        = string
}

variable "image_digests" {
  description = "Digest (sha256:...) of each server's released image, by server name."
  type        = map(string)

  validation {
    condition     = alltrue([for d in values(var.image_digests) : can(regex("^sha256:[a-f0-9]{64}$", d))])
    error_message = "image_digests values must be sha256:<64 hex digits>."
  }
}

variable "oidc_issuer" {
  description = "OIDC issuer whose access tokens the servers accept."
  type        = string

  validation {
    condition     = startswith(var.oidc_issuer, "https://")
    error_message = "oidc_issuer must be an https URL."
  }
}

variable "github_token_secret_arn" {
  description = "Secrets Manager secret holding the GitHub token (null leaves the GitHub server out)."
  type        = string
  default     = null
}

variable "slack_token_secret_arn" {
  description = "Secrets Manager secret holding the Slack token (null leaves the Slack server out)."
  type        = string
  default     = null
}

variable "aws_target_role_arns" {
  description = "Roles the AWS server may assume (one per account it inspects); empty leaves the AWS server out."
  type        = list(string)
  default     = []
}

variable "policy_file" {
  description = "Path, relative to this directory, of the governance policy YAML every server enforces (at most 8 KiB)."
  type        = string
  default     = "../../../../examples/policies/org.yaml"
}
