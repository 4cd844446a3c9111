# A complete fleet: the CRM on PostgreSQL, GitHub and Slack with their
# tokens from Secrets Manager, the AWS server assuming read-only roles,
# Redis for shared limits, and one policy for all.

module "fleet" {
  source = "../../modules/fleet"

  name               = "mcpfleet"
  vpc_id             = var.vpc_id
  public_subnet_ids  = var.public_subnet_ids
  private_subnet_ids = var.private_subnet_ids
  domain             = var.domain
  certificate_arn    = var.certificate_arn

  common_environment = {
    MCPFLEET_AUTH_OIDC_ISSUER = var.oidc_issuer
    MCPFLEET_LOG_LEVEL        = "info"
  }

  policy_document = file("${path.module}/${var.policy_file}")

  servers = {
    crm = {
      image = "${var.image_prefix}/mcp-crm@${var.image_digests["crm"]}"
    }
    github = {
      enabled = var.github_token_secret_arn != null
      image   = "${var.image_prefix}/mcp-github@${var.image_digests["github"]}"
      secrets = var.github_token_secret_arn == null ? {} : { MCPFLEET_GITHUB_TOKEN = var.github_token_secret_arn }
    }
    slack = {
      enabled = var.slack_token_secret_arn != null
      image   = "${var.image_prefix}/mcp-slack@${var.image_digests["slack"]}"
      secrets = var.slack_token_secret_arn == null ? {} : { MCPFLEET_SLACK_TOKEN = var.slack_token_secret_arn }
    }
    aws = {
      enabled          = length(var.aws_target_role_arns) > 0
      image            = "${var.image_prefix}/mcp-aws@${var.image_digests["aws"]}"
      assume_role_arns = var.aws_target_role_arns
    }
  }

  enable_redis    = true
  enable_postgres = true
}
