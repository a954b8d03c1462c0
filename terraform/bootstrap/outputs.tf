################################################################################
# State storage
################################################################################

output "state_bucket_name" {
  description = "S3 bucket holding Terraform state (backend \"bucket\")."
  value       = aws_s3_bucket.state.id
}

output "state_bucket_arn" {
  description = "ARN of the state bucket."
  value       = aws_s3_bucket.state.arn
}

output "state_kms_key_arn" {
  description = "ARN of the customer-managed key encrypting state, lock files and the lock table."
  value       = aws_kms_key.state.arn
}

output "state_kms_key_alias" {
  description = "Alias of the state key (backend \"kms_key_id\")."
  value       = aws_kms_alias.state.name
}

output "lock_table_name" {
  description = "DynamoDB lock table (backend \"dynamodb_table\", deprecated but still configured)."
  value       = aws_dynamodb_table.lock.name
}

################################################################################
# GitHub OIDC, deploy roles and the prod plan role
################################################################################

output "github_oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider the deploy roles and the prod plan role trust."
  value       = local.github_oidc_provider_arn
}

# The one output to copy into GitHub: .github/workflows/terraform.yaml reads exactly these names
# as `secrets.NAME || vars.NAME`.
output "github_actions_variables" {
  description = "Repository variables (or secrets) the terraform workflow reads, name => role ARN: AWS_ROLE_ARN_DEV (job aws-dev), AWS_ROLE_ARN_PROD (job aws-prod), AWS_ROLE_ARN_PROD_PLAN (job prod-gates) and AWS_ROLE_ARN_IAM_AUDIT (job policy); the last two at repository level, their jobs have no environment. Only names whose role exists are listed."
  value = merge(
    { for env, role in aws_iam_role.deploy : "AWS_ROLE_ARN_${upper(env)}" => role.arn },
    { for role in aws_iam_role.plan_prod : "AWS_ROLE_ARN_PROD_PLAN" => role.arn },
    { for role in aws_iam_role.iam_audit : "AWS_ROLE_ARN_IAM_AUDIT" => role.arn },
  )
}

output "deploy_role_arns" {
  description = "Deploy role ARN per environment: dev is AWS_ROLE_ARN_DEV, prod is AWS_ROLE_ARN_PROD (see github_actions_variables)."
  value       = { for env, role in aws_iam_role.deploy : env => role.arn }
}

output "deploy_role_subjects" {
  description = "OIDC sub claims each deploy role accepts (compare with the token when AssumeRoleWithWebIdentity is denied)."
  value       = { for env in var.environments : env => [for prefix in local.github_subject_prefixes : "${prefix}:environment:${env}"] }
}

output "prod_plan_role_arn" {
  description = "ARN of the read-only role gitops-infra-plan-prod (job prod-gates, terraform plan -lock=false on terraform/aws/prod): AWS_ROLE_ARN_PROD_PLAN. Null when var.environments does not list prod."
  value       = one(aws_iam_role.plan_prod[*].arn)
}

output "prod_plan_role_subjects" {
  description = "OIDC sub claims the prod plan role accepts: jobs on the main branch that declare no GitHub environment (compare with the token when AssumeRoleWithWebIdentity is denied)."
  value       = local.plan_prod_enabled ? local.plan_prod_subjects : []
}

output "workload_permissions_boundary_arns" {
  description = "Permissions boundary per environment (gitops-infra-workload-boundary-<env>): every role the <env> stack creates must carry its own environment's."
  value       = { for env, policy in aws_iam_policy.workload_boundary : env => policy.arn }
}

output "deploy_ec2_policy_arns" {
  description = "Managed EC2 policy attached to each deploy role (gitops-infra-deploy-<env>-ec2)."
  value       = { for env, policy in aws_iam_policy.deploy_ec2 : env => policy.arn }
}

output "iam_audit_role_arn" {
  description = "ARN of the read-only role gitops-infra-iam-audit (job policy, AWS policy simulator): AWS_ROLE_ARN_IAM_AUDIT. Null when create_iam_audit_role = false."
  value       = one(aws_iam_role.iam_audit[*].arn)
}
